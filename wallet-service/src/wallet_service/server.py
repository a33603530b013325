"""Bootstrap: migrations, the database pool (hot path) and engine (admin paths), the gRPC server, and the relay
of the tenants' events (points granted, adjusted) to NATS JetStream."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.grpc_server import serve
from service_kit.invariants import InvariantChecks
from service_kit.messaging import JetStreamLink
from service_kit.mtls import ServerSecurity
from service_kit.periodic import every
from service_kit.pgpool import PgPool

from wallet_service.config import Settings
from wallet_service.events import events_relay
from wallet_service.expiry import LotExpiry
from wallet_service.grpc_api import WalletApi
from wallet_service.invariants import LedgerSweep
from wallet_service.wallet import Wallet

MIGRATIONS = Path(__file__).parent / "migrations"
# The SQLAlchemy engine serves only the cold admin paths (point types, players, grants, adjustments); the hot
# path and the reads run on the PgPool, which gets DB_POOL_SIZE connections.
ADMIN_POOL_SIZE = 2


async def main(settings: Settings) -> None:
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, settings.database_url)
    pool = await PgPool.open(settings.database_url, size=settings.db_pool_size)
    engine = create_engine(settings.database_url, pool_size=ADMIN_POOL_SIZE)
    sessions = session_maker(engine)
    # NATS carries only the events: an unreachable NATS delays them (they wait in the outbox), never a call.
    nats = JetStreamLink(settings.nats_url, "wallet-service", stream_replicas=settings.nats_stream_replicas)
    relay = events_relay(pool, sessions, nats, settings.outbox_poll_seconds)
    api = WalletApi(Wallet(pool, sessions))
    invariants = InvariantChecks("wallet-service", [LedgerSweep(pool)])

    invariant_checks = every("invariant_checks", settings.invariant_check_seconds, invariants.run_once)
    lot_expiry = every("lot_expiry", settings.lot_expiry_seconds, LotExpiry(pool).round)

    async def outbox_relay() -> None:
        await relay.run()

    def add_services(server):  # type: ignore[no-untyped-def]
        wallet_pb2_grpc.add_WalletServiceServicer_to_server(api, server)
        return [wallet_pb2.DESCRIPTOR.services_by_name["WalletService"].full_name]

    try:
        await serve(
            name="wallet-service",
            host=settings.grpc_host,
            port=settings.grpc_port,
            metrics_port=settings.metrics_port,
            max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
            max_connection_age_grace_seconds=settings.grpc_max_connection_age_grace_seconds,
            security=ServerSecurity.from_settings(settings),
            add_services=add_services,
            background=[invariant_checks, lot_expiry, outbox_relay],
            grace_seconds=settings.shutdown_grace_seconds,
        )
    finally:   # after the calls in flight finished (serve returns once they did, or the grace period ran out)
        await nats.close()
        await pool.close()
        await engine.dispose()
