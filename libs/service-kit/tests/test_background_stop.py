"""The stop of a service's background tasks: a task that swallows a cancellation (Python 3.11's asyncio.wait_for
inside nats-py's fetch turns one landing as it times out into a TimeoutError, and a consumer waits up to
FETCH_WAIT_SECONDS for its next message) is cancelled again, so the stop does not wait out its sleep."""

from __future__ import annotations

import asyncio
import time

from service_kit.grpc_server import RECANCEL_SECONDS, cancel_until_done


async def test_a_task_that_swallows_its_first_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def consumer() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed == 0:   # what the swallowing wait_for does: the loop goes on waiting
                    swallowed += 1
                    asyncio.current_task().uncancel()
                    continue
                raise

    async def fails_when_stopped() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise RuntimeError("closing failed")

    tasks = [asyncio.create_task(consumer()), asyncio.create_task(fails_when_stopped())]
    await asyncio.sleep(0)
    began = time.perf_counter()
    await asyncio.wait_for(cancel_until_done(tasks), 5)
    assert swallowed == 1 and all(t.done() for t in tasks)
    assert time.perf_counter() - began < RECANCEL_SECONDS * 4
