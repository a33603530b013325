"""Failpoints: named places where a test makes the process die (SIGKILL) or stall, to prove that a crash or a slow
answer at that exact step loses nothing.

Off unless the setting FAILPOINTS names them (comma-separated; empty in production). It is read from the
environment once. A failpoint kills, it never fakes an error: what is tested is the real crash and the real
recovery after a restart."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys

log = logging.getLogger(__name__)


@functools.cache
def enabled_failpoints() -> frozenset[str]:
    raw = os.environ.get("FAILPOINTS", "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


@functools.cache
def stall_seconds() -> float:
    """How long a stalling failpoint sleeps (FAILPOINT_SLEEP_SECONDS, default 5)."""
    return float(os.environ.get("FAILPOINT_SLEEP_SECONDS", "5") or "5")


def failpoint(name: str) -> None:
    """Kills this process with SIGKILL when FAILPOINTS names `name`: no cleanup, no graceful shutdown."""
    if name not in enabled_failpoints():
        return
    log.critical("failpoint reached: killing the process", extra={"failpoint": name})
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


async def stall_point(name: str) -> None:
    """Sleeps FAILPOINT_SLEEP_SECONDS when FAILPOINTS names `name` (a slow dependency, longer than its caller's
    deadline)."""
    if name in enabled_failpoints():
        log.warning("failpoint reached: stalling", extra={"failpoint": name, "seconds": stall_seconds()})
        await asyncio.sleep(stall_seconds())
