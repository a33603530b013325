"""The service's own database: its migrations."""

from __future__ import annotations

from pathlib import Path

from service_kit.db import upgrade_database

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(database_url: str) -> None:
    """Applies every migration (blocking: run it in a thread from async code)."""
    upgrade_database(MIGRATIONS, database_url)
