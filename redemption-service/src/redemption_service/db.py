"""The service's own database: its migrations and its sessions."""

from __future__ import annotations

from pathlib import Path

from service_kit.db import create_engine, session_maker, upgrade_database
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(database_url: str) -> None:
    """Applies every migration (blocking: run it in a thread from async code)."""
    upgrade_database(MIGRATIONS, database_url)


def open_database(database_url: str, pool_size: int) -> tuple[AsyncEngine, async_sessionmaker]:
    engine = create_engine(database_url, pool_size=pool_size)
    return engine, session_maker(engine)
