"""Every background job of a service that runs on a clock is one `every(...)`: its round now (or after a first
delay), then again `interval_seconds` after each round ends. A failed round is logged with the job's name and
counted, and the next round runs anyway (the database may be back by then); a cancellation always ends the loop,
even one that Python 3.11's wait_for turned into a TimeoutError inside the round (`keep_cancellation`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter

from service_kit.messaging import keep_cancellation

log = logging.getLogger(__name__)

BACKGROUND_ROUND_FAILURES = Counter("rewards_background_round_failures_total",
                                    "Rounds of a periodic background job that raised (the next round runs anyway)",
                                    ["job"])


def every(name: str, interval_seconds: float, round_: Callable[[], Awaitable[object]], *,
          first_delay_seconds: float = 0.0) -> Callable[[], Awaitable[None]]:
    """A background task for the kit's serve(): `round_()` after `first_delay_seconds`, then every
    `interval_seconds` after the end of the previous round. The task is named `name` (serve() names its
    asyncio task so, and logs a dead task by it)."""
    if interval_seconds <= 0:
        raise ValueError(f"{name}: interval_seconds must be positive, got {interval_seconds}")

    async def loop() -> None:
        if first_delay_seconds > 0:
            await asyncio.sleep(first_delay_seconds)
        while True:
            keep_cancellation()
            try:
                await round_()
            except Exception:  # retried at the next round; what failed is in the log line
                keep_cancellation()
                BACKGROUND_ROUND_FAILURES.labels(name).inc()
                log.warning("background round failed", exc_info=True, extra={"job": name})
            await asyncio.sleep(interval_seconds)

    loop.__name__ = loop.__qualname__ = name
    return loop
