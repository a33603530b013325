"""Result events: each one takes the job's next sequence and goes to the outbox in the caller's transaction,
beside the job change it reports (the statements: repository.py). The results stream carries them as
rewards.fulfillment.v1.FulfillmentResult messages: this module writes those (the outbox payload) and reads them
back, and gives them to the calls that answer a result (FulfilNow) as domain values (domain.Result)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.messaging import RESULTS_SUBJECT
from service_kit.pgpool import Transaction
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service import repository
from fulfillment_service.domain import Job, JobState, Result
from fulfillment_service.repository import StoredResult
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.results")

Outcome = fulfillment_pb2.ResultOutcome
FIRST_SEQUENCE = 1


def result_event_id(scope: Scope, redemption_id: str, sequence: int) -> str:
    """Deterministic, so re-creating a result (a replay, a second relay) never makes a second event."""
    name = f"fulfillment-result/{scope.tenant_id}/{scope.environment}/{redemption_id}/{sequence}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def result_message(result: Result) -> fulfillment_pb2.FulfillmentResult:
    """The message a result travels as (the results stream, FulfilNow's answer)."""
    message = fulfillment_pb2.FulfillmentResult(
        event_id=result.event_id, redemption_id=result.redemption_id, scope=result.scope.to_proto(),
        outcome=Outcome.Value("RESULT_OUTCOME_" + result.outcome), sequence=result.sequence, code=result.code,
        pin=result.pin, financial_ref_id=result.financial_ref_id, tracking_number=result.tracking_number,
        provider_reference=result.provider_reference, failure_code=result.failure_code,
        failure_message=result.failure_message)
    if result.data is not None:
        message.data.update(result.data)
    message.occurred_at.FromDatetime(result.occurred_at)
    return message


def result_of(message: fulfillment_pb2.FulfillmentResult) -> Result:
    """result_message's inverse."""
    return Result(
        event_id=message.event_id, redemption_id=message.redemption_id, scope=Scope.from_proto(message.scope),
        outcome=Outcome.Name(message.outcome).removeprefix("RESULT_OUTCOME_"), sequence=message.sequence,
        occurred_at=message.occurred_at.ToDatetime(tzinfo=UTC), code=message.code, pin=message.pin,
        financial_ref_id=message.financial_ref_id, tracking_number=message.tracking_number,
        provider_reference=message.provider_reference,
        data=json_format.MessageToDict(message.data) if message.HasField("data") else None,
        failure_code=message.failure_code, failure_message=message.failure_message)


async def publish_result(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str,
                         outcome: int, **fields: Any) -> str:
    """Writes the next result of this redemption to the outbox; returns its event id."""
    sequence = await repository.next_result_sequence(session, scope, redemption_id)
    result = fulfillment_pb2.FulfillmentResult(
        event_id=result_event_id(scope, redemption_id, sequence), redemption_id=redemption_id,
        scope=scope.to_proto(), outcome=outcome, sequence=sequence, **fields)
    result.occurred_at.GetCurrentTime()
    await repository.add_result(session, vault, result.event_id, RESULTS_SUBJECT, result.SerializeToString())
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


def first_result(scope: Scope, redemption_id: str, outcome: str, *, occurred_at: datetime | None = None,
                 **fields: Any) -> Result:
    """The first result of a redemption's job (sequence 1), occurring at occurred_at (default now)."""
    return Result(event_id=result_event_id(scope, redemption_id, FIRST_SEQUENCE), redemption_id=redemption_id,
                  scope=scope, outcome=outcome, sequence=FIRST_SEQUENCE,
                  occurred_at=datetime.now(UTC) if occurred_at is None else occurred_at, **fields)


async def record_first_result(tx: Transaction, vault: Vault, scope: Scope, redemption_id: str, outcome: str, *,
                              state: JobState, result_data: Mapping[str, object], last_error: str = "",
                              **fields: Any) -> Result:
    """Settles a job opened in this transaction with its first result (in one statement:
    repository.RECORD_FIRST_RESULT); returns the result."""
    result = first_result(scope, redemption_id, outcome, **fields)
    written = await repository.record_first_result(
        tx, vault, scope, redemption_id, state=state, outcome=outcome, event_id=result.event_id,
        result_data=json.dumps(result_data, sort_keys=True), last_error=last_error[:2000], sequence=FIRST_SEQUENCE,
        subject=RESULTS_SUBJECT, payload=result_message(result).SerializeToString())
    if not written:
        raise RuntimeError(f"the job of redemption {redemption_id} was not open for its first result")
    return result


# --- a code-pool job's recorded result, asked for again -----------------------------------------------------------
# A result FulfilNow settled in its one statement (repository.FULFIL_NOW) has no outbox row: its Redeem call got
# it in the answer. When it is asked for again (a repeat of FulfilNow, or a job event: redemption-service's durable
# path after a crash or a lost answer), it is built from the job row and the code assigned to it, with the same
# event id and sequence, so redemption-service takes it as the same result.

def recorded_result(vault: Vault, scope: Scope, job: Job, stored: StoredResult) -> Result | None:
    """The latest result of a job read by repository.lock_job_with_result: its outbox payload, or built from the
    job and its code when FulfilNow left none. None when the job has no result yet."""
    if job.result_event_id is None:
        return None
    if stored.payload is not None:
        return result_of(fulfillment_pb2.FulfillmentResult.FromString(vault.unseal_bytes(stored.payload)))
    fields: dict[str, Any] = {}
    outcome = job.result_outcome or ""
    if outcome == "COMPLETED":
        if stored.code_encrypted is None:
            raise RuntimeError(f"the completed job of redemption {job.redemption_id} has no code assigned")
        pin = stored.pin_encrypted
        fields = {"code": vault.unseal(stored.code_encrypted), "pin": vault.unseal(pin) if pin is not None else ""}
    else:
        data = json.loads(job.result_data or "{}")
        fields = {"failure_code": data.get("failure_code", ""), "failure_message": data.get("failure_message", "")}
    return Result(event_id=job.result_event_id, redemption_id=job.redemption_id, scope=scope, outcome=outcome,
                  sequence=job.result_sequence, occurred_at=job.updated_at, **fields)


async def queue_result_again(tx: Transaction, vault: Vault, scope: Scope, job: Job, stored: StoredResult) -> None:
    """Queues the job's latest result once more (same event id: JetStream drops it inside its duplicate window,
    and redemption-service is idempotent on it outside); writes its outbox row when FulfilNow left none. The caller
    wakes the relay after the commit."""
    if stored.payload is not None:
        await repository.queue_again(tx, job.result_event_id)
        return
    result = recorded_result(vault, scope, job, stored)
    if result is not None:
        await repository.queue_built_result(tx, vault, result.event_id, RESULTS_SUBJECT,
                                            result_message(result).SerializeToString())
