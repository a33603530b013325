"""Storing and reading items: the items row with its prices, variants and variant prices, and the listing
queries. Stock movements and reservations live in stock.py.

The read routes (GetItem, ListItems, CheckEligibility, a reservation deciding afresh) are the hot path: each is one
SQL text constant run on the PgPool, which reads the items with their prices and variants aggregated as JSON in the
same statement (one round trip for a page of 50 items, where reading the children took three more). The
operators' writes stay on SQLAlchemy; each bumps the item's revision (definitions.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool, Record
from service_kit.scope import Scope
from sqlalchemy import ColumnElement, and_, case, delete, func, select, update
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
from catalog_service.models import item_prices, item_variants, items, variant_prices

# An item's row with its prices ([point_type, amount], by position) and its variants ([id, name, rounds,
# prices], by position) as JSON arrays: the whole item in one row. Every lookup is by a primary key's prefix.
_ITEM = """
    i.id, i.name, i.description, i.image_url, i.status, i.available_from, i.available_until, i.stock,
    i.per_player_limit, i.targeting_private, i.target_segments, i.target_countries, i.target_min_level,
    i.fulfillment_strategy, i.fulfillment_config, i.shipping_address_required, i.customer_info_required,
    i.redemption_message, i.face_value, i.face_currency, i.created_at, i.updated_at, i.revision,
    i.low_stock_threshold,
    (SELECT coalesce(json_agg(json_build_array(p.point_type, p.amount) ORDER BY p.position), '[]')
       FROM item_prices p
      WHERE p.tenant_id = i.tenant_id AND p.environment = i.environment AND p.item_id = i.id) AS prices,
    (SELECT coalesce(json_agg(json_build_array(v.id, v.name, v.rounds, (
              SELECT coalesce(json_agg(json_build_array(vp.point_type, vp.amount) ORDER BY vp.position), '[]')
                FROM variant_prices vp
               WHERE vp.tenant_id = v.tenant_id AND vp.environment = v.environment AND vp.item_id = v.item_id
                 AND vp.variant_id = v.id)) ORDER BY v.position), '[]')
       FROM item_variants v
      WHERE v.tenant_id = i.tenant_id AND v.environment = i.environment AND v.item_id = i.id) AS variants"""

# $1 tenant, $2 environment, $3 item id, $4 player id ('' for none: no player has an empty id).
ITEM_FOR_PLAYER = f"""
SELECT {_ITEM},
       (SELECT c.count FROM player_counts c
         WHERE c.tenant_id = i.tenant_id AND c.environment = i.environment AND c.item_id = i.id
           AND c.player_id = $4) AS redeemed_count
  FROM items i
 WHERE i.tenant_id = $1 AND i.environment = $2 AND i.id = $3"""

# Pages in id order ("C" collation) after $3 ('' for the first page: every id is longer); $4 rows at most.
LIST_FOR_OPERATORS = f"""
SELECT {_ITEM}
  FROM items i
 WHERE i.tenant_id = $1 AND i.environment = $2 AND i.id > $3 AND i.status <> 'deleted'
 ORDER BY i.id
 LIMIT $4"""

# What a player may redeem at $5: domain.visible_to in SQL, so that pages stay full. $6 the player's segments,
# $7 their country (upper case), $8 their level.
LIST_FOR_PLAYER = f"""
SELECT {_ITEM}
  FROM items i
 WHERE i.tenant_id = $1 AND i.environment = $2 AND i.id > $3 AND i.status = 'active'
   AND (i.available_from IS NULL OR i.available_from <= $5)
   AND (i.available_until IS NULL OR i.available_until > $5)
   AND (cardinality(i.target_segments) = 0 OR i.target_segments && $6::varchar[])
   AND (cardinality(i.target_countries) = 0 OR i.target_countries @> ARRAY[$7::varchar])
   AND i.target_min_level <= $8
 ORDER BY i.id
 LIMIT $4"""


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as read, with its revision and how many of it the player asked about holds (0 for none)."""

    item: Item
    revision: int
    redeemed_count: int


def _prices_of(raw: list[list[Any]]) -> tuple[Price, ...]:
    return tuple(Price(point_type, amount) for point_type, amount in raw)


def item_of(r: Record) -> Item:
    """The item of a row read with _ITEM's columns."""
    return Item(
        id=r["id"], name=r["name"], status=ItemStatus(r["status"]), prices=_prices_of(r["prices"]),
        fulfillment_strategy=FulfillmentStrategy(r["fulfillment_strategy"]), description=r["description"],
        image_url=r["image_url"], available_from=r["available_from"], available_until=r["available_until"],
        variants=tuple(Variant(vid, name, rounds, _prices_of(prices)) for vid, name, rounds, prices in r["variants"]),
        stock=r["stock"], per_player_limit=r["per_player_limit"],
        targeting=Targeting(r["targeting_private"], tuple(r["target_segments"]), tuple(r["target_countries"]),
                            r["target_min_level"]),
        fulfillment_config=r["fulfillment_config"], shipping_address_required=r["shipping_address_required"],
        customer_info_required=r["customer_info_required"], redemption_message=r["redemption_message"],
        face_value=r["face_value"], face_currency=r["face_currency"], created_at=r["created_at"],
        updated_at=r["updated_at"], low_stock_threshold=r["low_stock_threshold"],
    )


async def item_for_player(pool: PgPool, scope: Scope, item_id: str, player_id: str = "") -> StoredItem | None:
    """The item (deleted or not) with its revision and the player's count, in one round trip."""
    row = await pool.fetchrow(ITEM_FOR_PLAYER, scope.tenant_id, scope.environment, item_id, player_id)
    if row is None:
        return None
    return StoredItem(item_of(row), row["revision"], row["redeemed_count"] or 0)


async def list_items(pool: PgPool, scope: Scope, *, player: Player | None, now: datetime, after_id: str | None,
                     limit: int) -> list[Item]:
    """Up to limit items ordered by id, after after_id. With a player: only what they may redeem now (the
    same rule as domain.visible_to); without: every item not deleted."""
    if player is None:
        rows = await pool.fetch(LIST_FOR_OPERATORS, scope.tenant_id, scope.environment, after_id or "", limit)
    else:
        rows = await pool.fetch(LIST_FOR_PLAYER, scope.tenant_id, scope.environment, after_id or "", limit, now,
                                list(player.segments), player.country.upper(), player.level)
    return [item_of(row) for row in rows]


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
        "low_stock_threshold": item.low_stock_threshold,
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
        update(items).where(_in_scope(items, scope), items.c.id == item.id)
        .values(**values, updated_at=func.now(), revision=items.c.revision + 1))
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
                                else_=func.now()),
                revision=items.c.revision + 1)
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
            updated_at=r.updated_at, low_stock_threshold=r.low_stock_threshold,
        )
        for r in rows
    ]
