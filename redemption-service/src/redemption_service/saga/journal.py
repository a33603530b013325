"""The redeem saga's log in PostgreSQL: the engine's SagaJournal, and the pivot (Confirmation)."""

from __future__ import annotations

from datetime import UTC, datetime

from service_kit.db import autocommit_sessions
from service_kit.errors import DomainError, ErrorCode
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository
from redemption_service.domain import Snapshot
from redemption_service.outbox import add_fulfillment_job, fulfillment_job
from redemption_service.saga.redeem import RedeemOrder


class SagaTakenOver(Exception):
    """A recovery claimed this saga (it looked stale): the original runner must stop."""


def failure_of(cause: BaseException) -> tuple[str, str]:
    """The failure code and message a FAILED redemption keeps (and replays)."""
    if isinstance(cause, DomainError):
        return cause.code.value, cause.message
    return ErrorCode.UNAVAILABLE.value, "the redemption could not be completed; nothing was charged"


class SagaLog:
    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions
        self._single_statements = autocommit_sessions(sessions)

    async def step_started(self, saga_id: str, position: int, name: str) -> None:
        # One statement in autocommit: one round trip to the database instead of three.
        async with self._single_statements() as session:
            if not await repository.start_step(session, saga_id, position, name):
                raise SagaTakenOver(saga_id)

    async def begin_compensation(self, saga_id: str) -> bool:
        async with self.sessions.begin() as session:
            return await repository.begin_compensation(session, saga_id)

    async def step_compensated(self, saga_id: str, name: str) -> None:
        async with self.sessions.begin() as session:
            await repository.set_step_state(session, saga_id, name, "compensated")

    async def failed(self, saga_id: str, cause: BaseException) -> None:
        code, message = failure_of(cause)
        async with self.sessions.begin() as session:
            await repository.mark_failed(session, saga_id, code, message)

    async def confirm(self, order: RedeemOrder, snapshot: Snapshot) -> None:
        async with self.sessions.begin() as session:
            redemption = await repository.confirm_redemption(session, order.redemption_id, snapshot)
            if redemption is None:
                raise SagaTakenOver(order.redemption_id)
            await add_fulfillment_job(session, fulfillment_job(redemption, datetime.now(UTC)))
