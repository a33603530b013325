"""wallet-service queries. Balances change only in one conditional statement each (the CHECK constraints are the
last word), always beside the ledger row that explains the change.

Two kinds, on purpose: the cold admin paths (point types, players, grants, adjustments) build SQLAlchemy Core
statements on the caller's session, in the caller's transaction (wallet.py). The hot path (a redemption's debit
and refund, the reads behind every page view) runs the SQL text constants at the end of this module on the
service's PgPool, each one statement in autocommit, so atomic on its own: building a statement per call cost
~0.73 ms of client CPU, an asyncpg prepared statement ~0.065 ms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from service_kit import domain_events
from service_kit.db import note_outbox_write
from service_kit.pgpool import PgPool, Record
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_service.domain import (
    Account,
    EntryKind,
    LedgerEntry,
    Lot,
    PlayerStatus,
    PointType,
    expiring_within,
    take_from_lots,
)
from wallet_service.models import accounts, event_outbox, ledger_entries, lot_takes, players, point_lots, point_types

UNIQUE_VIOLATION = "23505"


def is_duplicate_movement(exc: IntegrityError) -> bool:
    """True when an insert lost the race for a (scope, kind, reference) already taken by another transaction."""
    orig = exc.orig
    # pk_lot_takes: a negative adjustment's takes, written (under the same key) before its ledger row.
    return getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION and any(
        name in str(orig) for name in ("uq_ledger_movement", "pk_lot_takes"))


# --- point types --------------------------------------------------------------------------------------------

_POINT_TYPE_COLUMNS = (point_types.c.code, point_types.c.name, point_types.c.scale, point_types.c.lifetime_seconds)


async def insert_point_type(session: AsyncSession, scope: Scope, code: str, name: str, scale: int,
                            lifetime_seconds: int) -> PointType:
    """Creates the point type, or renames it and sets its lifetime; the stored row (with its scale) is returned
    either way."""
    stmt = insert(point_types).values(tenant_id=scope.tenant_id, environment=scope.environment, code=code,
                                      name=name, scale=scale, lifetime_seconds=lifetime_seconds)
    row = (await session.execute(
        stmt.on_conflict_do_update(index_elements=["tenant_id", "environment", "code"],
                                   set_={"name": name, "lifetime_seconds": lifetime_seconds})
        .returning(*_POINT_TYPE_COLUMNS))).one()
    return PointType(row.code, row.name, row.scale, row.lifetime_seconds)


async def list_point_types(session: AsyncSession, scope: Scope) -> list[PointType]:
    rows = await session.execute(
        select(*_POINT_TYPE_COLUMNS)
        .where(point_types.c.tenant_id == scope.tenant_id, point_types.c.environment == scope.environment)
        .order_by(point_types.c.code))
    return [PointType(r.code, r.name, r.scale, r.lifetime_seconds) for r in rows]


async def point_type_of(session: AsyncSession, scope: Scope, code: str) -> PointType | None:
    row = (await session.execute(
        select(*_POINT_TYPE_COLUMNS).where(point_types.c.tenant_id == scope.tenant_id,
                                           point_types.c.environment == scope.environment,
                                           point_types.c.code == code))).first()
    return None if row is None else PointType(row.code, row.name, row.scale, row.lifetime_seconds)


# --- players and accounts -----------------------------------------------------------------------------------

async def ensure_player(session: AsyncSession, scope: Scope, player_id: str) -> None:
    await session.execute(insert(players).values(tenant_id=scope.tenant_id, environment=scope.environment,
                                                 player_id=player_id).on_conflict_do_nothing())


async def upsert_player(session: AsyncSession, scope: Scope, player_id: str,
                        status: PlayerStatus | None) -> PlayerStatus:
    """Creates the player (active unless a status is given) or sets the given status; returns the status."""
    stmt = insert(players).values(tenant_id=scope.tenant_id, environment=scope.environment, player_id=player_id,
                                  status=(status or PlayerStatus.ACTIVE).value)
    if status is None:
        # Touch nothing, but still return the row: DO UPDATE with the same value is how RETURNING sees it.
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "environment", "player_id"],
                                          set_={"status": players.c.status})
    else:
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "environment", "player_id"],
                                          set_={"status": status.value})
    return PlayerStatus(await session.scalar(stmt.returning(players.c.status)))


async def player_status(session: AsyncSession, scope: Scope, player_id: str) -> PlayerStatus | None:
    status = await session.scalar(
        select(players.c.status).where(players.c.tenant_id == scope.tenant_id,
                                       players.c.environment == scope.environment,
                                       players.c.player_id == player_id))
    return None if status is None else PlayerStatus(status)


def _account_key(scope: Scope, player_id: str, point_type: str) -> list[Any]:
    return [accounts.c.tenant_id == scope.tenant_id, accounts.c.environment == scope.environment,
            accounts.c.player_id == player_id, accounts.c.point_type == point_type]


async def credit_account(session: AsyncSession, scope: Scope, player_id: str, point_type: str,
                         amount: int) -> int:
    """Adds amount (> 0), opening the account when needed; returns the new balance."""
    balance = await session.scalar(
        insert(accounts)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, player_id=player_id,
                point_type=point_type, balance=amount)
        .on_conflict_do_update(index_elements=["tenant_id", "environment", "player_id", "point_type"],
                               set_={"balance": accounts.c.balance + amount, "updated_at": func.now()})
        .returning(accounts.c.balance))
    return int(balance)


async def add_lot(session: AsyncSession, scope: Scope, player_id: str, point_type: str, amount: int,
                  expires_at: datetime | None, source: EntryKind, reference: str) -> None:
    """The lot of a credit (a grant, a positive adjustment), in the credit's transaction, after its account (whose
    row lock it holds): a new lot, or the account's lot of the same expiry grown by amount (uq_point_lots_expiry),
    so an account holds one lot per expiry, not one per grant."""
    stmt = insert(point_lots).values(
        tenant_id=scope.tenant_id, environment=scope.environment, player_id=player_id, point_type=point_type,
        granted=amount, remaining=amount, expires_at=expires_at, source_kind=source.value,
        source_reference=reference)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["tenant_id", "environment", "player_id", "point_type", "expires_at"],
        set_={"granted": point_lots.c.granted + stmt.excluded.granted,
              "remaining": point_lots.c.remaining + stmt.excluded.remaining}))


async def take_from_account(session: AsyncSession, scope: Scope, player_id: str, point_type: str, amount: int,
                            kind: EntryKind, reference: str) -> int | None:
    """Takes amount (> 0) from the account's spendable lots, soonest expiry first (domain.take_from_lots), and
    records the takes under (kind, reference); None when the lots do not cover it (or there is no account). The
    new balance otherwise. The account's row is locked first, as every writer of its lots does, so the lots
    read next are current and stay so until the commit."""
    balance = await session.scalar(
        select(accounts.c.balance).where(*_account_key(scope, player_id, point_type)).with_for_update())
    if balance is None:
        return None
    now = await session.scalar(select(func.now()))
    rows = await session.execute(
        select(point_lots.c.id, point_lots.c.remaining, point_lots.c.granted, point_lots.c.expires_at,
               point_lots.c.created_at)
        .where(point_lots.c.tenant_id == scope.tenant_id, point_lots.c.environment == scope.environment,
               point_lots.c.player_id == player_id, point_lots.c.point_type == point_type,
               point_lots.c.remaining > 0))
    takes = take_from_lots([Lot(r.id, r.remaining, r.granted, r.expires_at, r.created_at) for r in rows],
                           amount, now)
    if takes is None:
        return None
    for lot_id, part in takes:
        await session.execute(update(point_lots).where(point_lots.c.id == lot_id)
                              .values(remaining=point_lots.c.remaining - part))
    await session.execute(insert(lot_takes), [
        {"tenant_id": scope.tenant_id, "environment": scope.environment, "kind": kind.value,
         "reference": reference, "lot_id": lot_id, "amount": part} for lot_id, part in takes])
    balance = await session.scalar(
        update(accounts).where(*_account_key(scope, player_id, point_type))
        .values(balance=accounts.c.balance - amount, updated_at=func.now())
        .returning(accounts.c.balance))
    return int(balance)


# --- the ledger ---------------------------------------------------------------------------------------------

def _entry(row: Row[Any], scale: int) -> LedgerEntry:
    return LedgerEntry(id=row.id, player_id=row.player_id, point_type=row.point_type, kind=EntryKind(row.kind),
                       amount=row.amount, balance_after=row.balance_after, reference=row.reference,
                       description=row.description, created_at=row.created_at, scale=scale)


_ENTRY_COLUMNS = (*ledger_entries.c, point_types.c.scale)
_ENTRY_SOURCE = ledger_entries.join(
    point_types,
    (point_types.c.tenant_id == ledger_entries.c.tenant_id)
    & (point_types.c.environment == ledger_entries.c.environment)
    & (point_types.c.code == ledger_entries.c.point_type))


async def movement(session: AsyncSession, scope: Scope, kind: EntryKind, reference: str) -> LedgerEntry | None:
    """The entry of kind with this reference (idempotency key or saga id), if one was written."""
    row = (await session.execute(
        select(*_ENTRY_COLUMNS).select_from(_ENTRY_SOURCE)
        .where(ledger_entries.c.tenant_id == scope.tenant_id, ledger_entries.c.environment == scope.environment,
               ledger_entries.c.kind == kind.value, ledger_entries.c.reference == reference))).first()
    return None if row is None else _entry(row, row.scale)


async def append_entry(session: AsyncSession, scope: Scope, *, player_id: str, point_type: str, kind: EntryKind,
                       amount: int, balance_after: int, reference: str, description: str,
                       scale: int) -> LedgerEntry:
    row = (await session.execute(
        insert(ledger_entries)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, player_id=player_id,
                point_type=point_type, kind=kind.value, amount=amount, balance_after=balance_after,
                reference=reference, description=description)
        .returning(*ledger_entries.c))).one()
    return _entry(row, scale)


# --- the hot path: SQL text on the pool ---------------------------------------------------------------------
# Parameters are numbered as each constant's comment says; a scope is always $1 (tenant) and $2 (environment).

_ENTRY_FIELDS = ("l.id, l.player_id, l.point_type, l.kind, l.amount, l.balance_after, l.reference, l.description,"
                 " l.created_at, pt.scale")
_ENTRY_TYPE = ("JOIN point_types pt ON pt.tenant_id = l.tenant_id AND pt.environment = l.environment"
               " AND pt.code = l.point_type")

# $3 player. One row per point type of the scope, 0 where the player has no account, with the lots holding the
# balance in spending order (as arrays, through ix_point_lots_spendable).
BALANCES = """
SELECT pt.code, pt.scale, COALESCE(a.balance, 0) AS balance, l.ids, l.remaining, l.granted, l.expires_at,
       l.created_at
FROM point_types pt
LEFT JOIN accounts a ON a.tenant_id = pt.tenant_id AND a.environment = pt.environment
                    AND a.point_type = pt.code AND a.player_id = $3
LEFT JOIN LATERAL (
    SELECT array_agg(id ORDER BY expires_at ASC NULLS LAST, id) AS ids,
           array_agg(remaining ORDER BY expires_at ASC NULLS LAST, id) AS remaining,
           array_agg(granted ORDER BY expires_at ASC NULLS LAST, id) AS granted,
           array_agg(expires_at ORDER BY expires_at ASC NULLS LAST, id) AS expires_at,
           array_agg(created_at ORDER BY expires_at ASC NULLS LAST, id) AS created_at
    FROM point_lots
    WHERE tenant_id = pt.tenant_id AND environment = pt.environment AND player_id = $3
      AND point_type = pt.code AND remaining > 0
) l ON a.player_id IS NOT NULL
WHERE pt.tenant_id = $1 AND pt.environment = $2
ORDER BY pt.code
"""

# $3 player. No row: no such player; else one row per point type (one row with a NULL code when there is none).
PLAYER_WITH_BALANCES = """
SELECT p.status, p.created_at, pt.code, pt.scale, COALESCE(a.balance, 0) AS balance
FROM players p
LEFT JOIN point_types pt ON pt.tenant_id = p.tenant_id AND pt.environment = p.environment
LEFT JOIN accounts a ON a.tenant_id = p.tenant_id AND a.environment = p.environment
                    AND a.player_id = p.player_id AND a.point_type = pt.code
WHERE p.tenant_id = $1 AND p.environment = $2 AND p.player_id = $3
ORDER BY pt.code
"""

# $3 player, $4 entries with an id below this, $5 limit. Newest first.
ENTRIES_PAGE = f"""
SELECT {_ENTRY_FIELDS}
FROM ledger_entries l {_ENTRY_TYPE}
WHERE l.tenant_id = $1 AND l.environment = $2 AND l.player_id = $3 AND l.id < $4
ORDER BY l.id DESC
LIMIT $5
"""

# $3 player, $4 point type, $5 below this id, $6 limit. No row: no such point type; else one row per entry (one
# row with a NULL id when there is none): the type is checked in the same round trip as the page is read.
ENTRIES_PAGE_OF_TYPE = """
WITH point_type AS (
    SELECT scale FROM point_types WHERE tenant_id = $1 AND environment = $2 AND code = $4
)
SELECT l.id, l.player_id, l.point_type, l.kind, l.amount, l.balance_after, l.reference, l.description,
       l.created_at, pt.scale
FROM point_type pt
LEFT JOIN LATERAL (
    SELECT id, player_id, point_type, kind, amount, balance_after, reference, description, created_at
    FROM ledger_entries
    WHERE tenant_id = $1 AND environment = $2 AND player_id = $3 AND point_type = $4 AND id < $5
    ORDER BY id DESC
    LIMIT $6
) l ON true
ORDER BY l.id DESC
"""

# $3 kind, $4 reference (idempotency key or saga id): the entry, if one was written.
MOVEMENT = f"""
SELECT {_ENTRY_FIELDS}
FROM ledger_entries l {_ENTRY_TYPE}
WHERE l.tenant_id = $1 AND l.environment = $2 AND l.kind = $3 AND l.reference = $4
"""

# $3 saga: how the saga was settled ('debited', with its debit entry, or 'given_up'); no row when it was not.
SAGA_SETTLEMENT = f"""
SELECT o.outcome, {_ENTRY_FIELDS}
FROM saga_outcomes o
LEFT JOIN ledger_entries l ON l.tenant_id = o.tenant_id AND l.environment = o.environment
                          AND l.kind = 'debit' AND l.reference = o.saga_id
LEFT {_ENTRY_TYPE}
WHERE o.tenant_id = $1 AND o.environment = $2 AND o.saga_id = $3
"""

# $3 saga, $4 player, $5 point type, $6 amount (> 0), $7 description. The whole debit in one statement: the
# player must be active and the saga unsettled, the spendable lots (not lapsed) must cover the amount, taken
# soonest expiry first (never-expiring last) with a running sum; the account row is locked by its UPDATE
# (`balance >= amount`) before any lot is touched, and the points taken from the account and from each lot,
# the takes (lot_takes, what its refund gives back), the saga's outcome and the ledger row are written together
# or not at all. Always one row: what the checks saw (to name a refusal) and the entry, if written.
# A duplicate or a refund of the same saga that committed after this statement began is caught by the primary
# key of saga_outcomes (a unique index sees it, or waits for it while it is in flight): the statement then fails
# whole with a unique violation, having written nothing.
# The lots are read in the statement's snapshot, taken before the account's lock: when another writer of the
# account's lots committed in between, a lot's `remaining - take` is computed on its current row and may fall
# below zero, and then the statement fails whole on ck_point_lots_remaining_in_range, having written nothing;
# wallet.py runs it again in a transaction after LOCK_ACCOUNT (debit(locked=True)), where the lots it reads are
# current.
DEBIT = """
WITH player AS (
    SELECT status FROM players WHERE tenant_id = $1 AND environment = $2 AND player_id = $4
), point_type AS (
    SELECT scale FROM point_types WHERE tenant_id = $1 AND environment = $2 AND code = $5
), settled AS (
    SELECT outcome FROM saga_outcomes WHERE tenant_id = $1 AND environment = $2 AND saga_id = $3
), lots AS (
    SELECT id, remaining, SUM(remaining) OVER (ORDER BY expires_at ASC NULLS LAST, id) AS upto
    FROM point_lots
    WHERE tenant_id = $1 AND environment = $2 AND player_id = $4 AND point_type = $5 AND remaining > 0
      AND (expires_at IS NULL OR expires_at > now())
), picks AS (
    SELECT id, LEAST(remaining, $6::bigint - (upto - remaining)) AS take FROM lots
    WHERE upto - remaining < $6::bigint
), taken AS (
    UPDATE accounts SET balance = balance - $6::bigint, updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND player_id = $4 AND point_type = $5 AND balance >= $6::bigint
      AND (SELECT COALESCE(SUM(take), 0) FROM picks) = $6::bigint
      AND NOT EXISTS (SELECT FROM settled)
      AND EXISTS (SELECT FROM player WHERE status = 'active')
    RETURNING balance
), drawn AS (
    UPDATE point_lots l SET remaining = l.remaining - p.take
    FROM picks p, taken
    WHERE l.id = p.id
    RETURNING l.id, p.take
), takes AS (
    INSERT INTO lot_takes (tenant_id, environment, kind, reference, lot_id, amount)
    SELECT $1, $2, 'debit', $3, id, take FROM drawn
), settles AS (
    INSERT INTO saga_outcomes (tenant_id, environment, saga_id, outcome)
    SELECT $1, $2, $3, 'debited' FROM taken
), entry AS (
    INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount, balance_after,
                                reference, description)
    SELECT $1, $2, $4, $5, 'debit', -$6::bigint, balance, $3, $7 FROM taken
    RETURNING id, balance_after, created_at
)
SELECT (SELECT status FROM player) AS player_status, (SELECT scale FROM point_type) AS scale,
       (SELECT outcome FROM settled) AS outcome, entry.id, entry.balance_after, entry.created_at
FROM (VALUES (1)) AS one (x) LEFT JOIN entry ON true
"""

# The description of the `expire` entry of a refund into a lapsed lot.
REFUNDED_EXPIRED = "refunded into a lot already expired: expired at once"

# $3 saga, $4 description of the refund entry, $5 reason kept on a tombstone. The compensation in one statement:
# with a debit and no refund yet, the exact debit goes back to its account beside its refund entry (player
# status does not matter); with no debit, the saga is settled 'given_up' and its tombstone written, so a debit
# arriving later is refused. A debit still in flight makes the 'given_up' insert wait for it: when it commits,
# nothing is written (given_up false, debited false) and the caller reads the saga again. A concurrent refund
# of the same saga fails this statement whole on the ledger's unique movement.
# The points go back to the lots the debit took them from (lot_takes), with their expiry. What goes back to a lot
# whose expiry has passed expires at once: it is counted in the lot's `expired`, not its `remaining`, and an
# `expire` entry (reference the saga id) follows the refund entry, so the balance moves by the refund less that.
# The account's row is locked (its UPDATE) before any lot is touched, as every writer of the lots does.
REFUND = f"""
WITH debit AS (
    SELECT player_id, point_type, amount FROM ledger_entries
    WHERE tenant_id = $1 AND environment = $2 AND kind = 'debit' AND reference = $3
), refunded AS (
    SELECT id FROM ledger_entries WHERE tenant_id = $1 AND environment = $2 AND kind = 'refund' AND reference = $3
), takes AS (
    SELECT t.lot_id, t.amount, COALESCE(l.expires_at <= now(), false) AS lapsed
    FROM lot_takes t JOIN point_lots l ON l.id = t.lot_id
    WHERE t.tenant_id = $1 AND t.environment = $2 AND t.kind = 'debit' AND t.reference = $3
), lapse AS (
    SELECT COALESCE(SUM(amount) FILTER (WHERE lapsed), 0)::bigint AS amount FROM takes
), credited AS (
    UPDATE accounts a SET balance = a.balance - d.amount - (SELECT amount FROM lapse), updated_at = now()
    FROM debit d
    WHERE a.tenant_id = $1 AND a.environment = $2 AND a.player_id = d.player_id AND a.point_type = d.point_type
      AND NOT EXISTS (SELECT FROM refunded)
    RETURNING a.player_id, a.point_type, a.balance, d.amount, (SELECT amount FROM lapse) AS lapsed
), returned AS (
    UPDATE point_lots l
       SET remaining = l.remaining + CASE WHEN k.lapsed THEN 0 ELSE k.amount END,
           expired = l.expired + CASE WHEN k.lapsed THEN k.amount ELSE 0 END
      FROM takes k, credited
     WHERE l.id = k.lot_id
), entry AS (
    INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount, balance_after,
                                reference, description)
    SELECT $1, $2, player_id, point_type, kind, amount, balance_after, $3, description FROM (
        SELECT 1 AS ord, player_id, point_type, 'refund'::text AS kind, -amount AS amount,
               balance + lapsed AS balance_after, $4::text AS description FROM credited
        UNION ALL
        SELECT 2, player_id, point_type, 'expire', -lapsed, balance, '{REFUNDED_EXPIRED}' FROM credited
        WHERE lapsed > 0
    ) e ORDER BY ord
    RETURNING *
), given_up AS (
    INSERT INTO saga_outcomes (tenant_id, environment, saga_id, outcome)
    SELECT $1, $2, $3, 'given_up' WHERE NOT EXISTS (SELECT FROM debit)
    ON CONFLICT DO NOTHING
    RETURNING saga_id
), tombstone AS (
    INSERT INTO saga_tombstones (tenant_id, environment, saga_id, reason)
    SELECT $1, $2, $3, $5 FROM given_up
    ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT FROM debit) AS debited, EXISTS (SELECT FROM refunded) AS refunded,
       EXISTS (SELECT FROM given_up) AS given_up, {_ENTRY_FIELDS.replace("l.", "entry.")}
FROM (VALUES (1)) AS one (x)
LEFT JOIN entry ON entry.kind = 'refund'
LEFT JOIN point_types pt ON pt.tenant_id = $1 AND pt.environment = $2 AND pt.code = entry.point_type
"""

# The unique keys a concurrent duplicate of a debit or a refund loses on.
_SETTLED_ELSEWHERE = frozenset({"pk_saga_outcomes", "uq_ledger_movement"})


# The account's row, locked before DEBIT runs again in the same transaction (see DEBIT).
LOCK_ACCOUNT = """
SELECT 1 FROM accounts WHERE tenant_id = $1 AND environment = $2 AND player_id = $3 AND point_type = $4 FOR UPDATE
"""

LOTS_OVERDRAWN = "ck_point_lots_remaining_in_range"


def lots_moved_meanwhile(exc: asyncpg.CheckViolationError) -> bool:
    """True when DEBIT read a lot that another writer changed before the account's lock was had (see DEBIT)."""
    return exc.constraint_name == LOTS_OVERDRAWN


def lost_a_race(exc: asyncpg.UniqueViolationError) -> bool:
    """True when a debit or refund lost to one of the same saga committed after it began (nothing was written)."""
    return exc.constraint_name in _SETTLED_ELSEWHERE


def entry_of(row: Record) -> LedgerEntry:
    return LedgerEntry(id=row["id"], player_id=row["player_id"], point_type=row["point_type"],
                       kind=EntryKind(row["kind"]), amount=row["amount"], balance_after=row["balance_after"],
                       reference=row["reference"], description=row["description"], created_at=row["created_at"],
                       scale=row["scale"])


@dataclass(frozen=True, slots=True)
class DebitOutcome:
    """What DEBIT saw and did: the entry when it took the points; otherwise what refuses it."""

    entry_id: int | None
    balance_after: int | None
    created_at: Any
    player_status: PlayerStatus | None
    scale: int | None                # of the point type; None when the scope has no such type
    settled: str | None              # 'debited' or 'given_up' when the saga was settled before


async def debit(pool: PgPool, scope: Scope, saga_id: str, player_id: str, point_type: str, amount: int,
                description: str, *, locked: bool = False) -> DebitOutcome:
    """DEBIT in autocommit; locked: in a transaction, after locking the account's row (the rare second try)."""
    args = (scope.tenant_id, scope.environment, saga_id, player_id, point_type, amount, description)
    if locked:
        async with pool.transaction() as tx:
            await tx.execute(LOCK_ACCOUNT, scope.tenant_id, scope.environment, player_id, point_type)
            row = await tx.fetchrow(DEBIT, *args)
    else:
        row = await pool.fetchrow(DEBIT, *args)
    assert row is not None   # the statement always answers one row
    status = row["player_status"]
    return DebitOutcome(entry_id=row["id"], balance_after=row["balance_after"], created_at=row["created_at"],
                        player_status=None if status is None else PlayerStatus(status), scale=row["scale"],
                        settled=row["outcome"])


async def saga_settlement(pool: PgPool, scope: Scope, saga_id: str) -> tuple[str | None, LedgerEntry | None]:
    """The saga's outcome (None when unsettled) and its debit entry (when it was debited), read now."""
    row = await pool.fetchrow(SAGA_SETTLEMENT, scope.tenant_id, scope.environment, saga_id)
    if row is None:
        return None, None
    return row["outcome"], None if row["id"] is None else entry_of(row)


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    entry: LedgerEntry | None   # the refund entry this statement wrote
    debited: bool               # a debit of the saga was seen
    refunded: bool              # ... and its refund, written before
    given_up: bool              # no debit: this statement settled the saga 'given_up' and wrote its tombstone


async def refund(pool: PgPool, scope: Scope, saga_id: str, description: str, reason: str) -> RefundOutcome:
    row = await pool.fetchrow(REFUND, scope.tenant_id, scope.environment, saga_id, description, reason)
    assert row is not None   # the statement always answers one row
    return RefundOutcome(entry=None if row["id"] is None else entry_of(row), debited=row["debited"],
                         refunded=row["refunded"], given_up=row["given_up"])


async def movement_now(pool: PgPool, scope: Scope, kind: EntryKind, reference: str) -> LedgerEntry | None:
    row = await pool.fetchrow(MOVEMENT, scope.tenant_id, scope.environment, kind.value, reference)
    return None if row is None else entry_of(row)


def _lots_of(row: Record) -> tuple[Lot, ...]:
    if row["ids"] is None:
        return ()
    return tuple(Lot(*lot) for lot in zip(row["ids"], row["remaining"], row["granted"], row["expires_at"],
                                          row["created_at"], strict=True))


async def balances(pool: PgPool, scope: Scope, player_id: str) -> list[Account]:
    rows = await pool.fetch(BALANCES, scope.tenant_id, scope.environment, player_id)
    now = datetime.now(UTC)
    accounts = []
    for r in rows:
        lots = _lots_of(r)
        accounts.append(Account(point_type=r["code"], balance=r["balance"], scale=r["scale"], lots=lots,
                                expiring_soon=expiring_within(lots, now)))
    return accounts


async def player_with_balances(pool: PgPool, scope: Scope,
                               player_id: str) -> tuple[PlayerStatus, list[Account], datetime] | None:
    rows = await pool.fetch(PLAYER_WITH_BALANCES, scope.tenant_id, scope.environment, player_id)
    if not rows:
        return None
    return PlayerStatus(rows[0]["status"]), [Account(point_type=r["code"], balance=r["balance"], scale=r["scale"])
                                            for r in rows if r["code"] is not None], rows[0]["created_at"]


# --- the expiry sweep (expiry.py) ---------------------------------------------------------------------------

# $1 limit. Accounts holding a lapsed lot with points left, through the partial index ix_point_lots_lapsing:
# an index probe that finds nothing when nothing lapsed.
LAPSED_ACCOUNTS = """
SELECT DISTINCT tenant_id, environment, player_id, point_type FROM point_lots
WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= now()
LIMIT $1
"""

# $1..$4 the account. Locked in the sweep's transaction unless another replica (or a debit) holds it: skipped.
LOCK_ACCOUNT_OR_SKIP = """
SELECT 1 FROM accounts WHERE tenant_id = $1 AND environment = $2 AND player_id = $3 AND point_type = $4
FOR UPDATE SKIP LOCKED
"""

# $1..$4 the account, locked by this transaction (LOCK_ACCOUNT_OR_SKIP): the lots read here are current. Each
# lapsed lot's remaining points move to its `expired` beside one `expire` entry (reference "lot:<id>@<expired so
# far>": a lot refilled by a refund racing its expiry can lapse again), the account's balance down by their sum.
EXPIRE_LOTS = """
WITH lapsing AS (
    SELECT id, remaining, expired, expires_at,
           SUM(remaining) OVER (ORDER BY expires_at, id) AS upto, SUM(remaining) OVER () AS total
    FROM point_lots
    WHERE tenant_id = $1 AND environment = $2 AND player_id = $3 AND point_type = $4 AND remaining > 0
      AND expires_at IS NOT NULL AND expires_at <= now()
), lots AS (
    UPDATE point_lots l SET remaining = 0, expired = l.expired + s.remaining FROM lapsing s WHERE l.id = s.id
), account AS (
    UPDATE accounts SET balance = balance - (SELECT COALESCE(SUM(remaining), 0) FROM lapsing), updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND player_id = $3 AND point_type = $4
      AND EXISTS (SELECT FROM lapsing)
    RETURNING balance
), entries AS (
    INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount, balance_after,
                                reference, description)
    SELECT $1, $2, $3, $4, 'expire', -s.remaining, a.balance + s.total - s.upto,
           'lot:' || s.id || '@' || (s.expired + s.remaining), 'lot ' || s.id || ' expired at ' || s.expires_at
    FROM lapsing s, account a
    ORDER BY s.upto
    RETURNING amount
)
SELECT count(*) AS lots, COALESCE(-SUM(amount), 0)::bigint AS points FROM entries
"""


@dataclass(frozen=True, slots=True)
class Expired:
    lots: int
    points: int      # minor units, of whatever point type


async def lapsed_accounts(pool: PgPool, limit: int) -> list[tuple[str, str, str, str]]:
    rows = await pool.fetch(LAPSED_ACCOUNTS, limit)
    return [(r["tenant_id"], r["environment"], r["player_id"], r["point_type"]) for r in rows]


async def expire_lots(pool: PgPool, account: tuple[str, str, str, str]) -> Expired | None:
    """Expires the account's lapsed lots; None when the account's row was locked elsewhere (skipped)."""
    async with pool.transaction() as tx:
        if await tx.fetchval(LOCK_ACCOUNT_OR_SKIP, *account) is None:
            return None
        row = await tx.fetchrow(EXPIRE_LOTS, *account)
    assert row is not None
    return Expired(lots=row["lots"], points=row["points"])


# No entry has an id this large: the first page's upper bound, so that one statement serves every page.
_NO_CURSOR = 2**63 - 1


async def entries_page(pool: PgPool, scope: Scope, player_id: str, point_type: str, before_id: int | None,
                       limit: int) -> list[LedgerEntry] | None:
    """Up to limit entries, newest first, with id below before_id when given; None when point_type is given
    and the scope has no such type."""
    before = _NO_CURSOR if before_id is None else before_id
    if not point_type:
        rows = await pool.fetch(ENTRIES_PAGE, scope.tenant_id, scope.environment, player_id, before, limit)
        return [entry_of(r) for r in rows]
    rows = await pool.fetch(ENTRIES_PAGE_OF_TYPE, scope.tenant_id, scope.environment, player_id, point_type,
                            before, limit)
    if not rows:
        return None
    return [entry_of(r) for r in rows if r["id"] is not None]


async def add_event(session: AsyncSession, event_type: str, scope: Scope, entry: LedgerEntry) -> None:
    """The tenants' event of a ledger entry (events.py), into the event outbox in the entry's transaction."""
    event_id, subject, payload = domain_events.build(event_type, scope, entry.reference, {
        "player_id": entry.player_id, "point_type": entry.point_type, "amount": entry.amount,
        "point_scale": entry.scale, "balance_after": entry.balance_after, "entry_id": entry.id,
        "idempotency_key": entry.reference, "description": entry.description,
        "created_at": entry.created_at.isoformat()}, at=entry.created_at)
    await session.execute(insert(event_outbox).values(event_id=event_id, subject=subject, payload=payload,
                                                      trace_context=outbox_context())
                          .on_conflict_do_nothing(index_elements=["event_id"]))
    note_outbox_write(session)
