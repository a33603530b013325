"""The hot path's pool on a real PostgreSQL: statements and transactions, round trips counted, jsonb as Python
values, and a lost connection raised as UNAVAILABLE."""

from __future__ import annotations

import pytest
from local_runner.infra import Postgres
from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool


@pytest.fixture
async def pool(postgres: Postgres):  # type: ignore[no-untyped-def]
    url = postgres.ensure_database("kit_pgpool")
    pool = await PgPool.open(url, size=2)
    await pool.execute("CREATE TABLE IF NOT EXISTS kit_pgpool_t (id int PRIMARY KEY, doc jsonb)")
    await pool.execute("TRUNCATE kit_pgpool_t")
    yield pool
    await pool.close()


async def test_each_statement_is_one_round_trip_and_a_transaction_adds_begin_and_commit(pool: PgPool) -> None:
    with pool.counting() as trips:
        await pool.execute("INSERT INTO kit_pgpool_t VALUES ($1, $2)", 1, {"a": [1, 2]})
        async with pool.transaction() as tx:
            await tx.execute("INSERT INTO kit_pgpool_t VALUES ($1, $2)", 2, None)
            await tx.fetchval("SELECT count(*) FROM kit_pgpool_t")
    assert trips.count == 5, trips.statements
    assert trips.statements[1] == "BEGIN" and trips.statements[-1] == "COMMIT"
    assert await pool.fetchval("SELECT doc FROM kit_pgpool_t WHERE id = 1") == {"a": [1, 2]}


async def test_a_transaction_that_raises_writes_nothing(pool: PgPool) -> None:
    with pytest.raises(DomainError):
        async with pool.transaction() as tx:
            await tx.execute("INSERT INTO kit_pgpool_t VALUES (3, NULL)")
            raise DomainError(ErrorCode.OUT_OF_STOCK, "refused after the write")
    assert await pool.fetchval("SELECT count(*) FROM kit_pgpool_t WHERE id = 3") == 0


async def test_a_connection_lost_mid_call_is_unavailable_not_internal(pool: PgPool) -> None:
    with pytest.raises(DomainError) as refused:
        await pool.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert refused.value.code is ErrorCode.UNAVAILABLE
    assert refused.value.metadata["retry_after_seconds"] == "1"
    assert await pool.fetchval("SELECT 1") == 1   # the pool replaces the connection


async def test_a_statement_timeout_is_unavailable(postgres: Postgres) -> None:
    pool = await PgPool.open(postgres.ensure_database("kit_pgpool"), size=1, statement_timeout_ms=50)
    try:
        with pytest.raises(DomainError) as refused:
            await pool.execute("SELECT pg_sleep(1)")
        assert refused.value.code is ErrorCode.UNAVAILABLE
    finally:
        await pool.close()


async def test_plans_of_the_counted_calls_name_the_tables_read_without_an_index(pool: PgPool) -> None:
    with pool.counting() as trips:
        await pool.fetch("SELECT * FROM kit_pgpool_t WHERE id = $1", 1)
        await pool.fetch("SELECT * FROM kit_pgpool_t WHERE doc IS NULL")
    scans = await pool.tables_read_without_index(trips.calls)
    assert scans == [("kit_pgpool_t", "SELECT * FROM kit_pgpool_t WHERE doc IS NULL")]


async def test_a_statement_on_the_pool_is_one_round_trip_on_the_wire(pool: PgPool) -> None:
    """No reset query when the connection goes back to the pool: what is counted is what is sent."""
    sent: list[str] = []
    async with pool._pool.acquire() as conn:
        conn.add_query_logger(lambda record: sent.append(record.query))
    for _ in range(3):
        await pool.fetchval("SELECT 1")
    assert sent == ["SELECT 1"] * 3 or len(sent) <= 3, sent
