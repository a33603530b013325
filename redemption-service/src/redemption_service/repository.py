"""redemption-service queries. State changes are conditional statements (UPDATE ... WHERE status/state = the
expected one), so a saga, a recovery and a cancel racing on one redemption cannot both win."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service_kit import domain_events
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.tracing import outbox_context, outbox_context_json
from sqlalchemy import and_, delete, exists, func, literal, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from redemption_service.codes import MASKED, Action, Viewer
from redemption_service.domain import (
    CANCELLABLE,
    DeliveryStatus,
    Redemption,
    ReviewRules,
    SagaState,
    Snapshot,
    Status,
)
from redemption_service.models import (
    code_reveals,
    idempotency_keys,
    outbox,
    processed_events,
    redemptions,
    review_rules,
    sagas,
)

# The redemption events for the tenants (service_kit.domain_events, docs/events.md): written to this service's
# outbox by the statement that makes the change they report, and published by the one relay (outbox.py). Each is
# built in SQL from the redemption's row (named columns only: never its fulfillment document, so never a code or
# PIN), so the hot path's statements (confirm, complete_inline) add a CTE rather than a round trip. Event rows have
# no redemption_id: that column names the fulfillment job's row, which the inline completion, the job's release and
# the reconciler look for, and an event is none of those.

# The payload of every redemption event, from a row of `redemptions` (or a CTE returning its columns).
_COMMON = """'redemption_id', id, 'number', number, 'player_id', player_id, 'item_id', item_id,
    'variant_id', variant_id, 'rounds', rounds, 'item_name', item_name, 'point_type', point_type, 'cost', cost,
    'point_scale', point_scale, 'fulfillment_strategy', fulfillment_strategy, 'status', status,
    'delivery_status', delivery_status, 'created_at', created_at"""
_EVENT_DATA = {
    domain_events.REDEMPTION_CREATED: f"jsonb_build_object({_COMMON})",
    domain_events.REDEMPTION_COMPLETED: f"jsonb_build_object({_COMMON}, 'completed_at', completed_at)",
    domain_events.REDEMPTION_CANCELED: f"""jsonb_build_object({_COMMON}, 'canceled_at', canceled_at,
        'reason', cancel_reason, 'failure_code', failure_code,
        'refund', jsonb_build_object('point_type', point_type, 'amount', cost, 'point_scale', point_scale))""",
    domain_events.REDEMPTION_FAILED: f"""jsonb_build_object({_COMMON}, 'failure_code', failure_code,
        'failure_message', failure_message)""",
}


def _insert_event(event_type: str, source: str, trace_context: str) -> str:
    """The INSERT of the event about each row of `source` (a CTE of redemptions' rows, or `redemptions WHERE
    ...`), with `trace_context` (a jsonb SQL expression) as its NATS headers."""
    return domain_events.sql_outbox_insert(event_type, source, data=_EVENT_DATA[event_type],
                                           trace_context=trace_context)


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


async def prune_idempotency_keys(session: AsyncSession, batch: int = 1000) -> int:
    expired = (select(idempotency_keys.c.tenant_id, idempotency_keys.c.environment, idempotency_keys.c.key)
               .where(idempotency_keys.c.expires_at < func.now()).limit(batch))
    result = await session.execute(
        delete(idempotency_keys)
        .where(tuple_(idempotency_keys.c.tenant_id, idempotency_keys.c.environment, idempotency_keys.c.key)
               .in_(expired)))
    return result.rowcount or 0


# A redemption named by its number: ASCII digits within a bigint (anything else is an id).
_NUMBER = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1


# --- the saga log -------------------------------------------------------------------------------------------

async def touch_saga(session: AsyncSession, saga_id: str) -> None:
    """The saga's runner is alive (it is unwinding): recovery leaves it alone for another stale period."""
    await session.execute(update(sagas).where(sagas.c.id == saga_id).values(updated_at=func.now()))


async def begin_compensation(session: AsyncSession, saga_id: str) -> bool:
    claimed = await session.scalar(
        update(sagas).where(sagas.c.id == saga_id, sagas.c.state == SagaState.RUNNING)
        .values(state=SagaState.COMPENSATING, updated_at=func.now()).returning(sagas.c.id))
    return claimed is not None


async def mark_failed(session: AsyncSession, saga_id: str, code: str, message: str) -> None:
    """Every compensation has run (the stock released, any debit refunded or refused by its tombstone): the
    redemption ends FAILED with nothing charged, and in the same statement its key is released, so a retry with
    the same key is processed afresh rather than answered this failure. Only the key still naming this attempt,
    and only on the SUBMITTED -> FAILED move (a second recovery of the saga releases nothing)."""
    await session.execute(
        update(sagas).where(sagas.c.id == saga_id,
                            sagas.c.state.in_([SagaState.RUNNING, SagaState.COMPENSATING]))
        .values(state=SagaState.FAILED, updated_at=func.now()))
    await session.execute(_MARK_FAILED, {"id": saga_id, "code": code, "message": message[:2000],
                                         "trace_context": outbox_context_json()})


# The move to FAILED, the key's release and the redemption.failed event, only on the SUBMITTED -> FAILED move.
_MARK_FAILED = text("""
    WITH failed AS (
        UPDATE redemptions SET status = 'FAILED', failure_code = :code, failure_message = :message,
            updated_at = now()
        WHERE id = :id AND status = 'SUBMITTED'
        RETURNING *),
    released AS (
        UPDATE idempotency_keys k SET released_at = now() FROM failed
        WHERE k.tenant_id = failed.tenant_id AND k.environment = failed.environment
          AND k.key = failed.idempotency_key AND k.redemption_id = failed.id)
    """ + _insert_event(domain_events.REDEMPTION_FAILED, "failed", "CAST(:trace_context AS jsonb)"))


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
    if row is None:
        return None
    await add_event(session, domain_events.REDEMPTION_CANCELED, redemption_id)
    return _redemption(row)


_EVENT_OF = {event_type: text(_insert_event(event_type, "redemptions WHERE id = :id",
                                                  "CAST(:trace_context AS jsonb)"))
             for event_type in _EVENT_DATA}


async def add_event(session: AsyncSession, event_type: str, redemption_id: str) -> None:
    """The event of `event_type` about the redemption as it is now in this transaction, into the outbox."""
    await session.execute(_EVENT_OF[event_type], {"id": redemption_id, "trace_context": outbox_context_json()})


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
    if row is None:
        return None
    if status is Status.COMPLETED:
        await add_event(session, domain_events.REDEMPTION_COMPLETED, redemption_id)
    return _redemption(row)


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


# --- the hot path: SQL text constants, run as prepared statements on the PgPool ------------------------------
# One round trip per step: a redemption accepted, confirmed and completed inline costs three statements here.

_ACCEPT = """
    WITH claimed AS (
        INSERT INTO idempotency_keys (tenant_id, environment, key, player_id, fingerprint, redemption_id, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
        ON CONFLICT (tenant_id, environment, key) DO UPDATE
            SET redemption_id = EXCLUDED.redemption_id, expires_at = EXCLUDED.expires_at, released_at = NULL
            WHERE idempotency_keys.released_at IS NOT NULL AND idempotency_keys.player_id = EXCLUDED.player_id
              AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
        RETURNING redemption_id),
    accepted AS (
        INSERT INTO redemptions (id, tenant_id, environment, idempotency_key, status, player_id, item_id, variant_id,
                                 rounds, point_type, shipping_address, customer_info, comment, trigger_source,
                                 trigger_details)
        SELECT redemption_id, $1, $2, $3, 'SUBMITTED', $4, $8, $9, $10, $11, $12, $13, $14, $15, $16 FROM claimed
        RETURNING id),
    saga AS (
        INSERT INTO sagas (id, tenant_id, environment, state, step) SELECT id, $1, $2, 'running', '' FROM accepted)
    SELECT (SELECT count(*) FROM accepted) AS accepted,
           (SELECT jsonb_agg(jsonb_build_object(
                'max_redemptions_per_hour', max_redemptions_per_hour, 'cost_over', cost_over,
                'player_younger_than_days', player_younger_than_days, 'always_review', always_review))
            FROM review_rules WHERE tenant_id = $1 AND environment = $2 AND item_id IN ('', $8)) AS review_rules"""


@dataclass(frozen=True, slots=True)
class Accepted:
    claimed: bool                  # False: the key was taken (a replay or a concurrent duplicate)
    review_rules: ReviewRules | None   # the tenant's and the item's review rules together; None: none


async def accept(pool: PgPool, scope: Scope, *, key: str, fingerprint: str, ttl: timedelta,
                 values: dict[str, Any]) -> Accepted:
    """Claims the idempotency key and stores the redemption as SUBMITTED with its saga, in one statement; False
    when the key was taken (a concurrent duplicate waits on the first's row, then sees the conflict).

    A key released by a FAILED attempt (mark_failed) is claimed again by the same player with the same body: the
    key then names this new attempt, the failed one stays in the history. Concurrent retries after a failure
    still make one attempt: under READ COMMITTED the second waits for the first's row lock, re-checks the WHERE on
    the row the first wrote (released_at NULL again) and claims nothing. Another player or another body never
    takes a released key over; they get the conflict or the reuse error, as for a key that is held."""
    v = values
    row = await pool.fetchrow(
        _ACCEPT, scope.tenant_id, scope.environment, key, v["player_id"], fingerprint, v["id"],
        ttl.total_seconds(), v["item_id"], v["variant_id"], v["rounds"], v["point_type"], v["shipping_address"],
        v["customer_info"], v["comment"], v["trigger_source"], v["trigger_details"])
    assert row is not None
    rules = None
    for found in row["review_rules"] or ():
        rules = ReviewRules(**found) if rules is None else rules.merged(ReviewRules(**found))
    return Accepted(bool(row["accepted"]), rules)


_PIVOT = """
    WITH owned AS (
        UPDATE sagas SET state = 'confirmed', step = 'confirm', updated_at = now()
        WHERE id = $1 AND state = 'running' RETURNING id),
    confirmed AS (
        UPDATE redemptions SET {status}, updated_at = now(),
            item_name = $2, item_image_url = $3, variant_id = $4, rounds = $5, point_type = $6, cost = $7,
            point_scale = $8, face_value = $9, face_currency = $10, fulfillment_strategy = $11,
            fulfillment_config = $12, redemption_message = $13, debit_transaction_id = $14, balance_after = $15,
            delivery_status = $16
        WHERE id = (SELECT id FROM owned) AND status = 'SUBMITTED'
        RETURNING *),{job}
    created AS (""" + _insert_event(domain_events.REDEMPTION_CREATED, "confirmed", "${trace}::jsonb") + """)
    SELECT * FROM confirmed"""
_CONFIRM = _PIVOT.replace("{status}", "status = 'OPEN', job_published_at = now()").replace("{job}", """
    job AS (
        INSERT INTO outbox (event_id, subject, payload, redemption_id, available_at, trace_context)
        SELECT $17, $18, $19, id, now() + make_interval(secs => $20), $21::jsonb FROM confirmed),""") \
    .replace("${trace}", "$21")
# A held pivot: AWAITING_APPROVAL with its reason ($17), and no job: an approval writes it (_APPROVE).
_HOLD = _PIVOT.replace("{status}", "status = 'AWAITING_APPROVAL', review_reason = $17, held_at = now()") \
    .replace("{job}", "").replace("${trace}", "$18")


async def confirm(pool: PgPool, saga_id: str, snapshot: Snapshot, *, job_event_id: str, job_subject: str,
                  job_payload: bytes, job_delay_seconds: float) -> Redemption | None:
    """The pivot in one statement: the saga confirmed (only while it is still running: None when a recovery
    claimed it), the redemption OPEN with its snapshot, and the fulfillment job in the outbox, published no
    sooner than job_delay_seconds from now, with the trace context and request id of this call (its NATS
    headers)."""
    s = snapshot
    row = await pool.fetchrow(
        _CONFIRM, saga_id, s.item_name, s.item_image_url, s.variant_id, s.rounds, s.point_type, s.cost,
        s.point_scale, s.face_value, s.face_currency, s.fulfillment_strategy, s.fulfillment_config,
        s.redemption_message, s.debit_transaction_id, s.balance_after, s.delivery_status.value,
        job_event_id, job_subject, job_payload, job_delay_seconds, outbox_context())
    return Redemption(**row) if row is not None else None


async def hold(pool: PgPool, saga_id: str, snapshot: Snapshot, reason: str) -> Redemption | None:
    """The pivot of a redemption a review rule holds, in one statement: the saga confirmed (None when a recovery
    claimed it), the redemption AWAITING_APPROVAL with its snapshot and the reason; no job is written."""
    s = snapshot
    row = await pool.fetchrow(
        _HOLD, saga_id, s.item_name, s.item_image_url, s.variant_id, s.rounds, s.point_type, s.cost,
        s.point_scale, s.face_value, s.face_currency, s.fulfillment_strategy, s.fulfillment_config,
        s.redemption_message, s.debit_transaction_id, s.balance_after, s.delivery_status.value, reason,
        outbox_context())
    return Redemption(**row) if row is not None else None


# The player's other redemptions of the last hour that charged or may charge (not FAILED), through
# ix_redemptions_player_newest. Only run when a max-per-hour rule applies.
_RECENT = """
    SELECT count(*) FROM redemptions
    WHERE tenant_id = $1 AND environment = $2 AND player_id = $3 AND created_at > now() - interval '1 hour'
      AND status <> 'FAILED' AND id <> $4"""


async def count_recent_redemptions(pool: PgPool, scope: Scope, player_id: str, redemption_id: str) -> int:
    return int(await pool.fetchval(_RECENT, scope.tenant_id, scope.environment, player_id, redemption_id))


# --- review holds (cold paths) ---------------------------------------------------------------------------------

# An approval: the hold becomes OPEN and its job goes into the outbox, in one statement; only an undecided hold
# with no cancel under way (a rejection, a timeout or a cancel that came first wins: None).
_APPROVE = """
    WITH approved AS (
        UPDATE redemptions SET status = 'OPEN', review_decision = 'approved', reviewed_at = now(),
            review_note = $2, updated_at = now(), job_published_at = now()
        WHERE id = $1 AND status = 'AWAITING_APPROVAL' AND cancel_requested_at IS NULL AND review_decision = ''
        RETURNING *),
    job AS (
        INSERT INTO outbox (event_id, subject, payload, redemption_id, trace_context)
        SELECT $3, $4, $5, id, $6::jsonb FROM approved)
    SELECT * FROM approved"""


async def approve(pool: PgPool, redemption_id: str, note: str, *, job_event_id: str, job_subject: str,
                  job_payload: bytes) -> Redemption | None:
    row = await pool.fetchrow(_APPROVE, redemption_id, note, job_event_id, job_subject, job_payload,
                              outbox_context())
    return Redemption(**row) if row is not None else None


async def request_rejection(session: AsyncSession, redemption_id: str, decision: str, failure_code: str,
                            note: str) -> Redemption | None:
    """Persists the rejection of an undecided hold (an operator's, or the timeout's) as a cancel request, before
    any refund: the saga becomes canceling, so recovery finishes the refund if this process dies. None when the
    hold was decided, or a cancel started, meanwhile."""
    row = (await session.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption_id, redemptions.c.status == Status.AWAITING_APPROVAL,
               redemptions.c.cancel_requested_at.is_(None), redemptions.c.review_decision == "")
        .values(cancel_requested_at=func.now(), cancel_reason=note, failure_code=failure_code,
                review_decision=decision, reviewed_at=func.now(), review_note=note, updated_at=func.now())
        .returning(redemptions))).first()
    if row is None:
        return None
    await session.execute(
        update(sagas).where(sagas.c.id == redemption_id,
                            or_(sagas.c.state == SagaState.CONFIRMED, sagas.c.state == SagaState.CANCELING))
        .values(state=SagaState.CANCELING, step="review", updated_at=func.now()))
    return _redemption(row)


async def claim_expired_holds(session: AsyncSession, hold_seconds: float, limit: int) -> list[str]:
    """Undecided holds older than hold_seconds, oldest first, locked SKIP LOCKED: another replica's round skips
    them, and after this transaction (which rejects them) finds them decided."""
    rows = (await session.execute(
        select(redemptions.c.id)
        .where(redemptions.c.status == Status.AWAITING_APPROVAL, redemptions.c.cancel_requested_at.is_(None),
               redemptions.c.review_decision == "",
               redemptions.c.held_at < func.now() - timedelta(seconds=hold_seconds))
        .order_by(redemptions.c.held_at).limit(limit).with_for_update(skip_locked=True))).all()
    return [row.id for row in rows]


@dataclass(frozen=True, slots=True)
class ReviewRuleSet:
    item_id: str
    rules: ReviewRules
    updated_at: datetime | None


async def set_review_rules(session: AsyncSession, scope: Scope, item_id: str, rules: ReviewRules) -> ReviewRuleSet:
    """Stores the rules of the scope (item_id '') or of an item; empty rules remove the row."""
    key = and_(review_rules.c.tenant_id == scope.tenant_id, review_rules.c.environment == scope.environment,
               review_rules.c.item_id == item_id)
    if rules.empty:
        await session.execute(delete(review_rules).where(key))
        return ReviewRuleSet(item_id, rules, None)
    values = {"max_redemptions_per_hour": rules.max_redemptions_per_hour, "cost_over": rules.cost_over,
              "player_younger_than_days": rules.player_younger_than_days, "always_review": rules.always_review}
    updated_at = await session.scalar(
        insert(review_rules)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, item_id=item_id, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "environment", "item_id"],
                               set_={**values, "updated_at": func.now()})
        .returning(review_rules.c.updated_at))
    return ReviewRuleSet(item_id, rules, updated_at)


async def list_review_rules(session: AsyncSession, scope: Scope) -> list[ReviewRuleSet]:
    c = review_rules.c
    rows = (await session.execute(
        select(review_rules).where(c.tenant_id == scope.tenant_id, c.environment == scope.environment)
        .order_by(c.item_id))).all()
    return [ReviewRuleSet(row.item_id, ReviewRules(row.max_redemptions_per_hour, row.cost_over,
                                                   row.player_younger_than_days, row.always_review),
                          row.updated_at) for row in rows]


# A row that carries a code or PIN (sealed, or in clear from before sealing: codes.STORED_SECRET_KEYS).
HAS_SECRET = "fulfillment ?| array['sealed_code', 'sealed_pin', 'code', 'pin']"

# The revealing statements record the reveal (codes.Viewer: kind and id, with the action) in the statement that
# reads the redemption, so showing a code costs no round trip of its own. An empty kind records nothing.
_REVEALED = """
    revealed AS (
        INSERT INTO code_reveals (redemption_id, tenant_id, environment, viewer, viewer_id, action)
        SELECT id, tenant_id, environment, ${kind}::text, ${id}::text, ${action}::text FROM {source}
        WHERE ${kind}::text <> '' AND """ + HAS_SECRET + ")"


def _revealed(source: str, first: int) -> str:
    """The CTE recording a reveal of each row of `source`, with the viewer's kind, id and the action as the
    parameters first, first + 1 and first + 2."""
    return _REVEALED.replace("${kind}", f"${first}").replace("${id}", f"${first + 1}") \
        .replace("${action}", f"${first + 2}").replace("{source}", source)


_COMPLETE_INLINE = ("""
    WITH completed AS (
        UPDATE redemptions SET status = 'COMPLETED', completed_at = now(), updated_at = now(),
            result_sequence = $3, result_applied_at = now(),
            job_acknowledged_at = coalesce(job_acknowledged_at, now()),
            fulfillment = coalesce(fulfillment, '{}'::jsonb) || $4::jsonb
        WHERE id = $1 AND status = 'OPEN' AND cancel_requested_at IS NULL AND result_sequence < $3
        RETURNING *),
    recorded AS (
        INSERT INTO processed_events (event_id, redemption_id, outcome, sequence)
        SELECT $2, id, 'COMPLETED', $3 FROM completed ON CONFLICT (event_id) DO NOTHING),
    done AS (
        UPDATE outbox SET published_at = now()
        WHERE redemption_id = (SELECT id FROM completed) AND published_at IS NULL),
    completed_event AS (""" + _insert_event(domain_events.REDEMPTION_COMPLETED, "completed",
                                                   "$8::jsonb") + "),"
    + _revealed("completed", 5) + """
    SELECT * FROM completed""")


async def complete_inline(pool: PgPool, redemption_id: str, *, event_id: str, sequence: int,
                          fulfillment: dict[str, Any], viewer: Viewer) -> Redemption | None:
    """An OPEN redemption completed with the result its Redeem call got from fulfillment-service, in one
    statement: the result's event recorded (its copy over JetStream, if fulfillment ever sends one, is then a
    duplicate), the job's outbox row marked as done (it will not be published), and the Redeem answer's reveal of
    the code to its viewer recorded. fulfillment: as stored (codes sealed). None when the redemption is no longer
    plainly OPEN (a cancel, or a result applied first): the caller applies the result the general way."""
    row = await pool.fetchrow(_COMPLETE_INLINE, redemption_id, event_id, sequence, fulfillment,
                              *_reveal_args(viewer, Action.REDEEM), outbox_context())
    return Redemption(**row) if row is not None else None


def _reveal_args(viewer: Viewer, action: Action) -> tuple[str, str, str]:
    return (viewer.kind.value if viewer.reveals else ""), viewer.id, action.value


_RELEASE_JOB = "UPDATE outbox SET available_at = now() WHERE redemption_id = $1 AND published_at IS NULL"


async def release_job(pool: PgPool, redemption_id: str) -> None:
    """The inline call failed: the job's outbox row may be published now, not after its grace period."""
    await pool.execute(_RELEASE_JOB, redemption_id)


_JOB_DONE = "UPDATE outbox SET published_at = now() WHERE redemption_id = $1 AND published_at IS NULL"


async def job_done(pool: PgPool, redemption_id: str) -> None:
    """fulfillment-service answered the job inline (with its recorded result): it need not be published."""
    await pool.execute(_JOB_DONE, redemption_id)


_BY_ID = "SELECT * FROM redemptions WHERE id = $1"
_BY_REFERENCE_ID = "SELECT * FROM redemptions WHERE tenant_id = $1 AND environment = $2 AND id = $3"
_BY_REFERENCE_NUMBER = "SELECT * FROM redemptions WHERE tenant_id = $1 AND environment = $2 AND number = $3"
# The revealing reads: the player filter is in the statement (a redemption not the player's is neither
# answered nor revealed; $4 empty: any player), the reveal recorded with $5, $6, $7.
_REVEALING_BY_ID = "WITH found AS (SELECT * FROM redemptions WHERE id = $1)," + _revealed("found", 2) + """
    SELECT * FROM found"""
_REVEALING_BY_REFERENCE = {
    column: f"""
    WITH found AS (
        SELECT * FROM redemptions
        WHERE tenant_id = $1 AND environment = $2 AND {column} = $3 AND ($4::text = '' OR player_id = $4::text)),"""
    + _revealed("found", 5) + """
    SELECT * FROM found"""
    for column in ("id", "number")}


async def fetch_redemption(pool: PgPool, redemption_id: str, viewer: Viewer = MASKED) -> Redemption | None:
    """By id. A viewer shown the code (the Redeem answer's) has the reveal recorded in the same statement."""
    if viewer.reveals:
        row = await pool.fetchrow(_REVEALING_BY_ID, redemption_id, *_reveal_args(viewer, Action.REDEEM))
    else:
        row = await pool.fetchrow(_BY_ID, redemption_id)
    return Redemption(**row) if row is not None else None


async def fetch_by_reference(pool: PgPool, scope: Scope, reference: str, *, player_id: str = "",
                             viewer: Viewer = MASKED) -> Redemption | None:
    """By the string id, or by the integer number written as text (ASCII digits within a bigint); only the
    player's when player_id is set. A viewer shown the code has the reveal recorded in the same statement."""
    number = int(reference) if _NUMBER.fullmatch(reference) else None
    by_number = number is not None and number <= _BIGINT_MAX
    if viewer.reveals:
        row = await pool.fetchrow(_REVEALING_BY_REFERENCE["number" if by_number else "id"], scope.tenant_id,
                                  scope.environment, number if by_number else reference, player_id,
                                  *_reveal_args(viewer, Action.GET))
    elif by_number:
        row = await pool.fetchrow(_BY_REFERENCE_NUMBER, scope.tenant_id, scope.environment, number)
    else:
        row = await pool.fetchrow(_BY_REFERENCE_ID, scope.tenant_id, scope.environment, reference)
    if row is None or (player_id and row["player_id"] != player_id):
        return None
    return Redemption(**row)


_KEY_AND_REDEMPTION = """
    SELECT k.player_id AS key_player_id, k.fingerprint AS key_fingerprint, r.*
    FROM idempotency_keys k LEFT JOIN redemptions r ON r.id = k.redemption_id
    WHERE k.tenant_id = $1 AND k.environment = $2 AND k.key = $3"""
# The replay's reveal: only to the player (and body) the key belongs to; another one gets an error, not the code.
_KEY_AND_REDEMPTION_REVEALING = "WITH found AS (" + _KEY_AND_REDEMPTION + """),
    shown AS (SELECT * FROM found WHERE key_player_id = $4::text AND key_fingerprint = $5::text),""" \
    + _revealed("shown", 6) + """
    SELECT * FROM found"""


async def fetch_key_and_redemption(pool: PgPool, scope: Scope, key: str, *, player_id: str = "",
                                   fingerprint: str = "", viewer: Viewer = MASKED,
                                   ) -> tuple[IdempotencyRecord | None, Redemption | None]:
    """The idempotency record of a key and the redemption it claimed, in one statement: the newest attempt, when
    a FAILED one released the key and a retry claimed it again. A viewer shown the code (the replayed answer of
    the same player and body) has the reveal recorded in the same statement."""
    if viewer.reveals:
        row = await pool.fetchrow(_KEY_AND_REDEMPTION_REVEALING, scope.tenant_id, scope.environment, key,
                                  player_id, fingerprint, *_reveal_args(viewer, Action.REDEEM))
    else:
        row = await pool.fetchrow(_KEY_AND_REDEMPTION, scope.tenant_id, scope.environment, key)
    if row is None:
        return None, None
    fields = dict(row)
    record = IdempotencyRecord(fields.pop("key_player_id"), fields.pop("key_fingerprint"), row["id"] or "")
    return record, (Redemption(**fields) if fields["id"] is not None else None)


def _list_statement(by_player: bool, by_status: bool, after_cursor: bool, revealing: bool) -> str:
    """One constant per combination of filters, so each is prepared once and reads through its index. The
    parameters: scope, limit, then those of the filters present, in this order; a revealing one then the
    viewer's kind, id and the action. The limit is one more than the page (the last row only tells that there
    is more): that row is not shown, so it is not revealed."""
    where, n = ["tenant_id = $1", "environment = $2"], 3
    for present, condition in ((by_player, "player_id = ${}"), (by_status, "status = ${}")):
        if present:
            n += 1
            where.append(condition.format(n))
    if after_cursor:
        where.append(f"(created_at, number) < (${n + 1}, ${n + 2})")
        n += 2
    order = "ORDER BY created_at DESC, number DESC"
    select = f"SELECT * FROM redemptions WHERE {' AND '.join(where)} {order} LIMIT $3"
    if not revealing:
        return select
    return (f"WITH page AS ({select}), shown AS (SELECT * FROM page {order} LIMIT $3 - 1),"
            + _revealed("shown", n + 1) + f"\n    SELECT * FROM page {order}")


_LIST = {(p, s, c, r): _list_statement(p, s, c, r)
         for p in (False, True) for s in (False, True) for c in (False, True) for r in (False, True)}


async def fetch_page(pool: PgPool, scope: Scope, *, player_id: str, status: Status | None, limit: int,
                     before: tuple[datetime, int] | None, viewer: Viewer = MASKED) -> list[Redemption]:
    """Newest first, keyed by (created_at, number): rows that arrive later sort before the cursor. limit: the
    page size plus one. A viewer shown the codes has a reveal recorded per shown row that has one, in the same
    statement."""
    args: list[Any] = [scope.tenant_id, scope.environment, limit]
    if player_id:
        args.append(player_id)
    if status is not None:
        args.append(status.value)
    if before is not None:
        args.extend(before)
    if viewer.reveals:
        args.extend(_reveal_args(viewer, Action.LIST))
    rows = await pool.fetch(_LIST[(bool(player_id), status is not None, before is not None, viewer.reveals)],
                            *args)
    return [Redemption(**row) for row in rows]


# --- the audit of code reveals, and sealing what is stored (cold paths) ---------------------------------------

@dataclass(frozen=True, slots=True)
class CodeReveal:
    id: int
    redemption_id: str
    viewer: str
    viewer_id: str
    action: str
    revealed_at: datetime


async def list_code_reveals(session: AsyncSession, scope: Scope, *, redemption_id: str, limit: int,
                            before_id: int | None) -> list[CodeReveal]:
    """Newest first, by id (ids only grow: a page is stable while reveals are added)."""
    c = code_reveals.c
    query = (select(c.id, c.redemption_id, c.viewer, c.viewer_id, c.action, c.revealed_at)
             .where(c.tenant_id == scope.tenant_id, c.environment == scope.environment)
             .order_by(c.id.desc()).limit(limit))
    if redemption_id:
        query = query.where(c.redemption_id == redemption_id)
    if before_id is not None:
        query = query.where(c.id < before_id)
    return [CodeReveal(**row._mapping) for row in (await session.execute(query)).all()]


_STORED_SECRETS = {
    # Rows still in clear, through the partial index ix_redemptions_plaintext_code.
    True: "SELECT id, fulfillment FROM redemptions WHERE fulfillment ?| array['code', 'pin'] AND id > $1 "
          "ORDER BY id LIMIT $2",
    False: "SELECT id, fulfillment FROM redemptions WHERE id > $1 AND " + HAS_SECRET + " ORDER BY id LIMIT $2",
}
_STORE_FULFILLMENT = "UPDATE redemptions SET fulfillment = $3 WHERE id = $1 AND fulfillment = $2"


async def stored_secrets(pool: PgPool, *, after_id: str, limit: int, in_clear_only: bool) -> list[tuple[str, Any]]:
    """(id, fulfillment) of rows holding a code or PIN (in_clear_only: only those not sealed yet), by id."""
    rows = await pool.fetch(_STORED_SECRETS[in_clear_only], after_id, limit)
    return [(row["id"], row["fulfillment"]) for row in rows]


async def replace_fulfillment(pool: PgPool, redemption_id: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Stores the re-sealed fulfillment unless the row changed meanwhile (a result merged into it)."""
    return await pool.execute(_STORE_FULFILLMENT, redemption_id, old, new) == "UPDATE 1"
