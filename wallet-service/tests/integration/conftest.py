"""A real wallet-service in-process: PostgreSQL (migrated once per session), the service's PgPool (hot path) and
SQLAlchemy engine (admin paths, and the tests' own queries), a grpc.aio server on a free port with the kit's
interceptor, and a stub calling it through a real channel. Each test gets its own tenant, so
tests share the database without seeing each other's rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import grpc
import pytest
from local_runner.infra import Postgres
from rewards.common.v1 import common_pb2
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.errors import DomainError, from_rpc_error
from service_kit.grpc_server import ServingInterceptor
from service_kit.pgpool import PgPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from wallet_service.grpc_api import WalletApi
from wallet_service.server import MIGRATIONS
from wallet_service.wallet import Wallet

DEADLINE = 10.0


@pytest.fixture(scope="session")
def wallet_url(postgres: Postgres) -> str:
    postgres.drop_database("wallet_tests")
    url = postgres.ensure_database("wallet_tests")
    upgrade_database(MIGRATIONS, url)
    return url


@pytest.fixture
async def engine(wallet_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(wallet_url, pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pool(wallet_url: str) -> AsyncIterator[PgPool]:
    pool = await PgPool.open(wallet_url, size=10)
    yield pool
    await pool.close()


@pytest.fixture
async def stub(pool: PgPool, engine: AsyncEngine) -> AsyncIterator[wallet_pb2_grpc.WalletServiceStub]:
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    wallet_pb2_grpc.add_WalletServiceServicer_to_server(WalletApi(Wallet(pool, session_maker(engine))), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield wallet_pb2_grpc.WalletServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(None)


@pytest.fixture
def scope() -> common_pb2.Scope:
    return common_pb2.Scope(tenant_id=f"t-{uuid.uuid4().hex[:12]}", environment=common_pb2.ENVIRONMENT_LIVE)


@pytest.fixture
def sandbox(scope: common_pb2.Scope) -> common_pb2.Scope:
    return common_pb2.Scope(tenant_id=scope.tenant_id, environment=common_pb2.ENVIRONMENT_SANDBOX)


async def ledger_mismatches(engine: AsyncEngine, tenant_id: str | None = None) -> list[tuple]:
    """Accounts whose balance is not the sum of their ledger rows, or not the sum of their lots' remaining points
    (empty when the books balance)."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            """
            SELECT a.tenant_id, a.environment, a.player_id, a.point_type, a.balance,
                   COALESCE(SUM(l.amount), 0) AS ledger_sum
            FROM accounts a
            LEFT JOIN ledger_entries l USING (tenant_id, environment, player_id, point_type)
            WHERE CAST(:tenant AS text) IS NULL OR a.tenant_id = CAST(:tenant AS text)
            GROUP BY a.tenant_id, a.environment, a.player_id, a.point_type, a.balance
            HAVING a.balance <> COALESCE(SUM(l.amount), 0)
            UNION ALL
            SELECT a.tenant_id, a.environment, a.player_id, a.point_type, a.balance,
                   -COALESCE(SUM(p.remaining), 0) AS lots_sum
            FROM accounts a
            LEFT JOIN point_lots p USING (tenant_id, environment, player_id, point_type)
            WHERE CAST(:tenant AS text) IS NULL OR a.tenant_id = CAST(:tenant AS text)
            GROUP BY a.tenant_id, a.environment, a.player_id, a.point_type, a.balance
            HAVING a.balance <> COALESCE(SUM(p.remaining), 0)
            """), {"tenant": tenant_id})
        return [tuple(r) for r in rows]


@pytest.fixture(autouse=True)
async def books_balance(engine: AsyncEngine) -> AsyncIterator[None]:
    """After every test: every account equals the sum of its ledger rows, and no session was left mid-transaction."""
    yield
    assert await ledger_mismatches(engine) == []
    async with engine.connect() as conn:
        stuck = await conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
    assert stuck == 0


async def refused(call) -> DomainError:  # type: ignore[no-untyped-def]
    """The DomainError a call was refused with (fails the test when it succeeded or failed otherwise)."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    error = from_rpc_error(info.value)
    assert error is not None, f"no ErrorInfo in {info.value!r}"
    return error


class WalletCalls:
    """Short spellings of the calls the tests make, all through the real channel, all with a deadline."""

    def __init__(self, stub: wallet_pb2_grpc.WalletServiceStub, scope: common_pb2.Scope, engine: AsyncEngine,
                 pool: PgPool) -> None:
        self.stub = stub
        self.scope = scope
        self.engine = engine
        self.pool = pool

    async def define(self, code: str = "gems", scale: int = 0, name: str = "",
                     lifetime_seconds: int = 0) -> wallet_pb2.PointType:
        response = await self.stub.DefinePointType(
            wallet_pb2.DefinePointTypeRequest(scope=self.scope, point_type=wallet_pb2.PointType(
                code=code, name=name, scale=scale, lifetime_seconds=lifetime_seconds)),
            timeout=DEADLINE)
        return response.point_type

    async def grant(self, player_id: str, amount: int, key: str | None = None,
                    point_type: str = "gems", expires_at: datetime | None = None) -> wallet_pb2.GrantPointsResponse:
        request = wallet_pb2.GrantPointsRequest(scope=self.scope, player_id=player_id, point_type=point_type,
                                                amount=amount, idempotency_key=key or uuid.uuid4().hex)
        if expires_at is not None:
            request.expires_at.FromDatetime(expires_at)
        return await self.stub.GrantPoints(request, timeout=DEADLINE)

    async def adjust(self, player_id: str, amount: int, key: str | None = None,
                     point_type: str = "gems") -> wallet_pb2.AdjustPointsResponse:
        return await self.stub.AdjustPoints(
            wallet_pb2.AdjustPointsRequest(scope=self.scope, player_id=player_id, point_type=point_type,
                                           amount=amount, idempotency_key=key or uuid.uuid4().hex),
            timeout=DEADLINE)

    async def debit(self, saga_id: str, player_id: str, amount: int,
                    point_type: str = "gems") -> wallet_pb2.DebitPointsResponse:
        return await self.stub.DebitPoints(
            wallet_pb2.DebitPointsRequest(scope=self.scope, saga_id=saga_id, player_id=player_id,
                                          point_type=point_type, amount=amount),
            timeout=DEADLINE)

    async def refund(self, saga_id: str, reason: str = "") -> wallet_pb2.RefundPointsResponse:
        return await self.stub.RefundPoints(
            wallet_pb2.RefundPointsRequest(scope=self.scope, saga_id=saga_id, reason=reason), timeout=DEADLINE)

    async def set_status(self, player_id: str, status: int) -> wallet_pb2.UpsertPlayerResponse:
        return await self.stub.UpsertPlayer(
            wallet_pb2.UpsertPlayerRequest(scope=self.scope, player_id=player_id, status=status), timeout=DEADLINE)

    async def balances(self, player_id: str) -> dict[str, int]:
        response = await self.stub.GetBalances(
            wallet_pb2.GetBalancesRequest(scope=self.scope, player_id=player_id), timeout=DEADLINE)
        return {a.point_type: a.balance for a in response.accounts}

    async def rows(self, sql: str, **params: object) -> list[tuple]:
        """Rows of a query on this test's tenant (the query names it :tenant)."""
        async with self.engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(sql), {"tenant": self.scope.tenant_id, **params})]

    refused = staticmethod(refused)

    async def stored_balance(self, player_id: str, point_type: str = "gems") -> int:
        rows = await self.rows("SELECT balance FROM accounts WHERE tenant_id = :tenant AND environment = 'live'"
                               " AND player_id = :p AND point_type = :pt", p=player_id, pt=point_type)
        return int(rows[0][0]) if rows else 0

    async def books_balance(self) -> None:
        assert await ledger_mismatches(self.engine, self.scope.tenant_id) == []


@pytest.fixture
def w(stub: wallet_pb2_grpc.WalletServiceStub, scope: common_pb2.Scope, engine: AsyncEngine,
      pool: PgPool) -> WalletCalls:
    return WalletCalls(stub, scope, engine, pool)
