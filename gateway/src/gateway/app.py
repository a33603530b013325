"""The FastAPI application: request ids, problem+json errors, the lifespan that opens the database and the
gRPC channels (inside the running loop), and the routers."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from service_kit.db import create_engine, database_unavailable, is_database_unavailable, session_maker, upgrade_database
from service_kit.errors import DomainError, ErrorCode
from service_kit.logs import request_id_var
from service_kit.settings import load_settings
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import repository
from gateway.access_log import AccessLogMiddleware
from gateway.auth import Credentials, SigningKeys
from gateway.body_limit import BodyLimitMiddleware
from gateway.config import Settings
from gateway.console import routes as console_pages
from gateway.dialects import DIALECTS, dialect_for
from gateway.errors import BY_STATUS, domain_error_response, problem_response
from gateway.metrics import MetricsMiddleware
from gateway.routes import admin, auth, fulfillment, health, items, redemptions, wallet
from gateway.store import routes as store_pages
from gateway.upstream import Upstreams
from gateway.web import pages as web_pages

log = logging.getLogger("gateway")

MIGRATIONS = Path(__file__).parent / "migrations"
REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,128}")


def request_id_from(value: str | None) -> str:
    """The caller's id when it is sane (printable, at most 128 characters), a new one otherwise."""
    if value and _VALID_REQUEST_ID.fullmatch(value) and value.strip():
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Binds the request id for logs and upstream metadata, echoes it on every response, and turns a crash into
    a problem+json 500 that still carries it (the gateway's own database being unavailable into a 503)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode())
        rid = request_id_from(raw.decode("latin-1") if raw is not None else None)
        token = request_id_var.set(rid)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)["X-Request-Id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            dialect = dialect_for(scope.get("path", ""))
            if is_database_unavailable(exc) and not started:
                # The gateway's own database (credentials, signing keys) is down, restarting or full: not a
                # bug, a 503 with Retry-After in the dialect's shape, like any service being unavailable.
                log.warning("database unavailable", extra={"path": scope.get("path"), "error": repr(exc)})
                unavailable = database_unavailable(exc)
                answer = dialect.render_error(unavailable) if dialect else domain_error_response(unavailable)
                await answer(scope, receive, send_with_id)
                return
            log.exception("unhandled error", extra={"method": scope.get("method"), "path": scope.get("path")})
            if started:
                raise
            crash = dialect.render_error(DomainError(ErrorCode.INTERNAL, "internal error")) if dialect else \
                problem_response(500, "INTERNAL", "internal error")
            await crash(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    page_of = web_pages.app_of(request.url.path)
    if page_of is not None:
        status, message = web_pages.refusal(exc)
        return web_pages.problem_page(request, page_of, status, message)
    dialect = dialect_for(request.url.path)
    response = dialect.render_error(exc) if dialect else domain_error_response(exc)
    if exc.code is ErrorCode.UNAUTHENTICATED:
        response.headers["WWW-Authenticate"] = "Bearer"
    if exc.code in (ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL):
        log.warning("request failed", extra={"code": exc.code.value, "detail": exc.message,
                                              "path": request.url.path})
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": ".".join(str(part) for part in e.get("loc", ())), "message": e.get("msg", "")}
              for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    page_of = web_pages.app_of(request.url.path)
    if page_of is not None:
        return web_pages.problem_page(request, page_of, 422, f"Invalid request: {detail}")
    dialect = dialect_for(request.url.path)
    if dialect:
        return dialect.render_error(DomainError(ErrorCode.VALIDATION_ERROR, detail))
    return problem_response(422, "VALIDATION_ERROR", detail, "Invalid request", extra={"errors": errors})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    page_of = web_pages.app_of(request.url.path)
    if page_of is not None:
        return web_pages.problem_page(request, page_of, exc.status_code, str(exc.detail))
    code = BY_STATUS.get(exc.status_code, "HTTP_ERROR")
    return problem_response(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, settings.database_url)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_maker(engine)
    async with sessions.begin() as session:
        await repository.ensure_signing_key(session)
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.signing_keys = SigningKeys(sessions, settings.signing_key_cache_seconds)
    app.state.credentials = Credentials(sessions, settings.credential_cache_seconds)
    app.state.upstreams = Upstreams(settings)
    log.info("gateway ready", extra={"catalog": settings.catalog_addr, "wallet": settings.wallet_addr,
                                     "redemption": settings.redemption_addr,
                                     "fulfillment": settings.fulfillment_addr})
    try:
        yield
    finally:
        await app.state.upstreams.close()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Rewards gateway",
        version="1.0.0",
        description="The canonical rewards API: offers (items), wallets, redemptions, and operators' admin routes. "
                    "Errors are application/problem+json with a stable `code` and the `requestId`.",
        lifespan=lifespan,
    )
    app.state.settings = settings or load_settings(Settings)
    # Added first, so it runs inside RequestIdMiddleware: a 413 carries the request id too.
    app.add_middleware(BodyLimitMiddleware, limit=app.state.settings.max_body_bytes,
                       larger={fulfillment.UPLOAD_CODES_PATH: app.state.settings.max_upload_body_bytes})
    # Inside RequestIdMiddleware (its line carries the request id), outside the body limit (a 413 is logged too).
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: it counts the status the client gets, and answers GET /metrics before anything else runs.
    app.add_middleware(MetricsMiddleware)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for module in (health, auth, items, wallet, redemptions, admin, fulfillment):
        app.include_router(module.router)
    for dialect in DIALECTS:
        app.include_router(dialect.router)
    # The web apps last: the API's routes are matched first, and no middleware is added for the pages.
    app.include_router(store_pages.router)
    app.include_router(console_pages.router)
    app.mount(web_pages.ASSETS_PATH, web_pages.assets(), name="assets")
    return app
