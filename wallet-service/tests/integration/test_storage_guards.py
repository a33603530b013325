"""The database's own guards: migrations apply to an empty database, the ledger is append-only, and the
CHECK constraints refuse a negative balance even to a statement that skipped the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from service_kit.db import create_engine, upgrade_database
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from wallet_service.server import MIGRATIONS


async def test_migrations_build_an_empty_database(new_database: Callable[[str], str]) -> None:
    url = new_database("wallet_migrations")
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)  # a second run is a no-op
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = set((await conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars())
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert {"point_types", "players", "accounts", "ledger_entries", "saga_tombstones", "saga_outcomes",
            "event_outbox", "point_lots", "lot_takes"} <= tables
    assert version == "0005"


async def test_ledger_rows_cannot_be_updated_or_deleted(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 10)
    for statement in ("UPDATE ledger_entries SET amount = 99 WHERE tenant_id = :tenant",
                      "DELETE FROM ledger_entries WHERE tenant_id = :tenant"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with w.engine.begin() as conn:
                await conn.execute(text(statement), {"tenant": w.scope.tenant_id})
    assert await w.rows("SELECT amount FROM ledger_entries WHERE tenant_id = :tenant") == [(10,)]


async def test_check_constraints_refuse_negative_balances(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 10)
    with pytest.raises(IntegrityError, match="balance_not_negative"):
        async with w.engine.begin() as conn:
            await conn.execute(text("UPDATE accounts SET balance = balance - 11 WHERE tenant_id = :tenant"),
                               {"tenant": w.scope.tenant_id})
    with pytest.raises(IntegrityError, match="balance_after_not_negative"):
        async with w.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount,"
                " balance_after, reference) VALUES (:tenant, 'live', 'p1', 'gems', 'debit', -11, -1, 'x')"),
                {"tenant": w.scope.tenant_id})
    assert await w.stored_balance("p1") == 10
