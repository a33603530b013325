"""The cancel saga: void the job at fulfillment, persist the cancel request (saga `canceling`), the redeem saga's
way back as forward steps (refund, release: each `Undo` of its definition, last step first), then CANCELED.

Forward only: a cancel whose request is persisted is finished, never undone, so no step has a compensation and
each is idempotent on the redemption id (the runner journals nothing for it; a step that raises stops it with its
own exception). Every cancel runs this definition on the one runner, from where its caller stands:

- a player's or an operator's cancel from the start (`steps()`); one whose cancel is under way already (a failed
  fulfilment's, an earlier cancel's: it voided or failed the job) from the request (`steps_from(REQUEST)`);
- a failed fulfilment's refund, a review's rejection and a hold's timeout after their own persisted request
  (`steps_after(REQUEST)`);
- recovery of a saga left canceling, the same, by a runner without failpoints.

A compensable step added to the redeem saga is therefore refunded by every cancel without a change here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository
from redemption_service.clients import Fulfillment
from redemption_service.domain import RETRY_AFTER_SECONDS, Redemption
from redemption_service.saga.engine import Step
from redemption_service.saga.redeem import Undo

REQUEST = "request_cancel"   # the step that persists the request: every partial entry starts at or after it


class CancelMoved(Exception):
    """The redemption moved (a fulfillment result, another cancel) between its read and the persisted request:
    nothing was persisted; the caller decides again on what is there."""


@dataclass
class CancelOrder:
    scope: Scope
    redemption_id: str   # the saga id that makes the void, the refund and the release idempotent
    reason: str
    canceled: Redemption | None = None   # as the last step left it; None when it was CANCELED before


class CancelSaga:
    def __init__(self, sessions: async_sessionmaker, way_back: Sequence[Undo],
                 fulfillment: Fulfillment | None = None) -> None:
        """way_back: the redeem saga's (RedeemSaga.way_back()). fulfillment: None for a cancel that is only ever
        resumed after its request (recovery)."""
        self.sessions = sessions
        self.way_back = way_back
        self.fulfillment = fulfillment

    def steps(self) -> list[Step[CancelOrder]]:
        """The definition, each step with its failpoints (before_void, after_void, undid_<undo>)."""
        return [
            Step("void_job", self.void_job, point="void"),
            Step(REQUEST, self.request_cancel),
            *(Step(undo.name, _forward(undo), after=f"undid_{undo.name}") for undo in self.way_back),
            Step("finish_cancel", self.finish_cancel),
        ]

    def steps_from(self, name: str) -> list[Step[CancelOrder]]:
        steps = self.steps()
        return steps[[step.name for step in steps].index(name):]

    def steps_after(self, name: str) -> list[Step[CancelOrder]]:
        return self.steps_from(name)[1:]

    async def void_job(self, order: CancelOrder) -> None:
        """Fulfillment decides first, on its job row, that the job will never be delivered. Refuses the cancel
        (changing nothing) otherwise: a code assigned, goods shipped or a provider call in flight means the item
        is, or may be, delivered; its result will come. A crash after the void leaves the redemption OPEN with its
        job voided: fulfillment recorded a FAILED result (CANCELED_ON_REQUEST) for it, which cancels and refunds
        it through the results consumer."""
        assert self.fulfillment is not None, "a cancel without fulfillment is only resumed after its request"
        answer = await self.fulfillment.void_job(order.scope, order.redemption_id, order.reason)
        if answer.outcome == fulfillment_pb2.VOID_OUTCOME_VOIDED:
            return
        if answer.outcome == fulfillment_pb2.VOID_OUTCOME_IN_PROGRESS:
            raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE,
                              answer.message or "the item is being delivered right now; try again shortly",
                              {"retry_after_seconds": str(RETRY_AFTER_SECONDS)})
        raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE,
                          answer.message or "the item was delivered already")

    async def request_cancel(self, order: CancelOrder) -> None:
        """Persisted before any refund (saga `canceling`): from here, recovery finishes the cancel."""
        async with self.sessions.begin() as session:
            requested = await repository.request_cancel(session, order.redemption_id, order.reason)
        if requested is None:
            raise CancelMoved(order.redemption_id)

    async def finish_cancel(self, order: CancelOrder) -> None:
        """After the refund and the release: CANCELED (saga `canceled`), with the redemption.canceled event."""
        async with self.sessions.begin() as session:
            order.canceled = await repository.finish_cancel(session, order.redemption_id)


def _forward(undo: Undo) -> Callable[[CancelOrder], Awaitable[None]]:
    """An undo of the redeem saga as a forward step of the cancel, with the cancel's reason."""
    async def run(order: CancelOrder) -> None:
        await undo.run(order.scope, order.redemption_id, order.reason)
    return run
