"""The durable consumer of every tenant's events (`rewards.events.>` on REWARDS_EVENTS), shared by the replicas:
each message is appended to the log (idempotent on the event id), then acked. A message that is no event is
terminated; one whose append failed (the database away) is delivered again with a growing delay, up to
MAX_DELIVERIES, after which it stays on the stream (kept 7 days) and is logged as an error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter
from service_kit.domain_events import EVENTS_STREAM, EVENTS_SUBJECTS
from service_kit.messaging import DurableConsumer, JetStreamLink
from service_kit.messaging_metrics import note_delivery
from service_kit.pgpool import PgPool

from events_service import domain
from events_service import log as event_log

log = logging.getLogger("events_service.consumer")

EVENTS_TAKEN = Counter("rewards_events_taken_total",
                       "Events taken from the stream by the log, by outcome (appended, duplicate, malformed, failed).",
                       ["outcome"])


def consumer_config(name: str, ack_wait: float, max_deliveries: int) -> ConsumerConfig:
    return ConsumerConfig(name=name, durable_name=name, filter_subject=EVENTS_SUBJECTS,
                          ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=ack_wait,
                          max_deliver=max_deliveries, max_ack_pending=1000)


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

    async def run(self) -> None:
        await DurableConsumer(self.link.jetstream, EVENTS_STREAM, self.config, self.take, batch=self.fetch_batch,
                              what="event", stream_replicas=self.link.stream_replicas).run()

    async def take(self, msg: Msg) -> None:
        note_delivery("events-service", self.config.durable_name or "", msg)
        try:
            event = domain.read_event(msg.data)
        except domain.MalformedEvent as exc:
            EVENTS_TAKEN.labels("malformed").inc()
            log.error("malformed event terminated", extra={"reason": str(exc), "subject": msg.subject,
                                                           "stream_seq": msg.metadata.sequence.stream})
            await msg.term()
            return
        try:
            appended = await event_log.append(self.pool, event, self.retry_for_seconds)
        except Exception:
            EVENTS_TAKEN.labels("failed").inc()
            delivered = msg.metadata.num_delivered
            log.exception("event not appended", extra={"event_id": event["id"], "delivery": delivered})
            if delivered >= self.max_deliveries:
                log.error("event gave up after every delivery; it stays on the stream", extra={
                    "event_id": event["id"], "stream_seq": msg.metadata.sequence.stream})
                await msg.term()
            else:
                await msg.nak(delay=min(2.0 ** delivered, 30.0))
            return
        EVENTS_TAKEN.labels("appended" if appended else "duplicate").inc()
        if appended and appended.deliveries:
            self.on_deliveries()
        # After the commit: if this ack is lost, the redelivery is a duplicate and changes nothing.
        await msg.ack()
