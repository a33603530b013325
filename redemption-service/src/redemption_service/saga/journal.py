"""The redeem saga's log in PostgreSQL: the engine's SagaJournal, and the pivot (Confirmation).

The saga's record is written by the accept (running) and by the pivot (confirmed), not per step: recovery
compensates every compensable step of a stale saga (a release and a refund are harmless where their step never
landed), and a step that lands after a recovery took the saga over is refused by the participant's tombstone;
the pivot itself confirms only a saga still running. So a step costs no round trip here."""

from __future__ import annotations

from datetime import UTC, datetime

from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.messaging import JOBS_SUBJECT
from service_kit.pgpool import PgPool
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository
from redemption_service.domain import Redemption, Snapshot
from redemption_service.outbox import new_fulfillment_job
from redemption_service.saga.redeem import RedeemOrder


class SagaTakenOver(Exception):
    """A recovery claimed this saga (it looked stale): the original runner must stop."""


def failure_of(cause: BaseException) -> tuple[str, str]:
    """The failure code and message a FAILED redemption keeps (and replays)."""
    if isinstance(cause, DomainError):
        return cause.code.value, cause.message
    return ErrorCode.UNAVAILABLE.value, "the redemption could not be completed; nothing was charged"


class SagaLog:
    def __init__(self, sessions: async_sessionmaker, pool: PgPool, *, inline_strategies: frozenset[str] = frozenset(),
                 inline_grace_seconds: float = 0.0) -> None:
        """A job of an inline strategy waits inline_grace_seconds in the outbox: Redeem fulfils it directly."""
        self.sessions = sessions
        self.pool = pool
        self.inline_strategies = inline_strategies
        self.inline_grace_seconds = inline_grace_seconds

    async def step_started(self, saga_id: str, position: int, name: str) -> None:
        """Nothing to write (see the module's docstring)."""

    async def begin_compensation(self, saga_id: str) -> bool:
        async with self.sessions.begin() as session:
            return await repository.begin_compensation(session, saga_id)

    async def step_compensated(self, saga_id: str, name: str) -> None:
        async with self.sessions.begin() as session:
            await repository.touch_saga(session, saga_id)

    async def failed(self, saga_id: str, cause: BaseException) -> None:
        code, message = failure_of(cause)
        async with self.sessions.begin() as session:
            await repository.mark_failed(session, saga_id, code, message)

    async def confirm(self, order: RedeemOrder, snapshot: Snapshot) -> Redemption:
        if order.hold_reason:
            held = await repository.hold(self.pool, order.redemption_id, snapshot, order.hold_reason)
            if held is None:
                raise SagaTakenOver(order.redemption_id)
            return held
        job = self.job_of(order, snapshot)
        delay = self.inline_grace_seconds if snapshot.fulfillment_strategy in self.inline_strategies else 0.0
        redemption = await repository.confirm(self.pool, order.redemption_id, snapshot, job_event_id=job.event_id,
                                              job_subject=JOBS_SUBJECT, job_payload=job.SerializeToString(),
                                              job_delay_seconds=delay)
        if redemption is None:
            raise SagaTakenOver(order.redemption_id)
        order.job = job
        return redemption

    @staticmethod
    def job_of(order: RedeemOrder, snapshot: Snapshot) -> fulfillment_pb2.FulfillmentJob:
        return new_fulfillment_job(
            redemption_id=order.redemption_id, scope=order.scope, player_id=order.player_id,
            item_id=order.item_id, variant_id=snapshot.variant_id, rounds=snapshot.rounds,
            strategy=snapshot.fulfillment_strategy, point_type=snapshot.point_type, cost=snapshot.cost,
            face_value=snapshot.face_value, face_currency=snapshot.face_currency,
            config=snapshot.fulfillment_config, shipping_address=order.shipping_address,
            customer_info=order.customer_info, requested_at=datetime.now(UTC))
