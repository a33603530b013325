"""Recovery of sagas a crash or a lost runner left unfinished, from their definitions. Before the pivot: the redeem
saga's way back (every undo of its definition, last step first: idempotent on the saga id, harmless where a step
never landed), then FAILED. A cancel under way: the cancel saga resumed after its persisted request (saga/cancel.py:
the same way back as forward steps, then CANCELED). A saga whose pivot committed is confirmed and is never touched
here. Recovery offers no failpoints, so a process restarted with one set still recovers the previous crash."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from service_kit.errors import ErrorCode
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository
from redemption_service.domain import SagaState
from redemption_service.metrics import SAGA_RECOVERIES
from redemption_service.saga.cancel import REQUEST, CancelOrder, CancelSaga
from redemption_service.saga.engine import SagaRunner
from redemption_service.saga.redeem import Undo, undo_all

log = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = "the redemption was interrupted before it was confirmed; nothing was charged"
CANCELED_REASON = "redemption canceled"
INTERRUPTED_REASON = "redemption interrupted"


async def recover_stale_sagas(sessions: async_sessionmaker, way_back: Sequence[Undo],
                              stale_seconds: float, batch: int = 50) -> int:
    """One round; returns how many sagas it settled. way_back: the redeem saga's (RedeemSaga.way_back()), which
    the cancel saga runs forward too. A saga whose compensation fails stays claimed until it is stale again, then
    the next round retries it."""
    async with sessions.begin() as session:
        claimed = await repository.claim_stale_sagas(session, stale_seconds, batch)
    resumed = CancelSaga(sessions, way_back).steps_after(REQUEST)
    runner = SagaRunner()
    settled = 0
    for saga in claimed:
        canceling = saga.state is SagaState.CANCELING
        try:
            if canceling:
                await runner.run(saga.id, resumed, CancelOrder(saga.scope, saga.id, CANCELED_REASON))
            else:
                await undo_all(way_back, saga.scope, saga.id, INTERRUPTED_REASON)
        except Exception:
            log.warning("recovery compensation failed; retried later", exc_info=True, extra={"saga_id": saga.id})
            SAGA_RECOVERIES.labels("failed").inc()
            continue
        if not canceling:
            async with sessions.begin() as session:
                await repository.mark_failed(session, saga.id, ErrorCode.UNAVAILABLE.value, INTERRUPTED_MESSAGE)
        log.info("saga recovered", extra={"saga_id": saga.id, "state": saga.state.value})
        # A cancel under way is finished forward (resumed); a saga before its pivot is compensated.
        SAGA_RECOVERIES.labels("resumed" if canceling else "compensated").inc()
        settled += 1
    return settled
