"""The outbox relay every publishing service runs: rows written in the same transaction as the state change they
report are published to JetStream with their event id as Nats-Msg-Id, and marked only after the PubAck.

Each service gives its own statements (its outbox table and what a publish also stamps) and, where payloads are
sealed, how to open them. The relay is woken by `wake()` after a commit that wrote a row that may go out now
(SQLAlchemy sessions call it through `service_kit.db.wake_after_outbox_commits`; PgPool writers call it after
their commit), so a row goes out at once; `interval` is only the fallback for rows it was not woken for (written
by another replica, left by a failed publish, or held back until a time). Idle, a round costs three round trips
(BEGIN, the claim, COMMIT) once per interval. Two replicas never publish the same row in one round: each claims
its rows FOR UPDATE SKIP LOCKED.

A service with a second outbox table (the tenants' domain events, beside the jobs or results the tests and the
reconciler count: service_kit.domain_events) gives its statements as `also`: the one relay drains both, each
round, each table in its own transaction, in order within each table."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
import nats.errors

from service_kit.errors import DomainError
from service_kit.messaging import JetStreamLink, keep_cancellation
from service_kit.periodic import Woken
from service_kit.pgpool import PgPool
from service_kit.tracing import headers_from_row

log = logging.getLogger("service_kit.outbox")

PUBLISH_TIMEOUT_SECONDS = 2.0
BACKLOG_REPORT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class RelayStatements:
    """claim: $1 the batch size -> rows (event_id, subject, payload and, where the table keeps it, trace_context:
    the W3C trace context and request id of the request that wrote the row, sent as the event's NATS headers),
    oldest first, FOR UPDATE SKIP LOCKED.
    mark_published: $1 the event ids published in the round. note_failure: $1 event id, $2 the error ('' to
    skip). backlog: -> (backlog, oldest) over the rows not yet published. prune (no parameters; '' for none):
    deletes rows published long enough ago, run with the backlog report."""

    claim: str
    mark_published: str
    backlog: str
    note_failure: str = ""
    prune: str = ""


class OutboxRelay:
    def __init__(self, pool: PgPool, broker: JetStreamLink, statements: RelayStatements, *, interval: float,
                 batch: int = 100, open_payload: Callable[[bytes], bytes] = bytes,
                 also: Sequence[RelayStatements] = ()) -> None:
        self.pool = pool
        self.broker = broker
        self.sql = statements
        self.also = tuple(also)
        self.interval = interval
        self.batch = batch
        self.open_payload = open_payload
        self._last_report = time.monotonic()
        # The database is the source of truth: a round that failed on it or on NATS waits for it rather than take
        # the service down.
        self._loop = Woken("outbox_relay", self._round, interval_seconds=interval, batch=batch,
                           retry_on=(DomainError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError))

    def wake(self) -> None:
        """A commit wrote a row that may be published now: publish it rather than at the next interval."""
        self._loop.wake()

    async def run(self) -> None:
        await self.broker.jetstream()
        await self._loop.run()

    async def _round(self) -> int:
        published = 0
        for statements in (self.sql, *self.also):
            published = max(published, await self.publish_pending(statements))
        if time.monotonic() - self._last_report >= BACKLOG_REPORT_SECONDS:
            self._last_report = time.monotonic()
            for statements in (self.sql, *self.also):
                await self.report_backlog(statements)
        return published

    async def publish_pending(self, statements: RelayStatements | None = None) -> int:
        """One round of one table (the main one by default): claims up to `batch` rows, publishes them in order,
        marks those published. Stops at the first NATS failure and leaves the rest for the next round."""
        sql = statements or self.sql
        if not self.broker.is_connected:
            return 0
        js = await self.broker.jetstream()
        async with self.pool.transaction() as tx:
            rows = await tx.fetch(sql.claim, self.batch)
            sent: list[str] = []
            for row in rows:
                event_id = row["event_id"]
                headers = headers_from_row(row.get("trace_context"))
                headers["Nats-Msg-Id"] = event_id
                try:
                    ack = await js.publish(row["subject"], self.open_payload(row["payload"]),
                                           timeout=PUBLISH_TIMEOUT_SECONDS, headers=headers)
                except (nats.errors.Error, TimeoutError) as exc:
                    keep_cancellation()
                    if sql.note_failure:
                        await tx.execute(sql.note_failure, event_id, repr(exc)[:500])
                    log.warning("outbox publish failed; will retry", extra={"event_id": event_id,
                                                                           "error": repr(exc)})
                    break
                sent.append(event_id)
                if ack.duplicate:
                    log.info("event already on the stream", extra={"event_id": event_id})
            if sent:
                # One statement for the round, not one per row.
                await tx.execute(sql.mark_published, sent)
        return len(sent)

    async def report_backlog(self, statements: RelayStatements | None = None) -> None:
        sql = statements or self.sql
        if sql.prune:
            await self.pool.execute(sql.prune)
        row = await self.pool.fetchrow(sql.backlog)
        if row is not None and row["backlog"]:
            log.warning("outbox backlog", extra={"backlog": row["backlog"],
                                                 "oldest_age_seconds": round(float(row["oldest"] or 0), 1)})
