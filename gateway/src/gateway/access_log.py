"""One INFO line per HTTP request: route template, method, status, duration, dialect and, once authentication
named it, the tenant; the request id and (while tracing is on) the trace id come from the kit's JSON formatter.
Cheap enough to leave on (one dict and one json.dumps per request), unlike uvicorn's access log (ACCESS_LOG), and
never a body, a query string or a header other than the request id: codes, PINs, tokens and secrets stay out.

The route is the matched route's template (`/v1/redemptions/{id}`), never the raw path (which may name a player);
"unmatched" when no route matched. /healthz and /metrics are not logged: probes would drown the rest.

While tracing is on (service_kit.tracing), each request it logs is also the HTTP span of its trace, current while
the request runs (so every gRPC call and log line of the request is in it) and ended after its line: `POST
/v1/redemptions` by the route template, with the method, route and status as attributes, nothing else of the
request. Made here rather than by the FastAPI instrumentation: one middleware layer less on every request."""

from __future__ import annotations

import contextvars
import logging
import time

from service_kit import tracing
from service_kit.logs import tenant_var
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("gateway.access")

QUIET_PATHS = frozenset({"/healthz", "/metrics"})

# What a request learns on its way (the tenant, from its credential), in a box the middleware creates: a value set
# in a dependency would not reach the middleware back through a copied context, a box's content does.
_facts: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("gateway_request_facts", default=None)


def note_tenant(tenant_id: str) -> None:
    """Authentication found the request's tenant: for its access line and every later log line of it."""
    facts = _facts.get()
    if facts is not None:
        facts["tenant"] = tenant_id
    tenant_var.set(tenant_id)


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        # Imported here: the dialects' routes import gateway.auth, which imports note_tenant from this module.
        from gateway.dialects import dialect_for

        self.app = app
        self.dialect_for = dialect_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in QUIET_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        span = span_token = None
        if tracing.enabled():
            span, span_token = tracing.start_http_span(scope.get("method", ""), scope.get("headers", ()))
        status = 500   # what the client gets when the app raises before answering (RequestIdMiddleware renders it)
        facts: dict[str, str] = {}
        token = _facts.set(facts)

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            _facts.reset(token)
            template = getattr(scope.get("route"), "path", None)
            route = template or "unmatched"
            dialect = self.dialect_for(scope.get("path", ""))
            extra: dict[str, object] = {
                "route": route, "method": scope.get("method", ""), "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "dialect": dialect.name if dialect is not None else "canonical"}
            if "tenant" in facts:
                extra["tenant"] = facts["tenant"]
            log.info("request served", extra=extra)
            if span is not None:
                tracing.end_http_span(span, span_token, template, status)
