"""A database outage through the kit's gRPC chassis, on a PostgreSQL of this module's own (so it can be stopped,
crashed and restarted): every way the database goes away answers UNAVAILABLE with a retry hint, on the hot path's
PgPool and on the SQLAlchemy engine alike; a genuine bug is still INTERNAL; a transaction cut off writes nothing;
and once the database is back, calls succeed again without one more failure."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2
from local_runner.infra import Postgres, free_port
from local_runner.pytest_plugin import wait_until
from service_kit.db import create_engine
from service_kit.errors import DomainError, ErrorCode, from_rpc_error
from service_kit.grpc_server import ServingInterceptor
from service_kit.pgpool import PgPool
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

ROLE = "outage_service"      # not a superuser, so a connection limit applies to it
CHECKOUT_TIMEOUT = 0.5
PATHS = ["pool", "engine"]   # the hot path's PgPool, the cold paths' SQLAlchemy engine
Answer = tuple[grpc.StatusCode, DomainError | None]
OK: Answer = (grpc.StatusCode.OK, None)


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="kit-outages-"))
    pg = Postgres(folder / "pgdata", free_port(), folder / "postgres.log")
    pg.start()
    pg.psql(f"CREATE ROLE {ROLE} LOGIN; CREATE TABLE outage_t (id text PRIMARY KEY); "
            f"ALTER TABLE outage_t OWNER TO {ROLE}")
    yield pg
    pg.stop()


def operations(pool: PgPool, engine: AsyncEngine) -> dict[str, Callable[[], Awaitable[None]]]:
    """What a call does, named "<path>:<what>" in its request."""

    async def pool_select() -> None:
        assert await pool.fetchval("SELECT 1") == 1

    async def engine_select() -> None:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1

    async def pool_write() -> None:   # a write, then a wait during which the connection is cut
        async with pool.transaction() as tx:
            await tx.execute("INSERT INTO outage_t VALUES ($1)", uuid.uuid4().hex)
            await tx.execute("SELECT pg_sleep(10)")

    async def engine_write() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO outage_t VALUES (:id)"), {"id": uuid.uuid4().hex})
            await conn.execute(text("SELECT pg_sleep(10)"))

    async def pool_bug() -> None:
        await pool.fetchval("SELECT * FROM no_such_table")

    async def engine_bug() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))

    async def file_bug() -> None:
        Path("/no/such/file").read_text()   # an OSError that is not the database's

    return {"pool:select": pool_select, "engine:select": engine_select, "pool:write": pool_write,
            "engine:write": engine_write, "pool:bug": pool_bug, "engine:bug": engine_bug, "file:bug": file_bug}


@dataclass
class Service:
    engine: AsyncEngine
    pool: PgPool
    sent: list[str]          # every query the engine's connections sent, for round-trip checks
    stub: grpc.aio.UnaryUnaryMultiCallable

    async def call(self, operation: str, timeout: float = 5.0) -> Answer:
        try:
            await self.stub(health_pb2.HealthCheckRequest(service=operation), timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            return exc.code(), from_rpc_error(exc)
        return OK


@pytest.fixture
async def service(server: Postgres) -> AsyncIterator[Service]:
    """One RPC served through the kit's ServingInterceptor, doing what its request names."""
    url = server.url("postgres").replace("postgres@", f"{ROLE}@", 1)
    pool = await PgPool.open(url, size=2, checkout_timeout_seconds=CHECKOUT_TIMEOUT)
    engine = create_engine(url, pool_size=2, checkout_timeout_seconds=CHECKOUT_TIMEOUT)
    sent: list[str] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _log_queries(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.driver_connection.add_query_logger(lambda q: sent.append(q.query))

    ops = operations(pool, engine)

    async def run(request, context):  # type: ignore[no-untyped-def]
        await ops[request.service]()
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    handler = grpc.unary_unary_rpc_method_handler(
        run, request_deserializer=health_pb2.HealthCheckRequest.FromString,
        response_serializer=health_pb2.HealthCheckResponse.SerializeToString)
    rpc_server = grpc.aio.server(interceptors=[ServingInterceptor()])
    rpc_server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("kit.test.Outage", {"Run": handler})])
    port = rpc_server.add_insecure_port("127.0.0.1:0")
    await rpc_server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = channel.unary_unary("/kit.test.Outage/Run",
                               request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                               response_deserializer=health_pb2.HealthCheckResponse.FromString)
    try:
        yield Service(engine, pool, sent, stub)
    finally:
        await channel.close()
        await rpc_server.stop(0)
        await pool.close()
        await engine.dispose()


@pytest.fixture
async def admin(server: Postgres) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(server.url("postgres"))
    yield conn
    await conn.close()


async def backends(admin: asyncpg.Connection, query_like: str = "%") -> list[int]:
    """The server processes of the service's connections."""
    return [r["pid"] for r in await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND query LIKE $2", ROLE, query_like)]


async def terminate_all(admin: asyncpg.Connection) -> None:
    """Ends every server process of the service's connections (asyncpg's pool may open a new one at once)."""
    pids = await backends(admin)
    for pid in pids:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)

    async def ended() -> bool:
        return not set(pids) & set(await backends(admin))

    await wait_until(ended, what="the service's backends to end")
    await asyncio.sleep(0.1)   # the service's loop reads each closed socket's EOF


def assert_unavailable(answer: Answer) -> None:
    code, error = answer
    assert code is grpc.StatusCode.UNAVAILABLE, answer
    assert error is not None and error.code is ErrorCode.UNAVAILABLE, answer
    assert error.metadata["retry_after_seconds"] == "1"


@pytest.mark.parametrize("path", PATHS)
async def test_pooled_connections_the_server_closed_are_replaced_at_checkout_without_a_failure(
        service: Service, admin: asyncpg.Connection, path: str) -> None:
    await asyncio.gather(*(service.call(f"{path}:select") for _ in range(4)))   # both connections opened
    await terminate_all(admin)
    assert [await service.call(f"{path}:select") for _ in range(4)] == [OK] * 4


async def test_a_live_pooled_connection_is_taken_without_a_round_trip(service: Service) -> None:
    """No pre-ping: checking out a healthy connection sends nothing but the call's own statements. (The query
    logger sees the simple queries, BEGIN and ROLLBACK, not the prepared SELECT; a pre-ping would add its own
    BEGIN, ping and ROLLBACK to each call.)"""
    for _ in range(3):
        await service.call("engine:select")
    service.sent.clear()
    for _ in range(3):
        assert await service.call("engine:select") == OK
    assert service.sent == ["BEGIN;", "ROLLBACK;"] * 3


@pytest.mark.parametrize("path", PATHS)
async def test_a_stopped_server_is_unavailable_and_once_restarted_serves_at_the_first_call(
        service: Service, server: Postgres, path: str) -> None:
    assert await service.call(f"{path}:select") == OK
    await asyncio.to_thread(server.stop)
    try:
        assert_unavailable(await service.call(f"{path}:select"))   # pooled connections closed by the shutdown
        assert_unavailable(await service.call(f"{path}:select"))   # a new one refused
    finally:
        await asyncio.to_thread(server.start)
    assert await service.call(f"{path}:select") == OK


@pytest.mark.parametrize("path", PATHS)
async def test_a_transaction_whose_connection_is_terminated_is_unavailable_and_wrote_nothing(
        service: Service, admin: asyncpg.Connection, path: str) -> None:
    await admin.execute("TRUNCATE outage_t")
    answer = asyncio.create_task(service.call(f"{path}:write"))

    async def waiting() -> bool:
        return bool(await backends(admin, "SELECT pg_sleep%"))

    await wait_until(waiting, what="the write's transaction to wait")
    for pid in await backends(admin, "SELECT pg_sleep%"):
        await admin.execute("SELECT pg_terminate_backend($1)", pid)   # 57P01: terminated by an administrator
    assert_unavailable(await answer)
    assert await admin.fetchval("SELECT count(*) FROM outage_t") == 0
    assert await service.call(f"{path}:select") == OK


@pytest.mark.parametrize("path", PATHS)
async def test_a_crash_of_the_server_and_its_recovery_are_unavailable_then_it_serves_again(
        service: Service, admin: asyncpg.Connection, path: str) -> None:
    assert await service.call(f"{path}:select") == OK
    in_flight = asyncio.create_task(service.call(f"{path}:write"))

    async def waiting() -> bool:
        return bool(await backends(admin, "SELECT pg_sleep%"))

    await wait_until(waiting, what="the write's transaction to wait")
    # A backend killed outright: PostgreSQL ends every other one (57P02, crash shutdown) and refuses new ones
    # while it recovers (57P03, cannot connect now).
    os.kill(await admin.fetchval("SELECT pg_backend_pid()"), signal.SIGKILL)
    assert_unavailable(await in_flight)
    answers: list[Answer] = []

    async def serving() -> bool:
        answers.append(await service.call(f"{path}:select"))
        return answers[-1] == OK

    await wait_until(serving, timeout=30, what="the server to recover")
    for answer in answers[:-1]:
        assert_unavailable(answer)


@pytest.mark.parametrize("path", PATHS)
async def test_a_full_pool_is_unavailable_within_the_checkout_bound(service: Service, path: str) -> None:
    async with service.engine.connect() as a, service.engine.connect() as b, \
            service.pool.transaction() as c, service.pool.transaction() as d:
        for conn in (a, b):
            await conn.execute(text("SELECT 1"))
        for tx in (c, d):
            await tx.execute("SELECT 1")
        started = time.monotonic()
        assert_unavailable(await service.call(f"{path}:select", timeout=5.0))
        assert time.monotonic() - started < CHECKOUT_TIMEOUT + 1.0
    assert await service.call(f"{path}:select") == OK


@pytest.mark.parametrize("path", PATHS)
async def test_too_many_connections_is_unavailable(service: Service, admin: asyncpg.Connection, path: str) -> None:
    await service.call(f"{path}:select")
    await admin.execute(f"ALTER ROLE {ROLE} CONNECTION LIMIT 0")   # 53300: too many connections for role
    try:
        await terminate_all(admin)   # the next call needs a new connection
        assert_unavailable(await service.call(f"{path}:select"))
    finally:
        await admin.execute(f"ALTER ROLE {ROLE} CONNECTION LIMIT -1")
    assert await service.call(f"{path}:select") == OK


@pytest.mark.parametrize("operation", ["pool:bug", "engine:bug", "file:bug"])
async def test_a_genuine_bug_is_still_internal(service: Service, operation: str) -> None:
    assert await service.call(operation) == (grpc.StatusCode.INTERNAL, None)
