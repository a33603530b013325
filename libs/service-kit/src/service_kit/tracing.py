"""OpenTelemetry traces: one trace per redemption, from the gateway's HTTP span through every gRPC call and SQL
statement to the fulfillment effect over NATS and back.

Configured by the standard settings, read once at start by `configure_tracing`:

- on when OTEL_TRACES_EXPORTER names `otlp` or `console`, or (no exporter named) OTEL_EXPORTER_OTLP_ENDPOINT or
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; off otherwise, and with OTEL_TRACES_EXPORTER=none or
  OTEL_SDK_DISABLED=true. Off costs nothing: no SDK TracerProvider, and each place that would make a span finds
  `_tracer` None and goes on (one test per call or statement).
- `otlp` is OTLP over HTTP/protobuf (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318, and the
  exporter's other OTEL_EXPORTER_OTLP_* settings); `console` writes each span as one JSON line on stdout.
- OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG: by default parentbased_traceidratio at 0.05 (DEFAULT_SAMPLER,
  DEFAULT_SAMPLE_RATIO), one redemption in twenty traced whole, since every hop follows the gateway's decision.
  Measured here, a recorded and exported span costs ~150 us of CPU, ~18 spans per redemption: +30% with every
  redemption traced, +5-15% at 0.1 or 0.05, most of it paid for untraced redemptions too (README, "Tracing and
  logs"). always_on or parentbased_always_on to trace everything (the tests, a debugging session).
- OTEL_SERVICE_NAME (default: the service's own name), OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_* (the batch processor)
  as the SDK reads them.

What is traced, by the kit's own code rather than the OpenTelemetry instrumentation libraries (their interceptor
layers and method wrappers, run on every call and statement sampled or not, cost about 1 ms of CPU per redemption
more than these; README, "Tracing and logs"):
each gRPC call on both ends (a SERVER span in the kit's ServingInterceptor, a CLIENT span in the channel
`open_channel` makes; health and reflection calls left out), each PgPool statement, BEGIN and COMMIT (or ROLLBACK)
and each statement of a SQLAlchemy engine (an event listener), all without their parameters, which may hold codes;
the gateway's HTTP requests (its access-log middleware), and each message a DurableConsumer takes
(service_kit.messaging). A statement outside any recorded span (the relays' polls, the recovery loops) is not a span:
under a parent-based sampler it would not be recorded, and without one it would be a trace of one statement. The
W3C context (traceparent, tracestate) travels in gRPC metadata, in each outbox row and in NATS message headers
(`outbox_context` / `headers_from_row`), with the request id beside it."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from service_kit import logs
from service_kit.logs import request_id_var

log = logging.getLogger("service_kit.tracing")

REQUEST_ID_HEADER = "x-request-id"
_EXPORTERS = ("otlp", "console")
# The W3C trace context only (traceparent, tracestate): what every hop carries; baggage is not passed on.
_W3C = TraceContextTextMapPropagator()
# The codes that make a server span an error (OpenTelemetry's gRPC conventions): a refusal (NOT_FOUND, a failed
# precondition...) is the server doing its job. On the client side every code but OK is an error.
_SERVER_ERRORS = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED,
                            grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE,
                            grpc.StatusCode.DATA_LOSS})

DEFAULT_SAMPLER = "parentbased_traceidratio"
DEFAULT_SAMPLE_RATIO = 0.05

_provider: Any = None   # the SDK TracerProvider while tracing is on; None when off
_tracer: Any = None     # the kit's tracer of that provider; None when off
_sqlalchemy_listeners: list[tuple[str, Any]] = []


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
    global _provider, _tracer
    exporters = tracing_wanted(environ)
    if exporter is None and not exporters:
        return False
    # Imported only when on: the SDK costs nothing to a service that does not trace.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    shutdown_tracing()
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the service's own name.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}), sampler=sampler_of(environ))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    for name in exporters:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    # Not made the global provider: every span is the kit's own, from this provider, and FastAPI (0.165 and later)
    # traces natively through the global one when it is set: a second HTTP span and one per dependency, endpoint
    # and serialization step of every request, on top of the access-log middleware's.
    _provider = provider
    _tracer = provider.get_tracer("service_kit")
    logs.current_trace_ids = current_trace_ids
    _listen_to_sqlalchemy()
    if exporters:
        log.info("tracing on", extra={"exporters": exporters})
    return True


def sampler_of(environ: Mapping[str, str]) -> Any:
    """The sampler OTEL_TRACES_SAMPLER (and OTEL_TRACES_SAMPLER_ARG, a ratio) name; DEFAULT_SAMPLER at
    DEFAULT_SAMPLE_RATIO when unset."""
    from opentelemetry.sdk.trace import sampling

    name = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    ratio = environ.get("OTEL_TRACES_SAMPLER_ARG", "") if name else str(DEFAULT_SAMPLE_RATIO)
    known = {"always_on": sampling.ALWAYS_ON, "always_off": sampling.ALWAYS_OFF,
             "parentbased_always_on": sampling.DEFAULT_ON, "parentbased_always_off": sampling.DEFAULT_OFF}
    ratios = {"traceidratio": sampling.TraceIdRatioBased,
              "parentbased_traceidratio": sampling.ParentBasedTraceIdRatio}
    if name and name not in known and name not in ratios:
        log.warning("unknown trace sampler; using the default", extra={"sampler": name})
        name, ratio = "", str(DEFAULT_SAMPLE_RATIO)
    name = name or DEFAULT_SAMPLER
    if name in known:
        return known[name]
    try:
        rate = float(ratio)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        log.warning("OTEL_TRACES_SAMPLER_ARG is not a ratio from 0 to 1; using the default",
                    extra={"arg": ratio, "default": DEFAULT_SAMPLE_RATIO})
        rate = DEFAULT_SAMPLE_RATIO
    return ratios[name](rate)


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
    """Flushes and stops the provider and removes the SQLAlchemy listeners (a service's stop; tests)."""
    global _provider, _tracer
    if _sqlalchemy_listeners:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        for name, listener in _sqlalchemy_listeners:
            event.remove(Engine, name, listener)
        _sqlalchemy_listeners.clear()
    if _provider is not None:
        _provider.shutdown()
    _provider = None
    _tracer = None
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


# --- gRPC: the kit's interceptor (server side) and channel (client side) call these while tracing is on ---------

def rpc_attributes(method: str) -> dict[str, str]:
    """The span attributes of a call to `method` ("/package.Service/Method")."""
    service, _, name = method.lstrip("/").rpartition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


# A trace that was not sampled (19 redemptions in 20 by default) records none of its spans: every standard
# sampler decides a trace's children as it decided the trace (parent-based ones by the parent, the ratio by the
# trace id). So within such a trace the kit makes no span at all: a call carries the trace's context on (the
# server then knows it is not sampled either), and the server makes that context current, at the cost of
# reading and writing `traceparent`, not of the SDK's span machinery.

def start_server_span(method: str, attributes: Mapping[str, str], metadata: Mapping[str, Any]) -> tuple[Any, Any]:
    """The SERVER span of a call, a child of the context in its metadata (a root without one), made current;
    (span, token) for end_server_span. In a trace that is not sampled, no span (None): the caller's context is
    made current."""
    parent = _W3C.extract(metadata)
    parent_context = trace.get_current_span(parent).get_span_context()
    if parent_context.is_valid and not parent_context.trace_flags.sampled:
        return None, otel_context.attach(parent)
    span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes)
    return span, otel_context.attach(trace.set_span_in_context(span))


def start_consumer_span(name: str, headers: Mapping[str, str], attributes: Mapping[str, str]) -> tuple[Any, Any]:
    """The CONSUMER span of a message, a child of the context its headers carry (a root without one), made
    current; (span, token): end the span (when not None) and detach the token. In a trace that is not sampled, no
    span: the publisher's context is made current, as start_server_span does for a call."""
    parent = _W3C.extract(headers)
    parent_context = trace.get_current_span(parent).get_span_context()
    if parent_context.is_valid and not parent_context.trace_flags.sampled:
        return None, otel_context.attach(parent)
    span = tracer("service_kit.messaging").start_span(name, context=parent, kind=SpanKind.CONSUMER,
                                                      attributes=attributes)
    return span, otel_context.attach(trace.set_span_in_context(span))


def end_server_span(span: Any, token: Any, code: grpc.StatusCode) -> None:
    if span is not None:
        _end_rpc_span(span, code, code in _SERVER_ERRORS)
    otel_context.detach(token)


def start_client_span(method: str, attributes: Mapping[str, str]) -> tuple[Any, tuple[tuple[str, str], ...]]:
    """The CLIENT span of a call, a child of the current span (a root outside any), and the metadata that carries
    it to the server (traceparent, and tracestate when there is one). In a trace that is not sampled, no span
    (None): the metadata carries the trace's context as it is."""
    current = trace.get_current_span()
    if current.get_span_context().is_valid and not current.is_recording():
        span = None
        context = trace.set_span_in_context(current)
    else:
        span = _tracer.start_span(method, kind=SpanKind.CLIENT, attributes=attributes)
        context = trace.set_span_in_context(span)
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    return span, tuple(carrier.items())


def end_client_span(span: Any, code: grpc.StatusCode) -> None:
    if span is not None:
        _end_rpc_span(span, code, code is not grpc.StatusCode.OK)


def _end_rpc_span(span: Any, code: grpc.StatusCode, failed: bool) -> None:
    if span.is_recording():
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if failed:
            span.set_status(Status(StatusCode.ERROR, code.name))
    span.end()


# --- HTTP: the gateway's access-log middleware calls these while tracing is on --------------------------------

def start_http_span(method: str, headers: Any) -> tuple[Any, Any]:
    """The SERVER span of an HTTP request (`headers`: the ASGI scope's), a child of the W3C context its caller
    sent (a root without one), made current; (span, token) for end_http_span. Named by the method until the
    route is known."""
    carrier = {}
    for key, value in headers:
        if key == b"traceparent" or key == b"tracestate":
            carrier[key.decode()] = value.decode("latin-1")
    span = _tracer.start_span(method, context=_W3C.extract(carrier), kind=SpanKind.SERVER,
                              attributes={"http.request.method": method})
    return span, otel_context.attach(trace.set_span_in_context(span))


def end_http_span(span: Any, token: Any, route: str | None, status: int) -> None:
    """`route`: the matched route's template (never the raw path, which may name a player), None if none."""
    if span.is_recording():
        if route is not None:
            span.update_name(f"{span.name} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
    span.end()
    otel_context.detach(token)


def start_http_client_span(method: str, url: str, headers: MutableMapping[str, str]) -> Any:
    """The CLIENT span of an outgoing HTTP request (a provider's API), a child of the current span, its W3C
    context added to `headers` so the provider can join the trace; None while tracing is off. Named by the method
    and the host only, with the scheme, host and port as attributes: a path may carry a redemption's id."""
    if not enabled():
        return None
    parsed = urlsplit(url)
    span = _tracer.start_span(f"{method} {parsed.hostname or ''}", kind=SpanKind.CLIENT,
                              attributes={"http.request.method": method, "url.scheme": parsed.scheme,
                                          "server.address": parsed.hostname or "",
                                          "server.port": parsed.port or (443 if parsed.scheme == "https" else 80)})
    _W3C.inject(headers, context=trace.set_span_in_context(span))
    return span


def end_http_client_span(span: Any, status: int | None, error: BaseException | None = None) -> None:
    """status: the answer's; None when none came (a timeout, a refused connection: `error`)."""
    if span is None:
        return
    if span.is_recording():
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        elif status is not None and status >= 500:
            span.set_status(Status(StatusCode.ERROR))
    span.end()


# --- SQL: PgPool and the SQLAlchemy engines --------------------------------------------------------------------

def statement_span(sql: str, attributes: Mapping[str, str]) -> Any:
    """A CLIENT span for one SQL statement, named by its first word, with its text but never its parameters; None
    when tracing is off or no recorded span is in progress (see the module's docstring)."""
    if _tracer is None or not trace.get_current_span().is_recording():
        return None
    verb = sql.split(None, 1)
    return _tracer.start_span(verb[0] if verb else "postgresql", kind=SpanKind.CLIENT,
                              attributes={**attributes, "db.statement": sql})


def end_statement_span(span: Any, exc: BaseException | None = None) -> None:
    """Ends a statement_span; a failure is noted by the error's type only (its message may quote a value)."""
    if exc is not None:
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.end()


_SQLALCHEMY_SPAN = "_service_kit_span"


def _listen_to_sqlalchemy() -> None:
    """A span for each statement SQLAlchemy sends (the cold paths: admin, listings, migrations), on every engine,
    made before or after this call."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if context is not None:
            url = conn.engine.url
            span = statement_span(statement, {"db.system": "postgresql", "db.name": url.database or ""})
            if span is not None:
                setattr(context, _SQLALCHEMY_SPAN, span)

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        span = getattr(context, _SQLALCHEMY_SPAN, None)
        if span is not None:
            setattr(context, _SQLALCHEMY_SPAN, None)
            end_statement_span(span)

    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        span = getattr(context, _SQLALCHEMY_SPAN, None)
        if span is not None:
            setattr(context, _SQLALCHEMY_SPAN, None)
            end_statement_span(span, exception_context.original_exception)

    for name, listener in (("before_cursor_execute", before), ("after_cursor_execute", after),
                           ("handle_error", failed)):
        event.listen(Engine, name, listener)
        _sqlalchemy_listeners.append((name, listener))


# --- the trace context in outbox rows and NATS headers ---------------------------------------------------------

def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Writes the current W3C trace context (traceparent, tracestate) into carrier; nothing when no span is on."""
    if _provider is not None:
        _W3C.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    """The context that carrier's W3C headers name (an empty one, so a root span, when they name none)."""
    return _W3C.extract(carrier)


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
