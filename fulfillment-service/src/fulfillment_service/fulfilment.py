"""Fulfilling one job: the job row, the effect and the result's outbox row in one transaction, so a job is
fulfilled once however often it is delivered, and every redemption that cannot be delivered is reported
FAILED (and so refunded by redemption-service)."""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.errors import DomainError
from service_kit.messaging import RESULTS_SUBJECT
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service import code_pool, outbox, repository
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.fulfilment")

CODE_POOL = "code_pool"
# Strategies of the contract that this service does not deliver yet: their jobs fail (and are refunded).
KNOWN_STRATEGIES = frozenset({CODE_POOL, "webhook", "physical", "bonus", "free_rounds", "manual"})

Outcome = fulfillment_pb2.ResultOutcome


class MalformedJob(ValueError):
    """A job event that names no redemption (unreadable, or without id or scope): nothing to fulfil or refund."""


@dataclass(frozen=True, slots=True)
class ReceivedJob:
    event_id: str
    scope: Scope
    job: fulfillment_pb2.FulfillmentJob
    payload: bytes


class Taken(enum.Enum):
    FULFILLED = "fulfilled"              # this delivery did the work (completed or failed)
    REDELIVERED = "redelivered"          # the same event again: nothing to do
    ALREADY_KNOWN = "already_known"      # another event for a redemption that already has a job


def read_job(payload: bytes, header_event_id: str | None) -> ReceivedJob:
    try:
        job = fulfillment_pb2.FulfillmentJob.FromString(payload)
    except DecodeError as exc:
        raise MalformedJob(f"not a FulfillmentJob: {exc}") from None
    if not job.redemption_id:
        raise MalformedJob("redemption_id is empty")
    try:
        scope = Scope.from_proto(job.scope)
    except DomainError as exc:
        raise MalformedJob(exc.message) from None
    event_id = job.event_id or header_event_id
    if not event_id:
        raise MalformedJob("event_id is empty and there is no Nats-Msg-Id header")
    return ReceivedJob(event_id=event_id, scope=scope, job=job, payload=payload)


def result_event_id(scope: Scope, redemption_id: str, sequence: int) -> str:
    """Deterministic, so re-creating a result (a replay, a second relay) never makes a second event."""
    name = f"fulfillment-result/{scope.tenant_id}/{scope.environment}/{redemption_id}/{sequence}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


async def fulfil_job(session: AsyncSession, vault: Vault, received: ReceivedJob) -> Taken:
    job, scope = received.job, received.scope
    if not await repository.mark_event_processed(session, received.event_id):
        return Taken.REDELIVERED
    opened = await repository.open_job(session, scope, job.redemption_id, job.item_id, job.strategy,
                                       received.event_id, received.payload)
    if not opened:
        existing = await repository.find_job(session, scope, job.redemption_id)
        # Someone is asking again (a reconciler that saw no result): send the recorded result once more.
        if existing is not None and existing.result_event_id is not None:
            await outbox.publish_again(session, existing.result_event_id)
        return Taken.ALREADY_KNOWN

    if job.strategy == CODE_POOL:
        await _deliver_code(session, vault, scope, job)
    elif job.strategy in KNOWN_STRATEGIES:
        await _record_failure(session, vault, scope, job.redemption_id, "STRATEGY_NOT_SUPPORTED",
                              f"strategy {job.strategy!r} is not supported yet", "strategy not supported yet")
    else:
        await _record_failure(session, vault, scope, job.redemption_id, "INVALID_JOB",
                              f"unknown strategy {job.strategy!r}", "unknown strategy")
    return Taken.FULFILLED


async def give_up_job(session: AsyncSession, vault: Vault, received: ReceivedJob, error: str) -> bool:
    """After the last delivery failed: records a FAILED result so the redemption is refunded. False when the
    redemption already has a job (its own result stands)."""
    job, scope = received.job, received.scope
    await repository.mark_event_processed(session, received.event_id)
    if not await repository.open_job(session, scope, job.redemption_id, job.item_id, job.strategy,
                                     received.event_id, received.payload):
        return False
    await _record_failure(session, vault, scope, job.redemption_id, "FULFILLMENT_ERROR",
                          "fulfillment failed after every delivery attempt", error)
    return True


async def _deliver_code(session: AsyncSession, vault: Vault, scope: Scope,
                        job: fulfillment_pb2.FulfillmentJob) -> None:
    if not job.item_id:
        await _record_failure(session, vault, scope, job.redemption_id, "INVALID_JOB",
                              "the job names no item", "item_id is empty")
        return
    assigned = await code_pool.take_code(session, vault, scope, job.item_id, job.redemption_id)
    if assigned is None:
        log.warning("code pool empty", extra={"item_id": job.item_id, "redemption_id": job.redemption_id})
        await _record_failure(session, vault, scope, job.redemption_id, "OUT_OF_CODES",
                              "no code left for this item", "code pool empty")
        return
    sequence = await repository.next_result_sequence(session, scope, job.redemption_id)
    result = fulfillment_pb2.FulfillmentResult(
        event_id=result_event_id(scope, job.redemption_id, sequence), redemption_id=job.redemption_id,
        scope=scope.to_proto(), outcome=Outcome.RESULT_OUTCOME_COMPLETED, code=assigned.code, pin=assigned.pin,
        sequence=sequence)
    result.occurred_at.GetCurrentTime()
    await outbox.add_event(session, vault, result.event_id, RESULTS_SUBJECT, result.SerializeToString())
    await repository.settle_job(session, scope, job.redemption_id, state="succeeded", outcome="COMPLETED",
                                result_event_id=result.event_id, result_data={"code_id": assigned.code_id})
    log.info("code assigned", extra={"item_id": job.item_id, "redemption_id": job.redemption_id,
                                     "code_id": assigned.code_id})


async def _record_failure(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str,
                          failure_code: str, failure_message: str, last_error: str) -> None:
    sequence = await repository.next_result_sequence(session, scope, redemption_id)
    result = fulfillment_pb2.FulfillmentResult(
        event_id=result_event_id(scope, redemption_id, sequence), redemption_id=redemption_id,
        scope=scope.to_proto(), outcome=Outcome.RESULT_OUTCOME_FAILED, failure_code=failure_code,
        failure_message=failure_message, sequence=sequence)
    result.occurred_at.GetCurrentTime()
    await outbox.add_event(session, vault, result.event_id, RESULTS_SUBJECT, result.SerializeToString())
    await repository.settle_job(session, scope, redemption_id, state="failed", outcome="FAILED",
                                result_event_id=result.event_id, last_error=last_error,
                                result_data={"failure_code": failure_code, "failure_message": failure_message})
    log.warning("job failed", extra={"redemption_id": redemption_id, "failure_code": failure_code})
