"""Stock movements: the saga's reservations (reserve, release), the dry run of a reservation, and operator
adjustments. Stock and per-player counts change only through conditional statements, so concurrent calls can never
oversell or exceed a limit; the database refuses a negative stock or count on its own (CHECK constraints).

Lock order, to keep concurrent transactions from deadlocking: reservation row, player count, item row. A single
statement takes its locks in the order its CTEs depend on each other, so each statement below chains them so.

Reserve and release are the saga's hot path: SQL text constants on the PgPool (service_kit.pgpool), measured at
~0.065 ms of client CPU a statement against ~0.73 ms for one built per call through SQLAlchemy. A reservation is
decided in memory on the item's cached definition (definitions.py) and then written by one statement on its own
(autocommit): one round trip, where reading the item, its children and the count first took eleven.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog_service import events, repository
from catalog_service.definitions import Definition, ItemDefinitions
from catalog_service.domain import (
    MAX_STOCK,
    Eligibility,
    Item,
    ItemStatus,
    Offer,
    Player,
    Reservation,
    choose_offer,
    invalid,
    remaining_allowance,
    snapshot_from_json,
)
from catalog_service.models import items, stock_adjustments
from catalog_service.price_locks import PriceLock, lock_for_reservation

# The reservation, in the lock order: the saga's row (a saga reserved before, or released, conflicts: nothing more
# is written), then the player's count below the limit ($11, 0 for none), then a unit of the item's stock, only
# while the item is still at the revision it was decided on ($12), active, and has stock (or none is counted).
# Each step runs only after the one before it succeeded. The unit taken writes the tenants' events of a crossing of
# the item's low-stock threshold ($13: LOW_STOCK_THRESHOLD, for an item without its own) or of its last unit
# (events.py), in the same statement. A step that takes nothing after the reservation was held makes the statement
# raise (reservation_not_taken(), SQLSTATE RW001, migration 0003), which undoes the rows the
# steps before it wrote: the statement runs on its own, one round trip, with no BEGIN and COMMIT around it.
_RESERVE = """
WITH held AS (
    INSERT INTO reservations (tenant_id, environment, saga_id, item_id, variant_id, player_id, point_type, price,
                              stock_counted, state, snapshot)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'held', $10::text::jsonb)
    ON CONFLICT DO NOTHING
    RETURNING saga_id
), counted AS (
    INSERT INTO player_counts AS c (tenant_id, environment, item_id, player_id, count)
    SELECT $1, $2, $4, $6, 1 FROM held
    ON CONFLICT (tenant_id, environment, item_id, player_id)
    DO UPDATE SET count = c.count + 1 WHERE $11 = 0 OR c.count < $11
    RETURNING c.count
), taken AS (
    UPDATE items SET stock = stock - 1
     WHERE tenant_id = $1 AND environment = $2 AND id = $4 AND revision = $12 AND status = 'active'
       AND (stock IS NOT NULL) = $9 AND (stock IS NULL OR stock >= 1)
       AND EXISTS (SELECT FROM counted)
    RETURNING tenant_id, environment, id, stock, coalesce(low_stock_threshold, $13) AS threshold
), """ + events.reservation_events("taken", "$3::text") + """
SELECT EXISTS (SELECT FROM held) AS held, (SELECT stock FROM taken) AS stock,
       EXISTS (SELECT FROM stock_low) OR EXISTS (SELECT FROM out_of_stock) AS told,
       CASE WHEN EXISTS (SELECT FROM held) AND NOT EXISTS (SELECT FROM taken) THEN reservation_not_taken() END
         AS refused"""
_NOT_TAKEN_SQLSTATE = "RW001"

# The reservation of a quote (price_locks.py): _RESERVE, then, last in the lock order, the price lock ($14) claimed
# for the saga while it is the player's, for the item, unexpired and held by no saga; a lock not claimed undoes
# the rest as a unit not taken does. Only a redeem that names a quote runs it.
_RESERVE_QUOTED = """
WITH held AS (
    INSERT INTO reservations (tenant_id, environment, saga_id, item_id, variant_id, player_id, point_type, price,
                              stock_counted, state, snapshot)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'held', $10::text::jsonb)
    ON CONFLICT DO NOTHING
    RETURNING saga_id
), counted AS (
    INSERT INTO player_counts AS c (tenant_id, environment, item_id, player_id, count)
    SELECT $1, $2, $4, $6, 1 FROM held
    ON CONFLICT (tenant_id, environment, item_id, player_id)
    DO UPDATE SET count = c.count + 1 WHERE $11 = 0 OR c.count < $11
    RETURNING c.count
), taken AS (
    UPDATE items SET stock = stock - 1
     WHERE tenant_id = $1 AND environment = $2 AND id = $4 AND revision = $12 AND status = 'active'
       AND (stock IS NOT NULL) = $9 AND (stock IS NULL OR stock >= 1)
       AND EXISTS (SELECT FROM counted)
    RETURNING tenant_id, environment, id, stock, coalesce(low_stock_threshold, $13) AS threshold
), """ + events.reservation_events("taken", "$3::text") + """, claimed AS (
    UPDATE price_locks SET saga_id = $3
     WHERE tenant_id = $1 AND environment = $2 AND id = $14 AND player_id = $6 AND item_id = $4
       AND saga_id IS NULL AND expires_at > now() AND EXISTS (SELECT FROM taken)
    RETURNING id
)
SELECT EXISTS (SELECT FROM held) AS held, (SELECT stock FROM taken) AS stock,
       EXISTS (SELECT FROM stock_low) OR EXISTS (SELECT FROM out_of_stock) AS told,
       CASE WHEN EXISTS (SELECT FROM held) AND NOT EXISTS (SELECT FROM claimed) THEN reservation_not_taken() END
         AS refused"""

# A saga's reservation, for a retry's answer, with the item's stock of today.
_REPLAY = """
SELECT r.state, r.item_id, r.player_id, r.snapshot,
       (SELECT i.stock FROM items i
         WHERE i.tenant_id = r.tenant_id AND i.environment = r.environment AND i.id = r.item_id) AS stock
  FROM reservations r
 WHERE r.tenant_id = $1 AND r.environment = $2 AND r.saga_id = $3"""

# The release, in the lock order: the held reservation, then the player's count, then (when the reservation took
# one) the unit of stock; an item made unlimited since keeps its NULL stock. A saga with no reservation gets a
# released row with no item, a tombstone, so that a reservation of it still in flight is refused when it lands.
# `released_before` is what the statement's snapshot saw: a saga already released. The released row is read as a
# scalar subquery, not joined: a join let the planner scan every count of the tenant, filtering on the player.
_RELEASE = """
WITH released AS (
    UPDATE reservations SET state = 'released', released_at = now(), release_reason = $4
     WHERE tenant_id = $1 AND environment = $2 AND saga_id = $3 AND state = 'held'
    RETURNING item_id, player_id, stock_counted
), uncounted AS (
    UPDATE player_counts SET count = count - 1
     WHERE tenant_id = $1 AND environment = $2 AND (item_id, player_id) = (SELECT item_id, player_id FROM released)
       AND count > 0
    RETURNING count
), restocked AS (
    UPDATE items SET stock = stock + 1
     WHERE tenant_id = $1 AND environment = $2 AND id = (SELECT item_id FROM released WHERE stock_counted)
       AND stock IS NOT NULL
       -- Always true; it makes the count's update run first, so the count is locked before the item row.
       AND (SELECT count(*) FROM uncounted) >= 0
), tombstone AS (
    INSERT INTO reservations (tenant_id, environment, saga_id, state, released_at, release_reason)
    SELECT $1, $2, $3, 'released', now(), $4 WHERE NOT EXISTS (SELECT FROM released)
    ON CONFLICT DO NOTHING
    RETURNING saga_id
), unlocked AS (
    -- A quote's price lock held by the saga is given back (price_locks.py); read by nothing, it runs last, after
    -- the item's row, in the lock order. An index scan that finds nothing for a saga without a quote.
    UPDATE price_locks SET saga_id = NULL
     WHERE tenant_id = $1 AND environment = $2 AND saga_id = $3 AND EXISTS (SELECT FROM released)
)
SELECT EXISTS (SELECT FROM released) AS released, EXISTS (SELECT FROM tombstone) AS tombstoned,
       EXISTS (SELECT FROM reservations
                WHERE tenant_id = $1 AND environment = $2 AND saga_id = $3 AND state = 'released') AS released_before"""

log = logging.getLogger("catalog_service.stock")

# LOW_STOCK_THRESHOLD's default (config.py), for callers that do not give it.
DEFAULT_LOW_STOCK = 10


def _nothing() -> None:
    pass


# Decisions and writes that can each be overtaken by a concurrent change (the definition, the last unit of
# stock, the player's count) are retried this often on fresh reads before the call gives up as UNAVAILABLE.
_ATTEMPTS = 3


class _Claimed(Exception):
    """The saga id or idempotency key was taken by a concurrent call that committed first."""


class _NotTaken(Exception):
    """The reservation's write found the limit reached, no stock left or the definition changed: roll back."""


async def _replay(pool: PgPool, scope: Scope, saga_id: str, item_id: str, player_id: str) -> Reservation | None:
    """The answer to a retried reservation, or None when the saga has no reservation."""
    row = await pool.fetchrow(_REPLAY, scope.tenant_id, scope.environment, saga_id)
    if row is None:
        return None
    if row["state"] == "released":
        raise invalid(f"saga already released: saga {saga_id} was released or compensated, it cannot reserve")
    if row["item_id"] != item_id or row["player_id"] != player_id:
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                          f"saga {saga_id} already reserved item {row['item_id']} for another request")
    item, offer = snapshot_from_json(row["snapshot"])
    return Reservation(saga_id, replace(item, stock=row["stock"]), offer.variant, offer.price, already_reserved=True)


async def reserve_stock(pool: PgPool, definitions: ItemDefinitions, scope: Scope, *, saga_id: str, item_id: str,
                        player: Player, variant_id: str = "", rounds: int = 0, point_type: str = "",
                        has_shipping_address: bool = False, has_customer_info: bool = False,
                        price_lock: PriceLock | None = None, low_stock_threshold: int = DEFAULT_LOW_STOCK,
                        events_written: Callable[[], None] = _nothing) -> Reservation:
    """Takes a unit of the item (and of the player's allowance) for the saga, or refuses with the first check
    that fails (domain.choose_offer's order). Idempotent on saga_id: a retry answers the stored snapshot.
    With a price lock (price_locks.lock_for_reservation checked it), its variant and point type are chosen and
    its price is paid, and the reservation's statement claims it. A unit taken that crosses the item's low-stock
    threshold (its own, else low_stock_threshold) writes its events, and then calls events_written."""
    if price_lock is not None:
        variant_id, rounds, point_type = price_lock.variant_id, 0, price_lock.point_type

    def offer_of(item: Item, redeemed_count: int) -> Offer:
        offer = choose_offer(item, player=player, redeemed_count=redeemed_count, now=datetime.now(UTC),
                             variant_id=variant_id, rounds=rounds, point_type=point_type,
                             has_shipping_address=has_shipping_address, has_customer_info=has_customer_info)
        if price_lock is not None:
            offer = replace(offer, price=replace(offer.price, amount=price_lock.price))
        return offer

    # The fast way: the cached definition passes every check but the two only the write can know (the count is
    # taken as 0, the stock as unlimited: the write enforces both). Any refusal is decided again on fresh reads,
    # which also give the refusals their order (a reached limit before targeting, a replay before everything).
    definition = definitions.get(scope, item_id)
    offer: Offer | None = None
    if definition is not None:
        try:
            offer = offer_of(definition.item, 0)
        except DomainError:
            pass   # decided below, on fresh reads
    for _ in range(_ATTEMPTS):
        if definition is None or offer is None:
            stored = await repository.item_for_player(pool, scope, item_id, player.player_id)
            try:
                if stored is None:
                    raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
                fresh = definitions.remember(scope, stored.item, stored.revision)
                definition, offer = fresh, offer_of(stored.item, stored.redeemed_count)
            except DomainError:
                # A retry of a reservation that landed is answered whatever the item has become.
                replayed = await _replay(pool, scope, saga_id, item_id, player.player_id)
                if replayed is not None:
                    return replayed
                raise
        try:
            reservation, told = await _take(pool, scope, saga_id, player, definition, offer, price_lock,
                                            low_stock_threshold)
            if told:
                log.info("stock level told", extra={"item_id": item_id, "stock": reservation.item.stock,
                                                     "saga_id": saga_id})
                events_written()
            return reservation
        except _Claimed:
            # A concurrent call with the same saga id (or a release's tombstone) committed first.
            replayed = await _replay(pool, scope, saga_id, item_id, player.player_id)
            if replayed is None:  # pragma: no cover - the conflicting row is committed, it cannot vanish
                raise DomainError(ErrorCode.UNAVAILABLE, "reservation conflict, retry") from None
            return replayed
        except _NotTaken:
            definition = offer = None   # decide again on fresh reads: the refusal, or a retry that takes
            if price_lock is not None:
                # The lock may be what was not taken (another saga holds it now, or it just expired).
                price_lock = await lock_for_reservation(
                    pool, scope, price_lock.id, saga_id=saga_id, player_id=player.player_id, item_id=item_id,
                    variant_id=price_lock.variant_id, point_type=price_lock.point_type)
    raise DomainError(ErrorCode.UNAVAILABLE, f"item {item_id} kept changing during the reservation; try again",
                      {"retry_after_seconds": "1"})


async def _take(pool: PgPool, scope: Scope, saga_id: str, player: Player, definition: Definition,
                offer: Offer, price_lock: PriceLock | None, low_stock_threshold: int) -> tuple[Reservation, bool]:
    """The reservation, and whether its statement wrote an event (a threshold crossed)."""
    item = definition.item
    args = (scope.tenant_id, scope.environment, saga_id, item.id, offer.variant.id if offer.variant else None,
            player.player_id, offer.price.point_type, offer.price.amount, definition.stock_counted,
            definition.snapshot(offer), item.per_player_limit, definition.revision, low_stock_threshold)
    try:
        if price_lock is None:
            row = await pool.fetchrow(_RESERVE, *args)
        else:
            row = await pool.fetchrow(_RESERVE_QUOTED, *args, price_lock.id)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == _NOT_TAKEN_SQLSTATE:
            raise _NotTaken() from None   # the statement undid the reservation row and the count it wrote
        raise
    if not row["held"]:
        raise _Claimed()
    return Reservation(saga_id, replace(item, stock=row["stock"]), offer.variant, offer.price,
                       already_reserved=False), row["told"]


async def release_stock(pool: PgPool, scope: Scope, *, saga_id: str, reason: str) -> bool:
    """Gives back what the saga's reservation held; False when nothing was held. A saga never seen gets a
    tombstone, so that its reservation, if it is still in flight, is refused when it lands."""
    for _ in range(2):
        row = await pool.fetchrow(_RELEASE, scope.tenant_id, scope.environment, saga_id, reason)
        if row["released"]:
            return True
        if row["tombstoned"] or row["released_before"]:
            return False
        # The tombstone met a reservation in flight and waited for it to commit: a new statement sees it held.
    return False


async def check_eligibility(pool: PgPool, definitions: ItemDefinitions, scope: Scope, *, item_id: str,
                            player: Player, variant_id: str = "", rounds: int = 0, point_type: str = "",
                            has_shipping_address: bool = False, has_customer_info: bool = False,
                            skip_required_fields: bool = False) -> Eligibility:
    """ReserveStock's checks, changing nothing; a refusal is reported as the reason, not raised. One round trip;
    the definition read is kept for the reservation that usually follows a quote."""
    stored = await repository.item_for_player(pool, scope, item_id, player.player_id)
    if stored is None:
        return Eligibility(False, ErrorCode.ITEM_NOT_FOUND.value, None, None, -1)
    definitions.remember(scope, stored.item, stored.revision)
    item, count = stored.item, stored.redeemed_count
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
                       idempotency_key: str, reason: str, low_stock_threshold: int = DEFAULT_LOW_STOCK) -> Item:
    """Adds delta to a counted item's stock once per idempotency key; never below zero. An adjustment that
    crosses the item's low-stock threshold (its own, else low_stock_threshold) or takes the last unit writes
    its events in its transaction."""
    try:
        async with sessions.begin() as session:
            if await _adjustment_replayed(session, scope, idempotency_key, item_id, delta):
                return await _current(session, scope, item_id)
            moved = (await session.execute(
                update(items)
                .where(items.c.tenant_id == scope.tenant_id, items.c.environment == scope.environment,
                       items.c.id == item_id, items.c.status != ItemStatus.DELETED.value,
                       items.c.stock.is_not(None), items.c.stock + delta >= 0, items.c.stock + delta <= MAX_STOCK)
                # A new revision: updated_at, which cached definitions carry, changes.
                .values(stock=items.c.stock + delta, updated_at=func.now(), revision=items.c.revision + 1)
                .returning(items.c.stock, items.c.low_stock_threshold))).first()
            if moved is None:
                raise await _adjustment_refusal(session, scope, item_id, delta)
            stock_after = moved.stock
            threshold = moved.low_stock_threshold if moved.low_stock_threshold is not None else low_stock_threshold
            await events.add_adjustment_events(session, scope, item_id=item_id, before=stock_after - delta,
                                               after=stock_after, threshold=threshold,
                                               idempotency_key=idempotency_key)
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
