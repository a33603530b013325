"""OpenTelemetry traces: one trace per redemption, from the gateway's HTTP span through every gRPC call and SQL
statement to the fulfillment effect over NATS and back.

Configured by the standard settings, read once at start by `configure_tracing`:

- on when OTEL_TRACES_EXPORTER names `otlp` or `console`, or (no exporter named) OTEL_EXPORTER_OTLP_ENDPOINT or
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; off otherwise, and with OTEL_TRACES_EXPORTER=none or
  OTEL_SDK_DISABLED=true. Off costs nothing: no SDK TracerProvider, no interceptor, no wrapped asyncpg method.
- `otlp` is OTLP over HTTP/protobuf (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318, and the
  exporter's other OTEL_EXPORTER_OTLP_* settings); `console` writes each span as one JSON line on stdout.
- OTEL_SERVICE_NAME (default: the service's own name), OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and
  OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on), OTEL_BSP_* (the batch processor) as the SDK reads them.

What is traced: grpc.aio servers and clients (the kit's `serve` and `open_channel` add the instrumentation's
interceptors; health and reflection calls are left out), every asyncpg statement (PgPool and SQLAlchemy's asyncpg
dialect alike; statements without their parameters, which may hold codes), the gateway's HTTP requests (FastAPI
instrumentation, in the gateway), and each message a DurableConsumer takes (service_kit.messaging). The W3C
context (traceparent, tracestate) travels in gRPC metadata (the instrumentation), in each outbox row and in
NATS message headers (`outbox_context` / `context_from_headers`), with the request id beside it."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from service_kit import logs
from service_kit.logs import request_id_var

log = logging.getLogger("service_kit.tracing")

REQUEST_ID_HEADER = "x-request-id"
_EXPORTERS = ("otlp", "console")

_provider: Any = None   # the SDK TracerProvider while tracing is on; None when off
_instrumented: list[Any] = []


def enabled() -> bool:
    return _provider is not None


def tracing_wanted(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The exporters the standard settings ask for (empty: tracing off)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [e.strip().lower() for e in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()]
    if named:
        unknown = [e for e in named if e not in (*_EXPORTERS, "none")]
        if unknown:
            log.warning("unsupported trace exporters ignored", extra={"exporters": unknown})
        return [e for e in named if e in _EXPORTERS]
    if environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ["otlp"]
    return []


def configure_tracing(service: str, *, exporter: Any = None, environ: Mapping[str, str] = os.environ) -> bool:
    """Turns tracing on when the OTEL_* settings ask for it (or `exporter`, a SpanExporter, is given: tests, which
    then get a synchronous processor); True when on. Call once at start, before servers and channels are made."""
    global _provider
    exporters = tracing_wanted(environ)
    if exporter is None and not exporters:
        return False
    # Imported only when on: the SDK costs nothing to a service that does not trace.
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    shutdown_tracing()
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the service's own name.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    for name in exporters:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)   # once per process: the global is for third-party code only
    _provider = provider
    logs.current_trace_ids = current_trace_ids
    asyncpg_instrumentor = AsyncPGInstrumentor(capture_parameters=False)
    asyncpg_instrumentor.instrument(tracer_provider=provider)
    _instrumented.append(asyncpg_instrumentor)
    if exporters:
        log.info("tracing on", extra={"exporters": exporters})
    return True


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # One line per span, beside the JSON logs (the default prints each span over many lines).
        return ConsoleSpanExporter(out=sys.stdout, formatter=lambda span: span.to_json(indent=None) + "\n")
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol != "http/protobuf":
        log.warning("only OTLP over http/protobuf is installed; using it", extra={"protocol": protocol})
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def shutdown_tracing() -> None:
    """Flushes and stops the provider and undoes the instrumentation (a service's stop; tests)."""
    global _provider
    for instrumentor in _instrumented:
        instrumentor.uninstrument()
    _instrumented.clear()
    if _provider is not None:
        _provider.shutdown()
    _provider = None
    logs.current_trace_ids = None


def current_trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the span in progress, for log lines; None outside any span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def tracing_provider() -> Any:
    """The SDK TracerProvider while tracing is on (for an instrumentation a service adds itself), else None."""
    return _provider


def tracer(name: str = "service_kit") -> trace.Tracer:
    """A tracer of the configured provider (a no-op one when tracing is off)."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer(name)   # type: ignore[no-any-return]


def _not_health_or_reflection(details: Any) -> bool:
    method = getattr(details, "method", "") or ""
    if isinstance(method, bytes):
        method = method.decode()
    return not method.startswith(("/grpc.health.", "/grpc.reflection."))


def server_interceptors() -> list[Any]:
    """The grpc.aio server interceptor of the instrumentation, first in line (so the kit's own interceptor logs
    inside the call's span); none when tracing is off."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=_provider, filter_=_not_health_or_reflection)]


def client_interceptors() -> list[Any]:
    """The grpc.aio client interceptors of the instrumentation (a span per call, the context in its metadata);
    none when tracing is off."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors(tracer_provider=_provider, filter_=_not_health_or_reflection))


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Writes the current W3C trace context (traceparent, tracestate) into carrier; nothing when no span is on."""
    if _provider is not None:
        propagate.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    """The context that carrier's W3C headers name (the current one when they name none)."""
    return propagate.extract(carrier)


def outbox_context() -> dict[str, str] | None:
    """What an outbox row keeps of the request that wrote it (the trace context and the request id), to be sent
    as the NATS headers of its event; None when there is nothing to keep."""
    found: dict[str, str] = {}
    inject(found)
    rid = request_id_var.get()
    if rid:
        found[REQUEST_ID_HEADER] = rid
    return found or None


def outbox_context_json() -> str | None:
    """outbox_context as JSON text, for a SQLAlchemy insert into a json column or a `$n::jsonb` parameter."""
    found = outbox_context()
    return json.dumps(found) if found is not None else None


def headers_from_row(value: Any) -> dict[str, str]:
    """The NATS headers kept in an outbox row's trace_context (jsonb, decoded or not; NULL for none)."""
    if not value:
        return {}
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if k in ("traceparent", "tracestate", REQUEST_ID_HEADER)}
