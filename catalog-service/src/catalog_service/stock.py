"""Stock movements: the saga's reservations (reserve, release), the dry run of a reservation, and operator
adjustments. Each movement is one transaction in which stock and per-player counts change only through
conditional statements, so concurrent calls can never oversell or exceed a limit.

Lock order, to keep concurrent transactions from deadlocking: reservation row, player count, item row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog_service import repository
from catalog_service.domain import (
    MAX_STOCK,
    Eligibility,
    Item,
    ItemStatus,
    Player,
    Reservation,
    choose_offer,
    invalid,
    limit_refusal,
    remaining_allowance,
    snapshot_from_json,
    snapshot_json,
)
from catalog_service.models import items, player_counts, reservations, stock_adjustments


class _Claimed(Exception):
    """The saga id or idempotency key was taken by a concurrent call that committed first."""


def _reservation_key(scope: Scope, saga_id: str):  # type: ignore[no-untyped-def]
    return and_(reservations.c.tenant_id == scope.tenant_id, reservations.c.environment == scope.environment,
                reservations.c.saga_id == saga_id)


async def _replay(session: AsyncSession, scope: Scope, saga_id: str, item_id: str,
                  player_id: str) -> Reservation | None:
    """The answer to a retried reservation, or None when the saga has no reservation."""
    row = (await session.execute(select(reservations).where(_reservation_key(scope, saga_id)))).first()
    if row is None:
        return None
    if row.state == "released":
        raise invalid(f"saga already released: saga {saga_id} was released or compensated, it cannot reserve")
    if row.item_id != item_id or row.player_id != player_id:
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                          f"saga {saga_id} already reserved item {row.item_id} for another request")
    item, offer = snapshot_from_json(row.snapshot)
    return Reservation(saga_id, item, offer.variant, offer.price, already_reserved=True)


async def reserve_stock(sessions: async_sessionmaker, scope: Scope, *, saga_id: str, item_id: str,
                        player: Player, variant_id: str = "", rounds: int = 0, point_type: str = "",
                        has_shipping_address: bool = False, has_customer_info: bool = False) -> Reservation:
    try:
        async with sessions.begin() as session:
            replayed = await _replay(session, scope, saga_id, item_id, player.player_id)
            if replayed is not None:
                return replayed
            return await _reserve(session, scope, saga_id, item_id, player, variant_id, rounds, point_type,
                                  has_shipping_address, has_customer_info)
    except _Claimed:
        # A concurrent call with the same saga id (or a release's tombstone) committed first.
        async with sessions() as session:
            replayed = await _replay(session, scope, saga_id, item_id, player.player_id)
        if replayed is None:  # pragma: no cover - the conflicting row is committed, it cannot vanish
            raise DomainError(ErrorCode.UNAVAILABLE, "reservation conflict, retry") from None
        return replayed


async def _reserve(session: AsyncSession, scope: Scope, saga_id: str, item_id: str, player: Player,
                   variant_id: str, rounds: int, point_type: str, has_shipping_address: bool,
                   has_customer_info: bool) -> Reservation:
    item = await repository.load_item(session, scope, item_id)
    if item is None:
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
    count = await repository.redeemed_count(session, scope, item_id, player.player_id)
    # The checks on what was read; the statements below enforce limit and stock again, race-free.
    offer = choose_offer(item, player=player, redeemed_count=count, now=datetime.now(UTC), variant_id=variant_id,
                         rounds=rounds, point_type=point_type, has_shipping_address=has_shipping_address,
                         has_customer_info=has_customer_info)

    counted = insert(player_counts).values(tenant_id=scope.tenant_id, environment=scope.environment,
                                           item_id=item_id, player_id=player.player_id, count=1)
    counted = counted.on_conflict_do_update(
        index_elements=["tenant_id", "environment", "item_id", "player_id"],
        set_={"count": player_counts.c.count + 1},
        where=(player_counts.c.count < item.per_player_limit) if item.per_player_limit else None,
    ).returning(player_counts.c.count)
    if await session.scalar(counted) is None:
        raise limit_refusal(item)

    taken = (await session.execute(
        update(items)
        .where(items.c.tenant_id == scope.tenant_id, items.c.environment == scope.environment, items.c.id == item_id,
               items.c.status == ItemStatus.ACTIVE.value, (items.c.stock.is_(None)) | (items.c.stock >= 1))
        .values(stock=items.c.stock - 1)
        .returning(items.c.stock))).first()
    if taken is None:
        status = await session.scalar(select(items.c.status).where(
            items.c.tenant_id == scope.tenant_id, items.c.environment == scope.environment, items.c.id == item_id))
        if status != ItemStatus.ACTIVE.value:
            raise DomainError(ErrorCode.ITEM_UNAVAILABLE, f"item {item_id} is not available now ({status})")
        raise DomainError(ErrorCode.OUT_OF_STOCK, f"item {item_id} is out of stock")
    item = replace(item, stock=taken.stock)

    held = await session.scalar(
        insert(reservations)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, saga_id=saga_id, item_id=item_id,
                variant_id=offer.variant.id if offer.variant else None, player_id=player.player_id,
                point_type=offer.price.point_type, price=offer.price.amount, stock_counted=taken.stock is not None,
                state="held", snapshot=snapshot_json(item, offer))
        .on_conflict_do_nothing()
        .returning(reservations.c.saga_id))
    if held is None:
        raise _Claimed()  # rolls back the count and the stock taken above
    return Reservation(saga_id, item, offer.variant, offer.price, already_reserved=False)


async def release_stock(sessions: async_sessionmaker, scope: Scope, *, saga_id: str, reason: str) -> bool:
    """Gives back what the saga's reservation held; False when nothing was held. A saga never seen gets a
    tombstone, so that its reservation, if it is still in flight, is refused when it lands."""
    release = (
        update(reservations)
        .where(_reservation_key(scope, saga_id), reservations.c.state == "held")
        .values(state="released", released_at=func.now(), release_reason=reason)
        .returning(reservations.c.item_id, reservations.c.player_id, reservations.c.stock_counted))
    async with sessions.begin() as session:
        row = (await session.execute(release)).first()
        if row is None:
            tombstone = await session.scalar(
                insert(reservations)
                .values(tenant_id=scope.tenant_id, environment=scope.environment, saga_id=saga_id,
                        state="released", released_at=func.now(), release_reason=reason)
                .on_conflict_do_nothing()
                .returning(reservations.c.saga_id))
            if tombstone is not None:
                return False
            # The row exists: released before, or a reservation in flight committed while we waited on it.
            row = (await session.execute(release)).first()
            if row is None:
                return False
        await session.execute(
            update(player_counts)
            .where(player_counts.c.tenant_id == scope.tenant_id, player_counts.c.environment == scope.environment,
                   player_counts.c.item_id == row.item_id, player_counts.c.player_id == row.player_id,
                   player_counts.c.count > 0)
            .values(count=player_counts.c.count - 1))
        if row.stock_counted:
            # An item made unlimited since keeps its NULL stock.
            await session.execute(
                update(items)
                .where(items.c.tenant_id == scope.tenant_id, items.c.environment == scope.environment,
                       items.c.id == row.item_id, items.c.stock.is_not(None))
                .values(stock=items.c.stock + 1))
        return True


async def check_eligibility(session: AsyncSession, scope: Scope, *, item_id: str, player: Player,
                            variant_id: str = "", rounds: int = 0, point_type: str = "",
                            has_shipping_address: bool = False, has_customer_info: bool = False,
                            skip_required_fields: bool = False) -> Eligibility:
    """ReserveStock's checks, changing nothing; a refusal is reported as the reason, not raised."""
    item = await repository.load_item(session, scope, item_id)
    if item is None:
        return Eligibility(False, ErrorCode.ITEM_NOT_FOUND.value, None, None, -1)
    count = await repository.redeemed_count(session, scope, item_id, player.player_id)
    allowance = remaining_allowance(item, count)
    try:
        offer = choose_offer(item, player=player, redeemed_count=count, now=datetime.now(UTC),
                             variant_id=variant_id, rounds=rounds, point_type=point_type,
                             has_shipping_address=has_shipping_address, has_customer_info=has_customer_info,
                             skip_required_fields=skip_required_fields)
    except DomainError as refusal:
        return Eligibility(False, refusal.code.value, item, None, allowance)
    return Eligibility(True, "", item, offer, allowance)


async def adjust_stock(sessions: async_sessionmaker, scope: Scope, *, item_id: str, delta: int,
                       idempotency_key: str, reason: str) -> Item:
    """Adds delta to a counted item's stock once per idempotency key; never below zero."""
    try:
        async with sessions.begin() as session:
            if await _adjustment_replayed(session, scope, idempotency_key, item_id, delta):
                return await _current(session, scope, item_id)
            stock_after = await session.scalar(
                update(items)
                .where(items.c.tenant_id == scope.tenant_id, items.c.environment == scope.environment,
                       items.c.id == item_id, items.c.status != ItemStatus.DELETED.value,
                       items.c.stock.is_not(None), items.c.stock + delta >= 0, items.c.stock + delta <= MAX_STOCK)
                .values(stock=items.c.stock + delta, updated_at=func.now())
                .returning(items.c.stock))
            if stock_after is None:
                raise await _adjustment_refusal(session, scope, item_id, delta)
            recorded = await session.scalar(
                insert(stock_adjustments)
                .values(tenant_id=scope.tenant_id, environment=scope.environment, idempotency_key=idempotency_key,
                        item_id=item_id, delta=delta, stock_after=stock_after, reason=reason)
                .on_conflict_do_nothing()
                .returning(stock_adjustments.c.idempotency_key))
            if recorded is None:
                raise _Claimed()  # rolls the stock change back: the concurrent call with this key applied it
            return await _current(session, scope, item_id)
    except _Claimed:
        async with sessions() as session:
            await _adjustment_replayed(session, scope, idempotency_key, item_id, delta)
            return await _current(session, scope, item_id)


async def _current(session: AsyncSession, scope: Scope, item_id: str) -> Item:
    item = await repository.load_item(session, scope, item_id)
    if item is None:  # pragma: no cover - items are never deleted from the table
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
    return item


async def _adjustment_replayed(session: AsyncSession, scope: Scope, key: str, item_id: str, delta: int) -> bool:
    row = (await session.execute(select(stock_adjustments).where(
        stock_adjustments.c.tenant_id == scope.tenant_id, stock_adjustments.c.environment == scope.environment,
        stock_adjustments.c.idempotency_key == key))).first()
    if row is None:
        return False
    if row.item_id != item_id or row.delta != delta:
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                          f"idempotency key {key!r} was used for another adjustment ({row.delta:+d} on {row.item_id})")
    return True


async def _adjustment_refusal(session: AsyncSession, scope: Scope, item_id: str, delta: int) -> DomainError:
    item = await repository.load_item(session, scope, item_id)
    if item is None or item.status is ItemStatus.DELETED:
        return DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
    if item.stock is None:
        return invalid(f"item {item_id} has unlimited stock: there is nothing to adjust")
    if item.stock + delta < 0:
        return invalid(f"stock may not go below zero: item {item_id} has {item.stock}, delta is {delta}")
    return invalid(f"stock may not exceed {MAX_STOCK}")
