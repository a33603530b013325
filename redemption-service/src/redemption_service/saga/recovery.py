"""Recovery of sagas a crash or a lost runner left unfinished, from the definition's way back (every undo of the
redeem saga, last step first: idempotent on the saga id, harmless where a step never landed). Before the pivot:
the way back, then FAILED. A cancel under way: finished forward (the way back, then CANCELED). A saga whose
pivot committed is confirmed and is never touched here."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from service_kit.errors import ErrorCode
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository
from redemption_service.domain import SagaState
from redemption_service.metrics import SAGA_RECOVERIES
from redemption_service.saga.redeem import Undo, undo_all

log = logging.getLogger(__name__)

INTERRUPTED_MESSAGE = "the redemption was interrupted before it was confirmed; nothing was charged"


async def recover_stale_sagas(sessions: async_sessionmaker, way_back: Sequence[Undo],
                              stale_seconds: float, batch: int = 50) -> int:
    """One round; returns how many sagas it settled. A saga whose compensation fails stays claimed until it is
    stale again, then the next round retries it."""
    async with sessions.begin() as session:
        claimed = await repository.claim_stale_sagas(session, stale_seconds, batch)
    settled = 0
    for saga in claimed:
        canceling = saga.state is SagaState.CANCELING
        reason = "redemption canceled" if canceling else "redemption interrupted"
        try:
            await undo_all(way_back, saga.scope, saga.id, reason)
        except Exception:
            log.warning("recovery compensation failed; retried later", exc_info=True, extra={"saga_id": saga.id})
            SAGA_RECOVERIES.labels("failed").inc()
            continue
        async with sessions.begin() as session:
            if canceling:
                await repository.finish_cancel(session, saga.id)
            else:
                await repository.mark_failed(session, saga.id, ErrorCode.UNAVAILABLE.value, INTERRUPTED_MESSAGE)
        log.info("saga recovered", extra={"saga_id": saga.id, "state": saga.state.value})
        # A cancel under way is finished forward (resumed); a saga before its pivot is compensated.
        SAGA_RECOVERIES.labels("resumed" if canceling else "compensated").inc()
        settled += 1
    return settled

