"""The results outbox: rows written in the fulfilment's own transaction, then published by the relay with
the event id as Nats-Msg-Id and marked only after JetStream's PubAck. Payloads are sealed (they carry codes).

The relay is woken by every commit of this process that wrote an unpublished row: SQLAlchemy sessions through
the kit's wake-on-commit, PgPool transactions by calling `wake()` after their commit (a redeem waiting for a
result over NATS would otherwise wait for a poll). Its interval (RELAY_INTERVAL_SECONDS) is only the fallback for
rows it was not woken for: written by another replica, or left by a failed publish. Idle, a round costs three
round trips (BEGIN, the claim, COMMIT) once per interval instead of every 0.2 s. Two replicas never publish the
same row in the same round: each claims its rows FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg
import nats.errors
from service_kit.errors import DomainError
from service_kit.pgpool import PgPool, Transaction
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service_kit.db import note_outbox_write, wake_after_outbox_commits
from service_kit.messaging import JetStreamLink, keep_cancellation
from fulfillment_service.models import outbox
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.outbox")

PUBLISH_TIMEOUT_SECONDS = 2.0
BACKLOG_REPORT_SECONDS = 30.0

# The relay's statements (PgPool). The claim reads the partial index of unpublished rows.
CLAIM_UNPUBLISHED = """
SELECT event_id, subject, payload FROM outbox
WHERE published_at IS NULL
ORDER BY created_at, event_id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
MARK_PUBLISHED = """
UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = ''
WHERE event_id = ANY($1::varchar[])
"""
NOTE_FAILED_PUBLISH = "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE event_id = $1"
BACKLOG = """
SELECT count(*) AS backlog, extract(epoch FROM now() - min(created_at)) AS oldest
FROM outbox WHERE published_at IS NULL
"""
# An event to be sent once more (see publish_again).
QUEUE_AGAIN = "UPDATE outbox SET published_at = NULL WHERE event_id = $1"


async def add_event(session: AsyncSession, vault: Vault, event_id: str, subject: str, payload: bytes) -> None:
    await session.execute(outbox.insert().values(event_id=event_id, subject=subject,
                                                 payload=vault.seal_bytes(payload)))
    note_outbox_write(session)


async def publish_again(session: AsyncSession, event_id: str) -> None:
    """Queues an already published event once more (same id: JetStream drops it inside its duplicate window,
    and consumers are idempotent on it outside)."""
    await session.execute(update(outbox).where(outbox.c.event_id == event_id).values(published_at=None))
    note_outbox_write(session)


async def queue_again(tx: Transaction, event_id: str) -> None:
    """publish_again in a PgPool transaction: the caller wakes the relay after the commit."""
    await tx.execute(QUEUE_AGAIN, event_id)


class OutboxRelay:
    def __init__(self, pool: PgPool, sessions: async_sessionmaker, broker: JetStreamLink, vault: Vault, *,
                 interval: float, batch: int = 100) -> None:
        self.pool = pool
        self.broker = broker
        self.vault = vault
        self.interval = interval
        self.batch = batch
        self._written = asyncio.Event()
        wake_after_outbox_commits(sessions, self.wake)

    def wake(self) -> None:
        """A commit wrote an unpublished row: publish it now rather than at the next interval."""
        self._written.set()

    async def run(self) -> None:
        await self.broker.jetstream()
        last_report = time.monotonic()
        while True:
            keep_cancellation()
            # Cleared before the round, not after the wait: a commit during the round (or between a timed-out
            # wait and the clear) would otherwise be forgotten until the next interval.
            self._written.clear()
            published = 0
            try:
                published = await self.publish_pending()
                if time.monotonic() - last_report >= BACKLOG_REPORT_SECONDS:
                    last_report = time.monotonic()
                    await self.report_backlog()
            except (DomainError, asyncpg.PostgresError, asyncpg.InterfaceError, SQLAlchemyError, DBAPIError,
                    OSError) as exc:
                keep_cancellation()
                # The database is the source of truth: wait for it rather than take the service down.
                log.warning("outbox relay round failed", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
            if published < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._written.wait(), self.interval)

    async def publish_pending(self) -> int:
        """One round: claims up to `batch` unpublished rows, publishes them in order, marks each after its
        PubAck. Stops at the first NATS failure and leaves the rest for the next round."""
        if not self.broker.is_connected:
            return 0
        js = await self.broker.jetstream()
        async with self.pool.transaction() as tx:
            rows = await tx.fetch(CLAIM_UNPUBLISHED, self.batch)
            sent: list[str] = []
            for row in rows:
                event_id = row["event_id"]
                try:
                    ack = await js.publish(row["subject"], self.vault.unseal_bytes(row["payload"]),
                                           timeout=PUBLISH_TIMEOUT_SECONDS, headers={"Nats-Msg-Id": event_id})
                except (nats.errors.Error, TimeoutError) as exc:
                    keep_cancellation()
                    await tx.execute(NOTE_FAILED_PUBLISH, event_id, repr(exc)[:500])
                    log.warning("outbox publish failed; will retry", extra={"event_id": event_id,
                                                                           "error": repr(exc)})
                    break
                sent.append(event_id)
                if ack.duplicate:
                    log.info("result already on the stream", extra={"event_id": event_id})
            if sent:
                # One statement for the round, not one per row.
                await tx.execute(MARK_PUBLISHED, sent)
        return len(sent)

    async def report_backlog(self) -> None:
        row = await self.pool.fetchrow(BACKLOG)
        if row is not None and row["backlog"]:
            log.warning("outbox backlog", extra={"backlog": row["backlog"],
                                                 "oldest_age_seconds": round(float(row["oldest"] or 0), 1)})
