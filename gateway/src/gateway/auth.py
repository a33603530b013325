"""Who is calling: player tokens (HS256 JWTs signed with keys kept in the database) and back-end credentials
(API clients and API keys). The Annotated dependencies CurrentPlayer, TenantScope and AdminCaller are what routes
ask for; the credential alone decides the tenant and environment."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from rewards.common.v1 import common_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway import openapi, repository
from gateway.client_ip import client_ip
from gateway.repository import Credential
from gateway.request_facts import note_tenant

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "tid", "env", "exp", "iat", "jti"]
CLOCK_LEEWAY_SECONDS = 5
MAX_PLAYER_ID_LENGTH = 128
# An unknown kid reloads the keys at most this often, so random kids cannot hammer the database.
UNKNOWN_KID_RELOAD_SECONDS = 1.0
# Tokens verified once and remembered (see SigningKeys.remembered), at most this many; the oldest go first.
VERIFIED_TOKENS_KEPT = 10_000
# Back-end credentials and brands remembered (see Credentials), at most this many.
CREDENTIALS_KEPT = 10_000


def _unauthenticated(message: str) -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, message)


# ---- signing keys and tokens ---------------------------------------------------------------------------------

class SigningKeys:
    """The keys that sign and verify player tokens, read from the database and cached briefly."""

    def __init__(self, sessions: async_sessionmaker, cache_seconds: float) -> None:
        self.sessions = sessions
        self.cache_seconds = cache_seconds
        self._active: str | None = None
        self._secrets: dict[str, str] = {}
        self._loaded_at = -math.inf
        self._lock = asyncio.Lock()
        self._verified: dict[str, VerifiedToken] = {}

    async def _load(self, older_than: float) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at < older_than:
                return  # another task reloaded while this one waited
            async with self.sessions() as session:
                active, secrets = await repository.usable_signing_keys(session)
            self._active, self._secrets, self._loaded_at = active, secrets, time.monotonic()

    async def _current(self) -> None:
        if time.monotonic() - self._loaded_at >= self.cache_seconds:
            await self._load(self.cache_seconds)

    async def signing_key(self) -> tuple[str, str]:
        await self._current()
        if self._active is None:
            async with self.sessions.begin() as session:
                await repository.ensure_signing_key(session)
            await self._load(0)
        assert self._active is not None
        return self._active, self._secrets[self._active]

    async def verification_key(self, kid: str) -> str | None:
        await self._current()
        if kid not in self._secrets:
            await self._load(min(UNKNOWN_KID_RELOAD_SECONDS, self.cache_seconds))
        return self._secrets.get(kid)

    # A player sends the same token on every call of its life (15 minutes by default), and PyJWT's decode (two
    # base64 and JSON parses, the HMAC, the claim checks) was ~12% of the gateway's busy time on a one-call read.
    # So a token that verified is remembered, and on its next use only what can change is checked again: that it
    # has not expired, and that the key that verified it still verifies (a retired key's tokens stop at once).
    # A token that failed is never remembered: random tokens cannot fill the memory, and errors read as before.

    async def remembered(self, token: str) -> VerifiedToken | None:
        verified = self._verified.get(token)
        if verified is None:
            return None
        await self._current()
        if (self._secrets.get(verified.kid) != verified.secret
                or verified.expires_at <= time.time() - CLOCK_LEEWAY_SECONDS):
            self._verified.pop(token, None)  # the full check says why it is refused now
            return None
        return verified

    def remember(self, token: str, verified: VerifiedToken) -> None:
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest (dicts keep insertion order)
        self._verified[token] = verified


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What a token that verified says, and what it was verified with."""

    kid: str
    secret: str
    expires_at: int          # the exp claim
    scope: Scope
    player_id: str
    segments: tuple[str, ...]
    country: str
    level: int


@dataclass(frozen=True, slots=True)
class Player:
    """The player a call acts for, and what targeting may use."""

    scope: Scope
    player_id: str
    segments: tuple[str, ...] = ()
    country: str = ""
    level: int = 0
    client_ip: str = ""
    from_token: bool = True
    credential: Credential | None = field(default=None, compare=False)

    def to_proto(self) -> common_pb2.PlayerContext:
        return common_pb2.PlayerContext(player_id=self.player_id, segments=list(self.segments),
                                        country=self.country, level=self.level, client_ip=self.client_ip)


async def issue_token(keys: SigningKeys, credential: Credential, player_id: str, ttl_seconds: int,
                      segments: list[str] | None = None, country: str | None = None,
                      level: int | None = None) -> str:
    kid, secret = await keys.signing_key()
    now = int(time.time())
    claims: dict[str, Any] = {"sub": player_id, "tid": credential.tenant_id, "env": credential.environment,
                              "iat": now, "exp": now + ttl_seconds, "jti": uuid.uuid4().hex}
    if segments:
        claims["segs"] = segments
    if country:
        claims["ctry"] = country
    if level is not None:
        claims["lvl"] = level
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})


async def verify_token(keys: SigningKeys, token: str, client_ip: str = "") -> Player:
    known = await keys.remembered(token)
    if known is not None:
        return Player(known.scope, known.player_id, known.segments, known.country, known.level, client_ip)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _unauthenticated("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise _unauthenticated("token algorithm not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _unauthenticated("token has no key id")
    secret = await keys.verification_key(kid)
    if secret is None:
        raise _unauthenticated("token signed with an unknown key")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], leeway=CLOCK_LEEWAY_SECONDS,
                            options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise _unauthenticated("token expired") from None
    except jwt.PyJWTError as exc:
        raise _unauthenticated(f"invalid token: {exc}") from None
    sub, tid, env = claims["sub"], claims["tid"], claims["env"]
    segs, ctry, lvl = claims.get("segs", []), claims.get("ctry", ""), claims.get("lvl", 0)
    if (not isinstance(sub, str) or not sub or len(sub) > MAX_PLAYER_ID_LENGTH or not isinstance(tid, str)
            or not tid or env not in repository.ENVIRONMENTS
            or not isinstance(segs, list) or not all(isinstance(s, str) for s in segs)
            or not isinstance(ctry, str) or not isinstance(lvl, int) or isinstance(lvl, bool)):
        raise _unauthenticated("invalid token claims")
    verified = VerifiedToken(kid, secret, int(claims["exp"]), Scope(tid, env), sub, tuple(segs), ctry, lvl)
    keys.remember(token, verified)
    return Player(verified.scope, sub, verified.segments, ctry, lvl, client_ip)


# ---- credentials ---------------------------------------------------------------------------------------------

# One security scheme each in the OpenAPI document (scheme_name), so every credential header is documented.
bearer = HTTPBearer(auto_error=False, scheme_name=openapi.PLAYER_BEARER,
                    description="A player token (POST /v1/auth/token) as Authorization: Bearer <token>")
auth_token_header = APIKeyHeader(name="x-auth-token", auto_error=False, scheme_name=openapi.PLAYER_TOKEN,
                                 description="A player token (POST /v1/auth/token) in the x-auth-token header")
api_key_header = APIKeyHeader(name="x-api-key", auto_error=False, scheme_name=openapi.API_KEY,
                              description="A back end's API key (it decides the tenant and environment)")
client_id_header = APIKeyHeader(name="x-client-id", auto_error=False, scheme_name=openapi.CLIENT_ID,
                                description="A back end's client id, sent with its x-client-secret")
client_secret_header = APIKeyHeader(name="x-client-secret", auto_error=False, scheme_name=openapi.CLIENT_SECRET,
                                    description="A back end's client secret, sent with its x-client-id")


class Credentials:
    """Back ends' credentials and the brands' tenants, read from the database and remembered for cache_seconds.

    A back end sends its credential on every call (the marketplace's x-api-key, the gem store's client id and
    secret) and the coins gateway names its brand on every call: that database read (an AsyncSession statement)
    cost the marketplace's gift list ~2 ms of the gateway's ~5 ms of CPU per call. So what was found is remembered
    briefly: a revocation (or a brand moved) takes effect within
    cache_seconds, as a retired signing key does. Only what was found is remembered, so wrong secrets and unknown
    brands keep reaching the database and cannot fill the memory; the entries are bounded, the oldest go first.
    cache_seconds 0 remembers nothing."""

    def __init__(self, sessions: async_sessionmaker, cache_seconds: float) -> None:
        self.sessions = sessions
        self.cache_seconds = cache_seconds
        self._found: dict[tuple[str, ...], tuple[float, Any]] = {}

    def _recall(self, key: tuple[str, ...]) -> Any:
        entry = self._found.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            self._found.pop(key, None)
            return None
        return entry[1]

    def _keep(self, key: tuple[str, ...], value: Any) -> None:
        if self.cache_seconds <= 0:
            return
        if len(self._found) >= CREDENTIALS_KEPT:
            del self._found[next(iter(self._found))]  # the oldest (dicts keep insertion order)
        self._found[key] = (time.monotonic() + self.cache_seconds, value)

    async def verify(self, *, api_key: str | None = None, client_id: str | None = None,
                     client_secret: str | None = None) -> Credential:
        # Keyed by the secret's hash: the plain secret is not kept any longer than the request that carried it.
        if api_key:
            key: tuple[str, ...] = ("api_key", repository.hash_secret(api_key))
        elif client_id and client_secret:
            key = ("client", client_id, repository.hash_secret(client_secret))
        else:
            raise _unauthenticated("send x-api-key, or x-client-id and x-client-secret")
        found: Credential | None = self._recall(key)
        if found is None:
            async with self.sessions() as session:
                if api_key:
                    found = await repository.verify_api_key(session, api_key)
                else:
                    assert client_id and client_secret
                    found = await repository.verify_client(session, client_id, client_secret)
            if found is None:
                raise _unauthenticated("invalid or revoked credentials")
            self._keep(key, found)
        return found

    async def tenant_for_brand(self, brand_id: int) -> str | None:
        key = ("brand", str(brand_id))
        tenant_id: str | None = self._recall(key)
        if tenant_id is None:
            async with self.sessions() as session:
                tenant_id = await repository.tenant_for_brand(session, brand_id)
            if tenant_id is not None:
                self._keep(key, tenant_id)
        return tenant_id


async def verify_credential(credentials: Credentials, *, api_key: str | None = None,
                            client_id: str | None = None, client_secret: str | None = None) -> Credential:
    return await credentials.verify(api_key=api_key, client_id=client_id, client_secret=client_secret)


@dataclass(frozen=True, slots=True)
class Presented:
    """What a request carried, before any of it is checked."""

    token: str | None
    api_key: str | None
    client_id: str | None
    client_secret: str | None

    @property
    def has_credential(self) -> bool:
        return bool(self.api_key or self.client_id or self.client_secret)


async def presented(
    bearer_token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    auth_token: Annotated[str | None, Depends(auth_token_header)],
    api_key: Annotated[str | None, Depends(api_key_header)],
    client_id: Annotated[str | None, Depends(client_id_header)],
    client_secret: Annotated[str | None, Depends(client_secret_header)],
) -> Presented:
    token = bearer_token.credentials if bearer_token is not None else auth_token
    return Presented(token or None, api_key, client_id, client_secret)


async def _credential(request: Request, p: Presented) -> Credential:
    return await verify_credential(request.app.state.credentials, api_key=p.api_key, client_id=p.client_id,
                                   client_secret=p.client_secret)


async def _named_player(request: Request) -> str:
    """externalUserID from the query, else from a JSON body: how a back end names the player it acts for."""
    name = request.query_params.get("externalUserID")
    if not name and request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            body = None  # the body's own validation reports it
        if isinstance(body, dict) and isinstance(body.get("externalUserID"), str):
            name = body["externalUserID"]
    if not name:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          "externalUserID is required when a back-end credential acts for a player")
    if len(name) > MAX_PLAYER_ID_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"externalUserID is longer than {MAX_PLAYER_ID_LENGTH}")
    return name


async def current_player(request: Request, p: Annotated[Presented, Depends(presented)]) -> Player:
    if p.token:
        # The player always comes from the token; a body or query naming another is ignored.
        player = await verify_token(request.app.state.signing_keys, p.token, client_ip(request))
        note_tenant(player.scope.tenant_id)
        return player
    if p.has_credential:
        credential = await _credential(request, p)
        note_tenant(credential.tenant_id)
        player_id = await _named_player(request)
        return Player(Scope(credential.tenant_id, credential.environment), player_id, client_ip=client_ip(request),
                      from_token=False, credential=credential)
    raise _unauthenticated("a player token or a back-end credential is required")


async def tenant_scope(request: Request, p: Annotated[Presented, Depends(presented)]) -> Scope:
    if p.token:
        scope = (await verify_token(request.app.state.signing_keys, p.token)).scope
        note_tenant(scope.tenant_id)
        return scope
    if p.has_credential:
        credential = await _credential(request, p)
        note_tenant(credential.tenant_id)
        return Scope(credential.tenant_id, credential.environment)
    raise _unauthenticated("a player token or a back-end credential is required")


async def admin_caller(request: Request, p: Annotated[Presented, Depends(presented)]) -> Credential:
    if p.has_credential:
        credential = await _credential(request, p)
        note_tenant(credential.tenant_id)
        if not credential.admin:
            raise DomainError(ErrorCode.FORBIDDEN, "this credential is not an admin credential")
        return credential
    if p.token:
        await verify_token(request.app.state.signing_keys, p.token)
        raise DomainError(ErrorCode.FORBIDDEN, "a player token cannot call admin routes")
    raise _unauthenticated("an admin API key or admin client credentials are required")


async def backend_caller(request: Request, p: Annotated[Presented, Depends(presented)]) -> Credential:
    """A trusted back end of the tenant (an API key or client credentials, admin or not); never a player token,
    which names one player and may not read what concerns the others (the tenant's event log)."""
    if p.has_credential:
        credential = await _credential(request, p)
        note_tenant(credential.tenant_id)
        return credential
    if p.token:
        await verify_token(request.app.state.signing_keys, p.token)
        raise DomainError(ErrorCode.FORBIDDEN, "a player token cannot read the tenant's events")
    raise _unauthenticated("an API key or client credentials are required")


CurrentPlayer = Annotated[Player, Depends(current_player)]
TenantScope = Annotated[Scope, Depends(tenant_scope)]
AdminCaller = Annotated[Credential, Depends(admin_caller)]
BackendCaller = Annotated[Credential, Depends(backend_caller)]
