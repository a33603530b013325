"""The body of every service's Alembic env.py: run the migrations on the async engine, online only."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

# Replicas starting together on an empty database would race to create the same tables: one lock per
# database makes the second wait, then find the schema current.
_MIGRATION_LOCK_ID = 727_001


def _run(connection: Connection, metadata: MetaData | None) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData | None) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run, metadata)
    await engine.dispose()


def run_env(metadata: MetaData | None) -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: sqlalchemy.url is not set (the service passes its DATABASE_URL)")
    if context.is_offline_mode():
        raise SystemExit("alembic: offline mode is not supported; run against the database")
    asyncio.run(_run_async(url, metadata))
