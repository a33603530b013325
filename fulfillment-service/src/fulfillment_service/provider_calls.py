"""Signed HTTP calls to providers and bonus engines, and the signature check of their callbacks.

A call is signed with HMAC-SHA256 over `timestamp + "." + body` (headers X-Signature, X-Timestamp) and carries
the redemption id as Idempotency-Key, so calling again after a timeout or a crash is safe on the provider's
side. Timeouts, connection errors, 5xx and 429 are retried (jittered exponential backoff, Retry-After honoured
up to a cap) a bounded number of times; any other answer is returned to the caller to read."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from service_kit import tracing
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from fulfillment_service.metrics import PROVIDER_DURATION, PROVIDER_ERRORS

CALLBACK_TOLERANCE_SECONDS = 300


def signature_for(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_is_valid(secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
                       tolerance: float = CALLBACK_TOLERANCE_SECONDS) -> bool:
    """Constant-time comparison; a timestamp outside the tolerance (either way) fails, so an old signed body
    cannot be replayed."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        return False
    given = signature.removeprefix("sha256=").strip().lower()
    return hmac.compare_digest(signature_for(secret, timestamp, body).encode(), given.encode())


class ProviderUnreachable(Exception):
    """No usable answer within this delivery's attempts: timeouts, connection errors, 5xx, 429, or an
    unreadable success. The job is tried again on a later delivery."""


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    status_code: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date or nonsense: fall back to our own backoff


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def valid_provider_url(url: str) -> bool:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


class ProviderClient:
    def __init__(self, http: httpx.AsyncClient, secret: str, *, timeout: float, max_attempts: int,
                 min_wait: float, max_wait: float) -> None:
        self.http = http
        self._secret = secret.encode()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self._backoff = wait_random_exponential(multiplier=min_wait, max=max_wait)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait)
        return float(self._backoff(state))

    async def post(self, url: str, payload: dict[str, Any], *, idempotency_key: str,
                   strategy: str = "") -> ProviderAnswer:
        """The provider's answer when it gave one that is not transient; ProviderUnreachable otherwise.
        `strategy` labels the call's metrics (its duration, its transport errors)."""
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        # Bounded in attempts and in time: a delivery must end well before JetStream gives up on it.
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts)
            | stop_after_delay(self.max_attempts * (self.timeout + self.max_wait)),
            wait=self._wait, retry=retry_if_exception_type(_Transient), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._post_once(url, body, idempotency_key, strategy)
        except _Transient as exc:
            raise ProviderUnreachable(str(exc)) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _post_once(self, url: str, body: bytes, idempotency_key: str, strategy: str = "") -> ProviderAnswer:
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key,
                   "X-Timestamp": timestamp, "X-Signature": signature_for(self._secret, timestamp, body)}
        span = tracing.start_http_client_span("POST", url, headers)   # None while tracing is off
        started = time.perf_counter()
        try:
            response = await self.http.post(url, content=body, headers=headers, timeout=self.timeout)
        except httpx.TransportError as exc:  # timeouts, refused and reset connections
            tracing.end_http_client_span(span, None, exc)
            kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
            PROVIDER_ERRORS.labels(strategy, kind).inc()
            raise _Transient(f"provider unreachable: {exc.__class__.__name__}") from None
        finally:
            PROVIDER_DURATION.labels(strategy).observe(time.perf_counter() - started)
        tracing.end_http_client_span(span, response.status_code)
        if response.status_code == 429 or response.status_code >= 500:
            PROVIDER_ERRORS.labels(strategy, "unreachable").inc()
            raise _Transient(f"provider answered {response.status_code}", _retry_after(response))
        return ProviderAnswer(response.status_code, _json_object(response))
