"""Bootstrap: migrations, the database engine, the gRPC server, and beside it the job consumer (started after
the dead letters waiting at start are settled), the dead-letter consumer and the outbox relay (which wait for NATS
on their own, so health answers while NATS is away)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.grpc_server import serve
from service_kit.invariants import InvariantChecks
from service_kit.messaging import JetStreamLink
from service_kit.mtls import ServerSecurity
from service_kit.periodic import every
from service_kit.pgpool import PgPool

from fulfillment_service import repository
from fulfillment_service.config import Settings
from fulfillment_service.dead_letters import DeadLetters
from fulfillment_service.grpc_api import FulfillmentApi
from fulfillment_service.job_consumer import JobConsumer
from fulfillment_service.metrics import SAMPLE_SECONDS, SERVICE, CodeSweep, sample_all
from fulfillment_service.outbox import results_relay
from fulfillment_service.provider_calls import ProviderClient
from fulfillment_service.provider_jobs import ProviderDelivery
from fulfillment_service.vault import Vault

MIGRATIONS = Path(__file__).parent / "migrations"


async def main(settings: Settings, ready: asyncio.Event | None = None) -> None:
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, settings.database_url)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_maker(engine)
    # The hot path (FulfilNow, code-pool jobs, the relay) on asyncpg prepared statements; SQLAlchemy keeps the
    # admin calls and the other strategies.
    pool = await PgPool.open(settings.database_url, size=settings.db_pool_size,
                             settings=repository.pool_settings(settings.low_pool_threshold))
    vault = Vault(settings.code_encryption_key.get_secret_value())
    broker = JetStreamLink(settings.nats_url, "fulfillment-service",
                           stream_replicas=settings.nats_stream_replicas)
    secret = settings.webhook_signing_secret.get_secret_value()
    http = httpx.AsyncClient(follow_redirects=False)
    client = ProviderClient(http, secret, timeout=settings.provider_timeout_seconds,
                            max_attempts=settings.provider_max_attempts,
                            min_wait=settings.provider_retry_min_wait_seconds,
                            max_wait=settings.provider_retry_max_wait_seconds)
    provider = ProviderDelivery(sessions, vault, client, bonus_engine_url=settings.bonus_engine_url,
                                lease_seconds=settings.provider_lease_seconds)
    relay = results_relay(pool, sessions, broker, vault, interval=settings.relay_interval_seconds)
    api = FulfillmentApi(sessions, pool, vault, provider, callback_secret=secret,
                         low_pool_threshold=settings.low_pool_threshold,
                         stuck_after_seconds=settings.stuck_after_seconds)
    consumer = JobConsumer(sessions, pool, broker, vault, provider, consumer_name=settings.consumer_name,
                           ack_wait=settings.ack_wait_seconds, max_deliveries=settings.max_deliveries,
                           fetch_batch=settings.fetch_batch, outbox_written=relay.wake)
    dead_letters = DeadLetters(sessions, broker, vault, consumer_name=settings.dead_letters_consumer,
                               ack_wait=settings.ack_wait_seconds, fetch_batch=settings.fetch_batch)

    invariants = InvariantChecks(SERVICE, [CodeSweep(pool)])

    invariant_checks = every("invariant_checks", settings.invariant_check_seconds, invariants.run_once)
    gauges = every("gauges", SAMPLE_SECONDS, lambda: sample_all(
        pool, broker, low_pool_threshold=settings.low_pool_threshold, jobs_consumer=settings.consumer_name,
        dead_letters_consumer=settings.dead_letters_consumer))

    async def take_jobs() -> None:
        # Dead letters first: a job that killed the process on every delivery is failed (and refunded) before the
        # next copy of it can kill the process again.
        await dead_letters.settle_waiting()
        await asyncio.gather(dead_letters.run(), consumer.run())

    def add_services(server):  # type: ignore[no-untyped-def]
        fulfillment_pb2_grpc.add_FulfillmentServiceServicer_to_server(api, server)
        return [fulfillment_pb2.DESCRIPTOR.services_by_name["FulfillmentService"].full_name]

    async def stop() -> None:
        await broker.close()
        await http.aclose()
        await pool.close()
        await engine.dispose()

    await serve(
        name="fulfillment-service",
        host=settings.grpc_host,
        port=settings.grpc_port,
        metrics_port=settings.metrics_port,
        max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
        max_connection_age_grace_seconds=settings.grpc_max_connection_age_grace_seconds,
        security=ServerSecurity.from_settings(settings),
        add_services=add_services,
        background=[take_jobs, relay.run, invariant_checks, gauges],
        on_stop=stop,
        grace_seconds=settings.shutdown_grace_seconds,
        ready=ready,
    )
