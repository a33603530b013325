"""Traces with the SDK's in-memory exporter: the context crosses a grpc.aio call between two servers, every asyncpg
statement is a span of the call that ran it, the context and the request id go into an outbox row and come back
out of NATS headers as a consumer span of the same trace, and log lines carry the trace id. Off by default: no
provider, no interceptor, no wrapped asyncpg method, nothing in the logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import asyncpg
import grpc
import pytest
from local_runner.infra import Postgres
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from service_kit import logs, tracing
from service_kit.grpc_client import call_metadata, open_channel
from service_kit.grpc_server import ServingInterceptor
from service_kit.logs import JsonFormatter, request_id_var
from service_kit.messaging import DurableConsumer
from service_kit.pgpool import PgPool


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("kit-test", exporter=exporter, environ={})
    yield exporter
    tracing.shutdown_tracing()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("kit-test"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def test_tracing_is_off_unless_the_otel_settings_ask_for_it() -> None:
    assert tracing.tracing_wanted({}) == []
    assert tracing.tracing_wanted({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}) == []
    assert tracing.tracing_wanted({"OTEL_TRACES_EXPORTER": "none"}) == []
    assert tracing.tracing_wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == []
    assert tracing.tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == ["otlp"]
    assert tracing.tracing_wanted({"OTEL_TRACES_EXPORTER": "console,otlp"}) == ["console", "otlp"]
    assert tracing.tracing_wanted({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}) == []


def test_off_there_is_no_provider_no_interceptor_no_wrapped_statement_and_no_trace_id_in_logs(
        log_lines: io.StringIO) -> None:
    assert not tracing.configure_tracing("kit-test", environ={})
    assert not tracing.enabled() and tracing.tracing_provider() is None
    assert tracing.server_interceptors() == [] and tracing.client_interceptors() == []
    assert logs.current_trace_ids is None
    assert not hasattr(asyncpg.connection.Connection.fetch, "__wrapped__")
    assert isinstance(tracing.tracer(), trace.NoOpTracer)
    token = request_id_var.set("rid-off")
    try:
        # Nothing but the request id to carry: no traceparent is made up.
        assert tracing.outbox_context() == {"x-request-id": "rid-off"}
        logging.getLogger("kit-test").info("hello")
    finally:
        request_id_var.reset(token)
    (line,) = [entry for entry in _lines(log_lines) if entry["msg"] == "hello"]
    assert line["request_id"] == "rid-off" and "trace_id" not in line


def test_the_context_and_request_id_go_through_an_outbox_row_and_back(spans: InMemorySpanExporter) -> None:
    token = request_id_var.set("rid-outbox")
    try:
        with tracing.tracer().start_as_current_span("confirm") as span:
            row_value = tracing.outbox_context_json()
    finally:
        request_id_var.reset(token)
    headers = tracing.headers_from_row(row_value)
    assert headers["x-request-id"] == "rid-outbox"
    assert headers["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    carried = trace.get_current_span(tracing.extract(headers)).get_span_context()
    assert (carried.trace_id, carried.span_id) == (span.get_span_context().trace_id, span.get_span_context().span_id)
    assert tracing.headers_from_row(json.loads(row_value or "{}")) == headers   # decoded jsonb alike
    assert tracing.headers_from_row(None) == {}


async def test_a_consumed_message_is_a_consumer_span_of_the_publishers_trace(
        spans: InMemorySpanExporter, log_lines: io.StringIO) -> None:
    with tracing.tracer().start_as_current_span("redeem") as publisher:
        token = request_id_var.set("rid-nats")
        try:
            headers = tracing.headers_from_row(tracing.outbox_context())
        finally:
            request_id_var.reset(token)
    seen: dict[str, Any] = {}

    async def take(msg: Any) -> None:
        seen["request_id"] = request_id_var.get()
        seen["trace_id"] = trace.get_current_span().get_span_context().trace_id
        logging.getLogger("kit-test").info("job fulfilled")

    consumer = DurableConsumer(None, "STREAM", None, take, batch=1, what="job")  # type: ignore[arg-type]
    msg = SimpleNamespace(subject="rewards.fulfillment.requested", headers={**headers, "Nats-Msg-Id": "ev-1"})
    await consumer._take(msg)  # type: ignore[arg-type]

    trace_id = publisher.get_span_context().trace_id
    assert seen == {"request_id": "rid-nats", "trace_id": trace_id}
    (received,) = [s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.CONSUMER]
    assert received.parent is not None and received.parent.span_id == publisher.get_span_context().span_id
    assert received.attributes["messaging.message.id"] == "ev-1"
    lines = [e for e in _lines(log_lines) if e["msg"] in ("job fulfilled", "job taken")]
    assert [e["msg"] for e in lines] == ["job fulfilled", "job taken"]
    assert {e["trace_id"] for e in lines} == {format(trace_id, "032x")}
    assert {e["request_id"] for e in lines} == {"rid-nats"}


def _unary(behavior: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(behavior)   # bytes in, bytes out


async def _server(name: str, behavior: Any) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(interceptors=[*tracing.server_interceptors(), ServingInterceptor()])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(f"kit.{name}", {"Call": _unary(behavior)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def test_the_context_crosses_a_grpc_aio_call_between_two_servers(
        spans: InMemorySpanExporter, log_lines: io.StringIO) -> None:
    async def b_call(request: bytes, context: Any) -> bytes:
        return b"b:" + request

    b_server, b_port = await _server("B", b_call)
    b_channel = open_channel(f"127.0.0.1:{b_port}")

    async def a_call(request: bytes, context: Any) -> bytes:
        # A calls B as a service calls another: the request id in metadata, the trace context by the interceptor.
        reply = await b_channel.unary_unary("/kit.B/Call")(request, timeout=5, metadata=call_metadata())
        return b"a:" + reply

    a_server, a_port = await _server("A", a_call)
    a_channel = open_channel(f"127.0.0.1:{a_port}")
    try:
        with tracing.tracer().start_as_current_span("http request") as root:
            token = request_id_var.set("rid-grpc")
            try:
                reply = await a_channel.unary_unary("/kit.A/Call")(b"x", timeout=5, metadata=call_metadata())
            finally:
                request_id_var.reset(token)
    finally:
        await a_channel.close()
        await b_channel.close()
        await a_server.stop(None)
        await b_server.stop(None)
    assert reply == b"a:b:x"

    trace_id = root.get_span_context().trace_id
    finished = spans.get_finished_spans()
    by_kind = {(s.name, s.kind) for s in finished if s.context.trace_id == trace_id}
    assert {("/kit.A/Call", trace.SpanKind.CLIENT), ("/kit.A/Call", trace.SpanKind.SERVER),
            ("/kit.B/Call", trace.SpanKind.CLIENT), ("/kit.B/Call", trace.SpanKind.SERVER)} <= by_kind
    b_server_span = next(s for s in finished if s.name == "/kit.B/Call" and s.kind is trace.SpanKind.SERVER)
    b_client_span = next(s for s in finished if s.name == "/kit.B/Call" and s.kind is trace.SpanKind.CLIENT)
    a_server_span = next(s for s in finished if s.name == "/kit.A/Call" and s.kind is trace.SpanKind.SERVER)
    assert b_server_span.parent.span_id == b_client_span.context.span_id
    assert b_client_span.parent.span_id == a_server_span.context.span_id

    # One INFO line per call, inside the call's span, with the caller's request id.
    served = [e for e in _lines(log_lines) if e["msg"] == "call served"]
    assert sorted(e["method"] for e in served) == ["/kit.A/Call", "/kit.B/Call"]
    assert all(e["level"] == "info" and e["code"] == "OK" and e["duration_ms"] >= 0 for e in served)
    assert {e["request_id"] for e in served} == {"rid-grpc"}
    assert {e["trace_id"] for e in served} == {format(trace_id, "032x")}
    server_span_ids = {format(s.context.span_id, "016x") for s in (a_server_span, b_server_span)}
    assert {e["span_id"] for e in served} == server_span_ids


async def test_every_asyncpg_statement_is_a_span_of_the_call_that_ran_it_without_its_parameters(
        spans: InMemorySpanExporter, postgres: Postgres) -> None:
    pool = await PgPool.open(postgres.ensure_database("kit_tracing"), size=1)
    try:
        with tracing.tracer().start_as_current_span("rpc") as parent:
            assert await pool.fetchval("SELECT $1::text", "CODE-SECRET-1234") == "CODE-SECRET-1234"
            async with pool.transaction() as tx:
                await tx.fetchval("SELECT 2")
    finally:
        await pool.close()
    statements = [s for s in spans.get_finished_spans()
                  if s.parent is not None and s.parent.span_id == parent.get_span_context().span_id]
    texts = [str(s.attributes.get("db.statement") or s.attributes.get("db.query.text")) for s in statements]
    assert {"SELECT $1::text", "SELECT 2"} <= set(texts), texts
    assert any(t.startswith("BEGIN") for t in texts) and any(t.startswith("COMMIT") for t in texts), texts
    assert all(s.attributes.get("db.system") == "postgresql" or s.attributes.get("db.system.name") == "postgresql"
               for s in statements)
    assert not any("CODE-SECRET" in json.dumps(dict(s.attributes)) for s in statements)
