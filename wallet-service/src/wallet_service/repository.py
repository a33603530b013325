"""wallet-service queries on one session. Balances change only in one conditional statement each (the CHECK
constraints are the last word), always beside the ledger row that explains the change; the transaction
boundaries are the caller's (wallet.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service_kit.scope import Scope
from wallet_service.domain import Account, EntryKind, LedgerEntry, PlayerStatus, PointType
from wallet_service.models import accounts, ledger_entries, players, point_types, saga_tombstones

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


async def balances(session: AsyncSession, scope: Scope, player_id: str) -> list[Account]:
    """Every point type of the scope, with the player's balance (0 where the player has no account)."""
    rows = await session.execute(
        select(point_types.c.code, point_types.c.scale, accounts.c.balance)
        .select_from(point_types.outerjoin(
            accounts,
            (accounts.c.tenant_id == point_types.c.tenant_id)
            & (accounts.c.environment == point_types.c.environment)
            & (accounts.c.point_type == point_types.c.code)
            & (accounts.c.player_id == player_id)))
        .where(point_types.c.tenant_id == scope.tenant_id, point_types.c.environment == scope.environment)
        .order_by(point_types.c.code))
    return [Account(point_type=r.code, balance=r.balance or 0, scale=r.scale) for r in rows]


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


async def entries_page(session: AsyncSession, scope: Scope, player_id: str, point_type: str,
                       before_id: int | None, limit: int) -> list[LedgerEntry]:
    """Up to limit entries, newest first, with id below before_id when given."""
    stmt = (select(*_ENTRY_COLUMNS).select_from(_ENTRY_SOURCE)
            .where(ledger_entries.c.tenant_id == scope.tenant_id,
                   ledger_entries.c.environment == scope.environment,
                   ledger_entries.c.player_id == player_id)
            .order_by(ledger_entries.c.id.desc())
            .limit(limit))
    if point_type:
        stmt = stmt.where(ledger_entries.c.point_type == point_type)
    if before_id is not None:
        stmt = stmt.where(ledger_entries.c.id < before_id)
    return [_entry(r, r.scale) for r in await session.execute(stmt)]


# --- sagas --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DebitChecks:
    """What a debit must know before it takes anything, read in one statement."""

    previous: LedgerEntry | None     # the saga's debit, when it was already written
    tombstoned: bool                 # the saga was refunded before any debit
    player_status: PlayerStatus | None
    scale: int | None                # of the point type; None when the scope has no such type


async def debit_checks(session: AsyncSession, scope: Scope, saga_id: str, player_id: str,
                       point_type: str) -> DebitChecks:
    key = (ledger_entries.c.tenant_id == scope.tenant_id) & (ledger_entries.c.environment == scope.environment)
    previous = (select(*_ENTRY_COLUMNS).select_from(_ENTRY_SOURCE)
                .where(key, ledger_entries.c.kind == EntryKind.DEBIT.value, ledger_entries.c.reference == saga_id)
                .subquery())
    in_scope = {"tenant_id": scope.tenant_id, "environment": scope.environment}
    tombstoned = select(saga_tombstones.c.saga_id).filter_by(**in_scope, saga_id=saga_id).exists()
    status = select(players.c.status).filter_by(**in_scope, player_id=player_id).scalar_subquery()
    scale = select(point_types.c.scale).filter_by(**in_scope, code=point_type).scalar_subquery()
    row = (await session.execute(
        select(previous, tombstoned.label("tombstoned"), status.label("player_status"), scale.label("type_scale"))
        .select_from(select(literal(1)).subquery().outerjoin(previous, literal(True))))).one()
    return DebitChecks(
        previous=None if row.id is None else _entry(row, row.scale), tombstoned=row.tombstoned,
        player_status=None if row.player_status is None else PlayerStatus(row.player_status),
        scale=None if row.type_scale is None else int(row.type_scale))


async def take_and_record(session: AsyncSession, scope: Scope, *, player_id: str, point_type: str, kind: EntryKind,
                          amount: int, reference: str, description: str, scale: int) -> LedgerEntry | None:
    """Takes amount (> 0) from the account when its balance covers it and appends the ledger row that explains
    it, in one statement; None when the balance does not cover it (or there is no account)."""
    taken = (update(accounts)
             .where(*_account_key(scope, player_id, point_type), accounts.c.balance >= amount)
             .values(balance=accounts.c.balance - amount, updated_at=func.now())
             .returning(accounts.c.balance).cte("taken"))
    row = (await session.execute(
        insert(ledger_entries)
        .from_select(["tenant_id", "environment", "player_id", "point_type", "kind", "amount", "balance_after",
                      "reference", "description"],
                     select(literal(scope.tenant_id), literal(scope.environment), literal(player_id),
                            literal(point_type), literal(kind.value), literal(-amount), taken.c.balance,
                            literal(reference), literal(description)))
        .returning(*ledger_entries.c))).first()
    return None if row is None else _entry(row, scale)


async def lock_saga(session: AsyncSession, scope: Scope, saga_id: str) -> None:
    """Serialises the debit and the refund of one saga until the transaction ends: without it, a refund that
    finds no debit and a debit that finds no tombstone could both commit, and the player would pay for a
    saga that was already given up."""
    key = json.dumps(["wallet-saga", scope.tenant_id, scope.environment, saga_id])
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


async def bury_saga(session: AsyncSession, scope: Scope, saga_id: str, reason: str) -> None:
    await session.execute(
        insert(saga_tombstones)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, saga_id=saga_id, reason=reason)
        .on_conflict_do_nothing())
