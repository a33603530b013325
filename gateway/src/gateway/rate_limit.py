"""A rate limit per client: RATE_LIMIT_PER_SECOND requests a second sustained, RATE_LIMIT_BURST at once, for each
credential a request carries, across every gateway replica; past it, 429 RATE_LIMITED with Retry-After, in the
shape of the API it was sent to, before anything else runs (no body read, no credential checked, no service
called). Off (0) by default.

The client is the credential as sent: a back end's `x-api-key` or `x-client-id` (whichever players it acts for),
else the player token (`Authorization: Bearer` or `x-auth-token`). A request without one (the probes, /metrics,
the providers' signed callbacks) is not limited here. Nothing is verified first, so a forged credential spends
its own bucket, never someone else's. Credentials are kept only as hashes: in memory Python's keyed hash, in the
database a 128-bit BLAKE2b digest (credentials are high-entropy secrets or public ids, as repository.hash_secret
assumes); at most MAX_CLIENTS buckets per process (the oldest is forgotten first: that client starts full again).

Shared by the replicas without a database round trip per request: each process decides every request on its own
token bucket (a scan of the request's headers, one clock read and a dict lookup, about 1 us of CPU: gateway/tests/
unit/test_rate_limit.py measures it), and counts what it admitted per client. Every RATE_LIMIT_SYNC_SECONDS one
statement (BucketSync.sync) adds those counts to the clients' shared token buckets in the gateway's database
(table rate_limit_buckets: refilled on the database's clock, so alike for every replica; an admission past the
tokens there leaves a debt, paid back before the client is admitted again) and reads back each one's tokens, which
become the local bucket's (less what was admitted while the statement ran). So every admission anywhere is charged
to the one shared bucket, a client's long-run rate is the limit whatever replicas it spreads its requests over,
and the only slack is what replicas admit before they learn of each other's admissions: with N replicas, S the
sync interval, B the burst and R the rate, at most (N - 1) x (B + 2 x R x S) requests above one bucket's allowance
in any span (each replica's bucket holds at most B, refills R x S between two syncs, and learns of another's
admissions at most two of its syncs later), charged back as a debt that the client then waits out. The error
the other way: a client bursting from a full bucket may be charged up to R x S once more than one bucket would
(the shared bucket is refilled up to B before a sync's admissions are taken from it).

If the database cannot be reached, the statement fails within SYNC_TIMEOUT_SECONDS, the failure is logged once
(and again when it is back) and counted, and each process goes on with its own bucket alone (fail open: a client
may then send N times the limit, never an error); what was admitted meanwhile is not charged later, so an outage
does not become a debt that locks clients out once it ends. RATE_LIMIT_SYNC_SECONDS=0: per process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from service_kit import metrics as kit_metrics
from service_kit.errors import DomainError, ErrorCode
from service_kit.periodic import every
from service_kit.pgpool import PgPool
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.dialects import answering_dialect, dialect_for
from gateway.metrics import dialect_label

log = logging.getLogger("gateway.rate_limit")

MAX_CLIENTS = 100_000
# The headers that name a client, in the order they are preferred (a back end's credential over a player's token).
CLIENT_HEADERS = (b"x-api-key", b"x-client-id", b"authorization", b"x-auth-token")
_RANK = {name: rank for rank, name in enumerate(CLIENT_HEADERS)}
# The deadline of one sync (its statements together): well past the ~1 ms it takes, short enough that a database
# that went away is found within a second and each process goes on alone.
SYNC_TIMEOUT_SECONDS = 1.0
# How often a process deletes the shared buckets of clients idle long enough to be full again.
PRUNE_EVERY_SECONDS = 10.0
PRUNE_BATCH = 10_000

RATE_LIMITED = Counter("rewards_http_rate_limited_total",
                       "Requests refused 429 RATE_LIMITED by the gateway's per-client rate limit.", ["dialect"])
SYNCS = Counter("rewards_rate_limit_syncs_total",
                "Syncs of this gateway's rate limit buckets with the ones the replicas share in the database.")
SYNC_FAILURES = Counter("rewards_rate_limit_sync_failures_total",
                        "Syncs of the rate limit that failed (the database unreachable or too slow): until one "
                        "succeeds, each gateway process limits on its own.")
SYNC_SECONDS = Histogram("rewards_rate_limit_sync_duration_seconds",
                         "Time a sync of the rate limit with the shared buckets took (failed ones included).",
                         buckets=kit_metrics.BUCKETS)
SHARED = Gauge("rewards_rate_limit_shared",
               "1 while the last sync of the rate limit succeeded (the limit holds across replicas), 0 while "
               "this process limits on its own (the sync failing: fail open; or the limit off or not shared).")

Credential = tuple[bytes, bytes]   # (header name, value)
# A bucket: [tokens, at (monotonic), admitted since the last sync, the credential's digest]
Bucket = list[Any]


def digest(credential: Credential) -> bytes:
    """The credential's name in the shared table: the same in every replica (Python's hash is per process)."""
    name, value = credential
    return hashlib.blake2b(name + b"\n" + value, digest_size=16, person=b"rate-limit").digest()


class RateLimiter:
    """Token buckets by client credential: `rate` tokens a second, at most `burst` saved. shared: count what is
    admitted for BucketSync (take_admitted, then apply what the shared buckets hold)."""

    def __init__(self, rate: float, burst: int, max_clients: int = MAX_CLIENTS, *, shared: bool = False) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a rate above 0 and a burst of at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self.shared = shared
        self._buckets: dict[int, Bucket] = {}
        self._admitted: dict[int, Bucket] = {}   # the buckets that admitted a request since the last sync

    def wait(self, credential: Credential, now: float) -> float:
        """0 when the request may go (its token is taken), else the seconds until one is there."""
        key = hash(credential)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                del self._buckets[next(iter(self._buckets))]  # the oldest (dicts keep insertion order)
            bucket = self._buckets[key] = [self.burst - 1.0, now, 1, digest(credential)]
            if self.shared:
                self._admitted[key] = bucket
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            if self.shared and not bucket[2]:
                self._admitted[key] = bucket
            bucket[2] += 1
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def take_admitted(self) -> tuple[dict[bytes, int], dict[bytes, Bucket]]:
        """What was admitted since the last call, by credential digest (the count restarts from 0), and the
        buckets that admitted it."""
        buckets, self._admitted = self._admitted, {}
        counts: dict[bytes, int] = {}
        by_digest: dict[bytes, Bucket] = {}
        for bucket in buckets.values():
            if bucket[2]:
                counts[bucket[3]] = counts.get(bucket[3], 0) + bucket[2]
                by_digest[bucket[3]] = bucket
                bucket[2] = 0
        return counts, by_digest

    def apply(self, buckets: dict[bytes, Bucket], shared_tokens: dict[bytes, float], now: float) -> None:
        """Each bucket takes its shared bucket's tokens, less what it admitted since take_admitted (not in them)."""
        for client, tokens in shared_tokens.items():
            bucket = buckets.get(client)
            if bucket is not None:
                bucket[0] = min(self.burst, tokens) - bucket[2]
                bucket[1] = now


# One statement per sync: adds each client's admissions to its shared bucket (refilled first, on the database's
# clock; a new row starts full) and returns what the bucket holds now. Rows are locked in the clients' order,
# so two replicas' syncs never deadlock. The refill never goes back in time (a sync that started before another
# but locked the row after it).
SPEND = """
INSERT INTO rate_limit_buckets AS b (client, tokens, at)
SELECT client, $2::float8 - admitted, now()
FROM unnest($3::bytea[], $4::int8[]) AS spent(client, admitted)
ORDER BY client
ON CONFLICT (client) DO UPDATE
SET tokens = least($2::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.at)::float8) * $1::float8)
             - ($2::float8 - excluded.tokens),
    at = greatest(b.at, now())
RETURNING client, tokens
"""

# The buckets of clients idle long enough to be full again: deleting one changes nothing (a new row starts full).
# Rows a sync holds are skipped (no waits, no deadlocks); the rest next time.
PRUNE = """
DELETE FROM rate_limit_buckets WHERE client IN (
    SELECT client FROM rate_limit_buckets
    WHERE at < now() - make_interval(secs => $3::float8 / $1::float8)
      AND tokens + extract(epoch FROM now() - at)::float8 * $1::float8 >= $3::float8
    ORDER BY client
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
"""


class BucketSync:
    """Every sync interval (shared_buckets runs `sync` with service_kit.periodic.every): this process's admissions
    into the shared buckets, their tokens back into its own (see the module's docstring)."""

    def __init__(self, limiter: RateLimiter, pool: PgPool) -> None:
        self.limiter = limiter
        self.pool = pool
        self.failing = False
        self._pruned_at = time.monotonic()
        SHARED.set(1)

    async def sync(self) -> None:
        """One sync; never raises (a failure is counted and logged, and this process limits on its own)."""
        counts, buckets = self.limiter.take_admitted()
        prune = time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS
        if not counts and not prune:
            return
        limiter = self.limiter
        started = time.perf_counter()
        try:
            async with asyncio.timeout(SYNC_TIMEOUT_SECONDS):
                rows: list[Any] = []
                if counts:
                    clients = sorted(counts)
                    rows = await self.pool.fetch(SPEND, limiter.rate, limiter.burst, clients,
                                                 [counts[c] for c in clients])
                if prune:
                    await self.pool.execute(PRUNE, limiter.rate, PRUNE_BATCH, limiter.burst)
                    self._pruned_at = time.monotonic()
        except Exception as exc:  # the database unavailable (a DomainError), too slow (TimeoutError), or else
            SYNC_SECONDS.observe(time.perf_counter() - started)
            SYNC_FAILURES.inc()
            if not self.failing:
                self.failing = True
                SHARED.set(0)
                log.warning("rate limit sync failed: each gateway process limits on its own until it succeeds",
                            extra={"error": type(exc).__name__, "detail": str(exc)[:200]})
            return
        SYNC_SECONDS.observe(time.perf_counter() - started)
        SYNCS.inc()
        limiter.apply(buckets, {row[0]: row[1] for row in rows}, time.monotonic())
        if self.failing:
            self.failing = False
            SHARED.set(1)
            log.info("rate limit sync succeeded: the limit holds across gateway replicas again")


@asynccontextmanager
async def shared_buckets(limiter: RateLimiter, database_url: str, interval_seconds: float) -> AsyncIterator[BucketSync]:
    """The limiter synced with the shared buckets every interval_seconds while the block runs (the app's life)."""
    # A pool of its own: a sync never waits behind requests for a connection, nor they behind it. Each sync is
    # bounded by SYNC_TIMEOUT_SECONDS whatever it waits for; the first connection, here, by the usual bound.
    pool = await PgPool.open(database_url, size=1, statement_timeout_ms=int(SYNC_TIMEOUT_SECONDS * 1000),
                             checkout_timeout_seconds=SYNC_TIMEOUT_SECONDS)
    sync = BucketSync(limiter, pool)
    task = asyncio.create_task(every("rate-limit-sync", interval_seconds, sync.sync)(), name="rate-limit-sync")
    try:
        yield sync
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pool.close()


def client_credential(headers: list[tuple[bytes, bytes]]) -> Credential | None:
    """The preferred credential header's name and value, None when the request carries none."""
    best: tuple[int, bytes, bytes] | None = None
    for name, value in headers:
        rank = _RANK.get(name)
        if rank is not None and value and (best is None or rank < best[0]):
            best = (rank, name, value)
    return None if best is None else (best[1], best[2])


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            credential = client_credential(scope["headers"])
            if credential is not None:
                wait = self.limiter.wait(credential, time.monotonic())
                if wait:
                    await self.refuse(scope, math.ceil(wait))(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def refuse(self, scope: Scope, retry_after: int) -> ASGIApp:
        path: str = scope.get("path", "")
        RATE_LIMITED.labels(dialect_label(dialect_for(path))).inc()
        limited = DomainError(ErrorCode.RATE_LIMITED,
                              f"more than {self.limiter.rate:g} requests a second from this client; "
                              f"retry after {retry_after} s", {"retry_after_seconds": str(retry_after)})
        return answering_dialect(path).render_error(limited)
