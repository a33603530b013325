"""Calling another service: one channel per target, balanced per call over every address the target resolves to,
a deadline on every call, the request id passed on, and retries (with backoff and jitter) only for calls the caller
declares idempotent.

A target is what grpc accepts: `host:port` (resolved by DNS), `dns:///name:port` (a Kubernetes headless
Service: one address per ready pod, looked up again whenever a connection ends), or a fixed list such as
`ipv4:127.0.0.1:50051,127.0.0.1:50151` (the local runner's replicas). The channel keeps a connection to every
address and sends each call to the next ready one (`round_robin`): with grpc's default `pick_first` every call of
a channel would stay on one pod, so a second replica would take no load. Servers bound each connection's age
(service_kit.grpc_server.server_options), so a channel re-resolves its name and finds new pods within that age."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

import grpc
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from service_kit import tracing
from service_kit.logs import request_id_var
from service_kit.mtls import TlsFiles

log = logging.getLogger("service_kit.client")

T = TypeVar("T")

# Codes after which an idempotent call may be sent again. DEADLINE_EXCEEDED and UNAVAILABLE do not mean
# the server did nothing: only calls that are safe to repeat are retried.
TRANSIENT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                             grpc.StatusCode.RESOURCE_EXHAUSTED})
# The jittered wait before a retry: up to RETRY_WAIT_FIRST before the second attempt, doubling, at most RETRY_WAIT_MAX.
RETRY_WAIT_FIRST = 0.05
RETRY_WAIT_MAX = 1.0


_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


# The policy every channel asks for. The service config is the channel's own: one a DNS TXT record might carry
# is ignored (grpc.service_config_disable_resolution), so nothing outside the code changes how calls are spread.
LOAD_BALANCING_POLICY = "round_robin"
# Keepalive pings on every connection, with calls or without: a pod that vanished without closing its
# connections (a node lost, a network cut) is dropped from the rotation within about 40 s instead of failing
# calls until their deadlines. The servers accept pings this often (grpc_server.server_options).
KEEPALIVE_TIME_MS = 30_000
KEEPALIVE_TIMEOUT_MS = 10_000
# A replica that was down is connected to again within this (grpc's default backoff grows to 120 s).
MAX_RECONNECT_BACKOFF_MS = 10_000
# One address (`host:port`): pick_first. round_robin reconnects a dropped subchannel at once, and while its peer
# restarts the failed attempts grow a backoff during which every call fails fast (UNAVAILABLE): seconds of 503s
# after a restart that is already over. pick_first reconnects when the next call comes, and that call waits for it.
SINGLE_ADDRESS_POLICY = "pick_first"


def policy_for(target: str) -> str:
    """round_robin for a target that names or resolves to several replicas (`dns:///name:port`, `ipv4:a:p,b:p`),
    pick_first for one `host:port`."""
    many = target.startswith(("dns:", "ipv4:", "ipv6:")) or "," in target
    return LOAD_BALANCING_POLICY if many else SINGLE_ADDRESS_POLICY


def channel_options(policy: str = LOAD_BALANCING_POLICY) -> list[tuple[str, str | int]]:
    """The options of every channel the kit opens; `policy` only for the micro-benchmark's comparison."""
    return [
        ("grpc.service_config", json.dumps({"loadBalancingConfig": [{policy: {}}]})),
        ("grpc.service_config_disable_resolution", 1),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        ("grpc.enable_retries", 0),
    ]


def open_channel(target: str, *, tls: TlsFiles | None = None, server_name: str = "",
                 policy: str | None = None) -> grpc.aio.Channel:
    """Create inside the running event loop (never at import time). While tracing is on, each unary call (but
    health and reflection) is a CLIENT span and carries the trace context in its metadata (service_kit.tracing).
    tls (service_kit.mtls.tls_of): mutual TLS, this service's certificate shown to the server, whose certificate
    must be signed by the CA and name `server_name` (the called service, e.g. "catalog-service"), whatever the
    target's addresses. policy: the load-balancing policy; default policy_for(target)."""
    options = channel_options(policy or policy_for(target))
    if tls is None:
        channel = grpc.aio.insecure_channel(target, options=options)
    else:
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        channel = grpc.aio.secure_channel(target, tls.channel_credentials(), options=options)
    return TracedChannel(channel) if tracing.enabled() else channel


class TracedChannel(grpc.aio.Channel):
    """A channel whose unary methods make each call a CLIENT span. A wrapper rather than a client interceptor: a
    grpc.aio interceptor wraps every call in an extra call object and task, which cost more CPU than the span."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel

    def unary_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                    _registered_method: bool | None = False) -> Any:
        call = self._channel.unary_unary(method, request_serializer, response_deserializer, _registered_method)
        return call if method.startswith(_QUIET_PREFIXES) else _TracedUnaryUnary(call, method)

    def unary_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:
        return self._channel.unary_stream(method, request_serializer, response_deserializer, _registered_method)

    def stream_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:
        return self._channel.stream_unary(method, request_serializer, response_deserializer, _registered_method)

    def stream_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                      _registered_method: bool | None = False) -> Any:
        return self._channel.stream_stream(method, request_serializer, response_deserializer, _registered_method)

    async def __aenter__(self) -> Self:
        await self._channel.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> Any:
        return await self._channel.__aexit__(*exc_info)

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()


class _TracedUnaryUnary(grpc.aio.UnaryUnaryMultiCallable):
    """Calls as the wrapped method does, inside a CLIENT span whose context goes in the call's metadata. Returns a
    coroutine, not a call object: the kit's callers only await it."""

    def __init__(self, call: grpc.aio.UnaryUnaryMultiCallable, method: str) -> None:
        self._call = call
        self._method = method
        self._attributes = tracing.rpc_attributes(method)

    async def __call__(  # type: ignore[override]
            self, request: Any, *, timeout: float | None = None, metadata: Any = None,
            credentials: grpc.CallCredentials | None = None, wait_for_ready: bool | None = None,
            compression: grpc.Compression | None = None) -> Any:
        span, carried = tracing.start_client_span(self._method, self._attributes)
        code = grpc.StatusCode.OK
        try:
            return await self._call(request, timeout=timeout,
                                    metadata=(*metadata, *carried) if metadata else carried,
                                    credentials=credentials, wait_for_ready=wait_for_ready, compression=compression)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = grpc.StatusCode.UNKNOWN
            raise
        finally:
            tracing.end_client_span(span, code)


def call_metadata(extra: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    md = {"x-request-id": request_id_var.get()} if request_id_var.get() else {}
    if extra:
        md.update(extra)
    return tuple(md.items())


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() in TRANSIENT_CODES


async def call_idempotent(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    total_seconds: float = 8.0,
) -> T:
    """Runs call() again on transient failures: bounded attempts and total time, exponential jittered waits.
    Only for calls whose repetition is harmless (keyed by a saga id or idempotency key, or reads)."""
    # The first attempt runs outside tenacity: its retry state, made for every call, cost ~16 us of CPU per call
    # (as much as a third of a cached read's own Python work in the gateway), and almost every call succeeds at
    # once. A retry then runs as before: attempt n+1 after a wait drawn from 0..min(1 s, 0.05 s * 2**(n-1)),
    # within `attempts` attempts and `total_seconds` from the first one.
    started = time.monotonic()
    try:
        return await call()
    except grpc.aio.AioRpcError as exc:
        if attempts <= 1 or not _is_transient(exc) or time.monotonic() - started >= total_seconds:
            raise
    await asyncio.sleep(random.uniform(0, min(RETRY_WAIT_MAX, RETRY_WAIT_FIRST)))
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_is_transient),
        # tenacity numbers these attempts from 1, one behind the calls: the same waits need twice the multiplier.
        wait=wait_random_exponential(multiplier=2 * RETRY_WAIT_FIRST, max=RETRY_WAIT_MAX),
        stop=stop_after_attempt(attempts - 1) | stop_after_delay(total_seconds - (time.monotonic() - started)),
        reraise=True,
    ):
        with attempt:
            log.info("retrying call", extra={"attempt": attempt.retry_state.attempt_number + 1})
            return await call()
    raise AssertionError("unreachable")
