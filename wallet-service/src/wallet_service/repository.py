"""wallet-service queries. Balances change only in one conditional statement each (the CHECK constraints are the
last word), always beside the ledger row that explains the change.

Two kinds, on purpose: the cold admin paths (point types, players, grants, adjustments) build SQLAlchemy Core
statements on the caller's session, in the caller's transaction (wallet.py). The hot path (a redemption's debit
and refund, the reads behind every page view) runs the SQL text constants at the end of this module on the
service's PgPool, each one statement in autocommit, so atomic on its own: building a statement per call cost
~0.73 ms of client CPU, an asyncpg prepared statement ~0.065 ms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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

from wallet_service.domain import Account, EntryKind, LedgerEntry, PlayerStatus, PointType
from wallet_service.models import accounts, event_outbox, ledger_entries, players, point_types

UNIQUE_VIOLATION = "23505"


def is_duplicate_movement(exc: IntegrityError) -> bool:
    """True when an insert lost the race for a (scope, kind, reference) already taken by another transaction."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION and "uq_ledger_movement" in str(orig)


# --- point types --------------------------------------------------------------------------------------------

async def insert_point_type(session: AsyncSession, scope: Scope, code: str, name: str, scale: int) -> PointType:
    """Creates the point type, or renames it; the stored row (with its scale) is returned either way."""
    stmt = insert(point_types).values(tenant_id=scope.tenant_id, environment=scope.environment, code=code,
                                      name=name, scale=scale)
    row = (await session.execute(
        stmt.on_conflict_do_update(index_elements=["tenant_id", "environment", "code"], set_={"name": name})
        .returning(point_types.c.code, point_types.c.name, point_types.c.scale))).one()
    return PointType(row.code, row.name, row.scale)


async def list_point_types(session: AsyncSession, scope: Scope) -> list[PointType]:
    rows = await session.execute(
        select(point_types.c.code, point_types.c.name, point_types.c.scale)
        .where(point_types.c.tenant_id == scope.tenant_id, point_types.c.environment == scope.environment)
        .order_by(point_types.c.code))
    return [PointType(r.code, r.name, r.scale) for r in rows]


async def scale_of(session: AsyncSession, scope: Scope, code: str) -> int | None:
    scale = await session.scalar(
        select(point_types.c.scale).where(point_types.c.tenant_id == scope.tenant_id,
                                          point_types.c.environment == scope.environment,
                                          point_types.c.code == code))
    return None if scale is None else int(scale)


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


async def take_from_account(session: AsyncSession, scope: Scope, player_id: str, point_type: str,
                            amount: int) -> int | None:
    """Subtracts amount (> 0) when the balance covers it, in one statement; None when it does not (or there is
    no account). The new balance otherwise."""
    balance = await session.scalar(
        update(accounts)
        .where(*_account_key(scope, player_id, point_type), accounts.c.balance >= amount)
        .values(balance=accounts.c.balance - amount, updated_at=func.now())
        .returning(accounts.c.balance))
    return None if balance is None else int(balance)


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

# $3 player. One row per point type of the scope, 0 where the player has no account.
BALANCES = """
SELECT pt.code, pt.scale, COALESCE(a.balance, 0) AS balance
FROM point_types pt
LEFT JOIN accounts a ON a.tenant_id = pt.tenant_id AND a.environment = pt.environment
                    AND a.point_type = pt.code AND a.player_id = $3
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
# player must be active and the saga unsettled, the balance must cover the amount (`balance >= amount`, the
# account row locked by the UPDATE), and the points taken, the saga's outcome and the ledger row are written
# together or not at all. Always one row: what the checks saw (to name a refusal) and the entry, if written.
# A duplicate or a refund of the same saga that committed after this statement began is caught by the primary
# key of saga_outcomes (a unique index sees it, or waits for it while it is in flight): the statement then fails
# whole with a unique violation, having written nothing.
DEBIT = """
WITH player AS (
    SELECT status FROM players WHERE tenant_id = $1 AND environment = $2 AND player_id = $4
), point_type AS (
    SELECT scale FROM point_types WHERE tenant_id = $1 AND environment = $2 AND code = $5
), settled AS (
    SELECT outcome FROM saga_outcomes WHERE tenant_id = $1 AND environment = $2 AND saga_id = $3
), taken AS (
    UPDATE accounts SET balance = balance - $6::bigint, updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND player_id = $4 AND point_type = $5 AND balance >= $6::bigint
      AND NOT EXISTS (SELECT FROM settled)
      AND EXISTS (SELECT FROM player WHERE status = 'active')
    RETURNING balance
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

# $3 saga, $4 description of the refund entry, $5 reason kept on a tombstone. The compensation in one statement:
# with a debit and no refund yet, the exact debit goes back to its account beside its refund entry (player
# status does not matter); with no debit, the saga is settled 'given_up' and its tombstone written, so a debit
# arriving later is refused. A debit still in flight makes the 'given_up' insert wait for it: when it commits,
# nothing is written (given_up false, debited false) and the caller reads the saga again. A concurrent refund
# of the same saga fails this statement whole on the ledger's unique movement.
REFUND = f"""
WITH debit AS (
    SELECT player_id, point_type, amount FROM ledger_entries
    WHERE tenant_id = $1 AND environment = $2 AND kind = 'debit' AND reference = $3
), refunded AS (
    SELECT id FROM ledger_entries WHERE tenant_id = $1 AND environment = $2 AND kind = 'refund' AND reference = $3
), credited AS (
    UPDATE accounts a SET balance = a.balance - d.amount, updated_at = now()
    FROM debit d
    WHERE a.tenant_id = $1 AND a.environment = $2 AND a.player_id = d.player_id AND a.point_type = d.point_type
      AND NOT EXISTS (SELECT FROM refunded)
    RETURNING a.player_id, a.point_type, a.balance, d.amount
), entry AS (
    INSERT INTO ledger_entries (tenant_id, environment, player_id, point_type, kind, amount, balance_after,
                                reference, description)
    SELECT $1, $2, player_id, point_type, 'refund', -amount, balance, $3, $4 FROM credited
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
LEFT JOIN entry ON true
LEFT JOIN point_types pt ON pt.tenant_id = $1 AND pt.environment = $2 AND pt.code = entry.point_type
"""

# The unique keys a concurrent duplicate of a debit or a refund loses on.
_SETTLED_ELSEWHERE = frozenset({"pk_saga_outcomes", "uq_ledger_movement"})


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
                description: str) -> DebitOutcome:
    row = await pool.fetchrow(DEBIT, scope.tenant_id, scope.environment, saga_id, player_id, point_type, amount,
                              description)
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


async def balances(pool: PgPool, scope: Scope, player_id: str) -> list[Account]:
    rows = await pool.fetch(BALANCES, scope.tenant_id, scope.environment, player_id)
    return [Account(point_type=r["code"], balance=r["balance"], scale=r["scale"]) for r in rows]


async def player_with_balances(pool: PgPool, scope: Scope,
                               player_id: str) -> tuple[PlayerStatus, list[Account], datetime] | None:
    rows = await pool.fetch(PLAYER_WITH_BALANCES, scope.tenant_id, scope.environment, player_id)
    if not rows:
        return None
    return PlayerStatus(rows[0]["status"]), [Account(point_type=r["code"], balance=r["balance"], scale=r["scale"])
                                            for r in rows if r["code"] is not None], rows[0]["created_at"]


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
