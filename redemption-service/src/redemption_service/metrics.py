"""redemption-service's domain metrics: counters bumped where a redeem, a compensation, a recovery or an idempotent
replay ends (a counter increment, no SQL), and gauges sampled every SAMPLE_SECONDS by a background task from the
database and JetStream (never at scrape time, never on the hot path), one indexed statement each:

- `rewards_saga_oldest_unfinished_age_seconds`: sagas running, compensating or canceling, through the partial
  index `ix_sagas_unfinished` (0 when none);
- `rewards_redemptions_overdue`: OPEN redemptions older than RECONCILE_AFTER_SECONDS whose job fulfillment never
  acknowledged (the reconciler's and the backlog report's notion), through `ix_redemptions_open_jobs`;
- `rewards_outbox_backlog` / `rewards_outbox_oldest_age_seconds`: the relay's own backlog statement;
- `rewards_consumer_pending`: num_pending of the results consumer (skipped while NATS is away)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from service_kit.messaging import RESULTS_STREAM, JetStreamLink
from service_kit.messaging_metrics import sample_consumer, sample_outbox
from service_kit.pgpool import PgPool

from redemption_service.domain import Status
from redemption_service.outbox import BACKLOG

SERVICE = "redemption-service"
SAMPLE_SECONDS = 15.0

REDEMPTIONS = Counter("rewards_redemptions_total", "Redeem calls that ran a saga, by how they ended",
                      ["outcome", "failure_code"])
SAGA_COMPENSATIONS = Counter("rewards_saga_compensations_total", "Compensations run by the saga runner",
                             ["step", "result"])
SAGA_RECOVERIES = Counter("rewards_saga_recoveries_total", "Stale sagas taken over by recovery, by what it did",
                          ["action"])
QUOTES = Counter("rewards_quotes_total", "Quotes answered: `locked` with a price lock (a quoteId), `refused` without",
                 ["result"])
QUOTED_REDEMPTIONS = Counter("rewards_quoted_redemptions_total",
                             "Redeem calls that named a quote, by how they ended (failure_code: QUOTE_* and the rest)",
                             ["outcome", "failure_code"])
REVIEW_HOLDS = Counter("rewards_review_holds_total", "Redemptions the pivot held for review, by the rule that held them",
                       ["reason"])
REVIEW_DECISIONS = Counter("rewards_review_decisions_total",
                           "Review holds decided: approved, rejected (by an operator), expired (REVIEW_HOLD_SECONDS)",
                           ["outcome"])
IDEMPOTENCY = Counter("rewards_idempotency_total", "Requests that found their idempotency key taken",
                      ["result"])
SAGA_OLDEST_UNFINISHED = Gauge("rewards_saga_oldest_unfinished_age_seconds",
                               "Age of the oldest saga still running, compensating or canceling (0 when none)")
REDEMPTIONS_OVERDUE = Gauge("rewards_redemptions_overdue",
                            "OPEN redemptions past RECONCILE_AFTER_SECONDS whose job was never acknowledged")

_OUTCOMES = {Status.COMPLETED: "completed", Status.FAILED: "failed", Status.CANCELED: "canceled",
             Status.AWAITING_APPROVAL: "held",
             Status.SUBMITTED: "failed"}


def count_redemption(status: Status, failure_code: str) -> None:
    """A Redeem that ran its saga ended in `status` (OPEN and the waiting states: `open`). A SUBMITTED one could
    not settle here (left to recovery): counted failed UNAVAILABLE, which is what the caller is answered."""
    outcome = _OUTCOMES.get(status, "open")
    if status is Status.SUBMITTED:
        failure_code = "UNAVAILABLE"
    REDEMPTIONS.labels(outcome, failure_code if outcome == "failed" else "").inc()


def count_quoted_redemption(status: Status, failure_code: str) -> None:
    outcome = _OUTCOMES.get(status, "open")
    QUOTED_REDEMPTIONS.labels(outcome, failure_code if outcome == "failed" else "").inc()


SAGAS_AND_OVERDUE = """
SELECT COALESCE((SELECT extract(epoch FROM now() - min(created_at)) FROM sagas
                  WHERE state IN ('running', 'compensating', 'canceling')), 0) AS oldest_saga,
       (SELECT count(*) FROM redemptions
         WHERE status = 'OPEN' AND job_acknowledged_at IS NULL
           AND created_at < now() - make_interval(secs => $1)) AS overdue
"""


async def sample_sagas(pool: PgPool, overdue_seconds: float) -> tuple[float, int]:
    row = await pool.fetchrow(SAGAS_AND_OVERDUE, overdue_seconds)
    assert row is not None
    oldest, overdue = float(row["oldest_saga"]), int(row["overdue"])
    SAGA_OLDEST_UNFINISHED.set(oldest)
    REDEMPTIONS_OVERDUE.set(overdue)
    return oldest, overdue


async def sample_all(pool: PgPool, link: JetStreamLink, *, overdue_seconds: float, results_consumer: str) -> None:
    await sample_sagas(pool, overdue_seconds)
    await sample_outbox(SERVICE, pool, BACKLOG)
    await sample_consumer(SERVICE, link, RESULTS_STREAM, results_consumer)
