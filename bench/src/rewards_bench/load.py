"""A closed-loop load: `concurrency` workers send a fixed number of requests between them, each as soon as its
previous one is answered; the level's figures are its throughput and latency percentiles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

# One request: (worker, request number from 0) -> whether it did what it should (a non-2xx is a failure).
Request = Callable[[int, int], Awaitable[bool]]


@dataclass
class Level:
    concurrency: int
    requests: int
    ok: int
    failed: int
    seconds: float
    throughput: float        # answered requests per second, failures included
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


async def run_level(send: Request, concurrency: int, requests: int, timeout: float = 120.0) -> Level:
    latencies: list[float] = []
    outcomes = {"ok": 0, "failed": 0}
    next_number = 0

    async def worker(me: int) -> None:
        nonlocal next_number
        while next_number < requests:
            number = next_number
            next_number += 1
            began = time.perf_counter()
            try:
                good = await send(me, number)
            except Exception:  # a timeout or a refused connection counts as a failed request, not a crash
                good = False
            latencies.append(time.perf_counter() - began)
            outcomes["ok" if good else "failed"] += 1

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker(w) for w in range(concurrency))), timeout)
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    ms = [v * 1000 for v in ordered]
    return Level(concurrency=concurrency, requests=len(latencies), ok=outcomes["ok"], failed=outcomes["failed"],
                 seconds=round(seconds, 3), throughput=round(len(latencies) / seconds, 1) if seconds else 0.0,
                 p50_ms=round(percentile(ms, 50), 2), p95_ms=round(percentile(ms, 95), 2),
                 p99_ms=round(percentile(ms, 99), 2), mean_ms=round(sum(ms) / len(ms), 2) if ms else 0.0)
