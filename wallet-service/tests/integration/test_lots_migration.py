"""Migration 0005 puts every existing balance into one never-expiring lot, and records the debits not refunded
yet as taken from it, so that their refunds (made after the upgrade) go back to it; the downgrade removes the
lots and keeps the balances."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from service_kit.db import create_engine, to_async_url
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from sqlalchemy import text
from wallet_service import repository
from wallet_service.server import MIGRATIONS

LEGACY = [
    "INSERT INTO point_types (tenant_id, environment, code, name, scale) VALUES ('t', 'live', 'gems', 'Gems', 0)",
    ("INSERT INTO players (tenant_id, environment, player_id) VALUES ('t', 'live', 'p1'), ('t', 'live', 'p2'),"
    " ('t', 'live', 'p3')"),
    ("INSERT INTO accounts (tenant_id, environment, player_id, point_type, balance) VALUES"
    " ('t', 'live', 'p1', 'gems', 70), ('t', 'live', 'p2', 'gems', 0), ('t', 'live', 'p3', 'gems', 0)"),
    ("INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount, balance_after,"
    " reference) VALUES ('t', 'live', 'p1', 'gems', 'grant', 100, 100, 'g1'),"
    " ('t', 'live', 'p1', 'gems', 'debit', -30, 70, 's1'),"
    " ('t', 'live', 'p2', 'gems', 'grant', 10, 10, 'g2'), ('t', 'live', 'p2', 'gems', 'debit', -10, 0, 's2'),"
    " ('t', 'live', 'p2', 'gems', 'refund', 10, 10, 's2'), ('t', 'live', 'p2', 'gems', 'adjustment', -10, 0, 'a2')"),
]


def _migrate(url: str, action: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    getattr(command, action)(cfg, revision)


async def test_existing_balances_become_one_never_expiring_lot_and_their_debits_takes(
        new_database: Callable[[str], str]) -> None:
    url = new_database("wallet_lots_migration")
    await asyncio.to_thread(_migrate, url, "upgrade", "0004")
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for statement in LEGACY:
                await conn.execute(text(statement))
        await asyncio.to_thread(_migrate, url, "upgrade", "0005")
        async with engine.connect() as conn:
            lots = (await conn.execute(text(
                "SELECT player_id, granted, remaining, expires_at FROM point_lots ORDER BY player_id"))).all()
            takes = (await conn.execute(text("SELECT reference, amount FROM lot_takes"))).all()
        # p1: 70 held and 30 out in a debit not refunded (yet); p2: nothing held, nothing outstanding; p3: never had any.
        assert [tuple(r) for r in lots] == [("p1", 100, 70, None)]
        assert [tuple(r) for r in takes] == [("s1", 30)]
        pool = await PgPool.open(url, size=1)
        try:   # the older debit's refund finds its lot
            assert (await repository.refund(pool, Scope("t", "live"), "s1", "refund", "")).entry is not None
        finally:
            await pool.close()
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT remaining FROM point_lots WHERE player_id = 'p1'")) == 100
        await asyncio.to_thread(_migrate, url, "downgrade", "0004")
        async with engine.connect() as conn:
            tables = set((await conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars())
            balance = await conn.scalar(text("SELECT balance FROM accounts WHERE player_id = 'p1'"))
        assert "point_lots" not in tables and "lot_takes" not in tables and balance == 100
        await asyncio.to_thread(_migrate, url, "upgrade", "head")   # and up again
    finally:
        await engine.dispose()
