"""Every statement of the calls (the background loops keep theirs: outbox.py's relay, metrics.py's samplers): the
job rows and processed job events, the code pools, and the results' and events' outbox rows. SQL text constants
run on the PgPool (the hot paths), SQLAlchemy statements on the cold paths; rows are made into domain values
(domain.py), sealed columns opened with the vault. Nothing here decides: the use cases (fulfilment.py and the
helpers beside it) do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service_kit import domain_events, page_tokens
from service_kit.db import note_outbox_write
from service_kit.pgpool import PgPool, Record, Transaction
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
from sqlalchemy import Row, and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service.domain import (
    CALLABLE_STATES,
    AssignedCode,
    Claim,
    DeliveryStatus,
    Job,
    JobOrder,
    JobState,
    NewCode,
    NoCode,
    PoolStatus,
    SettledClaim,
    Strategy,
)
from fulfillment_service.models import code_pool, code_pools, event_outbox, jobs, outbox, processed_events
from fulfillment_service.vault import Vault, mask_code


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


# --- the results' outbox ----------------------------------------------------------------------------------------

async def add_result(session: AsyncSession, vault: Vault, event_id: str, subject: str, payload: bytes) -> None:
    await session.execute(outbox.insert().values(event_id=event_id, subject=subject,
                                                 payload=vault.seal_bytes(payload), trace_context=outbox_context()))
    note_outbox_write(session)


async def publish_again(session: AsyncSession, event_id: str) -> None:
    """Queues an already published event once more (same id: JetStream drops it inside its duplicate window,
    and consumers are idempotent on it outside)."""
    await session.execute(update(outbox).where(outbox.c.event_id == event_id).values(published_at=None))
    note_outbox_write(session)


# An event to be sent once more (see publish_again).
QUEUE_AGAIN = "UPDATE outbox SET published_at = NULL WHERE event_id = $1"


async def queue_again(tx: Transaction, event_id: str) -> None:
    """publish_again in a PgPool transaction: the caller wakes the relay after the commit."""
    await tx.execute(QUEUE_AGAIN, event_id)


# The first result of a job just opened in this transaction, one round trip: the job settled with it and the result
# in the outbox. The sequence is known before (the job was opened at 0), so the deterministic event id and the
# sealed payload are made before the statement; the guard on result_sequence makes a job that is not at $9 - 1
# write nothing (the caller then rolls back). (FulfilNow settles its job in one statement of its own:
# FULFIL_NOW.)
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


async def record_first_result(tx: Transaction, vault: Vault, scope: Scope, redemption_id: str, *, state: JobState,
                              outcome: str, event_id: str, result_data: str, last_error: str, sequence: int,
                              subject: str, payload: bytes) -> bool:
    """Settles a job opened in this transaction with its first result (`payload` sealed into the outbox); False
    (nothing written) when the job is not at the sequence before."""
    written = await tx.fetchval(
        RECORD_FIRST_RESULT, scope.tenant_id, scope.environment, redemption_id, state, outcome, event_id,
        result_data, last_error, sequence, subject, vault.seal_bytes(payload), outbox_context())
    return written is not None


# A queued-again result that had no outbox row: written, or (a concurrent writer) queued again.
QUEUE_BUILT_RESULT = """
INSERT INTO outbox (event_id, subject, payload, trace_context) VALUES ($1, $2, $3, $4::jsonb)
ON CONFLICT (event_id) DO UPDATE SET published_at = NULL
"""


async def queue_built_result(tx: Transaction, vault: Vault, event_id: str, subject: str, payload: bytes) -> None:
    await tx.execute(QUEUE_BUILT_RESULT, event_id, subject, vault.seal_bytes(payload), outbox_context())


# --- code pools -------------------------------------------------------------------------------------------------
# Levels: a pool is low below its threshold (its own, in code_pools, else LOW_POOL_THRESHOLD) and exhausted at 0
# available codes. The claim that takes the pool below its threshold, or takes its last code (or finds none left),
# tells the tenant (code_pool.low, code_pool.exhausted; docs/events.md) in the claim's own statement: no round trip
# of its own. Each crossing is told once: the pool's row records the redemption whose claim told it, and only a
# claim that finds it unrecorded records itself (the row lock decides between concurrent claims, and the row is
# locked only by the claim that tells); an upload that refills the pool, or a threshold set below what is
# available, clears it for the next crossing. The event's id is made from the item and that redemption, so a retried
# claim (which opens no job and so claims nothing) never writes a second one. The setting reaches the statements as
# the connection's `rewards.low_pool_threshold` (server.py opens the pool with it: `pool_settings`).

def _in_pool(scope: Scope, item_id: str):  # type: ignore[no-untyped-def]
    return and_(code_pool.c.tenant_id == scope.tenant_id, code_pool.c.environment == scope.environment,
                code_pool.c.item_id == item_id)


_usable = or_(code_pool.c.expires_at.is_(None), code_pool.c.expires_at > func.now())


# LOW_POOL_THRESHOLD's default (config.py), for a connection opened without the setting.
DEFAULT_LOW_THRESHOLD = 10
LOW_THRESHOLD_SETTING = "rewards.low_pool_threshold"


def pool_settings(low_threshold: int) -> dict[str, str]:
    """The connection settings the claims read LOW_POOL_THRESHOLD from (PgPool.open's settings)."""
    return {LOW_THRESHOLD_SETTING: str(low_threshold)}


# The threshold of the code_pools row `p`: its own, else the connection's setting.
_THRESHOLD = (f"coalesce(p.low_threshold, nullif(current_setting('{LOW_THRESHOLD_SETTING}', true), '')::bigint, "
              f"{DEFAULT_LOW_THRESHOLD})")


def _available_upto(tenant: str, environment: str, item: str, limit: str) -> str:
    """SQL counting the pool's usable codes, up to `limit` (a bounded index scan of ix_code_pool_available)."""
    return (f"(SELECT count(*) FROM (SELECT FROM code_pool c WHERE c.tenant_id = {tenant} "
            f"AND c.environment = {environment} AND c.item_id = {item} AND c.assigned_to IS NULL "
            f"AND (c.expires_at IS NULL OR c.expires_at > now()) LIMIT {limit}) AS upto)")


def _levels(tenant: str, environment: str, redemption: str, item: str, opened: str, taken: str) -> str:
    """The CTEs telling the levels of the pool a claim opened (`opened`) and took from (`taken`, a CTE returning
    the code it assigned, or none): `level` the pool's codes before the claim (counted in the statement's
    snapshot, up to one more than the threshold: all it takes to decide), `told` the pool's row recording this
    redemption as the one that told it low or exhausted (only where no claim did yet), and the two events."""
    data = ("jsonb_build_object('item_id', item_id, 'available', available, 'threshold', threshold, "
            f"'cause', 'redemption', 'cause_id', {redemption}::text)")
    key = f"item_id || '/' || {redemption}::text"
    low = domain_events.sql_outbox_insert(domain_events.CODE_POOL_LOW, "told WHERE low", key=key, data=data)
    exhausted = domain_events.sql_outbox_insert(domain_events.CODE_POOL_EXHAUSTED, "told WHERE exhausted",
                                                key=key, data=data)
    before = _available_upto("p.tenant_id", "p.environment", "p.item_id", f"greatest({_THRESHOLD}, 1) + 1")
    return f"""level AS (
    SELECT p.tenant_id, p.environment, p.item_id, {_THRESHOLD} AS threshold,
           {before} - (SELECT count(*) FROM {taken}) AS available
      FROM code_pools p
     WHERE p.tenant_id = {tenant} AND p.environment = {environment} AND p.item_id = {item}
       AND EXISTS (SELECT FROM {opened})
), told AS (
    UPDATE code_pools p
       SET low_told_by = CASE WHEN p.low_told_by IS NULL AND l.available < l.threshold THEN {redemption}
                              ELSE p.low_told_by END,
           exhausted_told_by = CASE WHEN p.exhausted_told_by IS NULL AND l.available = 0 THEN {redemption}
                                    ELSE p.exhausted_told_by END,
           updated_at = now()
      FROM level l
     WHERE p.tenant_id = l.tenant_id AND p.environment = l.environment AND p.item_id = l.item_id
       AND ((p.low_told_by IS NULL AND l.available < l.threshold) OR (p.exhausted_told_by IS NULL AND l.available = 0))
    RETURNING p.tenant_id, p.environment, p.item_id, l.available, l.threshold,
              p.low_told_by = {redemption} AS low, p.exhausted_told_by = {redemption} AS exhausted
), low_event AS ({low}
), exhausted_event AS ({exhausted}
)"""



async def add_codes(session: AsyncSession, vault: Vault, scope: Scope, item_id: str,
                    codes: list[NewCode], *, low_threshold: int = DEFAULT_LOW_THRESHOLD) -> tuple[int, int]:
    """Returns (added, duplicates). A code already in the pool (or twice in the upload) is counted, not added.
    The pool's row is written with the first upload; an upload that refills the pool (at or above its threshold,
    its own or low_threshold; above 0) clears the claims that told it low (exhausted), for the next crossing."""
    rows = [
        {"tenant_id": scope.tenant_id, "environment": scope.environment, "item_id": item_id,
         "code_encrypted": vault.seal(c.code), "pin_encrypted": vault.seal(c.pin) if c.pin else None,
         "code_hash": vault.fingerprint(c.code), "expires_at": c.expires_at}
        for c in codes
    ]
    added = 0
    # Chunks keep each statement under PostgreSQL's bind-parameter limit.
    for start in range(0, len(rows), 1000):
        stmt = (insert(code_pool).values(rows[start:start + 1000])
                .on_conflict_do_nothing(constraint="uq_code_pool_code").returning(code_pool.c.id))
        added += len((await session.execute(stmt)).all())
    await session.execute(text(_REFILLED), {"tenant": scope.tenant_id, "environment": scope.environment,
                                            "item": item_id, "default": low_threshold})
    return added, len(rows) - added


# The pool's row after an upload (its codes inserted before, in the same transaction) or a new threshold: the
# recorded tellers cleared where the pool is no longer low (exhausted).
_AVAILABLE = _available_upto(":tenant", ":environment", ":item", "greatest(coalesce(p.low_threshold, :default), 1)")
_REFILLED = f"""
INSERT INTO code_pools AS p (tenant_id, environment, item_id) VALUES (:tenant, :environment, :item)
ON CONFLICT (tenant_id, environment, item_id) DO UPDATE
   SET low_told_by = CASE WHEN {_AVAILABLE} >= coalesce(p.low_threshold, :default) THEN NULL
                          ELSE p.low_told_by END,
       exhausted_told_by = CASE WHEN {_AVAILABLE} > 0 THEN NULL ELSE p.exhausted_told_by END,
       updated_at = now()
"""
_SET_THRESHOLD = f"""
INSERT INTO code_pools AS p (tenant_id, environment, item_id, low_threshold)
VALUES (:tenant, :environment, :item, :threshold)
ON CONFLICT (tenant_id, environment, item_id) DO UPDATE
   SET low_threshold = excluded.low_threshold,
       low_told_by = CASE WHEN {_AVAILABLE.replace("p.low_threshold", "excluded.low_threshold")}
                               >= coalesce(excluded.low_threshold, :default) THEN NULL ELSE p.low_told_by END,
       updated_at = now()
RETURNING low_threshold
"""


async def set_low_threshold(session: AsyncSession, scope: Scope, item_id: str, threshold: int | None, *,
                            default: int) -> int | None:
    """The pool's own low threshold set (None: it follows LOW_POOL_THRESHOLD, `default`, again); a pool no longer
    low under it will tell its next crossing."""
    return await session.scalar(text(_SET_THRESHOLD), {
        "tenant": scope.tenant_id, "environment": scope.environment, "item": item_id, "threshold": threshold,
        "default": default})


async def pool_status(session: AsyncSession, vault: Vault, scope: Scope, item_id: str, low_threshold: int,
                      sample_size: int = 3) -> PoolStatus:
    """The pool's counts; its threshold is its own, or low_threshold (LOW_POOL_THRESHOLD)."""
    free = code_pool.c.assigned_to.is_(None)
    counts = (await session.execute(
        select(func.count().filter(and_(free, _usable)).label("available"),
               func.count().filter(code_pool.c.assigned_to.is_not(None)).label("assigned"),
               func.count().filter(and_(free, ~_usable)).label("expired"))
        .where(_in_pool(scope, item_id)))).one()
    sample = (await session.scalars(
        select(code_pool.c.code_encrypted).where(_in_pool(scope, item_id), free, _usable)
        .order_by(code_pool.c.id).limit(sample_size))).all()
    own = await session.scalar(select(code_pools.c.low_threshold).where(
        code_pools.c.tenant_id == scope.tenant_id, code_pools.c.environment == scope.environment,
        code_pools.c.item_id == item_id))
    return PoolStatus(available=counts.available, assigned=counts.assigned, expired=counts.expired,
                      low_threshold=low_threshold if own is None else own,
                      masked_sample=[mask_code(vault.unseal(s)) for s in sample], own_threshold=own is not None)


# The claim of a code-pool job, one round trip: records the job event (only when the caller says so: $2), opens
# the job row and assigns one unused, unexpired code to it. The job row's primary key decides between every
# claimant of a redemption (job events, FulfilNow, a void's tombstone): an insert racing an uncommitted one waits
# for it, and only the one that inserted assigns a code. SKIP LOCKED lets concurrent claims of different
# redemptions take different codes instead of queueing on the same row. No code is looked for when the job
# names no item ($6 = ''), or when it was not opened here. A claim that opened the job tells the pool's levels
# (_levels).
#   $1 event id, $2 record the event in processed_events, $3 tenant, $4 environment, $5 redemption, $6 item,
#   $7 the job as received
CLAIM_CODE = f"""
WITH event AS (
    INSERT INTO processed_events (event_id)
    SELECT $1::varchar WHERE $2::boolean
    ON CONFLICT DO NOTHING
    RETURNING event_id
), opened AS (
    INSERT INTO jobs (tenant_id, environment, redemption_id, item_id, strategy, state, attempts, job_event_id,
                      payload)
    SELECT $3::varchar, $4::varchar, $5::varchar, $6::varchar, '{Strategy.CODE_POOL}', '{JobState.RUNNING}', 1,
           $1::varchar, $7::bytea
    WHERE NOT $2::boolean OR EXISTS (SELECT FROM event)
    ON CONFLICT DO NOTHING
    RETURNING redemption_id
), code AS (
    UPDATE code_pool SET assigned_to = $5::varchar, assigned_at = now()
    WHERE id = (
        SELECT id FROM code_pool
        WHERE tenant_id = $3::varchar AND environment = $4::varchar AND item_id = $6::varchar
          AND assigned_to IS NULL AND (expires_at IS NULL OR expires_at > now())
          AND $6::varchar <> '' AND EXISTS (SELECT FROM opened)
        ORDER BY id LIMIT 1
        FOR UPDATE SKIP LOCKED)
    RETURNING id, code_encrypted, pin_encrypted
), """ + _levels("$3::varchar", "$4::varchar", "$5::varchar", "$6::varchar", "opened", "code") + """
SELECT NOT $2::boolean OR EXISTS (SELECT FROM event) AS first_time,
       EXISTS (SELECT FROM opened) AS opened,
       code.id AS code_id, code.code_encrypted, code.pin_encrypted
FROM (SELECT) AS one LEFT JOIN code ON true
"""


# FulfilNow's claim, one round trip in autocommit: opens the job row already settled with its first result and
# assigns it one unused, unexpired code, or settles it FAILED when there is none (or the job names no item: $4 =
# ''). The job row's primary key decides between the claimants of a redemption, as in CLAIM_CODE; the candidate
# code is locked first (SKIP LOCKED) so the job row can be written with its outcome, and assigned only when this
# statement opened the job. No outbox row: the caller answers the result itself, and a job event asking for it
# again writes it then (results.queue_result_again), built from the job row and its code; settled_at is the job
# row's updated_at, the result's time either way. A claim that opened the job tells the pool's levels (_levels).
#   $1 tenant, $2 environment, $3 redemption, $4 item, $5 the job's event id, $6 the job as received, $7 the
#   result's event id, $8 result_data and $9 last_error when no code is assigned
FULFIL_NOW = f"""
WITH candidate AS (
    SELECT id, code_encrypted, pin_encrypted FROM code_pool
    WHERE tenant_id = $1::varchar AND environment = $2::varchar AND item_id = $4::varchar
      AND assigned_to IS NULL AND (expires_at IS NULL OR expires_at > now()) AND $4::varchar <> ''
    ORDER BY id LIMIT 1
    FOR UPDATE SKIP LOCKED
), opened AS (
    INSERT INTO jobs (tenant_id, environment, redemption_id, item_id, strategy, state, attempts, job_event_id,
                      payload, result_sequence, result_outcome, result_event_id, result_data, last_error)
    SELECT $1::varchar, $2::varchar, $3::varchar, $4::varchar, '{Strategy.CODE_POOL}',
           CASE WHEN c.id IS NULL THEN '{JobState.FAILED}' ELSE '{JobState.SUCCEEDED}' END, 1,
           $5::varchar, $6::bytea, 1,
           CASE WHEN c.id IS NULL THEN 'FAILED' ELSE 'COMPLETED' END, $7::varchar,
           CASE WHEN c.id IS NULL THEN $8::text ELSE '{{"code_id": ' || c.id || '}}' END,
           CASE WHEN c.id IS NULL THEN $9::text ELSE '' END
    FROM (SELECT) AS one LEFT JOIN candidate c ON true
    ON CONFLICT DO NOTHING
    RETURNING redemption_id
), assigned AS (
    UPDATE code_pool SET assigned_to = $3::varchar, assigned_at = now()
    WHERE id = (SELECT id FROM candidate) AND EXISTS (SELECT FROM opened)
    RETURNING id
), """ + _levels("$1::varchar", "$2::varchar", "$3::varchar", "$4::varchar", "opened", "assigned") + """
SELECT EXISTS (SELECT FROM opened) AS opened, c.id AS code_id, c.code_encrypted, c.pin_encrypted,
       now() AS settled_at
FROM (SELECT) AS one LEFT JOIN candidate c ON true
"""


def _assigned(vault: Vault, row: Record) -> AssignedCode | None:
    if row["code_id"] is None:
        return None
    pin = row["pin_encrypted"]
    return AssignedCode(code_id=row["code_id"], code=vault.unseal(row["code_encrypted"]),
                        pin=vault.unseal(pin) if pin is not None else "")


async def claim_code(tx: Transaction, vault: Vault, order: JobOrder, *, record_event: bool) -> Claim:
    """Opens the code-pool job of a redemption and assigns its code, in the caller's transaction (its result
    must be recorded in the same one, or a crash would leave a code assigned and no result)."""
    scope = order.scope
    row = await tx.fetchrow(CLAIM_CODE, order.event_id, record_event, scope.tenant_id, scope.environment,
                            order.redemption_id, order.item_id, order.payload)
    if row is None:
        raise RuntimeError("the code claim answered no row")  # it always answers one: FROM (SELECT) LEFT JOIN
    return Claim(first_time=row["first_time"], opened=row["opened"], assigned=_assigned(vault, row))


async def fulfil_now(pool: PgPool, vault: Vault, order: JobOrder, *, result_event_id: str,
                     no_code: NoCode) -> SettledClaim | None:
    """FULFIL_NOW in autocommit: the job opened settled, with its code or (none left, no item) `no_code`. None
    when the statement answered no row."""
    scope = order.scope
    row = await pool.fetchrow(
        FULFIL_NOW, scope.tenant_id, scope.environment, order.redemption_id, order.item_id, order.event_id,
        order.payload, result_event_id, json.dumps(no_code.result_data, sort_keys=True), no_code.last_error)
    if row is None:
        return None
    return SettledClaim(opened=row["opened"], assigned=_assigned(vault, row) if row["opened"] else None,
                        settled_at=row["settled_at"])
