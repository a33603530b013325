"""While tracing is on, each call to a provider's API is a CLIENT span of the job's trace, and the provider gets
its W3C context (traceparent), so a provider that traces joins the redemption's trace; a call that gets no answer
is a failed span. Against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from fulfillment_service.provider_calls import ProviderClient, ProviderUnreachable
from local_runner.infra import free_port
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from service_kit import tracing
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SECRET = "provider-call-spans-secret"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("fulfillment-test", exporter=exporter,
                                     environ={"OTEL_TRACES_SAMPLER": "always_on"})
    yield exporter
    tracing.shutdown_tracing()


@pytest.fixture
async def provider() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def deliver(request: Request) -> JSONResponse:
        seen.append(dict(request.headers))
        return JSONResponse({"status": "completed"})

    port = free_port()
    app = Starlette(routes=[Route("/deliver/{redemption}", deliver, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}", seen
    server.should_exit = True
    await task


async def test_a_provider_call_is_a_client_span_whose_context_the_provider_receives(spans, provider) -> None:
    base, seen = provider
    async with httpx.AsyncClient() as http:
        client = ProviderClient(http, SECRET, timeout=2, max_attempts=1, min_wait=0.01, max_wait=0.1)
        with tracing.tracer("test").start_as_current_span("job taken") as parent:
            answer = await client.post(f"{base}/deliver/rd-secret-7", {"redemption_id": "rd-secret-7"},
                                       idempotency_key="rd-secret-7", strategy="webhook")
    assert answer.status_code == 200
    call = next(s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.CLIENT)
    assert call.name == "POST 127.0.0.1" and call.parent.span_id == parent.get_span_context().span_id
    assert call.attributes["http.response.status_code"] == 200
    assert "rd-secret-7" not in call.name + repr(dict(call.attributes)), "no path, no id of a redemption"
    (headers,) = seen
    assert headers["traceparent"].split("-")[1:3] == [format(call.context.trace_id, "032x"),
                                                    format(call.context.span_id, "016x")]


async def test_a_call_without_an_answer_is_a_failed_span(spans) -> None:
    async with httpx.AsyncClient() as http:
        client = ProviderClient(http, SECRET, timeout=1, max_attempts=1, min_wait=0.01, max_wait=0.1)
        with pytest.raises(ProviderUnreachable):
            await client.post(f"http://127.0.0.1:{free_port()}/deliver", {}, idempotency_key="k", strategy="webhook")
    (call,) = [s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.CLIENT]
    assert call.status.status_code is trace.StatusCode.ERROR and call.attributes["error.type"] == "ConnectError"
