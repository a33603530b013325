"""The hand-written migration and the tables the code queries describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from redemption_service.models import metadata
from service_kit.db import to_async_url
from sqlalchemy.ext.asyncio import create_async_engine


async def test_migrations_match_the_models(migrated_database: str) -> None:
    engine = create_async_engine(to_async_url(migrated_database))
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              metadata))
    finally:
        await engine.dispose()
    assert drift == []
