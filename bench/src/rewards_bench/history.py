"""Bulk history for the read paths: players, accounts and ledger rows straight into wallet's database, redemptions
straight into redemption's, with INSERT ... SELECT generate_series (seconds for a million rows), then ANALYZE.

Each bulk player gets the same history (ROWS_PER_PLAYER grants, REDEMPTIONS_PER_PLAYER redemptions), so a read for
one of them is the same work whether the tables hold a thousand rows or a million: only the size of the tables
around it changes. Balances equal the sums of their ledger rows and of their lots, as wallet requires."""

from __future__ import annotations

import asyncpg

TENANT, ENVIRONMENT, POINT_TYPE = "demo", "sandbox", "gems"
ROWS_PER_PLAYER = 100
REDEMPTIONS_PER_PLAYER = 100
GRANT = 10


def bulk_player(number: int) -> str:
    return f"bulk-{number:07d}"


async def _connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url, timeout=30, command_timeout=600)
    # Foreign keys are satisfied by construction (players, then accounts, then ledger rows): skipping their
    # per-row triggers makes the load several times faster, like pg_restore does.
    await conn.execute("SET session_replication_role = replica")
    return conn


async def load_ledger(wallet_url: str, first_player: int, last_player: int) -> int:
    """Players [first_player, last_player) with an account, its lot and ROWS_PER_PLAYER grants each; answers rows
    added."""
    if last_player <= first_player:
        return 0
    conn = await _connect(wallet_url)
    try:
        async with conn.transaction():
            await conn.execute("""
                INSERT INTO players (tenant_id, environment, player_id)
                SELECT $1, $2, 'bulk-' || lpad(g::text, 7, '0') FROM generate_series($3::int, $4::int - 1) g""",
                               TENANT, ENVIRONMENT, first_player, last_player)
            await conn.execute("""
                INSERT INTO accounts (tenant_id, environment, player_id, point_type, balance)
                SELECT $1, $2, 'bulk-' || lpad(g::text, 7, '0'), $3, $5::bigint * $6::int
                FROM generate_series($4::int, $7::int - 1) g""",
                               TENANT, ENVIRONMENT, POINT_TYPE, first_player, GRANT, ROWS_PER_PLAYER, last_player)
            # The grants never expire, so they make one lot per account (as the wallet's own grants would).
            await conn.execute("""
                INSERT INTO point_lots (tenant_id, environment, player_id, point_type, granted, remaining,
                                        source_kind, source_reference)
                SELECT $1, $2, 'bulk-' || lpad(g::text, 7, '0'), $3, $5::bigint * $6::int, $5::bigint * $6::int,
                       'grant', 'bulk-' || g || '-1'
                FROM generate_series($4::int, $7::int - 1) g""",
                               TENANT, ENVIRONMENT, POINT_TYPE, first_player, GRANT, ROWS_PER_PLAYER, last_player)
            # Player outer, entry inner: each player's entries get increasing ids, as real grants would.
            await conn.execute("""
                INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount,
                                            balance_after, reference, description, created_at)
                SELECT $1, $2, 'bulk-' || lpad(p::text, 7, '0'), $3, 'grant', $5::bigint, $5::bigint * j,
                       'bulk-' || p || '-' || j, 'bulk history', now() - make_interval(secs => $6::int - j)
                FROM generate_series($4::int, $7::int - 1) p, generate_series(1, $6::int) j
                ORDER BY p, j""",
                               TENANT, ENVIRONMENT, POINT_TYPE, first_player, GRANT, ROWS_PER_PLAYER, last_player)
        await conn.execute("ANALYZE players, accounts, point_lots, ledger_entries")
        return (last_player - first_player) * ROWS_PER_PLAYER
    finally:
        await conn.close()


async def load_redemptions(redemption_url: str, first_player: int, last_player: int) -> int:
    if last_player <= first_player:
        return 0
    conn = await _connect(redemption_url)
    try:
        await conn.execute("""
            INSERT INTO redemptions (id, tenant_id, environment, player_id, idempotency_key, item_id, point_type,
                                     cost, item_name, fulfillment_strategy, status, created_at, updated_at,
                                     completed_at)
            SELECT gen_random_uuid()::text, $1, $2, 'bulk-' || lpad(p::text, 7, '0'), 'bulk-' || p || '-' || j,
                   '12', $3, 150, 'Amazon gift card 10 EUR', 'code_pool', 'COMPLETED', t, t, t
            FROM generate_series($4::int, $5::int - 1) p, generate_series(1, $6::int) j,
                 LATERAL (SELECT now() - make_interval(secs => $6::int - j) AS t) AS at
            ORDER BY p, j""",
                           TENANT, ENVIRONMENT, POINT_TYPE, first_player, last_player, REDEMPTIONS_PER_PLAYER)
        await conn.execute("ANALYZE redemptions")
        return (last_player - first_player) * REDEMPTIONS_PER_PLAYER
    finally:
        await conn.close()


async def count(url: str, table: str) -> int:
    conn = await asyncpg.connect(url, timeout=30, command_timeout=60)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()
