"""Traces with the SDK's in-memory exporter: the context crosses a grpc.aio call between two servers (the kit's
interceptor's SERVER span, its channel's CLIENT span), every PgPool and SQLAlchemy statement is a span of the call
that ran it, the context and the request id go into an outbox row and come back out of NATS headers as a consumer
span of the same trace, and log lines carry the trace id. Off by default: no provider, no traced channel, no
statement span, nothing in the logs."""

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
from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from service_kit import logs, tracing
from service_kit.db import create_engine
from service_kit.errors import DomainError, ErrorCode
from service_kit.grpc_client import TracedChannel, call_metadata, open_channel
from service_kit.grpc_server import ServingInterceptor
from service_kit.logs import JsonFormatter, request_id_var
from service_kit.messaging import DurableConsumer
from service_kit.pgpool import PgPool
from sqlalchemy import text


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("kit-test", exporter=exporter, environ={"OTEL_TRACES_SAMPLER": "always_on"})
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


def test_by_default_one_trace_in_twenty_is_kept_whole_and_the_settings_choose_another_sampler() -> None:
    default = tracing.sampler_of({})
    assert isinstance(default, sampling.ParentBasedTraceIdRatio) and "{0.05}" in default.get_description()
    assert tracing.sampler_of({"OTEL_TRACES_SAMPLER": "always_on"}) is sampling.ALWAYS_ON
    assert tracing.sampler_of({"OTEL_TRACES_SAMPLER": "parentbased_always_on"}) is sampling.DEFAULT_ON
    half = tracing.sampler_of({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"})
    assert isinstance(half, sampling.TraceIdRatioBased) and half.rate == 0.5
    assert "{0.05}" in tracing.sampler_of({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                                           "OTEL_TRACES_SAMPLER_ARG": "lots"}).get_description()
    tenth = tracing.sampler_of({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"})
    assert "{0.1}" in tenth.get_description()
    assert isinstance(tracing.sampler_of({"OTEL_TRACES_SAMPLER": "sometimes"}), sampling.ParentBasedTraceIdRatio)


async def test_off_there_is_no_provider_no_traced_channel_no_statement_span_and_no_trace_id_in_logs(
        log_lines: io.StringIO) -> None:
    assert not tracing.configure_tracing("kit-test", environ={})
    assert not tracing.enabled() and tracing.tracing_provider() is None
    channel = open_channel("127.0.0.1:9")
    assert not isinstance(channel, TracedChannel)
    await channel.close()
    assert tracing.statement_span("SELECT 1", {}) is None
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


async def test_a_prepared_batch_is_one_consumer_span_linked_to_each_message_and_each_message_keeps_its_own(
        spans: InMemorySpanExporter, log_lines: io.StringIO) -> None:
    publishers, messages = [], []
    for n in range(2):
        with tracing.tracer().start_as_current_span(f"redeem {n}") as publisher:
            publishers.append(publisher.get_span_context())
            headers = tracing.headers_from_row(tracing.outbox_context())
        messages.append(SimpleNamespace(subject="rewards.events.redemption.created",
                                        headers={**headers, "Nats-Msg-Id": f"ev-{n}"}))
    seen: dict[str, Any] = {}

    async def prepare(batch: list[Any]) -> None:
        seen["batch"] = trace.get_current_span().get_span_context().span_id
        seen["request_id"] = request_id_var.get()

    async def take(msg: Any) -> None:
        seen[msg.headers["Nats-Msg-Id"]] = trace.get_current_span().get_span_context().trace_id

    consumer = DurableConsumer(None, "STREAM", None, take, batch=2, what="event",  # type: ignore[arg-type]
                               prepare_batch=prepare)
    await consumer._prepare(prepare, messages)  # type: ignore[arg-type]
    for msg in messages:
        await consumer._take(msg)  # type: ignore[arg-type]

    (batch,) = [s for s in spans.get_finished_spans() if s.name == "STREAM process"]
    assert batch.kind is trace.SpanKind.CONSUMER and batch.context.span_id == seen["batch"]
    assert [(link.context.trace_id, link.context.span_id) for link in batch.links] == \
        [(p.trace_id, p.span_id) for p in publishers]
    assert batch.attributes["messaging.batch.message_count"] == 2
    # Each message is still taken in its own span, in its publisher's trace.
    assert [seen["ev-0"], seen["ev-1"]] == [p.trace_id for p in publishers]
    assert len([s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.CONSUMER]) == 3
    (prepared,) = [e for e in _lines(log_lines) if e["msg"] == "events prepared"]
    assert prepared["messages"] == 2 and prepared["request_id"] == seen["request_id"]
    assert [e["msg"] for e in _lines(log_lines)].count("event taken") == 2


def _unary(behavior: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(behavior)   # bytes in, bytes out


async def _server(name: str, behavior: Any) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
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
    a_client_span = next(s for s in finished if s.name == "/kit.A/Call" and s.kind is trace.SpanKind.CLIENT)
    # Each span the child of the one before: the context crossed both calls in their metadata.
    assert a_client_span.parent.span_id == root.get_span_context().span_id
    assert a_server_span.parent.span_id == a_client_span.context.span_id and a_server_span.parent.is_remote
    assert b_client_span.parent.span_id == a_server_span.context.span_id
    assert b_server_span.parent.span_id == b_client_span.context.span_id and b_server_span.parent.is_remote
    for span in (a_client_span, a_server_span):
        assert dict(span.attributes) == {"rpc.system": "grpc", "rpc.service": "kit.A", "rpc.method": "Call",
                                         "rpc.grpc.status_code": 0}
        assert span.status.status_code is trace.StatusCode.UNSET

    # One INFO line per call, inside the call's span, with the caller's request id.
    served = [e for e in _lines(log_lines) if e["msg"] == "call served"]
    assert sorted(e["method"] for e in served) == ["/kit.A/Call", "/kit.B/Call"]
    assert all(e["level"] == "info" and e["code"] == "OK" and e["duration_ms"] >= 0 for e in served)
    assert {e["request_id"] for e in served} == {"rid-grpc"}
    assert {e["trace_id"] for e in served} == {format(trace_id, "032x")}
    server_span_ids = {format(s.context.span_id, "016x") for s in (a_server_span, b_server_span)}
    assert {e["span_id"] for e in served} == server_span_ids


@pytest.fixture
def unsampled() -> Iterator[InMemorySpanExporter]:
    """Tracing on, with a sampler that keeps no trace: what 19 redemptions in 20 see by default."""
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("kit-test", exporter=exporter, environ={
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"})
    yield exporter
    tracing.shutdown_tracing()


async def test_a_trace_that_is_not_sampled_makes_no_span_but_its_context_still_crosses_every_call(
        unsampled: InMemorySpanExporter, log_lines: io.StringIO) -> None:
    seen: list[tuple[str, str] | None] = []

    async def b_call(request: bytes, context: Any) -> bytes:
        seen.append(tracing.current_trace_ids())
        return b"b:" + request

    b_server, b_port = await _server("B", b_call)
    b_channel = open_channel(f"127.0.0.1:{b_port}")

    async def a_call(request: bytes, context: Any) -> bytes:
        seen.append(tracing.current_trace_ids())
        return b"a:" + await b_channel.unary_unary("/kit.B/Call")(request, timeout=5, metadata=call_metadata())

    a_server, a_port = await _server("A", a_call)
    a_channel = open_channel(f"127.0.0.1:{a_port}")
    try:
        with tracing.tracer().start_as_current_span("http request") as root:
            assert not root.is_recording()
            reply = await a_channel.unary_unary("/kit.A/Call")(b"x", timeout=5, metadata=call_metadata())
    finally:
        await a_channel.close()
        await b_channel.close()
        await a_server.stop(None)
        await b_server.stop(None)
    assert reply == b"a:b:x"
    assert unsampled.get_finished_spans() == (), "nothing recorded in a trace that is not sampled"
    # Both servers ran inside the caller's trace (so their own calls stay unsampled, and their log lines name it).
    root_ids = (format(root.get_span_context().trace_id, "032x"), format(root.get_span_context().span_id, "016x"))
    assert seen == [root_ids, root_ids]
    served = [e for e in _lines(log_lines) if e["msg"] == "call served"]
    assert len(served) == 2 and {e["trace_id"] for e in served} == {root_ids[0]}


async def test_a_refused_call_is_an_error_of_the_client_span_and_a_status_of_the_server_span(
        spans: InMemorySpanExporter) -> None:
    async def refuse(request: bytes, context: Any) -> bytes:
        raise DomainError(ErrorCode.NOT_FOUND, "no such thing")

    server, port = await _server("C", refuse)
    channel = open_channel(f"127.0.0.1:{port}")
    try:
        # No span in progress: the client span is the root of a trace of its own, and the server's its child.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await channel.unary_unary("/kit.C/Call")(b"x", timeout=5, metadata=call_metadata())
    finally:
        await channel.close()
        await server.stop(None)
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    client = next(s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.CLIENT)
    server_span = next(s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.SERVER)
    assert client.parent is None and server_span.parent.span_id == client.context.span_id
    assert client.attributes["rpc.grpc.status_code"] == server_span.attributes["rpc.grpc.status_code"] == 5
    assert client.status.status_code is trace.StatusCode.ERROR
    # A refusal is the server doing its job (OpenTelemetry's gRPC conventions): not an error of its span.
    assert server_span.status.status_code is trace.StatusCode.UNSET


async def test_every_pool_statement_is_a_span_of_the_call_that_ran_it_without_its_parameters(
        spans: InMemorySpanExporter, postgres: Postgres) -> None:
    pool = await PgPool.open(postgres.ensure_database("kit_tracing"), size=1)
    try:
        # Outside any span (a relay's poll): no span, and no trace of one statement.
        assert await pool.fetchval("SELECT 0") == 0
        assert spans.get_finished_spans() == ()
        with tracing.tracer().start_as_current_span("rpc") as parent:
            assert await pool.fetchval("SELECT $1::text", "CODE-SECRET-1234") == "CODE-SECRET-1234"
            async with pool.transaction() as tx:
                await tx.fetchval("SELECT 2")
            with pytest.raises(asyncpg.DivisionByZeroError):
                async with pool.transaction() as tx:
                    await tx.fetchval("SELECT 1 / $1::int", 0)
    finally:
        await pool.close()
    statements = [s for s in spans.get_finished_spans()
                  if s.parent is not None and s.parent.span_id == parent.get_span_context().span_id]
    assert [(s.name, s.attributes["db.statement"]) for s in statements] == [
        ("SELECT", "SELECT $1::text"), ("BEGIN", "BEGIN"), ("SELECT", "SELECT 2"), ("COMMIT", "COMMIT"),
        ("BEGIN", "BEGIN"), ("SELECT", "SELECT 1 / $1::int"), ("ROLLBACK", "ROLLBACK")]
    assert all(s.kind is trace.SpanKind.CLIENT and s.attributes["db.system"] == "postgresql"
               and s.attributes["db.name"] == "kit_tracing" for s in statements)
    failed = [s.name for s in statements if s.status.status_code is trace.StatusCode.ERROR]
    assert failed == ["SELECT"] and statements[5].status.description == "DivisionByZeroError"
    assert not any("CODE-SECRET" in json.dumps(dict(s.attributes)) for s in statements)


async def test_every_sqlalchemy_statement_is_a_span_without_its_parameters(
        spans: InMemorySpanExporter, postgres: Postgres) -> None:
    engine = create_engine(postgres.ensure_database("kit_tracing"), pool_size=1)
    try:
        async with engine.connect() as conn:
            with tracing.tracer().start_as_current_span("admin") as parent:
                assert (await conn.execute(text("SELECT CAST(:code AS text)"), {"code": "CODE-SECRET-5678"})
                        ).scalar() == "CODE-SECRET-5678"
                with pytest.raises(Exception, match="division by zero"):
                    await conn.execute(text("SELECT 1 / CAST(:zero AS int)"), {"zero": 0})
    finally:
        await engine.dispose()
    statements = [s for s in spans.get_finished_spans()
                  if s.parent is not None and s.parent.span_id == parent.get_span_context().span_id]
    assert [s.name for s in statements] == ["SELECT", "SELECT"], statements
    assert statements[0].attributes["db.statement"].startswith("SELECT CAST(")
    assert statements[0].attributes["db.system"] == "postgresql"
    assert statements[0].status.status_code is trace.StatusCode.UNSET
    assert statements[1].status.status_code is trace.StatusCode.ERROR
    assert not any("CODE-SECRET" in json.dumps(dict(s.attributes)) for s in statements)


async def test_a_message_of_a_trace_that_is_not_sampled_makes_no_span_but_runs_in_its_trace(
        unsampled: InMemorySpanExporter) -> None:
    trace_id, parent = 0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7
    headers = {"traceparent": f"00-{trace_id:032x}-{parent:016x}-00", "Nats-Msg-Id": "ev-2"}
    seen: dict[str, Any] = {}

    async def take(msg: Any) -> None:
        context = trace.get_current_span().get_span_context()
        seen.update(trace_id=context.trace_id, span_id=context.span_id, sampled=context.trace_flags.sampled)

    consumer = DurableConsumer(None, "STREAM", None, take, batch=1, what="event")  # type: ignore[arg-type]
    await consumer._take(SimpleNamespace(subject="rewards.events.redemption.created",  # type: ignore[arg-type]
                                         headers=headers))
    # The publisher's context itself is current: no span was started for the message (not even a non-recording
    # one, whose span id would be new), which is what an unsampled message costs.
    assert seen == {"trace_id": trace_id, "span_id": parent, "sampled": False}
    assert unsampled.get_finished_spans() == ()
