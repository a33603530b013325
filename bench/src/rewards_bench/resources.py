"""CPU and memory of the platform's processes (psutil): across a phase, per redemption, and at rest."""

from __future__ import annotations

import asyncio
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


def cpu_seconds(proc: psutil.Process, name: str) -> float:
    """CPU of the process; for PostgreSQL, of the postmaster and every backend alive now (the pools' connections
    live through the whole run, so their backends are counted before and after); for the load generator, this
    process and the wrk processes it ran and waited for (psutil's children_user/children_system)."""
    members = [proc] + (proc.children(recursive=True) if name == "postgres" else [])
    total = 0.0
    for p in members:
        try:
            t = p.cpu_times()
            total += t.user + t.system
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
