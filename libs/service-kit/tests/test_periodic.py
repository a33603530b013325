"""service_kit.periodic: the one shape of a service's clocked background jobs (every) and of its loops woken by
the commits that give them work (Woken)."""

from __future__ import annotations

import asyncio

import pytest
from service_kit.periodic import BACKGROUND_ROUND_FAILURES, Woken, every


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


async def test_a_woken_loop_runs_at_once_when_woken_and_again_at_once_after_a_full_batch() -> None:
    """Idle, a round per interval; a wake starts one at once; a round that did a full batch is followed at once."""
    rounds: list[float] = []
    backlog = [0]

    async def round_() -> int:
        rounds.append(asyncio.get_running_loop().time())
        done = min(backlog[0], 10)
        backlog[0] -= done
        return done

    loop = Woken("relay", round_, interval_seconds=60, batch=10)
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(0.05)
    assert len(rounds) == 1            # the first round, then it waits out its interval
    backlog[0] = 25
    loop.wake()
    await asyncio.sleep(0.05)
    assert len(rounds) == 4 and backlog[0] == 0   # 10, 10, then 5 (< batch): back to waiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_woken_loop_retries_what_it_is_told_to_and_ends_on_anything_else() -> None:
    calls: list[str] = []

    async def round_() -> int:
        calls.append("round")
        if len(calls) == 1:
            raise OSError("the database is away")
        raise KeyError("a bug")

    loop = Woken("woken flaky", round_, interval_seconds=0.05, batch=10, retry_on=(OSError,),
                 failure_pause_seconds=0.01)
    with pytest.raises(KeyError):
        await asyncio.wait_for(loop.run(), 2)
    assert calls == ["round", "round"]
    assert failures("woken flaky") == 1


async def test_a_wake_during_a_round_is_not_lost() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    rounds = 0

    async def round_() -> int:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            entered.set()
            await release.wait()
        return 0

    loop = Woken("woken mid-round", round_, interval_seconds=60, batch=10)
    task = asyncio.create_task(loop.run())
    await entered.wait()
    loop.wake()          # a commit while the round runs
    release.set()
    await asyncio.sleep(0.05)
    assert rounds == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_woken_loop_refuses_an_interval_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="relay"):
        Woken("relay", lambda: asyncio.sleep(0, 0), interval_seconds=0, batch=1)
