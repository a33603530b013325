"""Result events: each one takes the job's next sequence and goes to the outbox in the caller's transaction,
beside the job change it reports."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.messaging import RESULTS_SUBJECT
from service_kit.pgpool import Transaction
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
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


# The first result of a job just opened in this transaction, one round trip: the job settled with it and the result
# in the outbox. The sequence is known before (the job was opened at 0), so the deterministic event id and the
# sealed payload are made before the statement; the guard on result_sequence makes a job that is not at $9 - 1
# write nothing (the caller then rolls back). A result the caller answers itself (FulfilNow) is written as
# already published ($12): the relay leaves it, and a job event asking again re-queues it (publish_again).
#   $1 tenant, $2 environment, $3 redemption, $4 state, $5 outcome, $6 event id, $7 result_data (JSON text),
#   $8 last_error, $9 sequence, $10 subject, $11 sealed payload, $12 published already, $13 trace context (the
#   event's NATS headers: service_kit.tracing.outbox_context)
RECORD_FIRST_RESULT = """
WITH job AS (
    UPDATE jobs SET result_sequence = result_sequence + 1, state = $4, result_outcome = $5, result_event_id = $6,
                    result_data = $7, last_error = $8, next_attempt_at = NULL, updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND redemption_id = $3 AND result_sequence = $9::int - 1
    RETURNING redemption_id
)
INSERT INTO outbox (event_id, subject, payload, published_at, trace_context)
SELECT $6, $10, $11, CASE WHEN $12::boolean THEN now() END, $13::jsonb FROM job
RETURNING event_id
"""
FIRST_SEQUENCE = 1


async def record_first_result(tx: Transaction, vault: Vault, scope: Scope, redemption_id: str, outcome: int, *,
                              state: str, result_data: dict[str, object], last_error: str = "",
                              published: bool, **fields: Any) -> fulfillment_pb2.FulfillmentResult:
    """Settles a job opened in this transaction with its first result; returns the result."""
    result = fulfillment_pb2.FulfillmentResult(
        event_id=result_event_id(scope, redemption_id, FIRST_SEQUENCE), redemption_id=redemption_id,
        scope=scope.to_proto(), outcome=outcome, sequence=FIRST_SEQUENCE, **fields)
    result.occurred_at.GetCurrentTime()
    outcome_name = Outcome.Name(outcome).removeprefix("RESULT_OUTCOME_")
    written = await tx.fetchval(
        RECORD_FIRST_RESULT, scope.tenant_id, scope.environment, redemption_id, state, outcome_name,
        result.event_id, json.dumps(result_data, sort_keys=True), last_error[:2000], FIRST_SEQUENCE,
        RESULTS_SUBJECT, vault.seal_bytes(result.SerializeToString()), published, outbox_context())
    if written is None:
        raise RuntimeError(f"the job of redemption {redemption_id} was not open for its first result")
    return result
