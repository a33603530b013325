"""The gauges and counters of the outbox and the durable consumers, shared by the services that publish and consume
(redemption-service, fulfillment-service). The gauges are sampled by a background task (service_kit.periodic.
every), never at scrape time; a redelivery is counted where the consumer takes the message."""

from __future__ import annotations

from nats.aio.msg import Msg
from prometheus_client import Counter, Gauge

from service_kit.messaging import JetStreamLink
from service_kit.pgpool import PgPool

OUTBOX_BACKLOG = Gauge("rewards_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("rewards_outbox_oldest_age_seconds",
                          "Age of the oldest unpublished outbox row (0 when none)", ["service"])
CONSUMER_PENDING = Gauge("rewards_consumer_pending", "Messages waiting for the durable consumer (JetStream num_pending)",
                         ["service", "consumer"])
CONSUMER_REDELIVERIES = Counter("rewards_consumer_redeliveries_total",
                                "Messages received again (delivered more than once)", ["service", "consumer"])


def note_delivery(service: str, consumer: str, msg: Msg) -> None:
    """Counts a message received for the second time or later (one attribute read: cheap on the hot path)."""
    if msg.metadata.num_delivered > 1:
        CONSUMER_REDELIVERIES.labels(service, consumer).inc()


async def sample_outbox(service: str, pool: PgPool, backlog_sql: str) -> tuple[int, float]:
    """The relay's own backlog statement (RelayStatements.backlog: -> backlog, oldest): one indexed read."""
    row = await pool.fetchrow(backlog_sql)
    backlog, oldest = (int(row[0] or 0), float(row[1] or 0.0)) if row is not None else (0, 0.0)
    OUTBOX_BACKLOG.labels(service).set(backlog)
    OUTBOX_OLDEST_AGE.labels(service).set(oldest if backlog else 0.0)
    return backlog, oldest


async def sample_consumer(service: str, link: JetStreamLink, stream: str, durable: str) -> int | None:
    """num_pending of a durable consumer; None (the gauge unchanged) while NATS is not connected: a sample never
    waits for NATS to come back."""
    if not link.is_connected:
        return None
    js = await link.jetstream()
    info = await js.consumer_info(stream, durable)
    pending = int(info.num_pending or 0)
    CONSUMER_PENDING.labels(service, durable).set(pending)
    return pending
