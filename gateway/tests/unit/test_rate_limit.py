"""The per-client rate limit's pieces: the token bucket on a clock of the test's own, which credential names the
client, bounded memory, and its cost per request (measured here, printed, and held to a budget)."""

from __future__ import annotations

import asyncio
import time

import pytest
from gateway.app import CORS_METHODS, CORS_REQUEST_HEADERS, CORS_RESPONSE_HEADERS
from gateway.config import Settings, cors_origins
from gateway.rate_limit import RateLimiter, RateLimitMiddleware, client_key
from starlette.middleware.cors import CORSMiddleware

BUDGET_US = 15.0   # the measured cost is ~1-3 us; the bound leaves room for a busy shared machine


def test_a_client_gets_its_burst_then_its_rate() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.wait(1, 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait(1, 100.0) == pytest.approx(0.5)        # one token comes back every 0.5 s
    assert limiter.wait(2, 100.0) == 0.0                       # another client has its own bucket
    assert limiter.wait(1, 100.5) == 0.0                       # ... and the token is there
    assert limiter.wait(1, 100.5) == pytest.approx(0.5)
    assert [limiter.wait(1, 1000.0) for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # idle: full again, no more


def test_refused_requests_do_not_dig_a_deeper_hole() -> None:
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.wait(1, 0.0) == 0.0
    waits = [limiter.wait(1, 0.1 * i) for i in range(1, 10)]
    assert all(w > 0 for w in waits) and waits[-1] == pytest.approx(0.1)
    assert limiter.wait(1, 1.0) == 0.0


def test_the_buckets_are_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=100)
    for key in range(1000):
        limiter.wait(key, 0.0)
    assert len(limiter._buckets) == 100


def test_a_back_ends_credential_names_the_client_before_a_player_token() -> None:
    token = [(b"authorization", b"Bearer abc")]
    assert client_key(token) == client_key([(b"authorization", b"Bearer abc"), (b"accept", b"*/*")])
    assert client_key(token) != client_key([(b"authorization", b"Bearer abd")])
    both = [(b"authorization", b"Bearer abc"), (b"x-client-id", b"shop"), (b"x-client-secret", b"s")]
    assert client_key(both) == client_key([(b"x-client-id", b"shop")])
    assert client_key([(b"x-auth-token", b"abc")]) != client_key([(b"x-api-key", b"abc")])
    assert client_key([(b"accept", b"*/*")]) is None
    assert client_key([(b"x-api-key", b"")]) is None


def test_bad_settings_stop_the_gateway_naming_them() -> None:
    with pytest.raises(ValueError, match="shop.example.com/"):
        Settings(database_url="postgresql://x/y", cors_allow_origins="https://ok.example.com, https://shop.example.com/")
    with pytest.raises(ValueError, match="at least 1"):
        Settings(database_url="postgresql://x/y", rate_limit_burst=0)
    with pytest.raises(ValueError, match="0"):
        Settings(database_url="postgresql://x/y", rate_limit_per_second=-1)
    assert cors_origins(" https://a.example.com ,http://localhost:3000,,") == ["https://a.example.com",
                                                                               "http://localhost:3000"]
    assert cors_origins("*") == ["*"]
    assert cors_origins("") == []


async def _app(scope, receive, send) -> None:
    return None


# A redeem as a player app sends it (a player token is ~300 bytes); no Origin header: not a browser.
REDEEM_SCOPE = {"type": "http", "method": "POST", "path": "/v1/redemptions", "headers": [
    (b"host", b"gateway"), (b"user-agent", b"bench"), (b"accept", b"*/*"), (b"content-type", b"application/json"),
    (b"content-length", b"20"), (b"idempotency-key", b"k-1"), (b"authorization", b"Bearer " + b"x" * 300)]}


@pytest.mark.parametrize("middleware", ["rate limit", "cors"])
def test_its_cost_per_request_is_a_few_microseconds(middleware: str) -> None:
    """The middleware around a trivial ASGI app, against the app alone: the difference is what it adds to every
    redeem (the rate limit letting it go; CORS, when set, passing a request that is not a browser's)."""
    if middleware == "rate limit":
        wrapped = RateLimitMiddleware(_app, rate=1e9, burst=10**9)   # never refuses
    else:
        wrapped = CORSMiddleware(_app, allow_origins=["https://shop.example.com"], allow_methods=CORS_METHODS,
                                 allow_headers=CORS_REQUEST_HEADERS, expose_headers=CORS_RESPONSE_HEADERS)
    app, scope = _app, REDEEM_SCOPE

    async def run(target, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await target(scope, None, None)
        return time.perf_counter() - started

    async def measure() -> float:
        n = 20_000
        await run(wrapped, 1000)
        deltas = []
        for _ in range(5):
            deltas.append(await run(wrapped, n) - await run(app, n))
        return min(deltas) / n * 1e6

    cost = asyncio.run(measure())
    print(f"{middleware}: {cost:.2f} us per request")
    assert cost < BUDGET_US
