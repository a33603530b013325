"""While tracing is on, the edge middleware makes each request the HTTP span of its trace: named by the route
template, a child of the caller's W3C context, current while the route runs, with nothing of the raw path."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from gateway.edge import EdgeMiddleware
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from service_kit import tracing

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("gateway-test", exporter=exporter, environ={"OTEL_TRACES_SAMPLER": "always_on"})
    yield exporter
    tracing.shutdown_tracing()


def _app(seen: dict[str, int]) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/players/{player_id}/wallet")
    async def wallet(player_id: str) -> dict[str, str]:
        seen["span_id"] = trace.get_current_span().get_span_context().span_id
        return {"player": player_id}

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("boom")

    app.add_middleware(EdgeMiddleware)
    return app


async def test_a_request_is_a_server_span_named_by_its_route_template_under_the_callers_context(
        spans: InMemorySpanExporter) -> None:
    seen: dict[str, int] = {}
    transport = httpx.ASGITransport(app=_app(seen), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        caller = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
        r = await http.get("/v1/players/p-secret-42/wallet", headers=caller)
        assert r.status_code == 200
        assert (await http.get("/v1/broken")).status_code == 500
    ok, broken = spans.get_finished_spans()
    assert ok.name == "GET /v1/players/{player_id}/wallet" and ok.kind is trace.SpanKind.SERVER
    assert format(ok.context.trace_id, "032x") == CALLER_TRACE and format(ok.parent.span_id, "016x") == CALLER_SPAN
    assert seen["span_id"] == ok.context.span_id   # current while the route ran: its gRPC calls are its children
    assert dict(ok.attributes) == {"http.request.method": "GET", "http.route": "/v1/players/{player_id}/wallet",
                                   "http.response.status_code": 200}
    assert "p-secret-42" not in json.dumps(dict(ok.attributes)) + ok.name
    assert broken.name == "GET /v1/broken" and broken.parent is None
    assert broken.attributes["http.response.status_code"] == 500
    assert broken.status.status_code is trace.StatusCode.ERROR
