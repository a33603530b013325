"""The async engine of a service's own PostgreSQL database, its Alembic migrations, and what "the database is
unavailable" looks like (for both the engine and the hot path's PgPool).

A lost connection, a server shutting down, restarting or refusing connections, a statement timeout, a full server
or a full pool is the database being unavailable, not a bug: callers get UNAVAILABLE with a retry hint (a 503 with
Retry-After at the gateway). Nothing is half-done: PostgreSQL rolls back a transaction whose connection is gone,
and nothing here retries a statement (a write may have committed before its answer was lost: only the caller
knows whether it is safe to send again).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from service_kit.errors import DomainError, ErrorCode

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


# How long a call waits for a pooled connection (a free one, or a new one connecting) before it answers
# UNAVAILABLE: shorter than the gateway's 5 s deadline, so a full pool answers 503 instead of outliving the call.
POOL_CHECKOUT_TIMEOUT_SECONDS = 3.0
RETRY_AFTER_SECONDS = "1"

# The driver's errors that mean the database is unavailable (see the module's docstring).
_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,                # 08xxx, ConnectionDoesNotExistError: the connection is gone
    asyncpg.exceptions.OperatorInterventionError,   # 57xxx: admin or crash shutdown, cannot connect now, timeout
    asyncpg.exceptions.InsufficientResourcesError,  # 53xxx: too many connections, out of memory or disk
    asyncpg.exceptions.TransactionRollbackError,    # 40xxx: serialization failure, deadlock
    ConnectionError,                                # refused, reset, broken pipe
    socket.gaierror,                                # the server's name does not resolve
    TimeoutError,                                   # a connect, a command or a pool checkout took too long
    sa_exc.TimeoutError,                            # SQLAlchemy's pool: no connection free in time
    sa_exc.DisconnectionError,                      # SQLAlchemy's pool: no live connection on checkout
)


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or the driver error SQLAlchemy wrapped in it) means the database is unavailable."""
    for cause in _causes(exc):
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, asyncpg.InterfaceError) and "closed" in str(cause):
            return True   # "connection is closed": its server went away
        # asyncio's connect raises a plain OSError for an unreachable network or several refused addresses;
        # its subclasses that are not ConnectionError (FileNotFoundError, PermissionError...) are bugs.
        if isinstance(cause, _UNAVAILABLE) or type(cause) is OSError:
            return True
    return False


def _causes(exc: BaseException) -> list[BaseException]:
    # SQLAlchemy raises its DBAPIError from the adapter's error, raised from asyncpg's: a short chain.
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 4:
        chain.append(cause)
        cause = cause.__cause__
    return chain


def database_unavailable(exc: BaseException) -> DomainError:
    """The UNAVAILABLE refusal for a database error that is_database_unavailable recognised."""
    return DomainError(ErrorCode.UNAVAILABLE, f"the database is unavailable ({type(exc).__name__}); try again",
                       {"retry_after_seconds": RETRY_AFTER_SECONDS})


def _replace_if_closed(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
    # asyncpg marks a connection closed as soon as its socket reads EOF (PostgreSQL restarted, or terminated the
    # backend): found at checkout, the pool discards it and connects anew, at no round trip for a live one.
    if dbapi_connection.driver_connection.is_closed():
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


def create_engine(url: str, *, pool_size: int = 10, statement_timeout_ms: int = 10_000,
                  checkout_timeout_seconds: float = POOL_CHECKOUT_TIMEOUT_SECONDS) -> AsyncEngine:
    # No pre-ping: on asyncpg it is three round trips (begin, select, rollback) at every checkout, the largest
    # single cost of a redemption in the profile. Instead a connection its server closed is replaced at checkout
    # (_replace_if_closed); one that dies during a statement fails that statement (UNAVAILABLE), and SQLAlchemy
    # then discards every pooled connection older than it.
    # No overflow: under load, overflow connections were opened and closed call after call (a PostgreSQL backend
    # started each time); a call waits for one of pool_size connections instead, up to the checkout timeout.
    engine = create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=checkout_timeout_seconds,
        connect_args={
            "timeout": checkout_timeout_seconds,
            "command_timeout": statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "idle_in_transaction_session_timeout": "60000",
            },
        },
    )
    event.listen(engine.sync_engine, "checkout", _replace_if_closed)
    return engine


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
