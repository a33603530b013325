"""A rate limit per client: RATE_LIMIT_PER_SECOND requests a second sustained, RATE_LIMIT_BURST at once, for each
credential a request carries; past it, 429 RATE_LIMITED with Retry-After, in the shape of the API it was sent to,
before anything else runs (no body read, no credential checked, no service called). Off (0) by default.

The client is the credential as sent: a back end's `x-api-key` or `x-client-id` (whichever players it acts for),
else the player token (`Authorization: Bearer` or `x-auth-token`). A request without one (the probes, /metrics,
the providers' signed callbacks) is not limited here. Nothing is verified first, so a forged credential spends
its own bucket, never someone else's; credentials are kept only as their hash (Python's keyed, per-process hash),
and at most MAX_CLIENTS of them (the oldest bucket is forgotten first: that client starts full again).

A token bucket per client, in this process's memory: with N gateway replicas a client may send up to N times the
limit (a limit shared by the replicas would need a store they share; not done). Pure ASGI and cheap: a scan of the
request's headers, one clock read and a dict lookup, about 1 us of CPU per request (gateway/tests/unit/
test_rate_limit.py measures it), and nothing at all when the limit is off (the middleware is not installed).
"""

from __future__ import annotations

import math
import time

from prometheus_client import Counter
from service_kit.errors import DomainError, ErrorCode
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.dialects import dialect_for
from gateway.errors import domain_error_response
from gateway.metrics import dialect_label

MAX_CLIENTS = 100_000
# The headers that name a client, in the order they are preferred (a back end's credential over a player's token).
CLIENT_HEADERS = (b"x-api-key", b"x-client-id", b"authorization", b"x-auth-token")
_RANK = {name: rank for rank, name in enumerate(CLIENT_HEADERS)}

RATE_LIMITED = Counter("rewards_http_rate_limited_total",
                       "Requests refused 429 RATE_LIMITED by the gateway's per-client rate limit.", ["dialect"])


class RateLimiter:
    """Token buckets by client key: `rate` tokens a second, at most `burst` saved."""

    def __init__(self, rate: float, burst: int, max_clients: int = MAX_CLIENTS) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a rate above 0 and a burst of at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: dict[int, list[float]] = {}   # key -> [tokens, at]

    def wait(self, key: int, now: float) -> float:
        """0 when the request may go (its token is taken), else the seconds until one is there."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                del self._buckets[next(iter(self._buckets))]  # the oldest (dicts keep insertion order)
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate


def client_key(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The hash of the preferred credential header's name and value, None when the request carries none."""
    best: tuple[int, bytes, bytes] | None = None
    for name, value in headers:
        rank = _RANK.get(name)
        if rank is not None and value and (best is None or rank < best[0]):
            best = (rank, name, value)
    return None if best is None else hash((best[1], best[2]))


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.limiter = RateLimiter(rate, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = client_key(scope["headers"])
            if key is not None:
                wait = self.limiter.wait(key, time.monotonic())
                if wait:
                    await self.refuse(scope, math.ceil(wait))(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def refuse(self, scope: Scope, retry_after: int) -> ASGIApp:
        path: str = scope.get("path", "")
        RATE_LIMITED.labels(dialect_label(path)).inc()
        limited = DomainError(ErrorCode.RATE_LIMITED,
                              f"more than {self.limiter.rate:g} requests a second from this client; "
                              f"retry after {retry_after} s", {"retry_after_seconds": str(retry_after)})
        dialect = dialect_for(path)
        return dialect.render_error(limited) if dialect else domain_error_response(limited)
