"""For tests: the statements a piece of code sends to PostgreSQL, and the tables PostgreSQL would read without an
index to answer them.

A query that scans its whole table is fast on a test database and slow on a production one, so a timing cannot
catch it; its plan can. The plans are asked with sequential scans disabled: the planner then takes any index that
can answer the query, however small the test table, and a "Seq Scan" left in the plan means no index can.

    with captured_statements(engine) as statements:
        await wallet.debit_points(...)
    assert await tables_read_without_index(engine, statements) == []
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# Statements with a plan; BEGIN, COMMIT, SET and the like have none.
_PLANNED = ("SELECT", "WITH", "UPDATE", "DELETE", "INSERT")


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    parameters: Any


@dataclass(frozen=True, slots=True)
class FullScan:
    table: str
    sql: str


@contextmanager
def captured_statements(engine: AsyncEngine) -> Iterator[list[Statement]]:
    """Every statement the engine sends while the block runs, with its parameters, in order."""
    seen: list[Statement] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(Statement(statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def _scans(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", ()):
        yield from _scans(child)


async def tables_read_without_index(engine: AsyncEngine, statements: list[Statement]) -> list[FullScan]:
    """Each table a statement's plan reads with a sequential scan although sequential scans are disabled."""
    found: list[FullScan] = []
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement in statements:
            if not statement.sql.lstrip().upper().startswith(_PLANNED):
                continue
            plan = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement.sql,
                                               statement.parameters)).scalar_one()
            document = json.loads(plan) if isinstance(plan, str) else plan
            found.extend(FullScan(table, statement.sql) for table in _scans(document[0]["Plan"]))
        await conn.rollback()
    return found
