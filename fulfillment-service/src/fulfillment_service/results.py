"""Result events: each one takes the job's next sequence and goes to the outbox in the caller's transaction,
beside the job change it reports."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.messaging import RESULTS_SUBJECT
from service_kit.pgpool import Transaction
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service import outbox, repository
from fulfillment_service.domain import Job, JobState
from fulfillment_service.repository import StoredResult
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
    await repository.settle_job(session, scope, redemption_id, state=JobState.FAILED, outcome="FAILED",
                                result_event_id=event_id, last_error=last_error[:2000],
                                result_data={"failure_code": failure_code, "failure_message": failure_message})
    log.warning("job failed", extra={"redemption_id": redemption_id, "failure_code": failure_code})


# The first result of a job just opened in this transaction, one round trip: the job settled with it and the result
# in the outbox. The sequence is known before (the job was opened at 0), so the deterministic event id and the
# sealed payload are made before the statement; the guard on result_sequence makes a job that is not at $9 - 1
# write nothing (the caller then rolls back). (FulfilNow settles its job in one statement of its own:
# code_pool.FULFIL_NOW.)
#   $1 tenant, $2 environment, $3 redemption, $4 state, $5 outcome, $6 event id, $7 result_data (JSON text),
#   $8 last_error, $9 sequence, $10 subject, $11 sealed payload, $12 trace context (the event's NATS headers:
#   service_kit.tracing.outbox_context)
RECORD_FIRST_RESULT = """
WITH job AS (
    UPDATE jobs SET result_sequence = result_sequence + 1, state = $4, result_outcome = $5, result_event_id = $6,
                    result_data = $7, last_error = $8, next_attempt_at = NULL, updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND redemption_id = $3 AND result_sequence = $9::int - 1
    RETURNING redemption_id
)
INSERT INTO outbox (event_id, subject, payload, trace_context)
SELECT $6, $10, $11, $12::jsonb FROM job
RETURNING event_id
"""
FIRST_SEQUENCE = 1


def first_result(scope: Scope, redemption_id: str, outcome: int, *, occurred_at: datetime | None = None,
                 **fields: Any) -> fulfillment_pb2.FulfillmentResult:
    """The first result of a redemption's job (sequence 1), occurring at occurred_at (default now)."""
    result = fulfillment_pb2.FulfillmentResult(
        event_id=result_event_id(scope, redemption_id, FIRST_SEQUENCE), redemption_id=redemption_id,
        scope=scope.to_proto(), outcome=outcome, sequence=FIRST_SEQUENCE, **fields)
    if occurred_at is None:
        result.occurred_at.GetCurrentTime()
    else:
        result.occurred_at.FromDatetime(occurred_at)
    return result


async def record_first_result(tx: Transaction, vault: Vault, scope: Scope, redemption_id: str, outcome: int, *,
                              state: JobState, result_data: Mapping[str, object], last_error: str = "",
                              **fields: Any) -> fulfillment_pb2.FulfillmentResult:
    """Settles a job opened in this transaction with its first result; returns the result."""
    result = first_result(scope, redemption_id, outcome, **fields)
    outcome_name = Outcome.Name(outcome).removeprefix("RESULT_OUTCOME_")
    written = await tx.fetchval(
        RECORD_FIRST_RESULT, scope.tenant_id, scope.environment, redemption_id, state, outcome_name,
        result.event_id, json.dumps(result_data, sort_keys=True), last_error[:2000], FIRST_SEQUENCE,
        RESULTS_SUBJECT, vault.seal_bytes(result.SerializeToString()), outbox_context())
    if written is None:
        raise RuntimeError(f"the job of redemption {redemption_id} was not open for its first result")
    return result


# --- a code-pool job's recorded result, asked for again -----------------------------------------------------------
# A result FulfilNow settled in its one statement (code_pool.FULFIL_NOW) has no outbox row: its Redeem call got
# it in the answer. When it is asked for again (a repeat of FulfilNow, or a job event: redemption-service's durable
# path after a crash or a lost answer), it is built from the job row and the code assigned to it, with the same
# event id and sequence, so redemption-service takes it as the same result.

# A queued-again result that had no outbox row: written, or (a concurrent writer) queued again.
QUEUE_BUILT_RESULT = """
INSERT INTO outbox (event_id, subject, payload, trace_context) VALUES ($1, $2, $3, $4::jsonb)
ON CONFLICT (event_id) DO UPDATE SET published_at = NULL
"""


def recorded_result(vault: Vault, scope: Scope, job: Job,
                    stored: StoredResult) -> fulfillment_pb2.FulfillmentResult | None:
    """The latest result of a job read by repository.lock_job_with_result: its outbox payload, or built from the
    job and its code when FulfilNow left none. None when the job has no result yet."""
    if job.result_event_id is None:
        return None
    if stored.payload is not None:
        return fulfillment_pb2.FulfillmentResult.FromString(vault.unseal_bytes(stored.payload))
    fields: dict[str, Any] = {}
    outcome = Outcome.Value("RESULT_OUTCOME_" + (job.result_outcome or ""))
    if outcome == Outcome.RESULT_OUTCOME_COMPLETED:
        if stored.code_encrypted is None:
            raise RuntimeError(f"the completed job of redemption {job.redemption_id} has no code assigned")
        pin = stored.pin_encrypted
        fields = {"code": vault.unseal(stored.code_encrypted), "pin": vault.unseal(pin) if pin is not None else ""}
    else:
        data = json.loads(job.result_data or "{}")
        fields = {"failure_code": data.get("failure_code", ""), "failure_message": data.get("failure_message", "")}
    result = fulfillment_pb2.FulfillmentResult(
        event_id=job.result_event_id, redemption_id=job.redemption_id, scope=scope.to_proto(), outcome=outcome,
        sequence=job.result_sequence, **fields)
    result.occurred_at.FromDatetime(job.updated_at)
    return result


async def queue_result_again(tx: Transaction, vault: Vault, scope: Scope, job: Job, stored: StoredResult) -> None:
    """Queues the job's latest result once more (same event id: JetStream drops it inside its duplicate window,
    and redemption-service is idempotent on it outside); writes its outbox row when FulfilNow left none. The caller
    wakes the relay after the commit."""
    if stored.payload is not None:
        await outbox.queue_again(tx, job.result_event_id)
        return
    result = recorded_result(vault, scope, job, stored)
    if result is not None:
        await tx.execute(QUEUE_BUILT_RESULT, result.event_id, RESULTS_SUBJECT,
                         vault.seal_bytes(result.SerializeToString()), outbox_context())
