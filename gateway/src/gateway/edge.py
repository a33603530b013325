"""What every HTTP request goes through first, in one pure ASGI layer (each layer costs CPU on every request):

- `GET /metrics` answered before anything else runs (gateway.metrics);
- the request id: the caller's when sane, else a new one, bound for the logs and the upstream metadata, and
  echoed as `X-Request-Id` on every answer;
- a crash turned into a problem+json 500 that still carries the request id (the gateway's own database being
  unavailable into a 503 with Retry-After), in the shape of the API it was sent to;
- the RED metrics of the request, by route template, method, status and dialect (the status the client got, a
  crash's 500 included);
- one INFO access line per request: route template, method, status, duration, dialect and, once authentication
  named it, the tenant (never a body, a query string or a header other than the request id: codes, PINs,
  tokens and secrets stay out). /healthz and /metrics are not logged: probes would drown the rest;
- while tracing is on (service_kit.tracing), the HTTP span of its trace, current while the request runs (so every
  gRPC call and log line of the request is in it) and ended after its line: `POST /v1/redemptions` by the route
  template, with the method, route and status as attributes, nothing else of the request.

The route is always the matched route's template (`/v1/redemptions/{id}`), never the raw path (which may name a
player); "unmatched" when no route matched."""

from __future__ import annotations

import logging
import re
import time
import uuid

from service_kit import tracing
from service_kit.db import database_unavailable, is_database_unavailable
from service_kit.logs import request_id_var
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.dialects import answering_dialect, dialect_for
from gateway.metrics import METRICS_PATH, RequestMetrics, expose
from gateway.request_facts import facts_var

log = logging.getLogger("gateway")
access_log = logging.getLogger("gateway.access")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.encode()
_VALID_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,128}")
QUIET_PATHS = frozenset({"/healthz", METRICS_PATH})


def request_id_from(value: str | None) -> str:
    """The caller's id when it is sane (printable, at most 128 characters), a new one otherwise."""
    if value and _VALID_REQUEST_ID.fullmatch(value) and value.strip():
        return value
    return uuid.uuid4().hex


class EdgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics = RequestMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == METRICS_PATH and scope["method"] in ("GET", "HEAD"):
            await expose(scope, send)
            return
        started = time.perf_counter()
        quiet = path in QUIET_PATHS
        span = span_token = None
        if not quiet and tracing.enabled():
            span, span_token = tracing.start_http_span(scope.get("method", ""), scope.get("headers", ()))
        raw = next((value for name, value in scope["headers"] if name == _REQUEST_ID_KEY), None)
        rid = request_id_from(raw.decode("latin-1") if raw is not None else None)
        rid_token = request_id_var.set(rid)
        facts: dict[str, str] = {}
        facts_token = facts_var.set(facts)
        status = 500   # what the client gets when nothing could be answered
        answering = False
        self.metrics.started()

        async def send_with_id(message: Message) -> None:
            nonlocal status, answering
            if message["type"] == "http.response.start":
                answering = True
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = rid
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if answering:
                    log.exception("unhandled error", extra={"method": scope.get("method"), "path": path})
                    raise
                await self._render_crash(exc, scope, receive, send_with_id)
        finally:
            facts_var.reset(facts_token)
            seconds = time.perf_counter() - started
            template = getattr(scope.get("route"), "path", None)
            dialect = dialect_for(path)
            self.metrics.finished(template, scope["method"], status, dialect, seconds)
            if not quiet:
                extra: dict[str, object] = {
                    "route": template or "unmatched", "method": scope.get("method", ""), "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "dialect": dialect.name if dialect is not None else "canonical"}
                if "tenant" in facts:
                    extra["tenant"] = facts["tenant"]
                access_log.info("request served", extra=extra)
            request_id_var.reset(rid_token)
            if span is not None:
                tracing.end_http_span(span, span_token, template, status)

    async def _render_crash(self, exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
        dialect = answering_dialect(scope.get("path", ""))
        if is_database_unavailable(exc):
            # The gateway's own database (credentials, signing keys) is down, restarting or full: not a bug, a
            # 503 with Retry-After in the dialect's shape, like any service being unavailable.
            log.warning("database unavailable", extra={"path": scope.get("path"), "error": repr(exc)})
            answer = dialect.render_error(database_unavailable(exc))
        else:
            log.exception("unhandled error", extra={"method": scope.get("method"), "path": scope.get("path")})
            answer = dialect.crash()
        await answer(scope, receive, send)
