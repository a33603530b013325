"""Taking one job: the job row, the effect and the result's outbox row in one transaction, so a job is
fulfilled once however often it is delivered, and every redemption that cannot be delivered is reported
FAILED (and so refunded by redemption-service). Jobs delivered by a provider call only open here; the call
itself runs after this transaction (provider_jobs)."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.errors import DomainError
from service_kit.scope import Scope
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service import code_pool, outbox, repository
from fulfillment_service.provider_jobs import CALLABLE_STATES, CALLED_STRATEGIES, InvalidJob, provider_call_for
from fulfillment_service.results import Outcome, publish_result, record_failure, result_event_id
from fulfillment_service.vault import Vault

__all__ = ["MalformedJob", "ReceivedJob", "Taken", "fulfil_job", "give_up_job", "read_job", "result_event_id"]

log = logging.getLogger("fulfillment_service.fulfilment")

CODE_POOL = "code_pool"
PHYSICAL = "physical"
MANUAL = "manual"
VOIDED = "voided"


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
    CALL_PROVIDER = "call_provider"      # the job is open and its provider is to be called now
    VOIDED = "voided"                    # its redemption was canceled first: acked with no effect


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


async def fulfil_job(session: AsyncSession, vault: Vault, received: ReceivedJob, *,
                    bonus_engine_url: str = "") -> Taken:
    job, scope = received.job, received.scope
    first_time = await repository.mark_event_processed(session, received.event_id)
    called = job.strategy in CALLED_STRATEGIES
    opened = first_time and await repository.open_job(
        session, scope, job.redemption_id, job.item_id, job.strategy, received.event_id, received.payload,
        state="pending" if called else "running", attempts=0 if called else 1,
        delivery_status="pending" if job.strategy == PHYSICAL else "")
    if not opened:
        existing = await repository.lock_job(session, scope, job.redemption_id)
        if existing is None:
            return Taken.REDELIVERED
        if existing.state == VOIDED:
            return await _voided(session, received, existing, first_time)
        if existing.strategy in CALLED_STRATEGIES and existing.state in CALLABLE_STATES:
            # The provider has not answered yet (an earlier delivery failed or crashed): call it again.
            return Taken.CALL_PROVIDER
        if not first_time:
            return Taken.REDELIVERED
        # Someone is asking again (a reconciler that saw no result): send the recorded result once more.
        if existing.result_event_id is not None:
            await outbox.publish_again(session, existing.result_event_id)
        elif existing.strategy in (MANUAL, PHYSICAL) and existing.state == "waiting":
            # Taken before ACCEPTED existed, so never acknowledged: acknowledge it now, or it is asked forever.
            await _accept_for_operator(session, vault, scope, job.redemption_id)
        return Taken.ALREADY_KNOWN

    rid = job.redemption_id
    if job.strategy == CODE_POOL:
        await _deliver_code(session, vault, scope, job)
    elif called:
        try:
            provider_call_for(job, bonus_engine_url)
        except InvalidJob as exc:
            await record_failure(session, vault, scope, rid, "INVALID_JOB", str(exc), str(exc))
            return Taken.FULFILLED
        return Taken.CALL_PROVIDER
    elif job.strategy == PHYSICAL:
        if not (job.shipping_address.line1 and job.shipping_address.country):
            await record_failure(session, vault, scope, rid, "SHIPPING_ADDRESS_REQUIRED",
                                 "a physical item needs a shipping address", "no shipping address")
        else:
            # The shipment: pending until an operator ships it (AdvanceJob).
            await _accept_for_operator(session, vault, scope, rid)  # its delivery_status is pending from open_job
            log.info("shipment created", extra={"redemption_id": rid, "item_id": job.item_id})
    elif job.strategy == MANUAL:
        # An operator books it with the vendor and moves it on (AdvanceJob); the redemption stays OPEN.
        await _accept_for_operator(session, vault, scope, rid)
    else:
        await record_failure(session, vault, scope, rid, "INVALID_JOB", f"unknown strategy {job.strategy!r}",
                             "unknown strategy")
    return Taken.FULFILLED


async def give_up_job(session: AsyncSession, vault: Vault, received: ReceivedJob, error: str) -> bool:
    """After the last delivery failed: records a FAILED result so the redemption is refunded. False when the
    job already has an outcome (its own result stands)."""
    job, scope = received.job, received.scope
    await repository.mark_event_processed(session, received.event_id)
    if not await repository.open_job(session, scope, job.redemption_id, job.item_id, job.strategy,
                                     received.event_id, received.payload):
        existing = await repository.lock_job(session, scope, job.redemption_id)
        if existing is None or existing.state not in CALLABLE_STATES:
            return False
    await record_failure(session, vault, scope, job.redemption_id, "FULFILLMENT_ERROR",
                         "fulfillment failed after every delivery attempt", error)
    return True


async def _voided(session: AsyncSession, received: ReceivedJob, existing: Row, first_time: bool) -> Taken:
    """The redemption was canceled before this job could be delivered: no code, no call, no shipment. A job
    asked for again (a reconciler: the cancel may not have reached the redemption) gets the recorded FAILED
    result once more, which cancels the redemption with its refund if it is still open."""
    job = received.job
    if not existing.job_event_id:
        # A tombstone: keep what the job was, for operators reading the job list.
        await repository.update_job(session, received.scope, job.redemption_id, item_id=job.item_id,
                                    strategy=job.strategy, job_event_id=received.event_id, payload=received.payload)
    if first_time and existing.result_event_id is not None:
        await outbox.publish_again(session, existing.result_event_id)
    log.info("job voided before delivery; acked with no effect",
             extra={"redemption_id": job.redemption_id, "event_id": received.event_id})
    return Taken.VOIDED


async def _accept_for_operator(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str) -> None:
    """The job waits for an operator. An ACCEPTED result says so, or redemption-service, seeing no result, would
    send the job again and again; it is the job's recorded result until the operator moves it."""
    event_id = await publish_result(session, vault, scope, redemption_id, Outcome.RESULT_OUTCOME_ACCEPTED)
    await repository.settle_job(session, scope, redemption_id, state="waiting", outcome="ACCEPTED",
                                result_event_id=event_id, result_data={})


async def _deliver_code(session: AsyncSession, vault: Vault, scope: Scope,
                        job: fulfillment_pb2.FulfillmentJob) -> None:
    if not job.item_id:
        await record_failure(session, vault, scope, job.redemption_id, "INVALID_JOB",
                             "the job names no item", "item_id is empty")
        return
    assigned = await code_pool.take_code(session, vault, scope, job.item_id, job.redemption_id)
    if assigned is None:
        log.warning("code pool empty", extra={"item_id": job.item_id, "redemption_id": job.redemption_id})
        await record_failure(session, vault, scope, job.redemption_id, "OUT_OF_CODES",
                             "no code left for this item", "code pool empty")
        return
    event_id = await publish_result(session, vault, scope, job.redemption_id, Outcome.RESULT_OUTCOME_COMPLETED,
                                    code=assigned.code, pin=assigned.pin)
    await repository.settle_job(session, scope, job.redemption_id, state="succeeded", outcome="COMPLETED",
                                result_event_id=event_id, result_data={"code_id": assigned.code_id})
    log.info("code assigned", extra={"item_id": job.item_id, "redemption_id": job.redemption_id,
                                     "code_id": assigned.code_id})
