"""The durable consumer of every tenant's events (`rewards.events.>` on REWARDS_EVENTS), shared by the replicas:
each message is appended to the log (idempotent on the event id), then acked. A message that is no event is
terminated; one whose append failed (the database away) is delivered again with a growing delay, up to
MAX_DELIVERIES, after which it stays on the stream (kept 7 days) and is logged as an error.

Under load a fetch brings up to FETCH_BATCH messages: their events are appended in one statement and one commit
(prepare_batch), then each message is settled as if it had been appended alone (take: counted, logged, acked),
in its own span and request id. One statement for 64 events instead of 64 costs PostgreSQL and this process a
fraction of the CPU per event (README)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter
from service_kit.domain_events import EVENTS_STREAM, EVENTS_SUBJECTS
from service_kit.errors import DomainError, ErrorCode
from service_kit.messaging import DurableConsumer, JetStreamLink
from service_kit.messaging_metrics import note_delivery
from service_kit.pgpool import PgPool

from events_service import domain, event_log

log = logging.getLogger("events_service.consumer")

EVENTS_TAKEN = Counter("rewards_events_taken_total",
                       "Events taken from the stream by the log, by outcome (appended, duplicate, malformed, failed).",
                       ["outcome"])


def consumer_config(name: str, ack_wait: float, max_deliveries: int) -> ConsumerConfig:
    return ConsumerConfig(name=name, durable_name=name, filter_subject=EVENTS_SUBJECTS,
                          ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=ack_wait,
                          max_deliver=max_deliveries, max_ack_pending=1000)


# What prepare_batch found for a message, by its delivery (its reply subject, unique per delivery): the event
# appended (Appended), already in the log or earlier in the batch (None), not an event (MalformedEvent), or not
# appended because the database is unavailable (the DomainError).
_Outcome = domain.Appended | None | domain.MalformedEvent | DomainError


class EventLogConsumer:
    def __init__(self, pool: PgPool, link: JetStreamLink, *, consumer_name: str, fetch_batch: int,
                 ack_wait: float, max_deliveries: int, retry_for_seconds: float = domain.RETRY_FOR_SECONDS,
                 on_deliveries: Callable[[], None] = lambda: None) -> None:
        self.pool = pool
        self.retry_for_seconds = retry_for_seconds
        self.on_deliveries = on_deliveries   # wakes the webhook delivery loop
        self.link = link
        self.config = consumer_config(consumer_name, ack_wait, max_deliveries)
        self.fetch_batch = fetch_batch
        self.max_deliveries = max_deliveries
        self._prepared: dict[str, tuple[dict[str, Any] | None, _Outcome]] = {}

    async def run(self) -> None:
        await DurableConsumer(self.link.jetstream, EVENTS_STREAM, self.config, self.take, batch=self.fetch_batch,
                              what="event", stream_replicas=self.link.stream_replicas,
                              prepare_batch=self.prepare_batch).run()

    async def prepare_batch(self, messages: list[Msg]) -> None:
        """Appends the events of a fetch in one statement; each message's outcome waits for its take (which acks
        only now that the batch is committed). When the statement fails for the database (unavailable), every
        event of the batch gets that failure, as each would have alone: naked with a growing delay, terminated
        after MAX_DELIVERIES (one statement failing for all rather than a batch of them, each waiting for the
        database in turn). Any other failure may be one event's (a payload PostgreSQL refuses, such as a NUL
        character in its data): the batch then leaves no outcome, and each take appends its event alone, as
        before, so that only that event is retried and given up, never the others."""
        self._prepared = {}
        found: list[tuple[Msg, dict[str, Any] | None, _Outcome]] = []
        for msg in messages:
            try:
                found.append((msg, domain.read_event(msg.data), None))
            except domain.MalformedEvent as exc:
                found.append((msg, None, exc))
        events = [event for _, event, _ in found if event is not None]
        if not events:
            self._prepared = {msg.reply: (event, outcome) for msg, event, outcome in found}
            return
        try:
            appended = await event_log.append_batch(self.pool, events, self.retry_for_seconds)
        except Exception as exc:
            if isinstance(exc, DomainError) and exc.code is ErrorCode.UNAVAILABLE:
                self._prepared = {msg.reply: (event, exc if event is not None else outcome)
                                  for msg, event, outcome in found}
            else:
                log.warning("events not appended as a batch; appending each alone", exc_info=True,
                            extra={"events": len(events)})
            return
        seen: set[str] = set()
        for msg, event, outcome in found:
            if event is not None:
                # An id seen earlier in the batch is a duplicate, as it would be appended after its first.
                outcome = None if event["id"] in seen else appended.get(event["id"])
                seen.add(event["id"])
            self._prepared[msg.reply] = (event, outcome)

    async def take(self, msg: Msg) -> None:
        note_delivery("events-service", self.config.durable_name or "", msg)
        prepared = self._prepared.pop(msg.reply, None)
        event, outcome = prepared if prepared is not None else self._read(msg)
        if event is None:
            EVENTS_TAKEN.labels("malformed").inc()
            log.error("malformed event terminated", extra={"reason": str(outcome), "subject": msg.subject,
                                                           "stream_seq": msg.metadata.sequence.stream})
            await msg.term()
            return
        if prepared is None:
            try:
                outcome = await event_log.append(self.pool, event, self.retry_for_seconds)
            except Exception as exc:
                await self._not_appended(msg, event, exc)
                return
        if isinstance(outcome, Exception):
            await self._not_appended(msg, event, outcome)
            return
        EVENTS_TAKEN.labels("appended" if outcome else "duplicate").inc()
        if outcome and outcome.deliveries:
            self.on_deliveries()
        # After the commit: if this ack is lost, the redelivery is a duplicate and changes nothing.
        await msg.ack()

    @staticmethod
    def _read(msg: Msg) -> tuple[dict[str, Any] | None, _Outcome]:
        try:
            return domain.read_event(msg.data), None
        except domain.MalformedEvent as exc:
            return None, exc

    async def _not_appended(self, msg: Msg, event: dict[str, Any], exc: Exception) -> None:
        EVENTS_TAKEN.labels("failed").inc()
        delivered = msg.metadata.num_delivered
        log.error("event not appended", exc_info=exc, extra={"event_id": event["id"], "delivery": delivered})
        if delivered >= self.max_deliveries:
            log.error("event gave up after every delivery; it stays on the stream", extra={
                "event_id": event["id"], "stream_seq": msg.metadata.sequence.stream})
            await msg.term()
        else:
            await msg.nak(delay=min(2.0 ** delivered, 30.0))
