"""The per-client rate limit's pieces: the token bucket on a clock of the test's own, which credential names the
client, bounded memory, the accounting shared with other replicas (what a process reports and how it takes the
shared bucket's tokens back), and its cost per request (measured here, printed, and held to a budget)."""

from __future__ import annotations

import asyncio
import time

import pytest
from gateway.app import CORS_METHODS, CORS_REQUEST_HEADERS, CORS_RESPONSE_HEADERS
from gateway.config import Settings, cors_origins
from gateway.rate_limit import RateLimiter, RateLimitMiddleware, client_credential, digest
from starlette.middleware.cors import CORSMiddleware

BUDGET_US = 15.0   # the measured cost is ~1-3 us; the bound leaves room for a busy shared machine
ONE, TWO = (b"x-api-key", b"k-1"), (b"x-api-key", b"k-2")


def test_a_client_gets_its_burst_then_its_rate() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.wait(ONE, 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait(ONE, 100.0) == pytest.approx(0.5)        # one token comes back every 0.5 s
    assert limiter.wait(TWO, 100.0) == 0.0                       # another client has its own bucket
    assert limiter.wait(ONE, 100.5) == 0.0                       # ... and the token is there
    assert limiter.wait(ONE, 100.5) == pytest.approx(0.5)
    assert [limiter.wait(ONE, 1000.0) for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # idle: full again, no more


def test_refused_requests_do_not_dig_a_deeper_hole() -> None:
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.wait(ONE, 0.0) == 0.0
    waits = [limiter.wait(ONE, 0.1 * i) for i in range(1, 10)]
    assert all(w > 0 for w in waits) and waits[-1] == pytest.approx(0.1)
    assert limiter.wait(ONE, 1.0) == 0.0


def test_the_buckets_are_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=100)
    for n in range(1000):
        limiter.wait((b"x-api-key", b"k-%d" % n), 0.0)
    assert len(limiter._buckets) == 100


def test_a_process_reports_what_it_admitted_per_client_once() -> None:
    limiter = RateLimiter(rate=1.0, burst=5, shared=True)
    for _ in range(7):                     # 5 admitted, 2 refused: only admissions are reported
        limiter.wait(ONE, 0.0)
    limiter.wait(TWO, 0.0)
    counts, buckets = limiter.take_admitted()
    assert counts == {digest(ONE): 5, digest(TWO): 1} and set(buckets) == set(counts)
    assert limiter.take_admitted() == ({}, {})          # reported once; nothing admitted since
    limiter.wait(TWO, 1.0)
    assert limiter.take_admitted()[0] == {digest(TWO): 1}


def test_a_process_takes_the_shared_buckets_tokens_less_what_it_admitted_meanwhile() -> None:
    limiter = RateLimiter(rate=1.0, burst=5, shared=True)
    limiter.wait(ONE, 0.0)
    _, buckets = limiter.take_admitted()
    limiter.wait(ONE, 0.0)                 # admitted while the sync's statement runs: not in what it returns
    # Other replicas spent the shared bucket down to a debt of 2 (this one's first admission included).
    limiter.apply(buckets, {digest(ONE): -2.0}, 0.0)
    assert limiter.wait(ONE, 0.0) == pytest.approx(4.0)   # -3 tokens: one is there in 4 s
    assert limiter.wait(ONE, 4.0) == 0.0
    assert limiter.take_admitted()[0] == {digest(ONE): 2}   # the meanwhile admission and the last, next time
    # A shared bucket fuller than this one's (its admissions elsewhere refilled) is taken as it is, up to the burst.
    limiter.apply({digest(ONE): limiter._buckets[hash(ONE)]}, {digest(ONE): 5.0}, 4.0)
    assert [limiter.wait(ONE, 4.0) for _ in range(6)].count(0.0) == 5


def test_a_process_alone_counts_nothing_for_a_sync() -> None:
    limiter = RateLimiter(rate=1.0, burst=5)
    for n in range(10):
        limiter.wait((b"x-api-key", b"k-%d" % n), 0.0)
    assert limiter.take_admitted() == ({}, {})


def test_the_shared_name_of_a_credential_is_the_same_in_every_process_and_hides_it() -> None:
    assert digest(ONE) == bytes.fromhex(digest(ONE).hex()) and len(digest(ONE)) == 16
    assert digest(ONE) != digest(TWO) and digest((b"x-auth-token", b"k-1")) != digest(ONE)
    assert b"k-1" not in digest(ONE)


def test_a_back_ends_credential_names_the_client_before_a_player_token() -> None:
    token = [(b"authorization", b"Bearer abc")]
    assert client_credential(token) == client_credential([(b"authorization", b"Bearer abc"), (b"accept", b"*/*")])
    assert client_credential(token) != client_credential([(b"authorization", b"Bearer abd")])
    both = [(b"authorization", b"Bearer abc"), (b"x-client-id", b"shop"), (b"x-client-secret", b"s")]
    assert client_credential(both) == (b"x-client-id", b"shop")
    assert client_credential([(b"x-auth-token", b"abc")]) != client_credential([(b"x-api-key", b"abc")])
    assert client_credential([(b"accept", b"*/*")]) is None
    assert client_credential([(b"x-api-key", b"")]) is None


def test_bad_settings_stop_the_gateway_naming_them() -> None:
    with pytest.raises(ValueError, match="shop.example.com/"):
        Settings(database_url="postgresql://x/y", cors_allow_origins="https://ok.example.com, https://shop.example.com/")
    with pytest.raises(ValueError, match="at least 1"):
        Settings(database_url="postgresql://x/y", rate_limit_burst=0)
    with pytest.raises(ValueError, match="0"):
        Settings(database_url="postgresql://x/y", rate_limit_per_second=-1)
    with pytest.raises(ValueError, match="0"):
        Settings(database_url="postgresql://x/y", rate_limit_sync_seconds=-0.1)
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


@pytest.mark.parametrize("middleware", ["rate limit", "shared rate limit", "cors"])
def test_its_cost_per_request_is_a_few_microseconds(middleware: str) -> None:
    """The middleware around a trivial ASGI app, against the app alone: the difference is what it adds to every
    redeem (the rate limit letting it go; CORS, when set, passing a request that is not a browser's)."""
    if middleware != "cors":   # never refuses
        wrapped = RateLimitMiddleware(_app, RateLimiter(1e9, 10**9, shared=middleware == "shared rate limit"))
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
