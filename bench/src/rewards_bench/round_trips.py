"""SQL round trips per redemption, per service, counted by PostgreSQL itself.

For one dedicated phase only, the benchmark turns on `log_statement = all` (with the database in each line's prefix)
through ALTER SYSTEM and a configuration reload, which every backend applies before its next command: no restart,
nothing added to the runner, and off again at the end. Each logged `statement:` (simple protocol: BEGIN, COMMIT,
a pool's reset) and `execute` (a prepared statement) is one round trip; the exception, an asyncpg `executemany`
batch, logs one line per row. A Parse of a statement not yet prepared on that connection is a round trip the log
does not show: the phase comes after the warm-ups, so the services' statement caches are full.

(pg_stat_statements ships in the embedded PostgreSQL too, but needs shared_preload_libraries, set before the server
starts; the log needs nothing at start.) Statements the platform issues with no traffic (relays, pollers) are
counted in a window just before the redemptions and taken off, pro rata of time.
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

PREFIX = "%m [%p] db=%d "
LINE = re.compile(r" db=(?P<db>\S*) LOG:  (?:statement|execute [^:]*): (?P<sql>.*)$")
# Settings applied for the phase and reset after it.
SETTINGS = {"log_statement": "all", "log_line_prefix": PREFIX}


def _kind(sql: str) -> str:
    # asyncpg's pool runs its reset (advisory unlocks, CLOSE ALL, UNLISTEN, RESET ALL) on every release.
    if "pg_advisory_unlock_all" in sql:
        return "pool reset"
    first = sql.strip().split(None, 1)
    return first[0].rstrip(";").upper() if first else "?"


def count(log: Path, start: int, end: int) -> dict[str, collections.Counter[str]]:
    """Statements per database, by kind (first word), logged between two offsets of the server's log."""
    with log.open("rb") as f:
        f.seek(start)
        text = f.read(end - start).decode(errors="replace")
    out: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = LINE.search(line)
        if m:
            # A statement whose text starts with a newline goes on in the next lines of the log.
            sql = m["sql"] if m["sql"].strip() else next((ln for ln in lines[i + 1:i + 5] if ln.strip()), "")
            out[m["db"]][_kind(sql)] += 1
    return out


async def _configure(admin_url: str, on: bool) -> None:
    conn = await asyncpg.connect(admin_url, timeout=30)
    try:
        for name, value in SETTINGS.items():  # ALTER SYSTEM cannot share a simple query with other statements
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'" if on else f"ALTER SYSTEM RESET {name}")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    await asyncio.sleep(0.5)  # the postmaster signals every backend; each applies it before its next command


async def measure(*, admin_url: str, log: Path, databases: dict[str, str], background_seconds: float,
                  redeem: Callable[[], Awaitable[int]]) -> dict[str, Any]:
    """`databases`: database name -> service. `redeem` runs the redemptions and answers how many were made."""
    await _configure(admin_url, on=True)
    try:
        mark = log.stat().st_size
        await asyncio.sleep(background_seconds)
        began = log.stat().st_size
        started = time.perf_counter()
        redemptions = await redeem()
        seconds = time.perf_counter() - started
        ended = log.stat().st_size
    finally:
        await _configure(admin_url, on=False)
    background, phase = count(log, mark, began), count(log, began, ended)
    per_redemption: dict[str, float] = {}
    by_kind: dict[str, dict[str, float]] = {}
    background_rate: dict[str, float] = {}
    for db, service in databases.items():
        rate = sum(background[db].values()) / background_seconds
        background_rate[service] = round(rate, 2)
        share = seconds / background_seconds
        kinds = {k: (phase[db][k] - background[db][k] * share) / max(redemptions, 1)
                 for k in phase[db].keys() | background[db].keys()}
        by_kind[service] = {k: round(v, 2) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v > 0.005}
        per_redemption[service] = round(max(sum(kinds.values()), 0.0), 2)
    return {"method": "log_statement = all for this phase only; each statement or execute line one round trip, "
                      "less the platform's statements at rest (measured just before), pro rata of time",
            "redemptions": redemptions, "seconds": round(seconds, 1), "background_seconds": background_seconds,
            "per_redemption": per_redemption, "total_per_redemption": round(sum(per_redemption.values()), 2),
            "by_kind": by_kind, "at_rest_per_second": background_rate}
