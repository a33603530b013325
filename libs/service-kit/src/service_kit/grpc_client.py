"""Calling another service: one channel per target, a deadline on every call, the request id passed on,
and retries (with backoff and jitter) only for calls the caller declares idempotent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from service_kit.logs import request_id_var

log = logging.getLogger("service_kit.client")

T = TypeVar("T")

# Codes after which an idempotent call may be sent again. DEADLINE_EXCEEDED and UNAVAILABLE do not mean
# the server did nothing: only calls that are safe to repeat are retried.
TRANSIENT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                             grpc.StatusCode.RESOURCE_EXHAUSTED})


def open_channel(target: str) -> grpc.aio.Channel:
    """Create inside the running event loop (never at import time)."""
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.enable_retries", 0),
        ],
    )


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
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_is_transient),
        wait=wait_random_exponential(multiplier=0.05, max=1.0),
        stop=stop_after_attempt(attempts) | stop_after_delay(total_seconds),
        reraise=True,
    ):
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                log.info("retrying call", extra={"attempt": attempt.retry_state.attempt_number})
            return await call()
    raise AssertionError("unreachable")
