"""Bootstrap: migrations, the database pool, the gRPC server, and the background tasks (the durable consumer of
the events, the webhook delivery loop, the retention purge)."""

from __future__ import annotations

import asyncio
import logging

from rewards.events.v1 import events_pb2, events_pb2_grpc
from service_kit.grpc_server import serve
from service_kit.messaging import JetStreamLink
from service_kit.mtls import ServerSecurity
from service_kit.periodic import every
from service_kit.pgpool import PgPool

from events_service import event_log
from events_service.config import Settings
from events_service.consumer import EventLogConsumer
from events_service.db import migrate
from events_service.delivery import WebhookDelivery
from events_service.grpc_api import EventsApi, WebhookSettings
from events_service.reseal import seal_secrets_in_clear

log = logging.getLogger("events_service.server")
DAY_SECONDS = 24 * 3600.0


async def purge_once(pool: PgPool, retention_days: float) -> None:
    """One round of the retention: deletes what is older than it."""
    purged = await event_log.purge(pool, retention_days * DAY_SECONDS)
    if purged:
        log.info("events purged", extra={"purged": purged, "retention_days": retention_days})


async def main(settings: Settings) -> None:
    if settings.migrate_on_start:
        await asyncio.to_thread(migrate, settings.database_url)
    pool = await PgPool.open(settings.database_url, size=settings.db_pool_size)
    hooks = WebhookSettings.of(settings)
    await seal_secrets_in_clear(pool, hooks.vault)
    nats = JetStreamLink(settings.nats_url, "events-service", stream_replicas=settings.nats_stream_replicas)
    delivery = WebhookDelivery(pool, hooks.vault, timeout=settings.webhook_timeout_seconds,
                               interval=settings.webhook_delivery_interval_seconds,
                               batch=settings.webhook_delivery_batch, retry_base=settings.webhook_retry_base_seconds,
                               retry_cap=settings.webhook_retry_max_interval_seconds,
                               disable_after=settings.webhook_disable_after_seconds,
                               retry_for=settings.webhook_retry_for_seconds,
                               allow_private=settings.webhook_allow_private_addresses)
    consumer = EventLogConsumer(pool, nats, consumer_name=settings.consumer_name, fetch_batch=settings.fetch_batch,
                                ack_wait=settings.ack_wait_seconds, max_deliveries=settings.max_deliveries,
                                retry_for_seconds=settings.webhook_retry_for_seconds, on_deliveries=delivery.wake)
    api = EventsApi(pool, hooks, wake_delivery=delivery.wake)

    async def events_in() -> None:
        await consumer.run()

    async def webhooks_out() -> None:
        await delivery.run()

    retention = every("retention", settings.purge_interval_seconds,
                      lambda: purge_once(pool, settings.retention_days))

    def add_services(server):  # type: ignore[no-untyped-def]
        events_pb2_grpc.add_EventsServiceServicer_to_server(api, server)
        return [events_pb2.DESCRIPTOR.services_by_name["EventsService"].full_name]

    try:
        await serve(
            name="events-service",
            host=settings.grpc_host,
            port=settings.grpc_port,
            metrics_port=settings.metrics_port,
            max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
            max_connection_age_grace_seconds=settings.grpc_max_connection_age_grace_seconds,
            security=ServerSecurity.from_settings(settings),
            add_services=add_services,
            background=[events_in, webhooks_out, retention],
            grace_seconds=settings.shutdown_grace_seconds,
        )
    finally:
        await nats.close()
        await pool.close()
