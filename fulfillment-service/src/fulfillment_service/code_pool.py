"""Code pools: upload (sealed, de-duplicated by fingerprint), claim one for a redemption atomically (the job row
opened in the same statement), count and sample, and the pool's levels.

Levels: a pool is low below its threshold (its own, in code_pools, else LOW_POOL_THRESHOLD) and exhausted at 0
available codes. The claim that takes the pool below its threshold, or takes its last code (or finds none left),
tells the tenant (code_pool.low, code_pool.exhausted; docs/events.md) in the claim's own statement: no round trip
of its own. Each crossing is told once: the pool's row records the redemption whose claim told it, and only a
claim that finds it unrecorded records itself (the row lock decides between concurrent claims, and the row is
locked only by the claim that tells); an upload that refills the pool, or a threshold set below what is
available, clears it for the next crossing. The event's id is made from the item and that redemption, so a retried
claim (which opens no job and so claims nothing) never writes a second one. The setting reaches the statements as
the connection's `rewards.low_pool_threshold` (server.py opens the pool with it: `pool_settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service_kit import domain_events
from service_kit.pgpool import Transaction
from service_kit.scope import Scope
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service.domain import JobState, Strategy
from fulfillment_service.models import code_pool, code_pools
from fulfillment_service.vault import Vault, mask_code


@dataclass(frozen=True, slots=True)
class NewCode:
    code: str
    pin: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssignedCode:
    code_id: int
    code: str
    pin: str


@dataclass(frozen=True, slots=True)
class PoolStatus:
    available: int
    assigned: int
    expired: int
    low_threshold: int
    masked_sample: list[str]
    own_threshold: bool = False      # low_threshold is the pool's own, not LOW_POOL_THRESHOLD

    @property
    def low(self) -> bool:
        return self.available < self.low_threshold


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


@dataclass(frozen=True, slots=True)
class Claim:
    first_time: bool               # the job event was not seen before (always True when it is not recorded)
    opened: bool                   # this claim opened the job: it alone may assign a code and record a result
    assigned: AssignedCode | None  # the code it assigned; None when the pool is empty or the job names no item


async def claim_code(tx: Transaction, vault: Vault, scope: Scope, redemption_id: str, item_id: str,
                     event_id: str, payload: bytes, *, record_event: bool) -> Claim:
    """Opens the code-pool job of a redemption and assigns its code, in the caller's transaction (its result
    must be recorded in the same one, or a crash would leave a code assigned and no result)."""
    row = await tx.fetchrow(CLAIM_CODE, event_id, record_event, scope.tenant_id, scope.environment, redemption_id,
                            item_id, payload)
    if row is None:
        raise RuntimeError("the code claim answered no row")  # it always answers one: FROM (SELECT) LEFT JOIN
    assigned = None
    if row["code_id"] is not None:
        pin = row["pin_encrypted"]
        assigned = AssignedCode(code_id=row["code_id"], code=vault.unseal(row["code_encrypted"]),
                                pin=vault.unseal(pin) if pin is not None else "")
    return Claim(first_time=row["first_time"], opened=row["opened"], assigned=assigned)


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
