"""Storing and reading items: the items row with its prices, variants and variant prices, and the listing
queries. Stock movements and reservations live in stock.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy import ColumnElement, and_, case, delete, func, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from catalog_service.domain import (
    FulfillmentStrategy,
    Item,
    ItemStatus,
    Player,
    Price,
    Targeting,
    Variant,
)
from catalog_service.models import item_prices, item_variants, items, player_counts, variant_prices


def _in_scope(table: Any, scope: Scope) -> ColumnElement[bool]:
    return and_(table.c.tenant_id == scope.tenant_id, table.c.environment == scope.environment)


def _item_columns(item: Item) -> dict[str, Any]:
    t = item.targeting
    return {
        "name": item.name, "description": item.description, "image_url": item.image_url,
        "status": item.status.value, "available_from": item.available_from,
        "available_until": item.available_until, "per_player_limit": item.per_player_limit,
        "targeting_private": t.private, "target_segments": list(t.segments),
        "target_countries": list(t.countries), "target_min_level": t.min_level,
        "fulfillment_strategy": item.fulfillment_strategy.value, "fulfillment_config": item.fulfillment_config,
        "shipping_address_required": item.shipping_address_required,
        "customer_info_required": item.customer_info_required, "redemption_message": item.redemption_message,
        "face_value": item.face_value, "face_currency": item.face_currency,
    }


async def _write_prices_and_variants(session: AsyncSession, scope: Scope, item: Item) -> None:
    key = {"tenant_id": scope.tenant_id, "environment": scope.environment, "item_id": item.id}
    await session.execute(insert(item_prices), [
        {**key, "point_type": p.point_type, "position": i, "amount": p.amount} for i, p in enumerate(item.prices)])
    if item.variants:
        await session.execute(insert(item_variants), [
            {"tenant_id": scope.tenant_id, "environment": scope.environment, "item_id": item.id, "id": v.id,
             "position": i, "name": v.name, "rounds": v.rounds} for i, v in enumerate(item.variants)])
    rows = [{**key, "variant_id": v.id, "point_type": p.point_type, "position": i, "amount": p.amount}
            for v in item.variants for i, p in enumerate(v.prices)]
    if rows:
        await session.execute(insert(variant_prices), rows)


async def create_item(session: AsyncSession, scope: Scope, item: Item) -> Item:
    created = await session.scalar(
        insert(items)
        .values(tenant_id=scope.tenant_id, environment=scope.environment, id=item.id, stock=item.stock,
                **_item_columns(item))
        .on_conflict_do_nothing()
        .returning(items.c.id))
    if created is None:
        raise DomainError(ErrorCode.ALREADY_EXISTS, f"an item with id {item.id!r} already exists")
    await _write_prices_and_variants(session, scope, item)
    return await _require(session, scope, item.id)


async def replace_item(session: AsyncSession, scope: Scope, item: Item, *, stock_changed: bool) -> Item:
    """Writes every field of item (stock only when stock_changed); the caller holds the row lock."""
    values = _item_columns(item)
    if stock_changed:
        values["stock"] = item.stock
    await session.execute(
        update(items).where(_in_scope(items, scope), items.c.id == item.id).values(**values, updated_at=func.now()))
    for table in (item_prices, item_variants):  # variant prices go with their variants (ON DELETE CASCADE)
        await session.execute(delete(table).where(_in_scope(table, scope), table.c.item_id == item.id))
    await _write_prices_and_variants(session, scope, item)
    return await _require(session, scope, item.id)


async def archive_item(session: AsyncSession, scope: Scope, item_id: str) -> Item:
    archived = await session.scalar(
        update(items)
        .where(_in_scope(items, scope), items.c.id == item_id)
        .values(status=ItemStatus.DELETED.value,
                # Archiving twice is harmless and keeps the time of the first.
                updated_at=case((items.c.status == ItemStatus.DELETED.value, items.c.updated_at),
                                else_=func.now()))
        .returning(items.c.id))
    if archived is None:
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
    return await _require(session, scope, item_id)


async def load_item(session: AsyncSession, scope: Scope, item_id: str, *, lock: bool = False) -> Item | None:
    """The item, deleted or not; lock: hold its row until the transaction ends (an operator's update)."""
    query = select(items).where(_in_scope(items, scope), items.c.id == item_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return (await _complete(session, scope, [row]))[0]


async def _require(session: AsyncSession, scope: Scope, item_id: str) -> Item:
    item = await load_item(session, scope, item_id)
    if item is None:
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
    return item


async def list_items(session: AsyncSession, scope: Scope, *, player: Player | None, now: datetime,
                     after_id: str | None, limit: int) -> list[Item]:
    """Up to limit items ordered by id, after after_id. With a player: only what they may redeem now (the
    same rule as domain.visible_to, in SQL so that pages stay full); without: every item not deleted."""
    query = select(items).where(_in_scope(items, scope))
    if player is None:
        query = query.where(items.c.status != ItemStatus.DELETED.value)
    else:
        query = query.where(
            items.c.status == ItemStatus.ACTIVE.value,
            or_(items.c.available_from.is_(None), items.c.available_from <= now),
            or_(items.c.available_until.is_(None), items.c.available_until > now),
            or_(not_(items.c.targeting_private), and_(
                or_(func.cardinality(items.c.target_segments) == 0,
                    items.c.target_segments.overlap(list(player.segments))),
                or_(func.cardinality(items.c.target_countries) == 0,
                    items.c.target_countries.contains([player.country.upper()])),
                items.c.target_min_level <= player.level,
            )))
    if after_id is not None:
        query = query.where(items.c.id > after_id)
    rows = (await session.execute(query.order_by(items.c.id).limit(limit))).all()
    return await _complete(session, scope, rows)


async def redeemed_count(session: AsyncSession, scope: Scope, item_id: str, player_id: str) -> int:
    count = await session.scalar(
        select(player_counts.c.count).where(_in_scope(player_counts, scope), player_counts.c.item_id == item_id,
                                            player_counts.c.player_id == player_id))
    return int(count or 0)


async def _complete(session: AsyncSession, scope: Scope, rows: Sequence[Any]) -> list[Item]:
    """Items from their rows, with prices and variants fetched for the whole batch at once."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    prices: dict[str, list[Price]] = defaultdict(list)
    for p in await session.execute(
            select(item_prices).where(_in_scope(item_prices, scope), item_prices.c.item_id.in_(ids))
            .order_by(item_prices.c.item_id, item_prices.c.position)):
        prices[p.item_id].append(Price(p.point_type, p.amount))
    own_prices: dict[tuple[str, str], list[Price]] = defaultdict(list)
    for p in await session.execute(
            select(variant_prices).where(_in_scope(variant_prices, scope), variant_prices.c.item_id.in_(ids))
            .order_by(variant_prices.c.item_id, variant_prices.c.variant_id, variant_prices.c.position)):
        own_prices[(p.item_id, p.variant_id)].append(Price(p.point_type, p.amount))
    variants: dict[str, list[Variant]] = defaultdict(list)
    for v in await session.execute(
            select(item_variants).where(_in_scope(item_variants, scope), item_variants.c.item_id.in_(ids))
            .order_by(item_variants.c.item_id, item_variants.c.position)):
        variants[v.item_id].append(Variant(v.id, v.name, v.rounds, tuple(own_prices[(v.item_id, v.id)])))
    return [
        Item(
            id=r.id, name=r.name, status=ItemStatus(r.status), prices=tuple(prices[r.id]),
            fulfillment_strategy=FulfillmentStrategy(r.fulfillment_strategy), description=r.description,
            image_url=r.image_url, available_from=r.available_from, available_until=r.available_until,
            variants=tuple(variants[r.id]), stock=r.stock, per_player_limit=r.per_player_limit,
            targeting=Targeting(r.targeting_private, tuple(r.target_segments), tuple(r.target_countries),
                                r.target_min_level),
            fulfillment_config=r.fulfillment_config, shipping_address_required=r.shipping_address_required,
            customer_info_required=r.customer_info_required, redemption_message=r.redemption_message,
            face_value=r.face_value, face_currency=r.face_currency, created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
