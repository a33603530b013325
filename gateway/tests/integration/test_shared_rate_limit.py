"""The rate limit held across gateway replicas: two gateway apps on one real database (as two replicas would be)
share each client's bucket through it, so a client sending to both together gets the one limit, within the
documented slack, and not twice it; what one replica admitted is spent from the other's bucket at their next
syncs; each sync is one statement, and idle clients' rows are pruned."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from gateway.rate_limit import PRUNE, BucketSync, RateLimiter, digest
from service_kit.pgpool import PgPool

from gateway import rate_limit

from ..conftest import FakeServices, Gateway, open_gateway, settings_for

RATE, BURST, SYNC = 10.0, 2, 0.05
SPAN_SECONDS = 2.0


@pytest.fixture
async def replicas(gateway_database: str, fake_services: FakeServices) -> AsyncIterator[tuple[Gateway, Gateway]]:
    settings = settings_for(gateway_database, fake_services.address, rate_limit_per_second=RATE,
                            rate_limit_burst=BURST, rate_limit_sync_seconds=SYNC)
    async for first in open_gateway(settings):
        async for second in open_gateway(settings):
            yield first, second


async def _admitted(gateways: tuple[Gateway, ...], headers: dict[str, str], seconds: float) -> tuple[int, float]:
    """Requests sent in turn to each gateway, about 200 a second to each, for `seconds`: how many were let through
    (the others answered 429) and the span they took."""
    admitted = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for gw in gateways:
            reply = await gw.client.get("/healthz", headers=headers)
            assert reply.status_code in (200, 429), reply.text
            admitted += reply.status_code == 200
        await asyncio.sleep(0.005)
    return admitted, time.monotonic() - started


async def test_a_client_sending_to_two_replicas_gets_one_limit_within_the_slack(replicas) -> None:
    headers = {"x-api-key": "k-" + uuid.uuid4().hex}
    syncs = rate_limit.SYNCS._value.get()
    admitted, span = await _admitted(replicas, headers, SPAN_SECONDS)
    one_limit = BURST + RATE * span
    slack = (2 - 1) * (BURST + 2 * RATE * SYNC)          # the README's bound, N = 2
    print(f"admitted {admitted} in {span:.2f} s: one limit {one_limit:.0f}, + slack {slack:.0f}; "
          f"two separate limits would admit {2 * one_limit:.0f}")
    assert admitted <= one_limit + slack + 1, "more than one limit and its slack"
    assert admitted >= RATE * span * 0.8, "the shared limit must not admit less than the rate"
    assert rate_limit.SYNCS._value.get() > syncs
    # Each replica alone with another client: a bucket of its own limits it as before.
    alone, span = await _admitted(replicas[:1], {"x-api-key": "k-" + uuid.uuid4().hex}, 0.5)
    assert alone <= BURST + RATE * span + 1


@pytest.fixture
async def pool(gateway_database: str) -> AsyncIterator[PgPool]:
    pool = await PgPool.open(gateway_database, size=1)
    yield pool
    await pool.close()


def _client() -> tuple[bytes, bytes]:
    return (b"x-api-key", f"k-{uuid.uuid4().hex}".encode())


async def test_what_one_replica_admitted_is_spent_from_the_others_bucket_at_its_next_sync(pool) -> None:
    one, other = (RateLimiter(RATE, BURST, shared=True) for _ in range(2))
    syncs = BucketSync(one, pool), BucketSync(other, pool)
    client = _client()
    now = time.monotonic()
    assert [one.wait(client, now) for _ in range(BURST)] == [0.0] * BURST     # its whole burst, on one replica
    await syncs[0].sync()
    assert other.wait(client, now) == 0.0       # the other has not heard of it yet: the slack
    await syncs[1].sync()                       # ... and now has: the shared bucket is in debt by about one
    wait = other.wait(client, time.monotonic())
    assert wait == pytest.approx(2 / RATE, abs=0.05)   # -1 tokens: one is there in 2 / RATE s
    await syncs[0].sync()                       # nothing admitted on the first since: no statement, no change
    assert one.wait(client, time.monotonic()) > 0      # its own bucket is empty anyway


async def test_a_sync_is_one_statement_for_every_client_and_full_buckets_are_pruned(pool) -> None:
    limiter = RateLimiter(RATE, BURST, shared=True)
    sync = BucketSync(limiter, pool)
    clients = [_client() for _ in range(5)]
    for client in clients:
        assert limiter.wait(client, time.monotonic()) == 0.0
    with pool.counting() as trips:
        await sync.sync()
    assert trips.count == 1, trips.statements
    names = [digest(client) for client in clients]
    rows = await pool.fetch("SELECT client, tokens FROM rate_limit_buckets WHERE client = ANY($1)", names)
    assert len(rows) == 5 and all(row["tokens"] == pytest.approx(BURST - 1) for row in rows)
    # Idle for BURST / RATE seconds (0.2 s here), each bucket is full again: its row goes (a new one starts full).
    await asyncio.sleep(BURST / RATE + 0.1)
    await pool.execute(PRUNE, RATE, rate_limit.PRUNE_BATCH, float(BURST))
    assert await pool.fetchval("SELECT count(*) FROM rate_limit_buckets WHERE client = ANY($1)", names) == 0
