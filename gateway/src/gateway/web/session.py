"""Sessions of the web apps: a cookie holding an HS256 JWT sealed with a key derived from the gateway's current
token signing key (HMAC of the key and the app's name), so a session can never verify as a player token, nor a
storefront session as a console one, and retiring a signing key ends the sessions it sealed. Each session carries
its CSRF token; every form sends it back and a POST without the right one is refused with 403 before anything
runs. A visitor who is not signed in gets an anonymous session, so the sign-in form is protected too.

The cookie is HttpOnly, SameSite (Strict for the console, Lax for the storefront, whose links may come from a
tenant's app), limited to the app's path, and Secure when the page was served over TLS."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from fastapi import Request
from starlette.responses import Response

from gateway.auth import ALGORITHM, CLOCK_LEEWAY_SECONDS, SigningKeys

CSRF_FIELD = "csrf"
ANONYMOUS_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class WebApp:
    name: str                               # "store" or "console": part of the sealing key
    path: str                               # the cookie's path
    cookie: str
    same_site: Literal["lax", "strict"]


@dataclass(frozen=True, slots=True)
class Session:
    claims: dict[str, Any]

    @property
    def csrf(self) -> str:
        return str(self.claims.get("csrf", ""))

    @property
    def signed_in(self) -> bool:
        return bool(self.claims.get("who"))

    def csrf_matches(self, sent: str | None) -> bool:
        return bool(sent) and bool(self.csrf) and hmac.compare_digest(str(sent), self.csrf)


def _sealing_key(secret: str, app: WebApp) -> bytes:
    return hmac.new(secret.encode(), f"web-session:{app.name}".encode(), hashlib.sha256).digest()


async def seal(keys: SigningKeys, app: WebApp, claims: dict[str, Any], ttl_seconds: int) -> str:
    kid, secret = await keys.signing_key()
    now = int(time.time())
    body = {**claims, "app": app.name, "iat": now, "exp": now + ttl_seconds, CSRF_FIELD: secrets.token_urlsafe(24)}
    return jwt.encode(body, _sealing_key(secret, app), algorithm=ALGORITHM, headers={"kid": kid})


async def unseal(keys: SigningKeys, app: WebApp, sealed: str | None) -> Session | None:
    """The session in the cookie, or None when there is none, or it is forged, expired or of another app."""
    if not sealed or len(sealed) > 8192:
        return None
    try:
        kid = jwt.get_unverified_header(sealed).get("kid")
        if not isinstance(kid, str) or not kid:
            return None
        secret = await keys.verification_key(kid)
        if secret is None:
            return None
        claims = jwt.decode(sealed, _sealing_key(secret, app), algorithms=[ALGORITHM], leeway=CLOCK_LEEWAY_SECONDS,
                            options={"require": ["exp", "iat", "app", CSRF_FIELD]})
    except jwt.PyJWTError:
        return None
    if claims.get("app") != app.name:
        return None
    return Session(claims)


async def current_session(request: Request, app: WebApp) -> Session | None:
    return await unseal(request.app.state.signing_keys, app, request.cookies.get(app.cookie))


def set_cookie(request: Request, response: Response, app: WebApp, sealed: str, ttl_seconds: int) -> None:
    response.set_cookie(app.cookie, sealed, max_age=ttl_seconds, path=app.path, httponly=True,
                        samesite=app.same_site, secure=request.url.scheme == "https")


def clear_cookie(request: Request, response: Response, app: WebApp) -> None:
    response.delete_cookie(app.cookie, path=app.path, httponly=True, samesite=app.same_site,
                           secure=request.url.scheme == "https")


async def anonymous(request: Request, app: WebApp) -> tuple[Session, str]:
    """A session for a visitor not signed in yet (it carries the sign-in form's CSRF token), and its cookie."""
    sealed = await seal(request.app.state.signing_keys, app, {}, ANONYMOUS_SECONDS)
    session = await unseal(request.app.state.signing_keys, app, sealed)
    assert session is not None
    return session, sealed
