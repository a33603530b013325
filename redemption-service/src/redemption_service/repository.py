"""redemption-service queries. State changes are conditional statements (UPDATE ... WHERE status/state = the
expected one), so a saga, a recovery and a cancel racing on one redemption cannot both win."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service_kit.scope import Scope
from sqlalchemy import and_, delete, exists, func, literal, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from redemption_service.domain import (
    CANCELLABLE,
    DeliveryStatus,
    Redemption,
    SagaState,
    Snapshot,
    Status,
)
from redemption_service.models import idempotency_keys, outbox, processed_events, redemptions, saga_steps, sagas

_UNFINISHED = (SagaState.RUNNING, SagaState.COMPENSATING, SagaState.CANCELING)


def _redemption(row: Any) -> Redemption:
    return Redemption(**row._mapping)


def _in_scope(scope: Scope) -> Any:
    return and_(redemptions.c.tenant_id == scope.tenant_id, redemptions.c.environment == scope.environment)


# --- accept and idempotency ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    player_id: str
    fingerprint: str
    redemption_id: str


async def accept_redemption(session: AsyncSession, scope: Scope, *, key: str, fingerprint: str, ttl: timedelta,
                            first_step: str, values: dict[str, Any]) -> bool:
    """Claims the idempotency key and stores the redemption as SUBMITTED with its saga; False when the key was
    taken (a concurrent duplicate blocks here until the first commits, then sees the conflict)."""
    claimed = await session.scalar(
        insert(idempotency_keys)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, key=key,
                player_id=values["player_id"], fingerprint=fingerprint, redemption_id=values["id"],
                expires_at=func.now() + ttl)
        .on_conflict_do_nothing(index_elements=["tenant_id", "environment", "key"])
        .returning(idempotency_keys.c.key))
    if claimed is None:
        return False
    await session.execute(redemptions.insert().values(
        tenant_id=scope.tenant_id, environment=scope.environment, idempotency_key=key, status=Status.SUBMITTED,
        **values))
    await session.execute(sagas.insert().values(id=values["id"], tenant_id=scope.tenant_id,
                                                environment=scope.environment, state=SagaState.RUNNING,
                                                step=first_step))
    return True


async def find_idempotency_record(session: AsyncSession, scope: Scope, key: str) -> IdempotencyRecord | None:
    row = (await session.execute(
        select(idempotency_keys.c.player_id, idempotency_keys.c.fingerprint, idempotency_keys.c.redemption_id)
        .where(idempotency_keys.c.tenant_id == scope.tenant_id,
               idempotency_keys.c.environment == scope.environment,
               idempotency_keys.c.key == key))).first()
    return IdempotencyRecord(row.player_id, row.fingerprint, row.redemption_id) if row else None


async def prune_idempotency_keys(session: AsyncSession, batch: int = 1000) -> int:
    expired = (select(idempotency_keys.c.tenant_id, idempotency_keys.c.environment, idempotency_keys.c.key)
               .where(idempotency_keys.c.expires_at < func.now()).limit(batch))
    result = await session.execute(
        delete(idempotency_keys)
        .where(tuple_(idempotency_keys.c.tenant_id, idempotency_keys.c.environment, idempotency_keys.c.key)
               .in_(expired)))
    return result.rowcount or 0


# --- reads --------------------------------------------------------------------------------------------------

async def redemption_by_id(session: AsyncSession, redemption_id: str) -> Redemption | None:
    row = (await session.execute(select(redemptions).where(redemptions.c.id == redemption_id))).first()
    return _redemption(row) if row else None


_NUMBER = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1


async def find_redemption(session: AsyncSession, scope: Scope, reference: str) -> Redemption | None:
    """By the string id, or by the integer number written as text (ASCII digits within a bigint)."""
    number = int(reference) if _NUMBER.fullmatch(reference) else None
    if number is not None and number <= _BIGINT_MAX:
        by = redemptions.c.number == number
    else:
        by = redemptions.c.id == reference
    row = (await session.execute(select(redemptions).where(_in_scope(scope), by))).first()
    return _redemption(row) if row else None


async def list_redemptions(session: AsyncSession, scope: Scope, *, player_id: str, status: Status | None,
                           limit: int, before: tuple[datetime, int] | None) -> list[Redemption]:
    """Newest first, keyed by (created_at, number): rows that arrive later sort before the cursor."""
    query = select(redemptions).where(_in_scope(scope))
    if player_id:
        query = query.where(redemptions.c.player_id == player_id)
    if status is not None:
        query = query.where(redemptions.c.status == status)
    if before is not None:
        query = query.where(tuple_(redemptions.c.created_at, redemptions.c.number) < tuple_(*before))
    query = query.order_by(redemptions.c.created_at.desc(), redemptions.c.number.desc()).limit(limit)
    return [_redemption(row) for row in await session.execute(query)]


# --- the saga log -------------------------------------------------------------------------------------------

# One statement, so the journal costs one round trip: touch the saga only while it is still running, mark the
# steps started before this one done, record this one started.
_START_STEP = text("""
    WITH running AS (
        UPDATE sagas SET step = :name, updated_at = now()
        WHERE id = :saga_id AND state = 'running' RETURNING id),
    finished AS (
        UPDATE saga_steps SET state = 'done', updated_at = now()
        WHERE saga_id = :saga_id AND state = 'started' AND name <> :name AND EXISTS (SELECT FROM running)),
    started AS (
        INSERT INTO saga_steps (saga_id, name, position, state) SELECT id, :name, :position, 'started' FROM running
        ON CONFLICT (saga_id, name) DO UPDATE SET state = 'started', updated_at = now())
    SELECT id FROM running""")


async def start_step(session: AsyncSession, saga_id: str, position: int, name: str) -> bool:
    """Records the step as started (the steps before it done, the saga touched), only while the saga is still
    running."""
    touched = await session.scalar(_START_STEP, {"saga_id": saga_id, "name": name, "position": position})
    return touched is not None


async def set_step_state(session: AsyncSession, saga_id: str, name: str, state: str) -> None:
    await session.execute(update(saga_steps).where(saga_steps.c.saga_id == saga_id, saga_steps.c.name == name)
                          .values(state=state, updated_at=func.now()))
    await session.execute(update(sagas).where(sagas.c.id == saga_id).values(updated_at=func.now()))


async def begin_compensation(session: AsyncSession, saga_id: str) -> bool:
    claimed = await session.scalar(
        update(sagas).where(sagas.c.id == saga_id, sagas.c.state == SagaState.RUNNING)
        .values(state=SagaState.COMPENSATING, updated_at=func.now()).returning(sagas.c.id))
    return claimed is not None


async def mark_failed(session: AsyncSession, saga_id: str, code: str, message: str) -> None:
    await session.execute(
        update(sagas).where(sagas.c.id == saga_id,
                            sagas.c.state.in_([SagaState.RUNNING, SagaState.COMPENSATING]))
        .values(state=SagaState.FAILED, updated_at=func.now()))
    await session.execute(
        update(redemptions).where(redemptions.c.id == saga_id, redemptions.c.status == Status.SUBMITTED)
        .values(status=Status.FAILED, failure_code=code, failure_message=message[:2000], updated_at=func.now()))


# The saga confirmed, only while it is still running, and its steps done, in one statement.
_CONFIRM_SAGA = text("""
    WITH owned AS (
        UPDATE sagas SET state = 'confirmed', step = 'confirm', updated_at = now()
        WHERE id = :saga_id AND state = 'running' RETURNING id),
    finished AS (
        UPDATE saga_steps SET state = 'done', updated_at = now()
        WHERE saga_id = :saga_id AND state = 'started' AND EXISTS (SELECT FROM owned))
    SELECT id FROM owned""")


async def confirm_redemption(session: AsyncSession, saga_id: str, snapshot: Snapshot) -> Redemption | None:
    """The pivot's state change; None when the saga is no longer running (a recovery claimed it)."""
    owned = await session.scalar(_CONFIRM_SAGA, {"saga_id": saga_id})
    if owned is None:
        return None
    row = (await session.execute(
        update(redemptions).where(redemptions.c.id == saga_id, redemptions.c.status == Status.SUBMITTED)
        .values(status=Status.OPEN, updated_at=func.now(), job_published_at=func.now(),
                item_name=snapshot.item_name, item_image_url=snapshot.item_image_url,
                variant_id=snapshot.variant_id, rounds=snapshot.rounds, point_type=snapshot.point_type,
                cost=snapshot.cost, point_scale=snapshot.point_scale, face_value=snapshot.face_value,
                face_currency=snapshot.face_currency, fulfillment_strategy=snapshot.fulfillment_strategy,
                fulfillment_config=snapshot.fulfillment_config, redemption_message=snapshot.redemption_message,
                debit_transaction_id=snapshot.debit_transaction_id, balance_after=snapshot.balance_after,
                delivery_status=snapshot.delivery_status)
        .returning(redemptions))).first()
    return _redemption(row) if row else None


@dataclass(frozen=True, slots=True)
class StaleSaga:
    id: str
    scope: Scope
    state: SagaState


async def claim_stale_sagas(session: AsyncSession, stale_seconds: float, limit: int) -> list[StaleSaga]:
    """Sagas unfinished and untouched for stale_seconds, taken over by touching them: another instance skips the
    rows locked now and, after this commits, sees them fresh. A running saga becomes compensating, so its
    original runner (if alive) can neither call another step nor pass the pivot."""
    rows = (await session.execute(
        select(sagas.c.id, sagas.c.tenant_id, sagas.c.environment, sagas.c.state)
        .where(sagas.c.state.in_(_UNFINISHED),
               sagas.c.updated_at < func.now() - timedelta(seconds=stale_seconds))
        .order_by(sagas.c.updated_at).limit(limit).with_for_update(skip_locked=True))).all()
    claimed = []
    for row in rows:
        state = SagaState(row.state)
        if state is SagaState.RUNNING:
            state = SagaState.COMPENSATING
        await session.execute(update(sagas).where(sagas.c.id == row.id)
                              .values(state=state, updated_at=func.now()))
        claimed.append(StaleSaga(row.id, Scope(row.tenant_id, row.environment), state))
    return claimed


# --- cancel -------------------------------------------------------------------------------------------------

_NOT_SHIPPED = redemptions.c.delivery_status.notin_([DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED])


async def request_cancel(session: AsyncSession, redemption_id: str, reason: str,
                         failure_code: str = "") -> Redemption | None:
    """Persists the cancel request before any refund; None when the redemption is no longer cancellable.
    failure_code is set when fulfillment failed: the redemption ends CANCELED with it."""
    values: dict[str, Any] = {
        "cancel_requested_at": func.coalesce(redemptions.c.cancel_requested_at, func.now()),
        "cancel_reason": reason, "updated_at": func.now()}
    if failure_code:
        values["failure_code"] = failure_code[:64]
    row = (await session.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption_id, redemptions.c.status.in_(CANCELLABLE), _NOT_SHIPPED)
        .values(**values)
        .returning(redemptions))).first()
    if row is None:
        return None
    await session.execute(
        update(sagas).where(sagas.c.id == redemption_id,
                            or_(sagas.c.state == SagaState.CONFIRMED, sagas.c.state == SagaState.CANCELING))
        .values(state=SagaState.CANCELING, step="cancel", updated_at=func.now()))
    return _redemption(row)


async def finish_cancel(session: AsyncSession, redemption_id: str) -> Redemption | None:
    """After the refund and the release: CANCELED. None when it had already moved on (canceled before)."""
    row = (await session.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption_id, redemptions.c.status.in_(CANCELLABLE),
               redemptions.c.cancel_requested_at.is_not(None))
        .values(status=Status.CANCELED, canceled_at=func.now(), updated_at=func.now(),
                failure_message=redemptions.c.cancel_reason)
        .returning(redemptions))).first()
    await session.execute(update(sagas).where(sagas.c.id == redemption_id, sagas.c.state == SagaState.CANCELING)
                          .values(state=SagaState.CANCELED, updated_at=func.now()))
    return _redemption(row) if row else None


# --- fulfillment results ------------------------------------------------------------------------------------

async def record_processed_event(session: AsyncSession, event_id: str, redemption_id: str, outcome: str,
                                 sequence: int) -> bool:
    """False when this result event was processed before (a redelivery, or fulfillment sending it again)."""
    recorded = await session.scalar(
        insert(processed_events)
        .values(event_id=event_id, redemption_id=redemption_id, outcome=outcome, sequence=sequence)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(processed_events.c.event_id))
    return recorded is not None


async def lock_redemption(session: AsyncSession, redemption_id: str) -> Redemption | None:
    """The redemption, locked until the transaction ends: a result, a cancel and the reconciler take turns."""
    row = (await session.execute(
        select(redemptions).where(redemptions.c.id == redemption_id).with_for_update())).first()
    return _redemption(row) if row else None


async def apply_fulfillment_result(session: AsyncSession, redemption_id: str, *, sequence: int,
                                   status: Status | None = None, delivery_status: DeliveryStatus | None = None,
                                   fulfillment: dict[str, Any] | None = None) -> Redemption | None:
    """Records the result with this sequence: the new status and delivery status when given, fulfillment data
    merged over what is there. Any applied result tells that fulfillment has the job (job_acknowledged_at, kept
    from the first). None when a result as new or newer was applied meanwhile."""
    values: dict[str, Any] = {"result_sequence": sequence, "result_applied_at": func.now(), "updated_at": func.now(),
                              "job_acknowledged_at": func.coalesce(redemptions.c.job_acknowledged_at, func.now())}
    if status is not None:
        values["status"] = status
        if status is Status.COMPLETED:
            values["completed_at"] = func.now()
    if delivery_status is not None:
        values["delivery_status"] = delivery_status
    if fulfillment:
        values["fulfillment"] = func.coalesce(redemptions.c.fulfillment, text("'{}'::jsonb")).op("||")(
            literal(fulfillment, JSONB))
    row = (await session.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption_id, redemptions.c.result_sequence < sequence)
        .values(**values).returning(redemptions))).first()
    return _redemption(row) if row else None


# --- reconciling jobs that got no result ----------------------------------------------------------------------

async def claim_jobs_without_result(session: AsyncSession, after_seconds: float, limit: int) -> list[Redemption]:
    """OPEN redemptions whose job went out more than after_seconds ago and was never acknowledged by fulfillment
    (no result at all: an ACCEPTED job waits for an operator, asking again would only be acked as a duplicate),
    and no job still waiting in the outbox; their clock is reset here, so each is claimed at most once per after_seconds. SKIP
    LOCKED keeps two instances apart; a row claimed meanwhile fails the re-checked clock condition."""
    waiting_in_outbox = exists().where(outbox.c.redemption_id == redemptions.c.id, outbox.c.published_at.is_(None))
    rows = (await session.execute(
        select(redemptions)
        .where(redemptions.c.status == Status.OPEN, redemptions.c.job_acknowledged_at.is_(None),
               redemptions.c.cancel_requested_at.is_(None),
               redemptions.c.job_published_at < func.now() - timedelta(seconds=after_seconds),
               ~waiting_in_outbox)
        .order_by(redemptions.c.job_published_at).limit(limit)
        .with_for_update(of=redemptions, skip_locked=True))).all()
    if rows:
        await session.execute(update(redemptions).where(redemptions.c.id.in_([r.id for r in rows]))
                              .values(job_published_at=func.now()))
    return [_redemption(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Backlog:
    unpublished: int                       # outbox rows not yet on NATS
    oldest_unpublished_seconds: float      # age of the oldest of them (0 when none)
    open_overdue: int                      # OPEN redemptions older than the reconcile bound, job unacknowledged


async def backlog(session: AsyncSession, overdue_seconds: float) -> Backlog:
    unpublished, oldest = (await session.execute(
        select(func.count(), func.coalesce(func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0))
        .where(outbox.c.published_at.is_(None)))).one()
    overdue = await session.scalar(
        select(func.count()).select_from(redemptions)
        .where(redemptions.c.status == Status.OPEN, redemptions.c.job_acknowledged_at.is_(None),
               redemptions.c.created_at < func.now() - timedelta(seconds=overdue_seconds)))
    return Backlog(int(unpublished), float(oldest), int(overdue or 0))
