"""PostgreSQL is the source of truth, the stream only delivers: JetStream acknowledges a publish before it is on
disk, so a job (or its result) can be lost. The reconciler re-publishes the job of every OPEN redemption that
fulfillment never acknowledged (no result at all within a bound: an ACCEPTED result acknowledges a job that waits for
an operator) under a new event id (JetStream's duplicate window would drop the old one); fulfillment-service is
idempotent on the redemption id and answers a known job with its recorded result.

The backlog report tells operators, while it is not zero, what waits: outbox rows not yet on NATS and OPEN
redemptions older than the bound whose job was never acknowledged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository
from redemption_service.outbox import add_fulfillment_job, fulfillment_job

log = logging.getLogger(__name__)

BACKLOG_REPORT_SECONDS = 30.0


async def republish_stale_jobs(sessions: async_sessionmaker, after_seconds: float, batch: int = 100) -> int:
    """One round: a new outbox row for each OPEN redemption whose job went out more than after_seconds ago and
    was never acknowledged. Returns how many jobs it re-published."""
    total = 0
    while True:
        async with sessions.begin() as session:
            stale = await repository.claim_jobs_without_result(session, after_seconds, batch)
            now = datetime.now(UTC)
            for redemption in stale:
                await add_fulfillment_job(session, fulfillment_job(redemption, now))
        total += len(stale)
        if len(stale) < batch:
            break
    if total:
        log.warning("fulfillment jobs re-published: no result came", extra={"count": total,
                                                                            "after_seconds": after_seconds})
    return total


async def report_backlog(sessions: async_sessionmaker, overdue_seconds: float) -> repository.Backlog:
    async with sessions() as session:
        backlog = await repository.backlog(session, overdue_seconds)
    if backlog.unpublished or backlog.open_overdue:
        log.warning("fulfillment backlog", extra={
            "outbox_unpublished": backlog.unpublished,
            "outbox_oldest_seconds": round(backlog.oldest_unpublished_seconds, 1),
            "open_overdue": backlog.open_overdue, "overdue_after_seconds": overdue_seconds})
    return backlog

