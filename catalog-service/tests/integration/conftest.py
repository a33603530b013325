"""A real catalog: the service's migrations on the session's PostgreSQL, the servicer behind a grpc.aio server with
the kit's interceptor on a free port, called through a real channel, so refusals arrive as rich statuses.

The database is migrated once per session; each test gets its own tenant, which isolates it as tenants are
isolated in production."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from catalog_service.grpc_api import CatalogApi
from catalog_service.server import ADMIN_POOL_SIZE, MIGRATIONS
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.common.v1 import common_pb2
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.errors import DomainError, ErrorCode, from_rpc_error
from service_kit.grpc_client import open_channel
from service_kit.grpc_server import ServingInterceptor
from service_kit.pgpool import PgPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

DEADLINE = 10.0
_tenants = itertools.count(1)


@pytest.fixture(scope="session")
def catalog_database(postgres) -> str:  # type: ignore[no-untyped-def]
    url = postgres.ensure_database(f"catalog_tests_{uuid.uuid4().hex[:8]}")
    upgrade_database(MIGRATIONS, url)
    return url


@dataclass
class Catalog:
    stub: catalog_pb2_grpc.CatalogServiceStub
    scope: common_pb2.Scope
    engine: AsyncEngine
    pool: PgPool
    api: CatalogApi

    async def call(self, method: str, **fields: Any) -> Any:
        request_type = getattr(catalog_pb2, f"{method}Request")
        return await getattr(self.stub, method)(request_type(scope=self.scope, **fields), timeout=DEADLINE)

    async def create(self, **item: Any) -> catalog_pb2.Item:
        item.setdefault("name", "Gift card")
        item.setdefault("status", catalog_pb2.ITEM_STATUS_ACTIVE)
        item.setdefault("prices", [catalog_pb2.Price(point_type="coins", amount=500)])
        item.setdefault("fulfillment_strategy", catalog_pb2.FULFILLMENT_STRATEGY_CODE_POOL)
        if "stock" not in item:
            item.setdefault("unlimited_stock", True)
        return (await self.call("CreateItem", item=catalog_pb2.Item(**item))).item

    async def get(self, item_id: str, player: common_pb2.PlayerContext | None = None) -> catalog_pb2.GetItemResponse:
        return await self.call("GetItem", item_id=item_id, player=player)

    async def reserve(self, saga_id: str, item_id: str, player: common_pb2.PlayerContext,
                      **fields: Any) -> catalog_pb2.ReserveStockResponse:
        return await self.call("ReserveStock", saga_id=saga_id, item_id=item_id, player=player, **fields)

    async def check(self, item_id: str, player: common_pb2.PlayerContext,
                    **fields: Any) -> catalog_pb2.CheckEligibilityResponse:
        return await self.call("CheckEligibility", item_id=item_id, player=player, **fields)

    async def release(self, saga_id: str) -> bool:
        return (await self.call("ReleaseStock", saga_id=saga_id, reason="test")).released

    async def stock_of(self, item_id: str) -> int:
        return (await self.get(item_id)).item.stock

    @staticmethod
    def player(player_id: str = "p1", **fields: Any) -> common_pb2.PlayerContext:
        return common_pb2.PlayerContext(player_id=player_id, **fields)

    @staticmethod
    async def refused(call: Awaitable[Any], code: ErrorCode, fragment: str = "") -> DomainError:
        """The DomainError a call was refused with; fails the test unless it is code with fragment in its message."""
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        error = from_rpc_error(caught.value)
        assert error is not None, caught.value
        assert error.code is code, error
        assert fragment in error.message, error.message
        return error


@pytest.fixture
async def catalog(catalog_database: str) -> AsyncIterator[Catalog]:
    # Built as server.main builds it: a small engine for the operators' writes, the PgPool for the hot path.
    engine = create_engine(catalog_database, pool_size=ADMIN_POOL_SIZE)
    pool = await PgPool.open(catalog_database, size=10)
    api = CatalogApi(session_maker(engine), pool)
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = open_channel(f"127.0.0.1:{port}")
    scope = common_pb2.Scope(tenant_id=f"tenant-{next(_tenants)}-{uuid.uuid4().hex[:6]}",
                             environment=common_pb2.ENVIRONMENT_LIVE)
    try:
        yield Catalog(catalog_pb2_grpc.CatalogServiceStub(channel), scope, engine, pool, api)
        async with engine.connect() as connection:
            # A transaction left open by a cancelled or crashed call would hold locks: none may remain.
            stuck = await connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
            assert stuck == 0
    finally:
        await channel.close()
        await server.stop(0)
        await pool.close()
        await engine.dispose()
