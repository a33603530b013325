"""The async engine of a service's own PostgreSQL database, and its Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session


# Constraint and index names every service's tables get, so hand-written migrations can name them predictably.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def to_async_url(url: str) -> str:
    """postgresql://... (as operators write it) -> postgresql+asyncpg://..."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


def create_engine(url: str, *, pool_size: int = 10, statement_timeout_ms: int = 10_000) -> AsyncEngine:
    # No pre-ping: on asyncpg it is three round trips (begin, select, rollback) at every checkout, the largest
    # single cost of a redemption in the profile. A connection that died with its server fails one statement;
    # SQLAlchemy then sees the disconnect and discards every pooled connection older than it.
    # No overflow: under load, overflow connections were opened and closed call after call (a PostgreSQL backend
    # started each time); a call waits for one of pool_size connections instead, up to pool_timeout.
    return create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=10,
        connect_args={
            "timeout": 10,
            "command_timeout": statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "idle_in_transaction_session_timeout": "60000",
            },
        },
    )


def session_maker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit_sessions(sessions: async_sessionmaker) -> async_sessionmaker:
    """Sessions on the same pool whose statements each commit on their own: no BEGIN and no ROLLBACK, two round
    trips fewer. For reads that need no common snapshot, and for writes of a single statement."""
    engine: AsyncEngine = sessions.kw["bind"]
    return async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


def upgrade_database(migrations_dir: Path, url: str) -> None:
    """Applies every Alembic migration of a service (blocking: call before the event loop serves)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    command.upgrade(cfg, "head")


# An outbox relay publishes as soon as a transaction that wrote an outbox row commits, not at its next poll: a
# redeem waiting for a fast result would otherwise wait for two polls (the job's and the result's).
_OUTBOX_WRITTEN = "outbox_written"


def note_outbox_write(session: AsyncSession) -> None:
    """Marks the session's transaction as one that wrote an outbox row (see wake_after_outbox_commits)."""
    session.info[_OUTBOX_WRITTEN] = True


def wake_after_outbox_commits(sessions: async_sessionmaker, wake: Callable[[], None]) -> None:
    """Sessions made by `sessions` from now on call `wake` after each commit of a transaction that wrote an
    outbox row. Called once, by the service's relay."""

    class OutboxSession(Session):
        pass

    @event.listens_for(OutboxSession, "after_commit")
    def _committed(session: Session) -> None:
        if session.info.pop(_OUTBOX_WRITTEN, False):
            wake()

    @event.listens_for(OutboxSession, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_OUTBOX_WRITTEN, None)

    sessions.configure(sync_session_class=OutboxSession)
