"""CPU and memory of the platform's processes (psutil): across a phase, per redemption, and at rest."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import sys
import time

import psutil
from local_runner.platform import Platform, replica_name

SERVICES = ("gateway", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service", "events-service")
LOAD_GENERATOR = "load generator"


def processes(platform: Platform) -> dict[str, psutil.Process]:
    """Every process of the platform by its name: each replica of a service on its own ("gateway-2", ...)."""
    procs = {name: psutil.Process(proc.pid) for name, proc in platform.procs.items()
             if replica_name(name, 1) in SERVICES}
    if platform.postgres is not None and platform.postgres.proc is not None:
        procs["postgres"] = psutil.Process(platform.postgres.proc.pid)
    if platform.nats is not None and platform.nats.proc is not None:
        procs["nats"] = psutil.Process(platform.nats.proc.pid)
    # The load generator shares the machine's CPUs with the platform: what it takes is shown beside the rest.
    procs[LOAD_GENERATOR] = psutil.Process()
    return procs


def by_service(per_process: dict[str, float]) -> dict[str, float]:
    """Per-process figures summed over each service's replicas ("gateway" + "gateway-2" -> "gateway")."""
    out: dict[str, float] = {}
    for name, value in per_process.items():
        key = replica_name(name, 1) if replica_name(name, 1) in SERVICES else name
        out[key] = round(out.get(key, 0.0) + value, 2)
    return out


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None


def _precise_cpu_seconds(pid: int) -> float | None:
    """The process's CPU time (all its threads) to the nanosecond, from its CPU-time clock (clock_getcpuclockid):
    psutil reads /proc's clock ticks, 10 ms each, which over a 30 s idle window is +-0.33 ms/s per process.
    None where the clock cannot be read (not Linux, or the process is gone)."""
    if _LIBC is None:
        return None
    clock, spec = ctypes.c_int(), _Timespec()
    if _LIBC.clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        return None
    if _LIBC.clock_gettime(clock.value, ctypes.byref(spec)) != 0:
        return None
    return spec.tv_sec + spec.tv_nsec / 1e9


def cpu_seconds(proc: psutil.Process, name: str) -> float:
    """CPU of the process; for PostgreSQL, of the postmaster and every backend alive now (the pools' connections
    live through the whole run, so their backends are counted before and after); for the load generator, this
    process and the wrk processes it ran and waited for (psutil's children_user/children_system, in ticks: they
    have exited). Each live process's own CPU is read to the nanosecond where the system allows it."""
    members = [proc] + (proc.children(recursive=True) if name == "postgres" else [])
    total = 0.0
    for p in members:
        try:
            t = p.cpu_times()
            precise = _precise_cpu_seconds(p.pid)
            total += precise if precise is not None else t.user + t.system
            if name == LOAD_GENERATOR:
                total += t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_snapshot(procs: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: cpu_seconds(p, name) for name, p in procs.items()}


def rss_mb(proc: psutil.Process) -> float:
    return round(proc.memory_info().rss / 2**20, 1)


async def idle_cpu(platform: Platform, seconds: float) -> dict[str, float]:
    """CPU ms per second of each process over `seconds` with no traffic: what the platform's timers, pollers and
    relays cost at rest."""
    procs = processes(platform)
    before, began = cpu_snapshot(procs), time.perf_counter()
    await asyncio.sleep(seconds)
    after, elapsed = cpu_snapshot(procs), time.perf_counter() - began
    return {name: round((after[name] - before[name]) * 1000 / elapsed, 2) for name in procs}
