"""Every background job of a service that runs on a clock is one `every(...)`: its round now (or after a first
delay), then again `interval_seconds` after each round ends. A failed round is logged with the job's name and
counted, and the next round runs anyway (the database may be back by then); a cancellation always ends the loop,
even one that Python 3.11's wait_for turned into a TimeoutError inside the round (`keep_cancellation`). A loop
that works off a queue in the database and is woken by the commits that fill it is one `Woken` (the outbox
relays, the webhook deliveries)."""

from __future__ import annotations

import asyncio
import contextlib
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


class Woken:
    """A background loop that works off a queue kept in the database (an outbox, due deliveries): a round at once,
    then again when `wake()` says a commit wrote work that may go now, or after `interval_seconds` for work it
    was not woken for (another replica's, a retry that came due). A round returns how much it did; a full `batch`
    means more may be waiting, so the next round runs at once. A round that raises one of `retry_on` is logged with
    the loop's name and counted, and the loop waits `failure_pause_seconds` before the next; anything else ends
    the loop (serve() logs its task as dead)."""

    def __init__(self, name: str, round_: Callable[[], Awaitable[int]], *, interval_seconds: float, batch: int,
                 retry_on: tuple[type[Exception], ...] = (Exception,), failure_pause_seconds: float = 1.0) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"{name}: interval_seconds must be positive, got {interval_seconds}")
        self.name = name
        self.round = round_
        self.interval = interval_seconds
        self.batch = batch
        self.retry_on = retry_on
        self.failure_pause = failure_pause_seconds
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Work may go now: the next round starts at once rather than at the next interval."""
        self._woken.set()

    async def run(self) -> None:
        while True:
            keep_cancellation()
            # Cleared before the round, not after the wait: a wake during the round (or between a timed-out wait
            # and the clear) would otherwise be forgotten until the next interval.
            self._woken.clear()
            done = 0
            try:
                done = await self.round()
            except self.retry_on as exc:
                keep_cancellation()
                BACKGROUND_ROUND_FAILURES.labels(self.name).inc()
                log.warning("background round failed", extra={"job": self.name, "error": repr(exc)})
                await asyncio.sleep(self.failure_pause)
            if done < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self.interval)
