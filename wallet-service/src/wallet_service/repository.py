"""wallet-service queries. Every movement is one transaction: the balance changes in one conditional
statement and its ledger row is inserted beside it."""

from __future__ import annotations

from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_service.models import accounts, ledger_entries, players, point_types

KIND_TO_PROTO = {
    "grant": wallet_pb2.ENTRY_KIND_GRANT,
    "debit": wallet_pb2.ENTRY_KIND_DEBIT,
    "refund": wallet_pb2.ENTRY_KIND_REFUND,
    "adjustment": wallet_pb2.ENTRY_KIND_ADJUSTMENT,
}


async def define_point_type(session: AsyncSession, scope: Scope, code: str, name: str, scale: int) -> None:
    stmt = insert(point_types).values(tenant_id=scope.tenant_id, environment=scope.environment, code=code,
                                      name=name, scale=scale)
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "environment", "code"],
                                                     set_={"name": name, "scale": scale}))


async def scale_of(session: AsyncSession, scope: Scope, code: str) -> int:
    scale = await session.scalar(
        select(point_types.c.scale).where(point_types.c.tenant_id == scope.tenant_id,
                                          point_types.c.environment == scope.environment,
                                          point_types.c.code == code))
    if scale is None:
        raise DomainError(ErrorCode.INVALID_POINT_TYPE, f"unknown point type {code!r}")
    return int(scale)


def _entry(row, scale: int) -> wallet_pb2.LedgerEntry:  # type: ignore[no-untyped-def]
    entry = wallet_pb2.LedgerEntry(
        id=row.id, player_id=row.player_id, point_type=row.point_type, kind=KIND_TO_PROTO[row.kind],
        amount=row.amount, balance_after=row.balance_after, reference=row.reference,
        description=row.description, scale=scale)
    entry.created_at.FromDatetime(row.created_at)
    return entry


async def _existing(session: AsyncSession, scope: Scope, kind: str, reference: str):  # type: ignore[no-untyped-def]
    return (await session.execute(
        select(ledger_entries).where(ledger_entries.c.tenant_id == scope.tenant_id,
                                     ledger_entries.c.environment == scope.environment,
                                     ledger_entries.c.kind == kind,
                                     ledger_entries.c.reference == reference))).first()


async def ensure_player(session: AsyncSession, scope: Scope, player_id: str) -> None:
    await session.execute(insert(players).values(tenant_id=scope.tenant_id, environment=scope.environment,
                                                 player_id=player_id).on_conflict_do_nothing())


async def grant(session: AsyncSession, scope: Scope, player_id: str, point_type: str, amount: int,
                key: str, description: str) -> tuple[wallet_pb2.LedgerEntry, bool]:
    scale = await scale_of(session, scope, point_type)
    previous = await _existing(session, scope, "grant", key)
    if previous is not None:
        if previous.player_id != player_id or previous.amount != amount or previous.point_type != point_type:
            raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED, "this idempotency key was used for another grant")
        return _entry(previous, scale), True
    await ensure_player(session, scope, player_id)
    balance = await session.scalar(
        insert(accounts)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, player_id=player_id,
                point_type=point_type, balance=amount)
        .on_conflict_do_update(index_elements=["tenant_id", "environment", "player_id", "point_type"],
                               set_={"balance": accounts.c.balance + amount})
        .returning(accounts.c.balance))
    row = (await session.execute(
        insert(ledger_entries)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, player_id=player_id,
                point_type=point_type, kind="grant", amount=amount, balance_after=balance, reference=key,
                description=description)
        .returning(ledger_entries))).one()
    return _entry(row, scale), False


async def balances(session: AsyncSession, scope: Scope, player_id: str) -> list[wallet_pb2.Account]:
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
    return [wallet_pb2.Account(point_type=r.code, balance=r.balance or 0, scale=r.scale) for r in rows]
