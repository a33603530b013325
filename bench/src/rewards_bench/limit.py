"""The limit: the database work of one redemption, and nothing else, as one transaction issued straight with
asyncpg against scratch tables in a scratch database on the platform's own PostgreSQL. What the services add on top
of this (Python, gRPC, HTTP, the saga log, NATS) is the gap the end-to-end figure is compared against.

The scratch tables are the benchmark's own (created and dropped here, never a service's), shaped like the parts of
the services' tables one redemption touches, with the same guards: CHECK constraints and conditional updates."""

from __future__ import annotations

import uuid

import asyncpg

from rewards_bench.load import Level, run_level

SCHEMA = """
DROP TABLE IF EXISTS limit_outbox, limit_redemptions, limit_ledger, limit_items, limit_accounts;
CREATE TABLE limit_accounts (
    player_id text PRIMARY KEY,
    balance bigint NOT NULL CHECK (balance >= 0)
);
CREATE TABLE limit_items (
    item_id text PRIMARY KEY,
    stock bigint NOT NULL CHECK (stock >= 0)
);
CREATE TABLE limit_ledger (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    player_id text NOT NULL REFERENCES limit_accounts,
    kind text NOT NULL,
    amount bigint NOT NULL,
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    reference text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, reference)
);
CREATE INDEX ON limit_ledger (player_id, id);
CREATE TABLE limit_redemptions (
    id uuid PRIMARY KEY,
    number bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    player_id text NOT NULL,
    item_id text NOT NULL,
    cost bigint NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON limit_redemptions (player_id, created_at, number);
CREATE TABLE limit_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    subject text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX ON limit_outbox (id) WHERE published_at IS NULL;
"""

DEBIT = "UPDATE limit_accounts SET balance = balance - $2 WHERE player_id = $1 AND balance >= $2 RETURNING balance"
TAKE_STOCK = "UPDATE limit_items SET stock = stock - 1 WHERE item_id = $1 AND stock >= 1 RETURNING stock"
LEDGER = ("INSERT INTO limit_ledger (player_id, kind, amount, balance_after, reference) "
          "VALUES ($1, 'debit', $2, $3, $4)")
REDEMPTION = "INSERT INTO limit_redemptions (id, player_id, item_id, cost, status) VALUES ($1, $2, $3, $4, 'OPEN')"
OUTBOX = ("INSERT INTO limit_outbox (event_id, subject, payload) "
          "VALUES ($1, 'rewards.fulfillment.requested', $2)")
PAYLOAD = bytes(200)  # about the size of a serialized fulfillment job


async def prepare(url: str, players: int, items: int, stock: int) -> None:
    conn = await asyncpg.connect(url, timeout=30)
    try:
        await conn.execute(SCHEMA)
        await conn.execute("INSERT INTO limit_accounts SELECT 'p' || g, 1000000000 FROM generate_series(0, $1 - 1) g",
                           players)
        await conn.execute("INSERT INTO limit_items SELECT 'i' || g, $2 FROM generate_series(0, $1 - 1) g",
                           items, stock)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def measure_level(url: str, concurrency: int, requests: int, *, pool_size: int, players: int,
                        items: int) -> Level:
    """`requests` transactions from `concurrency` workers sharing a pool of `pool_size` connections (a worker
    waits for a free connection when all are taken). The level's extra records the pool size."""
    pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size, timeout=30, command_timeout=30)
    try:
        async def redeem(_worker: int, number: int) -> bool:
            saga = uuid.uuid4()
            player, item = f"p{number % players}", f"i{number % items}"
            async with pool.acquire() as conn, conn.transaction():
                balance = await conn.fetchval(DEBIT, player, 1)
                if balance is None:
                    return False
                if await conn.fetchval(TAKE_STOCK, item) is None:
                    raise RuntimeError("out of stock")  # rolls the debit back, as the saga would
                await conn.execute(LEDGER, player, -1, balance, str(saga))
                await conn.execute(REDEMPTION, saga, player, item, 1)
                await conn.execute(OUTBOX, uuid.uuid4(), PAYLOAD)
            return True

        await run_level(redeem, concurrency, min(requests, concurrency * 4))  # warm the prepared statements
        level = await run_level(redeem, concurrency, requests)
    finally:
        await pool.close()
    level.extra["pool_size"] = pool_size
    return level


async def sweep(url: str, concurrency: int, requests: int, pool_sizes: tuple[int, ...], *, players: int,
                items: int) -> list[Level]:
    """The same load with each pool size: on 2 CPUs, 8-16 connections beat 64 by 15-25% at c=64 (fewer backends
    contending for the CPUs and the WAL lock), so "the limit" is the best pool, not one per worker."""
    return [await measure_level(url, concurrency, requests, pool_size=size, players=players, items=items)
            for size in pool_sizes]
