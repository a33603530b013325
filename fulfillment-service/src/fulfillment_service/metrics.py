"""fulfillment-service's domain metrics: counters bumped where the work happens (attempts, provider calls, dead
letters), gauges sampled from the database and JetStream every SAMPLE_SECONDS by a background task (never at
scrape time, never on the hot path), and the invariant check of the codes (every INVARIANT_CHECK_SECONDS).

Gauges, one indexed statement each:
- `rewards_fulfillment_jobs{strategy, state}` and `rewards_fulfillment_waiting_operator`: the jobs without an
  outcome (pending, running, waiting), through `ix_jobs_unsettled` (migration 0006); settled jobs are not counted
  (they only grow). Waiting for an operator: `manual` and `physical` jobs `waiting`.
- `rewards_code_pool_available{tenant, item}` and `rewards_code_pools{state}` (low: fewer available than the
  pool's own threshold, else LOW_POOL_THRESHOLD, as for the code_pool.low event; exhausted: none), for the `live`
  pools only (sandbox pools are tenants' tests, not stock to alert on): the pools are found by a loose scan of
  `uq_code_pool_code` (one index descent per pool), their codes counted through `ix_code_pool_available`, their
  thresholds read from `code_pools` by primary key.
- `rewards_outbox_backlog` / `_oldest_age_seconds`, `rewards_consumer_pending` (the jobs and the dead-letters
  consumers) and `rewards_dead_letters_open` (advisories not yet settled: that consumer's pending and un-acked).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from service_kit.invariants import SweepRound
from service_kit.messaging import DEAD_LETTERS_STREAM, JOBS_STREAM, JetStreamLink
from service_kit.messaging_metrics import CONSUMER_PENDING, sample_consumer, sample_outbox
from service_kit.pgpool import PgPool

from fulfillment_service.domain import OPERATOR_STRATEGIES, UNSETTLED_STATES, JobState, Strategy
from fulfillment_service.models import sql_list
from fulfillment_service.outbox import BACKLOG

SERVICE = "fulfillment-service"
SAMPLE_SECONDS = 15.0

JOBS = Gauge("rewards_fulfillment_jobs", "Jobs without an outcome yet, by strategy and state", ["strategy", "state"])
WAITING_OPERATOR = Gauge("rewards_fulfillment_waiting_operator", "Manual and physical jobs waiting for an operator")
ATTEMPTS = Counter("rewards_fulfillment_attempts_total", "Provider attempts of jobs, by what came of them",
                   ["strategy", "outcome"])
PROVIDER_DURATION = Histogram("rewards_provider_duration_seconds", "One HTTP call to a provider or bonus engine",
                              ["strategy"],
                              buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
PROVIDER_ERRORS = Counter("rewards_provider_errors_total", "Provider calls that failed, by kind",
                          ["strategy", "kind"])
DEAD_LETTERS = Counter("rewards_dead_letters_total", "Jobs given up by JetStream, by what the dead-letter path did",
                       ["service", "reason"])
DEAD_LETTERS_OPEN = Gauge("rewards_dead_letters_open", "Dead letters not settled yet", ["service"])
CODE_POOL_AVAILABLE = Gauge("rewards_code_pool_available", "Unassigned, unexpired codes of a live pool",
                            ["tenant", "item"])
CODE_POOLS = Gauge("rewards_code_pools", "Live code pools that are low or exhausted", ["state"])

_seen_jobs: set[tuple[str, str]] = set()
_seen_pools: set[tuple[str, str]] = set()

# The states are literals, as in the index's predicate, so that the planner can use it.
UNSETTLED_JOBS = f"""
SELECT strategy, state, count(*) AS jobs FROM jobs
 WHERE state IN ({sql_list(UNSETTLED_STATES)})
 GROUP BY strategy, state
"""

# Every live pool (a loose index scan: one descent of uq_code_pool_code per pool) with its available codes.
LIVE_POOLS = """
WITH RECURSIVE pools AS (
    (SELECT tenant_id, item_id FROM code_pool WHERE environment = 'live' ORDER BY tenant_id, environment, item_id
      LIMIT 1)
    UNION ALL
    SELECT next.tenant_id, next.item_id FROM pools p, LATERAL (
        SELECT c.tenant_id, c.item_id FROM code_pool c
         WHERE (c.tenant_id, c.environment, c.item_id) > (p.tenant_id, 'live', p.item_id)
           AND c.environment = 'live'
         ORDER BY c.tenant_id, c.environment, c.item_id LIMIT 1) next
)
SELECT p.tenant_id, p.item_id,
       (SELECT count(*) FROM code_pool c
         WHERE c.tenant_id = p.tenant_id AND c.environment = 'live' AND c.item_id = p.item_id
           AND c.assigned_to IS NULL AND (c.expires_at IS NULL OR c.expires_at > now())) AS available,
       (SELECT t.low_threshold FROM code_pools t
         WHERE t.tenant_id = p.tenant_id AND t.environment = 'live' AND t.item_id = p.item_id) AS low_threshold
  FROM pools p
"""


async def sample_jobs(pool: PgPool) -> dict[tuple[str, str], int]:
    rows = {(r["strategy"], r["state"]): int(r["jobs"]) for r in await pool.fetch(UNSETTLED_JOBS)}
    for labels in _seen_jobs - rows.keys():   # a state that emptied reads 0, not its last count
        JOBS.labels(*labels).set(0)
    for (strategy, state), count in rows.items():
        JOBS.labels(strategy, state).set(count)
    _seen_jobs.update(rows)
    WAITING_OPERATOR.set(sum(rows.get((s, JobState.WAITING), 0) for s in OPERATOR_STRATEGIES))
    return rows


async def sample_pools(pool: PgPool, low_threshold: int) -> dict[tuple[str, str], int]:
    """Each live pool's available codes; low against its own threshold, else low_threshold (LOW_POOL_THRESHOLD)."""
    rows = await pool.fetch(LIVE_POOLS)
    available = {(r["tenant_id"], r["item_id"]): int(r["available"]) for r in rows}
    thresholds = {(r["tenant_id"], r["item_id"]): low_threshold if r["low_threshold"] is None
                  else int(r["low_threshold"]) for r in rows}
    for labels in _seen_pools - available.keys():   # a pool gone since the last sample
        CODE_POOL_AVAILABLE.remove(*labels)
    _seen_pools.intersection_update(available)
    for (tenant, item), count in available.items():
        CODE_POOL_AVAILABLE.labels(tenant, item).set(count)
    _seen_pools.update(available)
    CODE_POOLS.labels("exhausted").set(sum(1 for n in available.values() if n == 0))
    CODE_POOLS.labels("low").set(sum(1 for key, n in available.items() if 0 < n < thresholds[key]))
    return available


async def sample_messaging(pool: PgPool, link: JetStreamLink, *, jobs_consumer: str,
                           dead_letters_consumer: str) -> None:
    await sample_outbox(SERVICE, pool, BACKLOG)
    await sample_consumer(SERVICE, link, JOBS_STREAM, jobs_consumer)
    if link.is_connected:
        info = await (await link.jetstream()).consumer_info(DEAD_LETTERS_STREAM, dead_letters_consumer)
        pending = int(info.num_pending or 0)
        CONSUMER_PENDING.labels(SERVICE, dead_letters_consumer).set(pending)
        DEAD_LETTERS_OPEN.labels(SERVICE).set(pending + int(info.num_ack_pending or 0))


async def sample_all(pool: PgPool, link: JetStreamLink, *, low_pool_threshold: int, jobs_consumer: str,
                     dead_letters_consumer: str) -> None:
    await sample_jobs(pool)
    await sample_pools(pool, low_pool_threshold)
    await sample_messaging(pool, link, jobs_consumer=jobs_consumer, dead_letters_consumer=dead_letters_consumer)


# --- the invariant check of the codes ---------------------------------------------------------------------------

CODE_ASSIGNED_ONCE = "code_assigned_once"
CODES_MATCH_JOBS = "codes_match_jobs"
CODES_BATCH = 5000

# The codes of the next id window: a redemption holding another code too (the unique constraint
# uq_code_pool_assigned_to makes this impossible; the check proves it stays so), and a code assigned to a
# redemption whose job is not a succeeded code-pool job (the claim and the job's success commit together, and a
# void refuses a job with a code). Every lookup is by a whole key: the primary key, uq_code_pool_assigned_to and the
# jobs' primary key.
_CODES_CHECK = f"""
WITH assigned AS (
    SELECT id, tenant_id, environment, assigned_to FROM code_pool
     WHERE id > $1 AND id <= $1 + $2 AND assigned_to IS NOT NULL
), twice AS (
    SELECT a.* FROM assigned a
     WHERE EXISTS (SELECT FROM code_pool o WHERE o.tenant_id = a.tenant_id AND o.environment = a.environment
                                               AND o.assigned_to = a.assigned_to AND o.id <> a.id)
), strays AS (
    SELECT a.* FROM assigned a
     WHERE NOT EXISTS (SELECT FROM jobs j WHERE j.tenant_id = a.tenant_id AND j.environment = a.environment
                                          AND j.redemption_id = a.assigned_to
                                          AND j.strategy = '{Strategy.CODE_POOL}' AND j.state = '{JobState.SUCCEEDED}')
)
SELECT (SELECT array_agg(concat_ws('/', tenant_id, environment, assigned_to)) FROM twice) AS twice,
       (SELECT array_agg(concat_ws('/', tenant_id, environment, assigned_to)) FROM strays) AS strays,
       (SELECT max(id) FROM code_pool) AS last_id
"""


class CodeSweep:
    """Each round checks the next CODES_BATCH ids of the code pool, and wraps around at the newest."""

    checks = (CODE_ASSIGNED_ONCE, CODES_MATCH_JOBS)

    def __init__(self, pool: PgPool, batch: int = CODES_BATCH) -> None:
        self.pool = pool
        self.batch = batch
        self._after = 0

    async def round(self) -> SweepRound:
        row = await self.pool.fetchrow(_CODES_CHECK, self._after, self.batch)
        assert row is not None
        done = row["last_id"] is None or self._after + self.batch >= row["last_id"]
        self._after = 0 if done else self._after + self.batch
        return SweepRound({CODE_ASSIGNED_ONCE: set(row["twice"] or ()), CODES_MATCH_JOBS: set(row["strays"] or ())},
                          cycle_done=done)
