"""Operators' moves on jobs (retry, fail, advance), providers' callbacks, and voids (a redemption canceled before
delivery). Each takes the job's row lock, checks that the move is allowed, and writes the job change and its
result (the job's next sequence) to the outbox in the same transaction.

A voided job is final: no delivery, callback or operator move changes it."""

from __future__ import annotations

import json
import logging

from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit import domain_events
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fulfillment_service import repository
from fulfillment_service.domain import (
    SHIPMENT_STAGES,
    UNSETTLED_STATES,
    Advance,
    DeliveryStatus,
    Job,
    JobState,
    Method,
    ProviderCallback,
    Strategy,
    Void,
    VoidOutcome,
    advanced_state,
)
from fulfillment_service.provider_calls import signature_is_valid
from fulfillment_service.provider_jobs import ProviderDelivery
from fulfillment_service.results import Outcome, publish_result, record_failure
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.job_controls")

# Forward-only orders. A manual job's stage is its latest result: ACCEPTED once taken (the redemption is OPEN;
# "" only for a job taken before ACCEPTED existed). An operator moves it to one of MANUAL_TARGETS.
MANUAL_STAGES = ("", "ACCEPTED", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED")
MANUAL_TARGETS = MANUAL_STAGES[2:]
CANCELED_ON_REQUEST = "CANCELED_ON_REQUEST"
DEFAULT_VOID_REASON = "canceled on request"


async def _locked(session: AsyncSession, scope: Scope, redemption_id: str) -> Job:
    if not redemption_id:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "redemption_id is required")
    job = await repository.lock_job(session, scope, redemption_id)
    if job is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no job for redemption {redemption_id}")
    return job


async def current_job(sessions: async_sessionmaker, scope: Scope, redemption_id: str) -> Job:
    async with sessions() as session:
        job = await repository.find_job(session, scope, redemption_id)
    if job is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no job for redemption {redemption_id}")
    return job


async def retry_job(sessions: async_sessionmaker, provider: ProviderDelivery, scope: Scope,
                    redemption_id: str) -> None:
    """Calls the provider of a job that has no outcome yet (failing, stuck, or accepted and never called back)
    now. A failed job is not re-run: its redemption was refunded."""
    async with sessions.begin() as session:
        job = await _locked(session, scope, redemption_id)
        job.check_retry()
        received = fulfillment_pb2.FulfillmentJob.FromString(job.payload)
    log.info("job retried by an operator", extra={"redemption_id": redemption_id})
    done = await provider.deliver(scope, received, final=False, retry_delay=0.0, states=UNSETTLED_STATES)
    if done.retry_in:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"the provider is being called for this job right now (its lease ends in "
                          f"{done.retry_in:.0f} s): retry after that")


async def fail_job(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "reason is required")
    job = await _locked(session, scope, redemption_id)
    if not job.fails_by_operator():
        return  # failed or voided already: the refund is on its way; failing again is harmless
    await record_failure(session, vault, scope, redemption_id, "FAILED_BY_OPERATOR", reason,
                         f"failed by an operator: {reason}")


async def advance_job(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str,
                      advance: Advance) -> None:
    target = advance.target
    job = await _locked(session, scope, redemption_id)
    job.check_advance(target)
    if target == "FAILED":
        reason = (advance.note or "").strip()
        if not reason:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "a failure needs a reason in note")
        job.check_goods_not_sent()
        await record_failure(session, vault, scope, redemption_id, "FAILED_BY_OPERATOR", reason,
                             f"failed by an operator: {reason}")
        return
    if job.fulfilment.method is Method.SHIPMENT:
        await _move_shipment(session, vault, scope, job, target, advance)
    else:
        await _move_manual(session, vault, scope, job, target, advance)


async def _move_shipment(session: AsyncSession, vault: Vault, scope: Scope, job: Job, target: str,
                         advance: Advance) -> None:
    if target not in ("SHIPPED", "DELIVERED"):
        raise DomainError(ErrorCode.VALIDATION_ERROR, "a physical job moves to SHIPPED, DELIVERED or FAILED")
    new_status = DeliveryStatus(target.lower())
    if SHIPMENT_STAGES.index(new_status) <= SHIPMENT_STAGES.index(job.delivery_status):
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"the shipment is {job.delivery_status}: it cannot move back or stay at {new_status}")
    tracking = advance.tracking_number.strip() or job.tracking_number
    if target == "SHIPPED" and not tracking:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "tracking_number is required to ship")
    if len(tracking) > 128:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "tracking_number is at most 128 characters")
    outcome = Outcome.RESULT_OUTCOME_SHIPPED if target == "SHIPPED" else Outcome.RESULT_OUTCOME_DELIVERED
    event_id = await publish_result(session, vault, scope, job.redemption_id, outcome, tracking_number=tracking)
    # DELIVERED completes a physical redemption; the job is done with it.
    await repository.settle_job(session, scope, job.redemption_id, state=advanced_state(target), outcome=target,
                                result_event_id=event_id, result_data={"note": advance.note.strip()},
                                delivery_status=new_status, tracking_number=tracking)
    event_type = domain_events.FULFILLMENT_SHIPPED if target == "SHIPPED" else domain_events.FULFILLMENT_DELIVERED
    await repository.add_event(session, vault, event_type, scope, job.redemption_id, item_id=job.item_id,
                               delivery_status=new_status, tracking_number=tracking)
    log.info("shipment moved", extra={"redemption_id": job.redemption_id, "delivery_status": new_status})


async def _move_manual(session: AsyncSession, vault: Vault, scope: Scope, job: Job, target: str,
                       advance: Advance) -> None:
    if target not in MANUAL_TARGETS:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          "a manual job moves to AWAITING_VENDOR, AWAITING_CUSTOMER, PURCHASED, COMPLETED or FAILED")
    current = job.result_outcome or ""
    if MANUAL_STAGES.index(target) <= MANUAL_STAGES.index(current):
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"the job is at {current if current not in ('', 'ACCEPTED') else 'OPEN'}: "
                          f"it moves forward only, not to {target}")
    event_id = await publish_result(session, vault, scope, job.redemption_id,
                                    Outcome.Value("RESULT_OUTCOME_" + target),
                                    provider_reference=advance.note.strip()[:256])
    await repository.settle_job(session, scope, job.redemption_id, state=advanced_state(target), outcome=target,
                                result_event_id=event_id, result_data={"note": advance.note.strip()})
    log.info("manual job moved", extra={"redemption_id": job.redemption_id, "stage": target})


def _callback_body(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "the callback body is not JSON") from None
    if not isinstance(data, dict) or data.get("status") not in ("completed", "failed"):
        raise DomainError(ErrorCode.VALIDATION_ERROR, 'the callback status must be "completed" or "failed"')
    return data


async def accept_callback(session: AsyncSession, vault: Vault, secret: bytes,
                          callback: ProviderCallback) -> tuple[Scope, str]:
    """A provider's answer to a job it had accepted. Returns the job's scope and redemption id."""
    if not signature_is_valid(secret, callback.timestamp, callback.body, callback.signature):
        raise DomainError(ErrorCode.UNAUTHENTICATED, "bad or stale callback signature")
    data = _callback_body(callback.body)
    rid = callback.redemption_id
    if not rid or data.get("redemption_id", rid) != rid:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "the callback names another redemption")
    found = [j for j in await repository.lock_jobs_of_redemption(session, rid) if j.strategy == Strategy.WEBHOOK]
    if not found:
        raise DomainError(ErrorCode.NOT_FOUND, f"no provider job for redemption {rid}")
    if len(found) > 1:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"redemption id {rid} is ambiguous across tenants")
    job = found[0]
    scope = Scope(job.tenant_id, job.environment)
    if job.state is JobState.VOIDED:
        # Canceled (and refunded) before the provider's answer: the answer changes nothing. Accepted, so the
        # provider stops calling back.
        log.warning("provider called back for a voided job; ignored",
                    extra={"redemption_id": rid, "status": data["status"]})
        return scope, rid
    if job.callback_state(completed=data["status"] == "completed") is None:
        return scope, rid  # the same news again: nothing changes
    reference = str(data.get("reference") or job.provider_reference)[:256]
    if data["status"] == "completed":
        event_id = await publish_result(session, vault, scope, rid, Outcome.RESULT_OUTCOME_COMPLETED,
                                        code=str(data.get("code") or ""), pin=str(data.get("pin") or ""),
                                        provider_reference=reference)
        await repository.settle_job(session, scope, rid, state=JobState.SUCCEEDED, outcome="COMPLETED",
                                    result_event_id=event_id, result_data={"reference": reference},
                                    provider_reference=reference)
    else:
        reason = str(data.get("reason") or "the provider could not deliver")[:2000]
        await record_failure(session, vault, scope, rid, "PROVIDER_REJECTED", reason, reason)
    log.info("provider called back", extra={"redemption_id": rid, "status": data["status"]})
    return scope, rid


async def void_job(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str, reason: str) -> Void:
    """Decides, on the job's row, between a cancel and a delivery. A job that has not arrived gets a voided
    tombstone; one that waits (pending, or for an operator or a callback) is voided. Either way a FAILED result
    (CANCELED_ON_REQUEST) is recorded: if the redemption's own cancel is never persisted (a crash), that result
    cancels it with its refund. Idempotent: voiding twice, or a job that failed, answers VOIDED again."""
    if not redemption_id:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "redemption_id is required")
    if len(redemption_id) > 128:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "redemption_id is longer than 128 characters")
    reason = reason.strip()[:1000] or DEFAULT_VOID_REASON
    if not await repository.open_voided_job(session, scope, redemption_id):
        job = await repository.lock_job(session, scope, redemption_id)
        if job is None:  # an insert that conflicted, then a row gone: jobs are never deleted
            raise DomainError(ErrorCode.INTERNAL, f"the job of redemption {redemption_id} vanished")
        answer = job.void()
        if answer is not None:
            if answer.outcome is not VoidOutcome.VOIDED:
                log.info("void refused", extra={"redemption_id": redemption_id, "state": job.state,
                                                "outcome": answer.outcome.value})
            return answer
    event_id = await publish_result(session, vault, scope, redemption_id, Outcome.RESULT_OUTCOME_FAILED,
                                    failure_code=CANCELED_ON_REQUEST, failure_message=reason)
    await repository.settle_job(session, scope, redemption_id, state=JobState.VOIDED, outcome="FAILED",
                                result_event_id=event_id,
                                result_data={"failure_code": CANCELED_ON_REQUEST, "failure_message": reason})
    log.info("job voided", extra={"redemption_id": redemption_id})
    return Void(VoidOutcome.VOIDED)
