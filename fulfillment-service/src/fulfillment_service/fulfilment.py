"""Taking one job: the job row, the effect and the result's outbox row in one transaction, so a job is
fulfilled once however often it is delivered, and every redemption that cannot be delivered is reported
FAILED (and so refunded by redemption-service). Jobs delivered by a provider call only open here; the call
itself runs after this transaction (provider_jobs).

A code-pool job is the hot path, on PgPool (SQL text). FulfilNow, redemption-service's call within Redeem, takes it
in one statement in autocommit (repository.FULFIL_NOW: the job row opened already settled, and its code assigned);
a job event takes it in BEGIN, repository.CLAIM_CODE, repository.RECORD_FIRST_RESULT, COMMIT (the result then goes
out through the outbox). Both are keyed by the redemption id: whichever opens the job row assigns the code, the
other finds the job and its recorded result. FulfilNow records neither the job's event id as processed nor an
outbox row: the same event arriving later over JetStream (redemption-service's durable path, when the call failed
or its answer was never applied) is taken as a first-time event for a known job, and queues the recorded result
(built from the job row and its code when FulfilNow left no outbox row), so the redemption completes with the
same code."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from google.protobuf.message import DecodeError
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit import domain_events
from service_kit.errors import DomainError
from service_kit.failpoints import failpoint
from service_kit.pgpool import PgPool, Transaction
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fulfillment_service import job_controls, repository
from fulfillment_service.domain import (
    CALLABLE_STATES,
    NO_CODE_LEFT,
    Advance,
    Claim,
    Fulfilment,
    Job,
    JobOrder,
    JobState,
    Method,
    NewCode,
    NoCode,
    PoolStatus,
    ProviderCallback,
    Result,
    Strategy,
    Taken,
    Void,
    fulfilment_of,
    no_code,
)
from fulfillment_service.provider_jobs import InvalidJob, ProviderDelivery, provider_call_for
from fulfillment_service.results import (
    FIRST_SEQUENCE,
    Outcome,
    first_result,
    publish_result,
    queue_result_again,
    record_failure,
    record_first_result,
    recorded_result,
    result_event_id,
)
from fulfillment_service.vault import Vault

__all__ = ["Fulfilments", "MalformedJob", "ReceivedJob", "Taken", "fulfil_job", "fulfil_now", "give_up_job",
           "read_job", "received_now", "result_event_id", "take_code_pool_job"]

log = logging.getLogger("fulfillment_service.fulfilment")

class MalformedJob(ValueError):
    """A job event that names no redemption (unreadable, or without id or scope): nothing to fulfil or refund."""


@dataclass(frozen=True, slots=True)
class ReceivedJob:
    event_id: str
    scope: Scope
    job: fulfillment_pb2.FulfillmentJob
    payload: bytes

    @property
    def order(self) -> JobOrder:
        """The job as a code-pool claim opens it."""
        job = self.job
        return JobOrder(event_id=self.event_id, scope=self.scope, redemption_id=job.redemption_id,
                        item_id=job.item_id, strategy=job.strategy, payload=self.payload)


# The job row's key columns (models.jobs): FulfilNow refuses what they cannot hold.
MAX_ID_LENGTH = 128


def read_job(payload: bytes, header_event_id: str | None) -> ReceivedJob:
    try:
        job = fulfillment_pb2.FulfillmentJob.FromString(payload)
    except DecodeError as exc:
        raise MalformedJob(f"not a FulfillmentJob: {exc}") from None
    return _received(job, payload, header_event_id)


def received_now(job: fulfillment_pb2.FulfillmentJob) -> ReceivedJob:
    """The job of a FulfilNow call, checked as a job event is. Raises MalformedJob."""
    for name in ("event_id", "redemption_id", "item_id"):
        if len(getattr(job, name)) > MAX_ID_LENGTH:
            raise MalformedJob(f"{name} is longer than {MAX_ID_LENGTH} characters")
    return _received(job, job.SerializeToString(), None)


def _received(job: fulfillment_pb2.FulfillmentJob, payload: bytes, header_event_id: str | None) -> ReceivedJob:
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


def _nothing() -> None:
    pass


# What may have written an unpublished row (a result, or a result queued again): the relay is woken for them.
_MAY_QUEUE = (Taken.FULFILLED, Taken.ALREADY_KNOWN, Taken.VOIDED)


async def fulfil_job(sessions: async_sessionmaker, pool: PgPool, vault: Vault, received: ReceivedJob, *,
                     bonus_engine_url: str = "", outbox_written: Callable[[], None] = _nothing) -> Taken:
    """Takes one job event in one transaction: opens its job, or finds it opened before, then fulfils it the way
    its strategy is (STRATEGIES). A code-pool job is opened and given its code in one statement on PgPool (after
    its commit, `outbox_written` wakes the relay); the others in a SQLAlchemy session (whose commit wakes it)."""
    fulfilment = fulfilment_of(received.job.strategy)
    if fulfilment.method is Method.CODE_POOL:
        async with pool.transaction() as tx:
            taken = await take_code_pool_job(tx, vault, received.order)
        if taken in _MAY_QUEUE:
            outbox_written()
        return taken
    async with sessions.begin() as session:
        first_time = await repository.mark_event_processed(session, received.event_id)
        if not (first_time and await _open_job(session, received, fulfilment)):
            return await _take_known_job(session, vault, received, first_time)
        return await _FULFIL[fulfilment.method](session, vault, received, bonus_engine_url)


async def take_code_pool_job(tx: Transaction, vault: Vault, order: JobOrder) -> Taken:
    """A code-pool job event, in the caller's transaction. The same moves as for the other strategies, on the job
    row the claim found: opened here (assign and record), voided (acked with no effect), redelivered, or known (its
    recorded result queued again: a job that FulfilNow settled, or a reconciler asking)."""
    scope = order.scope
    claim = await repository.claim_code(tx, vault, order, record_event=True)
    if claim.opened:
        await _settle_claim(tx, vault, order, claim)
        return Taken.FULFILLED
    found = await repository.lock_job_with_result(tx, scope, order.redemption_id)
    if found is None:
        return Taken.REDELIVERED
    existing, stored = found
    taken = existing.taken_again(claim.first_time)
    if taken is Taken.VOIDED and not existing.job_event_id:
        await repository.name_tombstone(tx, scope, order.redemption_id, item_id=order.item_id,
                                        strategy=order.strategy, job_event_id=order.event_id, payload=order.payload)
    if taken in _RESENDS and claim.first_time and existing.result_event_id is not None:
        await queue_result_again(tx, vault, scope, existing, stored)
    return _taken_again(order.redemption_id, order.event_id, taken)


async def fulfil_now(pool: PgPool, vault: Vault, order: JobOrder) -> Result | None:
    """FulfilNow: the code-pool job opened, settled and given its code in one statement (repository.FULFIL_NOW, in
    autocommit), and its result answered (the caller applies it from the answer; a job event asking again gets
    it queued then). A job already opened answers its recorded result; None (nothing changed) for a voided job,
    a job of another strategy, or one without a result."""
    scope, rid = order.scope, order.redemption_id
    if fulfilment_of(order.strategy).method is not Method.CODE_POOL:
        return None
    claim = await repository.fulfil_now(pool, vault, order, no_code=no_code(order.item_id),
                                        result_event_id=result_event_id(scope, rid, FIRST_SEQUENCE))
    if claim is None or not claim.opened:
        async with pool.transaction() as tx:
            found = await repository.lock_job_with_result(tx, scope, rid)
        if found is None:
            return None
        existing, stored = found
        if existing.state is JobState.VOIDED or existing.strategy != Strategy.CODE_POOL:
            return None
        return recorded_result(vault, scope, existing, stored)
    # Committed, not answered: the caller sees a failed call, and the job event brings the same result.
    failpoint("fulfillment.fulfil_now_after_commit")
    assigned = claim.assigned
    if assigned is None:
        failed = _failed(order)
        return first_result(scope, rid, "FAILED", occurred_at=claim.settled_at, failure_code=failed.failure_code,
                            failure_message=failed.failure_message)
    log.info("code assigned", extra={"item_id": order.item_id, "redemption_id": rid, "code_id": assigned.code_id})
    return first_result(scope, rid, "COMPLETED", occurred_at=claim.settled_at, code=assigned.code, pin=assigned.pin)


def _failed(order: JobOrder) -> NoCode:
    """A code-pool job that got no code: its failure, logged."""
    failed = no_code(order.item_id)
    if failed is NO_CODE_LEFT:
        log.warning("code pool empty", extra={"item_id": order.item_id, "redemption_id": order.redemption_id})
    log.warning("job failed", extra={"redemption_id": order.redemption_id, "failure_code": failed.failure_code})
    return failed


async def _settle_claim(tx: Transaction, vault: Vault, order: JobOrder, claim: Claim) -> Result:
    """The first result of a job this claim opened: COMPLETED with the assigned code, or FAILED."""
    scope, rid = order.scope, order.redemption_id
    assigned = claim.assigned
    if assigned is None or not order.item_id:
        failed = _failed(order)
        return await record_first_result(
            tx, vault, scope, rid, "FAILED", state=JobState.FAILED, last_error=failed.last_error,
            result_data=failed.result_data, failure_code=failed.failure_code, failure_message=failed.failure_message)
    result = await record_first_result(tx, vault, scope, rid, "COMPLETED", state=JobState.SUCCEEDED,
                                       result_data={"code_id": assigned.code_id}, code=assigned.code, pin=assigned.pin)
    log.info("code assigned", extra={"item_id": order.item_id, "redemption_id": rid, "code_id": assigned.code_id})
    return result


async def _open_job(session: AsyncSession, received: ReceivedJob, fulfilment: Fulfilment) -> bool:
    """Opens the job row in its strategy's first state; False when the redemption has a job already."""
    job = received.job
    return await repository.open_job(
        session, received.scope, job.redemption_id, job.item_id, job.strategy, received.event_id, received.payload,
        state=fulfilment.opens_as, attempts=fulfilment.attempts_at_open, delivery_status=fulfilment.delivery_status)


async def _take_known_job(session: AsyncSession, vault: Vault, received: ReceivedJob, first_time: bool) -> Taken:
    """A job event for a job opened before it (this event again, or another one for the same redemption)."""
    job, scope = received.job, received.scope
    existing = await repository.lock_job(session, scope, job.redemption_id)
    if existing is None:
        return Taken.REDELIVERED
    taken = existing.taken_again(first_time)
    if taken is Taken.VOIDED and not existing.job_event_id:
        # A tombstone: keep what the job was, for operators reading the job list.
        await repository.update_job(session, scope, job.redemption_id, item_id=job.item_id, strategy=job.strategy,
                                    job_event_id=received.event_id, payload=received.payload)
    if taken in _RESENDS and first_time and existing.result_event_id is not None:
        await repository.publish_again(session, existing.result_event_id)
    elif taken is Taken.ALREADY_KNOWN and existing.waits_unacknowledged():
        # Taken before ACCEPTED existed, so never acknowledged: acknowledge it now, or it is asked forever.
        await _accept_for_operator(session, vault, scope, job.redemption_id, existing.item_id, existing.strategy)
    return _taken_again(job.redemption_id, received.event_id, taken)


# A job event that is not a redelivery sends the job's recorded result once more: a voided job asked for again (a
# reconciler: the cancel may not have reached the redemption; its FAILED result cancels the redemption with its
# refund if it is still open), or a known job asked again (a reconciler that saw no result).
_RESENDS = (Taken.VOIDED, Taken.ALREADY_KNOWN)


def _taken_again(redemption_id: str, event_id: str, taken: Taken) -> Taken:
    if taken is Taken.VOIDED:
        # The redemption was canceled before this job could be delivered: no code, no call, no shipment.
        log.info("job voided before delivery; acked with no effect",
                 extra={"redemption_id": redemption_id, "event_id": event_id})
    return taken


# --- each strategy's fulfilment of a job opened in this transaction ---------------------------------------------

async def _call_provider(session: AsyncSession, vault: Vault, received: ReceivedJob, bonus_engine_url: str) -> Taken:
    """Checked now (a job that cannot be delivered as configured fails at once, and is refunded); the provider is
    called after the commit (provider_jobs)."""
    try:
        provider_call_for(received.job, bonus_engine_url)
    except InvalidJob as exc:
        await record_failure(session, vault, received.scope, received.job.redemption_id, "INVALID_JOB", str(exc),
                             str(exc))
        return Taken.FULFILLED
    return Taken.CALL_PROVIDER


async def _create_shipment(session: AsyncSession, vault: Vault, received: ReceivedJob, bonus_engine_url: str) -> Taken:
    """The shipment: pending (from open_job) until an operator ships it (AdvanceJob)."""
    job, rid = received.job, received.job.redemption_id
    if not (job.shipping_address.line1 and job.shipping_address.country):
        await record_failure(session, vault, received.scope, rid, "SHIPPING_ADDRESS_REQUIRED",
                             "a physical item needs a shipping address", "no shipping address")
        return Taken.FULFILLED
    await _accept_for_operator(session, vault, received.scope, rid, job.item_id, job.strategy)
    log.info("shipment created", extra={"redemption_id": rid, "item_id": job.item_id})
    return Taken.FULFILLED


async def _hand_to_operator(session: AsyncSession, vault: Vault, received: ReceivedJob, bonus_engine_url: str) -> Taken:
    """An operator books it with the vendor and moves it on (AdvanceJob); the redemption stays OPEN."""
    job = received.job
    await _accept_for_operator(session, vault, received.scope, job.redemption_id, job.item_id, job.strategy)
    return Taken.FULFILLED


async def _refuse_unknown(session: AsyncSession, vault: Vault, received: ReceivedJob, bonus_engine_url: str) -> Taken:
    job = received.job
    await record_failure(session, vault, received.scope, job.redemption_id, "INVALID_JOB",
                         f"unknown strategy {job.strategy!r}", "unknown strategy")
    return Taken.FULFILLED


_FULFIL: dict[Method, Callable[[AsyncSession, Vault, ReceivedJob, str], Awaitable[Taken]]] = {
    Method.PROVIDER_CALL: _call_provider,
    Method.SHIPMENT: _create_shipment,
    Method.OPERATOR: _hand_to_operator,
    Method.NONE: _refuse_unknown,
}


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


async def _accept_for_operator(session: AsyncSession, vault: Vault, scope: Scope, redemption_id: str,
                               item_id: str, strategy: str) -> None:
    """The job waits for an operator. An ACCEPTED result says so, or redemption-service, seeing no result, would
    send the job again and again; it is the job's recorded result until the operator moves it. The tenant is told
    by a fulfillment.waiting_for_operator event."""
    event_id = await publish_result(session, vault, scope, redemption_id, Outcome.RESULT_OUTCOME_ACCEPTED)
    await repository.settle_job(session, scope, redemption_id, state=JobState.WAITING, outcome="ACCEPTED",
                                result_event_id=event_id, result_data={})
    await repository.add_event(session, vault, domain_events.FULFILLMENT_WAITING_FOR_OPERATOR, scope,
                               redemption_id, item_id=item_id, strategy=strategy)


class Fulfilments:
    """The FulfillmentService's calls (grpc_api.py), each in its own transaction: the operators' code pools and job
    moves, a provider's callback, redemption-service's VoidJob and FulfilNow. The job events' way in is
    fulfil_job (job_consumer.py)."""

    def __init__(self, sessions: async_sessionmaker, pool: PgPool, vault: Vault, provider: ProviderDelivery, *,
                 callback_secret: str, low_pool_threshold: int, stuck_after_seconds: float) -> None:
        self.sessions = sessions
        self.pool = pool
        self.vault = vault
        self.provider = provider
        self._callback_secret = callback_secret.encode()
        self.low_pool_threshold = low_pool_threshold
        self.stuck_after = timedelta(seconds=stuck_after_seconds)

    async def upload_codes(self, scope: Scope, item_id: str, codes: list[NewCode]) -> tuple[int, int]:
        async with self.sessions.begin() as session:
            return await repository.add_codes(session, self.vault, scope, item_id, codes,
                                              low_threshold=self.low_pool_threshold)

    async def code_pool(self, scope: Scope, item_id: str) -> PoolStatus:
        async with self.sessions() as session:
            return await repository.pool_status(session, self.vault, scope, item_id, self.low_pool_threshold)

    async def set_code_pool_threshold(self, scope: Scope, item_id: str, threshold: int | None) -> int | None:
        """The pool's own threshold after the call (None: it follows LOW_POOL_THRESHOLD)."""
        async with self.sessions.begin() as session:
            return await repository.set_low_threshold(session, scope, item_id, threshold,
                                                      default=self.low_pool_threshold)

    async def list_jobs(self, scope: Scope, *, state: JobState | None, stuck_only: bool, page_size: int,
                        page_token: str) -> repository.JobPage:
        async with self.sessions() as session:
            return await repository.list_jobs(session, scope, state=state,
                                              stuck_after=self.stuck_after if stuck_only else None,
                                              page_size=page_size, page_token=page_token)

    async def current_job(self, scope: Scope, redemption_id: str) -> Job:
        return await job_controls.current_job(self.sessions, scope, redemption_id)

    async def retry_job(self, scope: Scope, redemption_id: str) -> Job:
        await job_controls.retry_job(self.sessions, self.provider, scope, redemption_id)
        return await self.current_job(scope, redemption_id)

    async def fail_job(self, scope: Scope, redemption_id: str, reason: str) -> Job:
        async with self.sessions.begin() as session:
            await job_controls.fail_job(session, self.vault, scope, redemption_id, reason)
        return await self.current_job(scope, redemption_id)

    async def advance_job(self, scope: Scope, redemption_id: str, advance: Advance) -> Job:
        async with self.sessions.begin() as session:
            await job_controls.advance_job(session, self.vault, scope, redemption_id, advance)
        return await self.current_job(scope, redemption_id)

    async def accept_callback(self, callback: ProviderCallback) -> Job:
        async with self.sessions.begin() as session:
            scope, redemption_id = await job_controls.accept_callback(session, self.vault, self._callback_secret,
                                                                      callback)
        return await self.current_job(scope, redemption_id)

    async def void_job(self, scope: Scope, redemption_id: str, reason: str) -> Void:
        async with self.sessions.begin() as session:
            return await job_controls.void_job(session, self.vault, scope, redemption_id, reason)

    async def fulfil_now(self, order: JobOrder) -> Result | None:
        return await fulfil_now(self.pool, self.vault, order)
