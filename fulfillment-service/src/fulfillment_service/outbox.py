"""The results outbox: rows written in the fulfilment's own transaction, then published by the relay with
the event id as Nats-Msg-Id and marked only after JetStream's PubAck. Payloads are sealed (they carry codes).

The relay is woken by every commit that wrote a row (a redeem waits for a code-pool result: a poll interval
would be added to its latency); its interval is only the fallback for rows written by another instance."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import nats.errors
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service_kit.db import note_outbox_write, wake_after_outbox_commits
from service_kit.messaging import JetStreamLink, keep_cancellation
from fulfillment_service.models import outbox
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.outbox")

PUBLISH_TIMEOUT_SECONDS = 2.0
BACKLOG_REPORT_SECONDS = 30.0


async def add_event(session: AsyncSession, vault: Vault, event_id: str, subject: str, payload: bytes) -> None:
    await session.execute(outbox.insert().values(event_id=event_id, subject=subject,
                                                 payload=vault.seal_bytes(payload)))
    note_outbox_write(session)


async def publish_again(session: AsyncSession, event_id: str) -> None:
    """Queues an already published event once more (same id: JetStream drops it inside its duplicate window,
    and consumers are idempotent on it outside)."""
    await session.execute(update(outbox).where(outbox.c.event_id == event_id).values(published_at=None))
    note_outbox_write(session)


class OutboxRelay:
    def __init__(self, sessions: async_sessionmaker, broker: JetStreamLink, vault: Vault, *, interval: float,
                 batch: int = 100) -> None:
        self.sessions = sessions
        self.broker = broker
        self.vault = vault
        self.interval = interval
        self.batch = batch
        self._written = asyncio.Event()
        wake_after_outbox_commits(sessions, self._written.set)

    async def run(self) -> None:
        await self.broker.jetstream()
        last_report = time.monotonic()
        while True:
            keep_cancellation()
            published = 0
            try:
                published = await self.publish_pending()
                if time.monotonic() - last_report >= BACKLOG_REPORT_SECONDS:
                    last_report = time.monotonic()
                    await self.report_backlog()
            except (SQLAlchemyError, DBAPIError, OSError) as exc:
                keep_cancellation()
                # The database is the source of truth: wait for it rather than take the service down.
                log.warning("outbox relay round failed", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
            if published < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._written.wait(), self.interval)
                self._written.clear()

    async def publish_pending(self) -> int:
        """One round: claims up to `batch` unpublished rows, publishes them in order, marks each after its
        PubAck. Stops at the first NATS failure and leaves the rest for the next round."""
        if not self.broker.is_connected:
            return 0
        js = await self.broker.jetstream()
        published = 0
        async with self.sessions.begin() as session:
            rows = (await session.execute(
                select(outbox.c.event_id, outbox.c.subject, outbox.c.payload)
                .where(outbox.c.published_at.is_(None)).order_by(outbox.c.created_at, outbox.c.event_id)
                .limit(self.batch).with_for_update(skip_locked=True))).all()
            sent: list[str] = []
            for row in rows:
                try:
                    ack = await js.publish(row.subject, self.vault.unseal_bytes(row.payload),
                                           timeout=PUBLISH_TIMEOUT_SECONDS,
                                           headers={"Nats-Msg-Id": row.event_id})
                except (nats.errors.Error, TimeoutError) as exc:
                    keep_cancellation()
                    await session.execute(update(outbox).where(outbox.c.event_id == row.event_id).values(
                        attempts=outbox.c.attempts + 1, last_error=repr(exc)[:500]))
                    log.warning("outbox publish failed; will retry", extra={"event_id": row.event_id,
                                                                           "error": repr(exc)})
                    break
                sent.append(row.event_id)
                if ack.duplicate:
                    log.info("result already on the stream", extra={"event_id": row.event_id})
            if sent:
                # One statement for the round, not one per row.
                await session.execute(update(outbox).where(outbox.c.event_id.in_(sent)).values(
                    published_at=func.now(), attempts=outbox.c.attempts + 1, last_error=""))
            published = len(sent)
        return published

    async def report_backlog(self) -> None:
        async with self.sessions() as session:
            row = (await session.execute(
                select(func.count().label("backlog"),
                       func.extract("epoch", func.now() - func.min(outbox.c.created_at)).label("oldest"))
                .where(outbox.c.published_at.is_(None)))).one()
        if row.backlog:
            log.warning("outbox backlog", extra={"backlog": row.backlog,
                                                 "oldest_age_seconds": round(float(row.oldest or 0), 1)})
