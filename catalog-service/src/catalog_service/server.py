"""Bootstrap: migrations, the database pools, the gRPC server, and the relay of the tenants' events (item low on
stock, out of stock) to NATS JetStream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.grpc_server import serve
from service_kit.invariants import InvariantChecks
from service_kit.messaging import JetStreamLink
from service_kit.mtls import ServerSecurity
from service_kit.periodic import every
from service_kit.pgpool import PgPool

from catalog_service.config import Settings
from catalog_service.events import events_relay
from catalog_service.grpc_api import CatalogApi
from catalog_service.invariants import SAMPLE_SECONDS, ReservationSweep, sample_stock_levels

MIGRATIONS = Path(__file__).parent / "migrations"

# The SQLAlchemy engine serves only the operators' writes (create, update, archive, adjust stock), seldom and one
# at a time: two connections; the hot path has the PgPool's DB_POOL_SIZE.
ADMIN_POOL_SIZE = 2


async def main(settings: Settings) -> None:
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, settings.database_url)
    engine = create_engine(settings.database_url, pool_size=ADMIN_POOL_SIZE)
    pool = await PgPool.open(settings.database_url, size=settings.db_pool_size)
    sessions = session_maker(engine)
    # NATS carries only the events: an unreachable NATS delays them (they wait in the outbox), never a call.
    nats = JetStreamLink(settings.nats_url, "catalog-service", stream_replicas=settings.nats_stream_replicas)
    relay = events_relay(pool, sessions, nats, settings.outbox_poll_seconds)
    api = CatalogApi(sessions, pool, low_stock_threshold=settings.low_stock_threshold, events_written=relay.wake)
    invariants = InvariantChecks("catalog-service", [ReservationSweep(pool)])

    invariant_checks = every("invariant_checks", settings.invariant_check_seconds, invariants.run_once)
    stock_levels = every("stock_levels", SAMPLE_SECONDS,
                         lambda: sample_stock_levels(pool, settings.low_stock_threshold))

    def add_services(server: grpc.aio.Server) -> list[str]:
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(api, server)
        return [catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name]

    async def outbox_relay() -> None:
        await relay.run()

    async def close() -> None:
        await nats.close()
        await pool.close()
        await engine.dispose()

    await serve(
        name="catalog-service",
        host=settings.grpc_host,
        port=settings.grpc_port,
        metrics_port=settings.metrics_port,
        max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
        max_connection_age_grace_seconds=settings.grpc_max_connection_age_grace_seconds,
        security=ServerSecurity.from_settings(settings),
        add_services=add_services,
        background=[invariant_checks, stock_levels, outbox_relay],
        on_stop=close,
        grace_seconds=settings.shutdown_grace_seconds,
    )
