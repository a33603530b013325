"""Bootstrap: migrations, the database engine, the gRPC server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.grpc_server import serve

from wallet_service.config import Settings
from wallet_service.grpc_api import WalletApi
from wallet_service.wallet import Wallet

MIGRATIONS = Path(__file__).parent / "migrations"


async def main(settings: Settings) -> None:
    if settings.migrate_on_start:
        await asyncio.to_thread(upgrade_database, MIGRATIONS, settings.database_url)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    api = WalletApi(Wallet(session_maker(engine)))

    def add_services(server):  # type: ignore[no-untyped-def]
        wallet_pb2_grpc.add_WalletServiceServicer_to_server(api, server)
        return [wallet_pb2.DESCRIPTOR.services_by_name["WalletService"].full_name]

    await serve(
        name="wallet-service",
        host=settings.grpc_host,
        port=settings.grpc_port,
        add_services=add_services,
        on_stop=engine.dispose,
        grace_seconds=settings.shutdown_grace_seconds,
    )
