"""Result events: each one takes the job's next sequence and goes to the outbox in the caller's transaction,
beside the job change it reports."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.messaging import RESULTS_SUBJECT
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service import outbox, repository
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.results")

Outcome = fulfillment_pb2.ResultOutcome


def result_event_id(scope: Scope, redemption_id: str, sequence: int) -> str:
    """Deterministic, so re-creating a result (a replay, a second relay) never makes a second event."""
    name = f"fulfillment-result/{scope.tenant_id}/{scope.environment}/{redemption_id}/{sequence}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


async def publish_result(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str,
                         outcome: int, **fields: Any) -> str:
    """Writes the next result of this redemption to the outbox; returns its event id."""
    sequence = await repository.next_result_sequence(session, scope, redemption_id)
    result = fulfillment_pb2.FulfillmentResult(
        event_id=result_event_id(scope, redemption_id, sequence), redemption_id=redemption_id,
        scope=scope.to_proto(), outcome=outcome, sequence=sequence, **fields)
    result.occurred_at.GetCurrentTime()
    await outbox.add_event(session, vault, result.event_id, RESULTS_SUBJECT, result.SerializeToString())
    return result.event_id


async def record_failure(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str,
                         failure_code: str, failure_message: str, last_error: str) -> None:
    """A FAILED result (redemption-service refunds and cancels on it) and the job failed, together."""
    event_id = await publish_result(session, vault, scope, redemption_id, Outcome.RESULT_OUTCOME_FAILED,
                                    failure_code=failure_code, failure_message=failure_message)
    await repository.settle_job(session, scope, redemption_id, state="failed", outcome="FAILED",
                                result_event_id=event_id, last_error=last_error[:2000],
                                result_data={"failure_code": failure_code, "failure_message": failure_message})
    log.warning("job failed", extra={"redemption_id": redemption_id, "failure_code": failure_code})
