"""A small saga runner in the manner of a compensation stack.

Each step's compensation is registered (and journaled) before the step is called, because a call that failed or
timed out may still have landed. On any failure, the registered compensations run in reverse, shielded from
cancellation, each retried a few times; every compensation must therefore be safe when its step never landed and
safe twice. A step may name a failpoint stem (`point`): the runner then offers the crash tests
`<prefix>.before_<point>` and `<prefix>.after_<point>` around the step and `<prefix>.compensated_<point>` once
its compensation landed, so the steps themselves carry no failpoint lines; a step may instead name its after-point
whole (`after`: the cancel's `undid_<undo>`). The journal is told of each compensable step before it is called
(step_started) and may refuse it when the saga is no longer this runner's; the redeem saga's journal writes nothing
there, since its recovery compensates every compensable step of the definition (see saga/journal.py).

A definition without compensations (the cancel, saga/cancel.py) is finished forward, never undone: the runner
journals nothing for it, and a step that raises stops it with its own exception (no unwinding is claimed, the saga
is not marked failed); its entry points and recovery resume it from the definition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from service_kit.failpoints import failpoint

from redemption_service.metrics import SAGA_COMPENSATIONS

log = logging.getLogger(__name__)

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Step(Generic[C]):
    name: str
    action: Callable[[C], Awaitable[None]]
    compensation: Callable[[C], Awaitable[None]] | None = None
    point: str = ""   # the failpoints' stem: before_<point>, after_<point>, compensated_<point>
    after: str = ""   # the failpoint after the step by its whole name, in place of after_<point> (undid_<undo>)

    def failpoint(self, when: str) -> str:
        """The name of the step's failpoint `when` (before, after, compensated), without the runner's prefix;
        empty: none."""
        if when == "after" and self.after:
            return self.after
        return f"{when}_{self.point}" if self.point else ""


class SagaJournal(Protocol):
    async def step_started(self, saga_id: str, position: int, name: str) -> None:
        """Persists that a compensable step is about to be called (and that the steps before it are done).
        Raises when the saga is no longer this runner's (a recovery took it over), so the step is not called."""

    async def begin_compensation(self, saga_id: str) -> bool:
        """Claims the unwinding. False when the saga passed its pivot or another runner owns it."""

    async def step_compensated(self, saga_id: str, name: str) -> None: ...

    async def failed(self, saga_id: str, cause: BaseException) -> None:
        """Every compensation ran: the saga ends failed, for this cause."""


class SagaFailed(Exception):
    """The saga did not reach its end. `compensated` names the compensations that ran, in order; `settled` is
    False when the unwinding was not finished here (left to recovery, or owned by someone else)."""

    def __init__(self, cause: BaseException, compensated: list[str], settled: bool) -> None:
        super().__init__(f"saga failed: {cause!r}")
        self.cause = cause
        self.compensated = compensated
        self.settled = settled


@dataclass
class SagaRunner:
    journal: SagaJournal | None = None   # None: a runner of forward-only definitions (recovery of a cancel)
    failpoint_prefix: str = ""   # "redemption": redemption.before_pivot, ...; empty: no failpoints
    compensation_attempts: int = 5
    compensation_backoff_seconds: float = 0.2
    _unwinding: set[asyncio.Task[SagaFailed]] = field(default_factory=set, init=False, repr=False)

    async def run(self, saga_id: str, steps: Sequence[Step[C]], context: C) -> None:
        """Raises SagaFailed when a step of a compensable definition failed (after its unwinding), and a step's
        own exception when a forward-only definition stopped at it."""
        forward_only = all(step.compensation is None for step in steps)
        assert forward_only or self.journal is not None, "a compensable definition needs a journal"
        registered: list[Step[C]] = []
        for position, step in enumerate(steps):
            try:
                if step.compensation is not None and self.journal is not None:
                    await self.journal.step_started(saga_id, position, step.name)
                    registered.append(step)
                self._failpoint("before", step)
                await step.action(context)
                self._failpoint("after", step)
            except BaseException as exc:
                if forward_only:
                    raise   # nothing to unwind: the definition is finished forward, by a later run
                failure = await self._unwind_shielded(saga_id, registered, context, exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise failure from exc

    def _failpoint(self, when: str, step: Step[C]) -> None:
        name = step.failpoint(when)
        if self.failpoint_prefix and name:
            failpoint(f"{self.failpoint_prefix}.{name}")

    async def _unwind_shielded(self, saga_id: str, registered: list[Step[C]], context: C,
                               cause: BaseException) -> SagaFailed:
        task = asyncio.create_task(self._unwind(saga_id, registered, context, cause))
        # Keep a reference: if our caller is cancelled, the unwinding still runs to completion.
        self._unwinding.add(task)
        task.add_done_callback(self._unwinding.discard)
        return await asyncio.shield(task)

    async def _unwind(self, saga_id: str, registered: list[Step[C]], context: C,
                      cause: BaseException) -> SagaFailed:
        assert self.journal is not None
        try:
            claimed = await self.journal.begin_compensation(saga_id)
        except Exception:
            log.exception("cannot claim the compensation; left to recovery", extra={"saga_id": saga_id})
            return SagaFailed(cause, [], settled=False)
        if not claimed:
            return SagaFailed(cause, [], settled=False)
        compensated: list[str] = []
        settled = True
        for step in reversed(registered):
            if await self._compensate(saga_id, step, context):
                compensated.append(step.name)
            else:
                settled = False
        if settled:
            try:
                await self.journal.failed(saga_id, cause)
            except Exception:
                log.exception("cannot record the failed saga; left to recovery", extra={"saga_id": saga_id})
                settled = False
        return SagaFailed(cause, compensated, settled)

    async def _compensate(self, saga_id: str, step: Step[C], context: C) -> bool:
        assert step.compensation is not None and self.journal is not None
        for attempt in range(1, self.compensation_attempts + 1):
            try:
                await step.compensation(context)
                # The compensation landed, its journal entry not yet: the next ones have not run.
                self._failpoint("compensated", step)
            except Exception:
                log.warning("compensation failed", exc_info=True,
                            extra={"saga_id": saga_id, "step": step.name, "attempt": attempt})
                if attempt < self.compensation_attempts:
                    await asyncio.sleep(min(self.compensation_backoff_seconds * 2 ** (attempt - 1), 2.0))
                continue
            try:
                await self.journal.step_compensated(saga_id, step.name)
            except Exception:
                # The compensation landed; recovery may run it again, which is harmless.
                log.warning("cannot record a compensation", exc_info=True, extra={"saga_id": saga_id})
            SAGA_COMPENSATIONS.labels(step.name, "ok").inc()
            return True
        log.error("compensation gave up; left to recovery", extra={"saga_id": saga_id, "step": step.name})
        SAGA_COMPENSATIONS.labels(step.name, "failed").inc()
        return False
