"""The hot path's database access: SQL text constants run as asyncpg prepared statements on pooled connections.

Measured here, a statement built per call through a SQLAlchemy AsyncSession costs ~0.73 ms of client CPU, an
asyncpg prepared statement ~0.065 ms. asyncpg prepares each distinct SQL text once per connection and keeps it in
the connection's statement cache, so a module-level constant is parsed and planned once, then only bound and
executed. SQLAlchemy keeps the tables, the Alembic migrations and the cold admin paths.

Every call counts its round trips to PostgreSQL (a statement is one; a transaction adds its BEGIN and its COMMIT
or ROLLBACK), so a test can hold a budget per operation:

    with pool.counting() as trips:
        await wallet.debit_points(...)
    assert trips.count <= 3, trips.statements

A lost connection, a server shutting down or restarting, a statement timeout, a full server, a full pool and a
serialization failure are the database being unavailable, not a bug: they are raised as DomainError(UNAVAILABLE)
with a retry hint (service_kit.db.is_database_unavailable decides), so callers see a transient 503 and nothing
half-done (a failed statement or transaction changed nothing). A connection its server closed is replaced when it
is next taken from the pool, at no round trip for a live one.

While tracing is on, every statement, BEGIN and COMMIT (or ROLLBACK) made inside a recorded span is a span of its
own, with the SQL text and never its arguments (service_kit.tracing.statement_span); off, each costs one test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from service_kit import metrics, tracing
from service_kit.db import POOL_CHECKOUT_TIMEOUT_SECONDS, database_unavailable, is_database_unavailable
from service_kit.errors import DomainError

Record = asyncpg.Record


def _is_unavailable(exc: BaseException) -> bool:
    # Only the database is reached from inside the pool, so every OSError here is its: a Unix socket that a
    # stopped server removed is FileNotFoundError, which elsewhere would be a bug.
    return isinstance(exc, OSError) or is_database_unavailable(exc)


@dataclass
class RoundTrips:
    """The round trips counted while a `counting()` block ran: their number, the SQL of each (shortened, for a
    failing assertion's message), and each call whole with its arguments (for query plan checks)."""

    statements: list[str] = field(default_factory=list)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


def to_dsn(url: str) -> str:
    """postgresql+asyncpg://... (SQLAlchemy's spelling) -> postgresql://... (asyncpg's)."""
    for prefix in ("postgresql+asyncpg://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool. asyncpg's default reset is one more round trip per
    statement (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL): this code takes no session locks, opens no
    cursors, listens to nothing and sets no session state, so only a transaction left open (a cancelled call) is
    rolled back."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def _init_connection(conn: asyncpg.Connection) -> None:
    # json and jsonb as Python values, as SQLAlchemy's JSONB columns give them.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class _Counted:
    """The statement methods, each counted as one round trip and with transient failures made UNAVAILABLE."""

    _pool_of_counts: PgPool

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        return await self._run("fetch", sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        return await self._run("fetchrow", sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self._run("execute", sql, args)


class Transaction(_Counted):
    """Statements on one connection inside BEGIN ... COMMIT (ROLLBACK when the block raises)."""

    def __init__(self, pool: PgPool, conn: asyncpg.Connection) -> None:
        self._pool_of_counts = pool
        self.connection = conn

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        self._pool_of_counts._count(sql, args)
        span = tracing.statement_span(sql, self._pool_of_counts.span_attributes)
        try:
            result = await getattr(self.connection, method)(sql, *args)
        except BaseException as exc:
            if span is not None:
                tracing.end_statement_span(span, exc)
            if isinstance(exc, Exception) and _is_unavailable(exc):
                raise database_unavailable(exc) from exc
            raise
        if span is not None:
            tracing.end_statement_span(span)
        return result


class PgPool(_Counted):
    """A service's pool of asyncpg connections. Statements on the pool itself run in autocommit, each on any
    free connection: a single statement (a CTE may write several tables) is atomic on its own.

    Its connections and checkouts are Prometheus metrics (service_kit.metrics.PoolCollector, read at scrape
    time); a checkout only moves the integers below: calls holding or waiting for a connection, checkouts that
    found none free, checkouts that timed out."""

    def __init__(self, pool: asyncpg.Pool, checkout_timeout_seconds: float = POOL_CHECKOUT_TIMEOUT_SECONDS,
                 database: str = "") -> None:
        self._pool = pool
        self.span_attributes = {"db.system": "postgresql", "db.name": database}
        self._checkout_timeout = checkout_timeout_seconds
        self._pool_of_counts = self
        self._counters: list[RoundTrips] = []
        self._max_size = pool.get_max_size()
        self._checkouts = 0
        self.checkout_waits = 0
        self.checkout_timeouts = 0
        metrics.watch_pool(self)

    @classmethod
    async def open(cls, url: str, *, size: int = 10, statement_timeout_ms: int = 10_000,
                   connect_timeout_seconds: float = 10.0,
                   checkout_timeout_seconds: float = POOL_CHECKOUT_TIMEOUT_SECONDS,
                   settings: Mapping[str, str] | None = None) -> PgPool:
        """Connects lazily beyond the first connection (within connect_timeout_seconds at open); up to `size`
        connections. Every call waits at most checkout_timeout_seconds for a connection (a free one, or a new
        one connecting) and is refused as UNAVAILABLE after that; every statement runs at most
        statement_timeout_ms. settings: more run-time parameters of every connection (a service's own, named
        `rewards.<name>`, read by its statements with current_setting)."""
        pool = await asyncpg.create_pool(
            to_dsn(url), min_size=1, max_size=size, init=_init_connection, reset=_reset_connection,
            timeout=connect_timeout_seconds,
            command_timeout=statement_timeout_ms / 1000 + 5, max_inactive_connection_lifetime=300,
            server_settings={"statement_timeout": str(statement_timeout_ms),
                             "idle_in_transaction_session_timeout": "60000", **(settings or {})})
        return cls(pool, checkout_timeout_seconds, urlsplit(to_dsn(url)).path.lstrip("/"))

    async def close(self) -> None:
        await self._pool.close()

    @property
    def closed(self) -> bool:
        return self._pool.is_closing()

    def usage(self) -> tuple[int, int, int, int, int]:
        """(connections in use, idle, the pool's size, checkouts that waited, checkouts that timed out)."""
        idle = self._pool.get_idle_size()
        return self._pool.get_size() - idle, idle, self._max_size, self.checkout_waits, self.checkout_timeouts

    def _checkout_starts(self) -> None:
        if self._checkouts >= self._max_size:
            self.checkout_waits += 1
        self._checkouts += 1

    async def tables_read_without_index(self, calls: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, str]]:
        """(table, sql) for each table a call's plan reads with a sequential scan although sequential scans are
        disabled: no index can answer it (for tests; see service_kit.query_plans)."""
        found: list[tuple[str, str]] = []
        async with self._pool.acquire() as conn:
            await conn.execute("SET enable_seqscan = off")
            try:
                for sql, args in calls:
                    if not sql.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE", "INSERT")):
                        continue
                    plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
                    document = plan if isinstance(plan, list) else json.loads(plan)
                    found.extend((table, sql) for table in _seq_scans(document[0]["Plan"]))
            finally:
                await conn.execute("RESET enable_seqscan")
        return found

    @property
    def size(self) -> int:
        return self._pool.get_max_size()

    def _count(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        for counter in self._counters:
            counter.statements.append(" ".join(sql.split())[:200])
            counter.calls.append((sql, args))

    @contextmanager
    def counting(self) -> Iterator[RoundTrips]:
        """Counts every round trip made through this pool while the block runs (for tests)."""
        counter = RoundTrips()
        self._counters.append(counter)
        try:
            yield counter
        finally:
            self._counters.remove(counter)

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        self._count(sql, args)
        self._checkout_starts()
        conn = None
        span = tracing.statement_span(sql, self.span_attributes)   # the checkout's wait included
        try:
            async with self._pool.acquire(timeout=self._checkout_timeout) as conn:
                result = await getattr(conn, method)(sql, *args)
        except BaseException as exc:
            if span is not None:
                tracing.end_statement_span(span, exc)
            if isinstance(exc, Exception):
                if conn is None and isinstance(exc, TimeoutError):
                    self.checkout_timeouts += 1
                if _is_unavailable(exc):
                    raise database_unavailable(exc) from exc
            raise
        finally:
            self._checkouts -= 1
        if span is not None:
            tracing.end_statement_span(span)
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN, the block's statements on one connection, then COMMIT; ROLLBACK if the block raises (a
        DomainError raised to refuse a request undoes what the transaction wrote)."""
        self._checkout_starts()
        conn = None
        try:
            async with self._pool.acquire(timeout=self._checkout_timeout) as conn:
                self._count("BEGIN")
                # asyncpg's transaction, started and ended by hand (not `async with`) so that BEGIN and COMMIT
                # can each be a span like any statement.
                tx = conn.transaction()
                span = tracing.statement_span("BEGIN", self.span_attributes)
                await (tx.start() if span is None else _traced(span, tx.start()))
                try:
                    yield Transaction(self, conn)
                except BaseException:
                    self._count("COMMIT")   # or ROLLBACK: one round trip either way
                    span = tracing.statement_span("ROLLBACK", self.span_attributes)
                    await (tx.rollback() if span is None else _traced(span, tx.rollback()))
                    raise
                self._count("COMMIT")
                span = tracing.statement_span("COMMIT", self.span_attributes)
                await (tx.commit() if span is None else _traced(span, tx.commit()))
        except DomainError:
            raise
        except Exception as exc:
            if conn is None and isinstance(exc, TimeoutError):
                self.checkout_timeouts += 1
            if _is_unavailable(exc):
                raise database_unavailable(exc) from exc
            raise
        finally:
            self._checkouts -= 1


async def _traced(span: Any, statement: Coroutine[Any, Any, None]) -> None:
    try:
        await statement
    except BaseException as exc:
        tracing.end_statement_span(span, exc)
        raise
    tracing.end_statement_span(span)


def _seq_scans(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", ()):
        yield from _seq_scans(child)
