"""The gRPC server every service runs: grpc.aio, standard health and reflection, JSON logs with the caller's
request id, DomainError -> rich status (and the database being unavailable -> UNAVAILABLE), background tasks, and
a graceful stop on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

import grpc
import uvloop
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from service_kit import metrics, mtls, reflection, tracing
from service_kit.db import database_unavailable, is_database_unavailable
from service_kit.errors import DomainError, ErrorCode
from service_kit.logs import request_id_var, tenant_var
from service_kit.settings import DEFAULT_MAX_CONNECTION_AGE_GRACE_SECONDS, DEFAULT_MAX_CONNECTION_AGE_SECONDS

log = logging.getLogger("service_kit.grpc")

REQUEST_ID_KEY = "x-request-id"
_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


def run_main(main: Coroutine[Any, Any, None]) -> None:
    """Runs a service's main coroutine to its end on uvloop: libuv's socket writes and reads cost less than the
    standard loop's, and a redemption is mostly round trips to PostgreSQL, NATS and the other services."""
    uvloop.run(main)


class ServingInterceptor(grpc.aio.ServerInterceptor):
    """Binds the request id for logs, logs each call, and maps DomainError, the database being unavailable
    (SQLAlchemy's and asyncpg's own errors, see service_kit.db) and crashes to a status. Records the RED
    metrics of each call under `service` (service_kit.metrics) and, while tracing is on, makes each call (but
    health and reflection) a SERVER span, current while the call runs and its line is logged (service_kit.tracing):
    one interceptor for all of it, since each grpc.aio interceptor layer costs CPU on every call."""

    def __init__(self, *, service: str = "unknown", allowed_callers: frozenset[str] | None = None) -> None:
        """allowed_callers (mutual TLS on, service_kit.mtls): the identities whose calls are answered, health
        aside; None: every caller."""
        self._metrics = metrics.RpcRecorder(service)
        self._span_attributes: dict[str, dict[str, str]] = {}
        self._callers = allowed_callers

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method: str = handler_call_details.method
        quiet = method.startswith(_QUIET_PREFIXES)
        rpc_metrics = self._metrics.of(method)
        traced = tracing.enabled() and not quiet
        callers = None if method.startswith(mtls.HEALTH_PREFIX) else self._callers
        if traced:
            span_attributes = self._span_attributes.get(method)
            if span_attributes is None:
                span_attributes = self._span_attributes[method] = tracing.rpc_attributes(method)

        async def behavior(request, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
            metadata = dict(context.invocation_metadata() or ())
            span = span_token = None
            if traced:
                span, span_token = tracing.start_server_span(method, span_attributes, metadata)
            token = request_id_var.set(str(metadata.get(REQUEST_ID_KEY) or uuid.uuid4()))
            tenant_token = tenant_var.set(_tenant_of(request, metadata))
            started = time.perf_counter()
            code = "OK"
            rpc_metrics.started()
            failure: DomainError | None = None
            try:
                if callers is not None:
                    caller = mtls.caller_of(context)
                    if caller not in callers:
                        # A service that does not need this one, or a connection without a certificate (the
                        # plain-text health port): nothing is run.
                        code = "PERMISSION_DENIED" if caller else "UNAUTHENTICATED"
                        log.warning("caller refused", extra={"method": method, "caller": caller})
                        await context.abort(getattr(grpc.StatusCode, code),
                                            f"{caller or 'a caller without a certificate'} may not call {method}")
                try:
                    bad = nul_field(request) if isinstance(request, Message) else None
                    if bad is not None:
                        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{bad} must not contain NUL characters")
                    response = await inner(request, context)
                except DomainError as exc:
                    failure = exc
                except asyncio.CancelledError:
                    code = "CANCELLED"
                    raise
                except grpc.aio.AbortError:
                    code = "ABORTED"
                    raise
                except NotImplementedError:
                    # The generated base servicer's answer for an RPC a service does not offer.
                    code = "UNIMPLEMENTED"
                    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")
                except Exception as exc:
                    if not is_database_unavailable(exc):
                        log.exception("unhandled error", extra={"method": method})
                        code = "INTERNAL"
                        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
                    # Not a bug: the caller may come back (the gateway answers 503 with Retry-After).
                    log.warning("database unavailable", extra={"method": method, "error": repr(exc)})
                    failure = database_unavailable(exc)
                if failure is not None:
                    code = failure.code.value
                    await context.abort_with_status(failure.to_status())
                return response
            finally:
                if not quiet:
                    # One INFO line per call (the request id, tenant and trace id added by the formatter): what
                    # was called, how it ended and how long it took; never a body or another header.
                    log.info("call served" if code == "OK" else "call refused",
                             extra={"method": method, "code": code,
                                    "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
                status = rpc_metrics.finished(context, time.perf_counter() - started)
                tenant_var.reset(tenant_token)
                request_id_var.reset(token)
                if span_token is not None:
                    tracing.end_server_span(span, span_token, status)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _tenant_of(request: object, metadata: dict[str, Any]) -> str:
    """The tenant a call acts for: its request's Scope (or its job's: FulfilNow), else the gateway's x-tenant-id
    metadata."""
    scope = getattr(request, "scope", None)
    if scope is None:
        scope = getattr(getattr(request, "job", None), "scope", None)
    tenant = getattr(scope, "tenant_id", "") if scope is not None else ""
    return str(tenant or metadata.get("x-tenant-id") or "")


def nul_field(message: Message, path: str = "") -> str | None:
    """The first string field (at any depth, Struct values and map keys included) holding a NUL character.
    PostgreSQL text and jsonb cannot hold NUL, so no service can store such a value: it is refused as bad input
    here, once for every service, instead of failing in the database as an internal error."""
    for field, value in message.ListFields():
        name = path + field.name
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_STRING:
            if any("\x00" in v for v in (value if repeated else (value,))):
                return name
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                entries = list(value.items())
                if any("\x00" in x for entry in entries for x in entry if isinstance(x, str)):
                    return name
                children = [v for _, v in entries if isinstance(v, Message)]
            else:
                children = list(value) if repeated else [value]
            for child in children:
                found = nul_field(child, name + ".")
                if found:
                    return found
    return None


BackgroundTask = Callable[[], Awaitable[None]]
RECANCEL_SECONDS = 0.25


async def cancel_until_done(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancels the tasks and waits for their end, cancelling again those still running every RECANCEL_SECONDS:
    on Python 3.11, asyncio.wait_for (inside nats-py's fetch) turns a cancellation that lands as it times out into
    a TimeoutError, and a consumer waiting FETCH_WAIT_SECONDS for its next message would otherwise hold the stop
    that long."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in tasks:
        if not task.cancelled():
            task.exception()   # retrieved: a failure was logged when it happened (or is of the stop itself)

# The server's own pings find clients that vanished; clients ping every 30 s (with calls or without), which
# the server must accept (pings more often than this are strikes, and two strikes close the connection).
SERVER_KEEPALIVE_TIME_MS = 60_000
SERVER_KEEPALIVE_TIMEOUT_MS = 20_000
MIN_CLIENT_PING_INTERVAL_MS = 10_000
MAX_RECEIVE_MESSAGE_BYTES = 16 * 1024 * 1024


def server_options(max_connection_age_seconds: float = DEFAULT_MAX_CONNECTION_AGE_SECONDS,
                   max_connection_age_grace_seconds: float = DEFAULT_MAX_CONNECTION_AGE_GRACE_SECONDS,
                   ) -> list[tuple[str, int]]:
    """The options of every service's server (serve). A connection lives at most max_connection_age_seconds
    (GRPC_MAX_CONNECTION_AGE_SECONDS; grpc adds up to 10% of jitter), then the server asks the client to go away
    and reconnect, and calls in flight get the grace (GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS) to finish. Clients
    balance per call over the addresses their target resolves to (service_kit.grpc_client), so the reconnect is
    what makes a channel resolve a headless Service's name again and bring new pods (a scale-up, a rollout) into
    its rotation. The grace covers the longest deadline a caller gives (the gateway's Redeem, 15 s)."""
    return [
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
        ("grpc.max_connection_age_ms", max(1, round(max_connection_age_seconds * 1000))),
        ("grpc.max_connection_age_grace_ms", max(0, round(max_connection_age_grace_seconds * 1000))),
        ("grpc.keepalive_time_ms", SERVER_KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", SERVER_KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", MIN_CLIENT_PING_INTERVAL_MS),
    ]


async def serve(
    *,
    name: str,
    host: str,
    port: int,
    add_services: Callable[[grpc.aio.Server], Iterable[str]],
    background: Sequence[BackgroundTask] = (),
    on_stop: Callable[[], Awaitable[None]] | None = None,
    grace_seconds: float = 10.0,
    ready: asyncio.Event | None = None,
    metrics_port: int = 0,
    max_connection_age_seconds: float = DEFAULT_MAX_CONNECTION_AGE_SECONDS,
    max_connection_age_grace_seconds: float = DEFAULT_MAX_CONNECTION_AGE_GRACE_SECONDS,
    security: mtls.ServerSecurity | None = None,
) -> None:
    """Runs until SIGTERM or SIGINT, then stops taking calls, lets those in flight finish within the grace
    period, cancels the background tasks and calls on_stop. add_services registers the servicers and
    returns their full service names (for health and reflection). metrics_port (METRICS_PORT): Prometheus'
    `GET /metrics` on host, from start until the end of the grace period; 0: none. The connection age and its
    grace: see server_options. security (service_kit.mtls.ServerSecurity.from_settings): mutual TLS on the port,
    the callers allowed, and the plain-text health port; None: plain text, every caller."""
    metrics.set_process_service(name)
    server = grpc.aio.server(
        interceptors=[ServingInterceptor(service=name,
                                         allowed_callers=security.allowed_callers if security else None)],
        options=server_options(max_connection_age_seconds, max_connection_age_grace_seconds),
    )
    service_names = list(add_services(server))
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    # Reflection v1 and v1alpha (service_kit.reflection).
    reflection.enable(server, [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name])
    if security is None:
        bound = server.add_insecure_port(f"{host}:{port}")
    else:
        bound = server.add_secure_port(f"{host}:{port}", security.tls.server_credentials())
    if bound == 0:
        raise SystemExit(f"{name}: cannot listen on {host}:{port}")
    if security is not None and security.health_port and not server.add_insecure_port(
            f"{host}:{security.health_port}"):
        raise SystemExit(f"{name}: cannot listen on {host}:{security.health_port} (GRPC_HEALTH_PORT)")
    await server.start()
    try:
        exporter = await metrics.MetricsServer.start(host, metrics_port) if metrics_port else None
    except OSError as exc:
        await server.stop(0)
        raise SystemExit(f"{name}: cannot serve metrics on {host}:{metrics_port}: {exc}") from None

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    tasks = [asyncio.create_task(task(), name=getattr(task, "__name__", "background")) for task in background]
    for service in ("", *service_names):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving", extra={"port": bound, "services": service_names,
                               "metrics_port": exporter.port if exporter else None,
                               "mutual_tls": security is not None,
                               "allowed_callers": sorted(security.allowed_callers) if security else None})
    if ready is not None:
        ready.set()

    stop_wait = asyncio.create_task(stopping.wait())
    # A background task that dies takes the service down: better a restart than a silently missing relay.
    done, _ = await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
    crashed = [t for t in done if t is not stop_wait and not t.cancelled() and t.exception() is not None]
    for t in crashed:
        log.error("background task failed", exc_info=t.exception(), extra={"task": t.get_name()})

    log.info("stopping", extra={"grace_seconds": grace_seconds})
    await health.enter_graceful_shutdown()
    await server.stop(grace_seconds)
    if exporter is not None:
        await exporter.close()
    await cancel_until_done(tasks)
    stop_wait.cancel()
    if on_stop is not None:
        await on_stop()
    log.info("stopped")
    if crashed:
        raise SystemExit(1)
