"""service_kit.periodic.every: the one shape of a service's clocked background jobs."""

from __future__ import annotations

import asyncio

import pytest
from service_kit.periodic import BACKGROUND_ROUND_FAILURES, every


def failures(job: str) -> float:
    return BACKGROUND_ROUND_FAILURES.labels(job)._value.get()


async def test_a_round_runs_at_once_then_every_interval_and_a_failed_round_does_not_stop_the_next() -> None:
    rounds: list[int] = []

    async def round_() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            raise RuntimeError("the database is away")

    task = asyncio.create_task(every("flaky job", 0.01, round_)())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(rounds) >= 4
    assert failures("flaky job") == 1


async def test_the_task_is_named_for_the_job_and_waits_its_first_delay() -> None:
    ran = asyncio.Event()

    async def round_() -> None:
        ran.set()

    job = every("backlog_report", 5, round_, first_delay_seconds=0.3)
    assert job.__name__ == "backlog_report"
    task = asyncio.create_task(job())
    await asyncio.sleep(0.1)
    assert not ran.is_set()
    await asyncio.wait_for(ran.wait(), 2)
    task.cancel()


async def test_a_cancellation_turned_into_a_timeout_inside_the_round_still_ends_the_loop() -> None:
    """Python 3.11's wait_for can answer a cancellation that lands as it times out with TimeoutError: the loop
    must not swallow it as a failed round and go on forever."""
    entered = asyncio.Event()

    async def round_() -> None:
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise TimeoutError from None

    task = asyncio.create_task(every("deaf job", 0.01, round_)())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert failures("deaf job") == 0


def test_an_interval_that_is_not_positive_is_refused_naming_the_job() -> None:
    with pytest.raises(ValueError, match="gauges"):
        every("gauges", 0, lambda: asyncio.sleep(0))
