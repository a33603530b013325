"""Job rows and processed job events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service_kit import domain_events, page_tokens
from service_kit.db import note_outbox_write
from service_kit.pgpool import Record, Transaction
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service.domain import CALLABLE_STATES, DeliveryStatus, Job, JobState
from fulfillment_service.models import event_outbox, jobs, processed_events
from fulfillment_service.vault import Vault


async def mark_event_processed(session: AsyncSession, event_id: str) -> bool:
    """True the first time an event id is seen (in this transaction's outcome), False for a redelivery."""
    inserted = await session.scalar(
        insert(processed_events).values(event_id=event_id).on_conflict_do_nothing()
        .returning(processed_events.c.event_id))
    return inserted is not None


async def open_job(session: AsyncSession, scope: Scope, redemption_id: str, item_id: str, strategy: str,
                   event_id: str, payload: bytes, *, state: JobState = JobState.RUNNING, attempts: int = 1,
                   delivery_status: DeliveryStatus = DeliveryStatus.NONE) -> bool:
    """Inserts the job; False when the redemption already has a job (a second job event)."""
    inserted = await session.scalar(
        insert(jobs).values(tenant_id=scope.tenant_id, environment=scope.environment, redemption_id=redemption_id,
                            item_id=item_id, strategy=strategy, state=state, attempts=attempts,
                            job_event_id=event_id, payload=payload, delivery_status=delivery_status)
        .on_conflict_do_nothing().returning(jobs.c.redemption_id))
    return inserted is not None


async def open_voided_job(session: AsyncSession, scope: Scope, redemption_id: str) -> bool:
    """A tombstone for a job that has not arrived: its redemption was canceled first. The job, when it comes,
    finds this row (the primary key) and is acked with no effect. False when the redemption has a job already;
    an insert racing an uncommitted one waits for it, so the job row decides between the two."""
    return await open_job(session, scope, redemption_id, item_id="", strategy="", event_id="", payload=b"",
                          state=JobState.VOIDED, attempts=0)


def _this_job(scope: Scope, redemption_id: str):  # type: ignore[no-untyped-def]
    return and_(jobs.c.tenant_id == scope.tenant_id, jobs.c.environment == scope.environment,
                jobs.c.redemption_id == redemption_id)


def _job(row: Row | None) -> Job | None:
    return None if row is None else Job.from_row(row._mapping)


async def find_job(session: AsyncSession, scope: Scope, redemption_id: str) -> Job | None:
    return _job((await session.execute(select(jobs).where(_this_job(scope, redemption_id)))).first())


async def lock_job(session: AsyncSession, scope: Scope, redemption_id: str) -> Job | None:
    """The job, locked until the transaction ends: every move of a job (consumer, callback, operator) takes
    this lock first, so two of them never both settle it."""
    return _job((await session.execute(select(jobs).where(_this_job(scope, redemption_id)).with_for_update())).first())


# The hot path's reads and writes of a job row (SQL text run by PgPool). The job, locked like lock_job, with its
# latest result's sealed payload and the code assigned to it (a repeat of FulfilNow answers the result; a job event
# re-queues it; when FulfilNow left no outbox row, both are built from the job and its code: results.py).
LOCK_JOB_WITH_RESULT = """
SELECT j.*, o.payload AS result_payload, c.code_encrypted, c.pin_encrypted
FROM jobs j
LEFT JOIN outbox o ON o.event_id = j.result_event_id
LEFT JOIN code_pool c ON c.tenant_id = j.tenant_id AND c.environment = j.environment
                     AND c.assigned_to = j.redemption_id
WHERE j.tenant_id = $1 AND j.environment = $2 AND j.redemption_id = $3
FOR UPDATE OF j
"""

# A tombstone (a void before the job arrived) keeps what the job was, for operators reading the job list.
NAME_TOMBSTONE = """
UPDATE jobs SET item_id = $4, strategy = $5, job_event_id = $6, payload = $7, updated_at = now()
WHERE tenant_id = $1 AND environment = $2 AND redemption_id = $3
"""


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A job's latest result as stored: its sealed outbox payload (None when FulfilNow left no outbox row), and the
    code assigned to the job (sealed), to build it from."""

    payload: bytes | None
    code_encrypted: bytes | None
    pin_encrypted: bytes | None


async def lock_job_with_result(tx: Transaction, scope: Scope, redemption_id: str) -> tuple[Job, StoredResult] | None:
    row: Record | None = await tx.fetchrow(LOCK_JOB_WITH_RESULT, scope.tenant_id, scope.environment, redemption_id)
    if row is None:
        return None
    return Job.from_row(row), StoredResult(row["result_payload"], row["code_encrypted"], row["pin_encrypted"])


async def name_tombstone(tx: Transaction, scope: Scope, redemption_id: str, *, item_id: str, strategy: str,
                         job_event_id: str, payload: bytes) -> None:
    await tx.execute(NAME_TOMBSTONE, scope.tenant_id, scope.environment, redemption_id, item_id, strategy,
                     job_event_id, payload)


async def lock_jobs_of_redemption(session: AsyncSession, redemption_id: str) -> list[Job]:
    """Provider callbacks name the redemption only (the provider knows no tenant)."""
    return [Job.from_row(row._mapping) for row in (await session.execute(
        select(jobs).where(jobs.c.redemption_id == redemption_id).with_for_update())).all()]


@dataclass(frozen=True, slots=True)
class AttemptStart:
    """What asking for a provider attempt's lease came to."""

    started: bool            # this attempt holds the lease: it may call the provider
    busy_for: float = 0.0    # not started: another attempt's live lease ends in this many seconds (0: the job
                             # has left the callable states, it has an outcome)


def _lease_is_free():  # type: ignore[no-untyped-def]
    return or_(jobs.c.lease_expires_at.is_(None), jobs.c.lease_expires_at <= func.now())


async def start_attempt(session: AsyncSession, scope: Scope, redemption_id: str, states: tuple[JobState, ...], *,
                        holder: str, lease_seconds: float) -> AttemptStart:
    """Counts a provider call about to be made and takes its lease (`holder` until now + lease_seconds), when
    the job is in `states` and no other attempt holds a live lease. Two replicas asking at once serialise on
    the row: the second re-reads it after the first commits and finds the lease taken. An expired lease (its
    holder died or hung) is taken over."""
    started = await session.scalar(
        update(jobs).where(_this_job(scope, redemption_id), jobs.c.state.in_(states), _lease_is_free())
        .values(state=JobState.RUNNING, attempts=jobs.c.attempts + 1, next_attempt_at=None, updated_at=func.now(),
                lease_holder=holder, lease_expires_at=func.now() + timedelta(seconds=lease_seconds))
        .returning(jobs.c.redemption_id))
    if started is not None:
        return AttemptStart(True)
    busy_for = await session.scalar(
        select(func.extract("epoch", jobs.c.lease_expires_at - func.now()))
        .where(_this_job(scope, redemption_id), jobs.c.state.in_(states), jobs.c.lease_expires_at > func.now()))
    return AttemptStart(False, max(float(busy_for or 0.0), 0.0))


async def postpone_job(session: AsyncSession, scope: Scope, redemption_id: str, error: str,
                       delay_seconds: float, *, holder: str) -> bool:
    """The provider could not be reached in this delivery: the job waits for the next one, and the lease is
    given back. False (nothing written) when `holder` no longer holds the lease: it was taken over."""
    postponed = await session.scalar(
        update(jobs).where(_this_job(scope, redemption_id), jobs.c.state.in_(CALLABLE_STATES),
                           jobs.c.lease_holder == holder)
        .values(state=JobState.PENDING, last_error=error[:2000], updated_at=func.now(),
                next_attempt_at=func.now() + timedelta(seconds=delay_seconds),
                lease_holder=None, lease_expires_at=None)
        .returning(jobs.c.redemption_id))
    return postponed is not None


async def update_job(session: AsyncSession, scope: Scope, redemption_id: str, **values: object) -> None:
    await session.execute(update(jobs).where(_this_job(scope, redemption_id)).values(**values,
                                                                                     updated_at=func.now()))


async def next_result_sequence(session: AsyncSession, scope: Scope, redemption_id: str) -> int:
    return int(await session.scalar(
        update(jobs).where(_this_job(scope, redemption_id))
        .values(result_sequence=jobs.c.result_sequence + 1).returning(jobs.c.result_sequence)))


async def settle_job(session: AsyncSession, scope: Scope, redemption_id: str, *, state: JobState, outcome: str,
                     result_event_id: str, result_data: dict[str, object], last_error: str = "",
                     **more: object) -> None:
    await session.execute(
        update(jobs).where(_this_job(scope, redemption_id))
        .values(state=state, result_outcome=outcome, result_event_id=result_event_id,
                result_data=json.dumps(result_data, sort_keys=True), last_error=last_error,
                next_attempt_at=None, updated_at=func.now(), lease_holder=None, lease_expires_at=None, **more))


@dataclass(frozen=True, slots=True)
class JobPage:
    jobs: list[Job]
    next_page_token: str


async def list_jobs(session: AsyncSession, scope: Scope, *, state: JobState | None, stuck_after: timedelta | None,
                    page_size: int, page_token: str) -> JobPage:
    """Newest first, keyset-paginated on (created_at, redemption_id); a token pages only the listing it came from."""
    listing = (state or "", stuck_after.total_seconds() if stuck_after is not None else "")
    query = select(jobs).where(jobs.c.tenant_id == scope.tenant_id, jobs.c.environment == scope.environment)
    if state is not None:
        query = query.where(jobs.c.state == state)
    if stuck_after is not None:
        query = query.where(jobs.c.state.in_(CALLABLE_STATES),
                            jobs.c.updated_at < func.now() - stuck_after)
    if page_token:
        created_at, redemption_id = page_tokens.decode(page_token, (datetime, str), query=listing)
        query = query.where(or_(jobs.c.created_at < created_at,
                                and_(jobs.c.created_at == created_at, jobs.c.redemption_id < redemption_id)))
    rows = list((await session.execute(
        query.order_by(jobs.c.created_at.desc(), jobs.c.redemption_id.desc()).limit(page_size + 1))).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    token = page_tokens.encode([rows[-1].created_at, rows[-1].redemption_id], query=listing) if more else ""
    return JobPage(jobs=[Job.from_row(row._mapping) for row in rows], next_page_token=token)


# The fulfillment events for the tenants (service_kit.domain_events, docs/events.md): a shipment shipped or
# delivered, a job waiting for an operator. Each goes to this service's outbox in the transaction of the move it
# reports (sealed like every row there, and opened by the one relay as it publishes), with an id made from the
# redemption, so a move made again (a redelivered job) writes nothing new. Never a code or PIN: the data is named
# fields of the job.
async def add_event(session: AsyncSession, vault: Vault, event_type: str, scope: Scope, redemption_id: str,
                    **data: Any) -> None:
    event_id, subject, payload = domain_events.build(event_type, scope, redemption_id,
                                                     {"redemption_id": redemption_id, **data})
    await session.execute(
        insert(event_outbox).values(event_id=event_id, subject=subject, payload=vault.seal_bytes(payload),
                                    trace_context=outbox_context())
        .on_conflict_do_nothing(index_elements=["event_id"]))
    note_outbox_write(session)
