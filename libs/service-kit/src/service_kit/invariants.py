"""Invariant checks a service runs on its own data, and the loop that samples gauges from the database.

Each service checks what its own tables promise (a balance equals its ledger, a held unit is counted, a code goes
to one job) every INVARIANT_CHECK_SECONDS, and exports `rewards_invariant_violations{service, check}` (0 when
fine) and `rewards_invariant_last_run_timestamp_seconds{service}`. A violation is also logged at ERROR, naming the
check.

A check must stay cheap on a big database: plain SELECTs (no lock beyond ACCESS SHARE, never blocking a write),
one bounded statement per round. So a check is a *sweep*: each round reads the next slice of its table in key
order (and, where it can, the rows written since its last round, so fresh damage is seen at once), and a cycle
ends when the slice wraps around. What the gauge shows is what the last complete cycle found, together with what
the cycle under way has found so far: a row found broken stays counted until a whole cycle has passed without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import Gauge

log = logging.getLogger("service_kit.invariants")

INVARIANT_VIOLATIONS = Gauge("rewards_invariant_violations",
                             "Rows found breaking an invariant of the service's own data (must be 0)",
                             ["service", "check"])
INVARIANT_LAST_RUN = Gauge("rewards_invariant_last_run_timestamp_seconds",
                           "When the service last ran its invariant checks (Unix time)", ["service"])

# A check that finds more broken rows than this stops counting them (the gauge saturates; the log says so).
MAX_KEPT_PER_CHECK = 10_000


@dataclass(frozen=True, slots=True)
class SweepRound:
    """What one round of a sweep found: per check it answers for, the keys of the rows found broken (any stable
    text naming the row), and whether the sweep wrapped around (a cycle ended)."""

    broken: dict[str, set[str]]
    cycle_done: bool


class Sweep(Protocol):
    checks: Sequence[str]   # the names it answers for (the `check` label)

    async def round(self) -> SweepRound: ...


@dataclass
class _Tally:
    previous: set[str] = field(default_factory=set)   # found by the last complete cycle
    current: set[str] = field(default_factory=set)    # found by the cycle under way

    def add(self, keys: set[str]) -> None:
        room = MAX_KEPT_PER_CHECK - len(self.current)
        self.current.update(list(keys)[:max(room, 0)])

    def count(self) -> int:
        return len(self.previous | self.current)

    def end_cycle(self) -> None:
        self.previous, self.current = self.current, set()


class InvariantChecks:
    """Runs the service's sweeps, one round each per run, and keeps the gauges."""

    def __init__(self, service: str, sweeps: Sequence[Sweep]) -> None:
        self.service = service
        self.sweeps = list(sweeps)
        self._tallies = {name: _Tally() for sweep in self.sweeps for name in sweep.checks}
        for name in self._tallies:
            INVARIANT_VIOLATIONS.labels(service, name).set(0)

    async def run_once(self) -> dict[str, int]:
        """One round of every sweep; the violations each check now counts."""
        for sweep in self.sweeps:
            started = time.perf_counter()
            try:
                found = await sweep.round()
            except Exception:  # a failed round is retried at the next; the gauges keep their values
                log.warning("invariant check failed to run", exc_info=True,
                            extra={"checks": list(sweep.checks)})
                continue
            ms = round((time.perf_counter() - started) * 1000, 2)
            for name in sweep.checks:
                tally = self._tallies[name]
                keys = found.broken.get(name, set())
                tally.add(keys)
                if keys:
                    log.error("invariant violated", extra={"check": name, "service": self.service,
                                                           "violations": len(keys), "examples": sorted(keys)[:5]})
                if found.cycle_done:
                    tally.end_cycle()
                INVARIANT_VIOLATIONS.labels(self.service, name).set(tally.count())
            log.debug("invariant round", extra={"checks": list(sweep.checks), "ms": ms,
                                                "cycle_done": found.cycle_done})
        INVARIANT_LAST_RUN.labels(self.service).set(time.time())
        return {name: tally.count() for name, tally in self._tallies.items()}

