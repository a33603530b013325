"""The FastAPI application: request ids, problem+json errors, the lifespan that opens the database and the
gRPC channels (inside the running loop), and the routers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.errors import DomainError, ErrorCode
from service_kit.settings import load_settings
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from gateway import api_docs, openapi, repository
from gateway.auth import Credentials, SigningKeys
from gateway.body_limit import BodyLimitMiddleware
from gateway.config import Settings, cors_origins
from gateway.console import routes as console_pages
from gateway.dialects import DIALECTS, answering_dialect
from gateway.edge import EdgeMiddleware
from gateway.errors import BY_STATUS, problem_response
from gateway.rate_limit import RateLimiter, RateLimitMiddleware, shared_buckets
from gateway.routes import fulfillment
from gateway.store import routes as store_pages
from gateway.upstream import Upstreams
from gateway.web import pages as web_pages

log = logging.getLogger("gateway")

MIGRATIONS = Path(__file__).parent / "migrations"


# CORS (CORS_ALLOW_ORIGINS): what a browser app may send and read. No cookies are used, so no credentials mode.
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "x-auth-token",
                        "x-api-key", "x-client-id", "x-client-secret"]
CORS_RESPONSE_HEADERS = ["X-Request-Id", "Retry-After", "Idempotent-Replayed", "WWW-Authenticate"]
CORS_MAX_AGE_SECONDS = 600


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    page_of = web_pages.app_of(request.url.path)
    if page_of is not None:
        status, message = web_pages.refusal(exc)
        return web_pages.problem_page(request, page_of, status, message)
    response = answering_dialect(request.url.path).render_error(exc)
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
    return answering_dialect(request.url.path).invalid(detail, errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    page_of = web_pages.app_of(request.url.path)
    if page_of is not None:
        return web_pages.problem_page(request, page_of, exc.status_code, str(exc.detail))
    # No route answered (no such path, another method...): in the canonical shape, whatever the path.
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
    limiter: RateLimiter | None = app.state.rate_limiter
    shared = limiter is not None and limiter.shared
    log.info("gateway ready", extra={"catalog": settings.catalog_addr, "wallet": settings.wallet_addr,
                                     "redemption": settings.redemption_addr,
                                     "fulfillment": settings.fulfillment_addr, "events": settings.events_addr,
                                     "cors_allow_origins": settings.cors_allow_origins or "(none)",
                                     "rate_limit_per_second": settings.rate_limit_per_second or "(no limit)",
                                     "rate_limit_burst": settings.rate_limit_burst,
                                     "rate_limit_shared": shared})
    try:
        async with AsyncExitStack() as stack:
            if limiter is not None and shared:
                app.state.rate_limit_sync = await stack.enter_async_context(
                    shared_buckets(limiter, settings.database_url, settings.rate_limit_sync_seconds))
            yield
    finally:
        await app.state.upstreams.close()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Rewards gateway",
        version="1.0.0",
        description="The canonical rewards API: offers (items), wallets, redemptions, and operators' admin routes. "
                    "Errors are application/problem+json with a stable `code` and the `requestId`. Beside it, the "
                    "APIs of the three products it replaces (the gem store, the coins gateway, the marketplace), "
                    "each with its own error shape.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        # /docs and /redoc come from api_docs, with assets installed with the package (FastAPI's use CDNs).
        docs_url=None, redoc_url=None,
    )
    # Built once, when first asked for (openapi.py says what it adds to FastAPI's own document), with every API's
    # error bodies.
    error_models = tuple(model for dialect in DIALECTS for model in dialect.error_models)
    app.openapi = lambda: openapi.openapi_document(app, error_models)  # type: ignore[method-assign]
    settings = app.state.settings = settings or load_settings(Settings)
    # Added first, so it runs inside the edge: a 413 carries the request id, is counted and logged.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes,
                       larger={fulfillment.UPLOAD_CODES_PATH: settings.max_upload_body_bytes,
                               # the file, and the multipart form around it
                               console_pages.UPLOAD_CODES_PAGE: settings.max_upload_body_bytes + 65536})
    # Off unless set; outside the body limit, so a flood is refused before any body is read. Shared by the
    # replicas through the database unless RATE_LIMIT_SYNC_SECONDS is 0 (the lifespan runs the sync).
    app.state.rate_limiter = None
    if settings.rate_limit_per_second > 0:
        app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst,
                                             shared=settings.rate_limit_sync_seconds > 0)
        app.add_middleware(RateLimitMiddleware, limiter=app.state.rate_limiter)
    # Off unless set; outside the rate limit and every refusal, so a browser can read any answer's status and body.
    origins = cors_origins(settings.cors_allow_origins)
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=CORS_METHODS,
                           allow_headers=CORS_REQUEST_HEADERS, expose_headers=CORS_RESPONSE_HEADERS,
                           max_age=CORS_MAX_AGE_SECONDS)
    # Outermost: GET /metrics, the request id, a crash's 500, the RED metrics, the access line and the HTTP span.
    app.add_middleware(EdgeMiddleware)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(web_pages.PageAnswer, web_pages.page_answer)
    for dialect in DIALECTS:
        for router in dialect.routers:
            app.include_router(router)
    # The web apps last: the API's routes are matched first, and no middleware is added for the pages.
    app.include_router(store_pages.router)
    app.include_router(console_pages.router)
    app.mount(web_pages.ASSETS_PATH, web_pages.assets(), name="assets")
    api_docs.install(app)
    return app
