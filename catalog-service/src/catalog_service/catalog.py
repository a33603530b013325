"""The catalog's use cases, one method per RPC: each opens the transaction or picks the pool, asks the repository
for rows, lets the domain decide, and writes through the repository. No SQL here (repository.py), no proto
(grpc_api.py).

The hot path (reads, reserve, release) runs on `pool`; the operators' writes (create, update, archive, adjust) on
`sessions`. A reservation is decided in memory on the item's cached definition (definitions.py) and then written by
one statement on its own (autocommit): one round trip, where reading the item, its children and the count first
took eleven.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from service_kit.errors import DomainError, ErrorCode
from service_kit.failpoints import failpoint
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog_service import repository
from catalog_service.definitions import Definition, ItemDefinitions
from catalog_service.domain import (
    MAX_STOCK,
    Eligibility,
    Item,
    ItemStatus,
    Offer,
    Player,
    PriceLock,
    Reservation,
    apply_update,
    choose_offer,
    invalid,
    is_lock_id,
    lock_seconds_of,
    remaining_allowance,
    require_lock_id_length,
    require_sandbox_outcome_in_sandbox,
    snapshot_from_json,
    usable_price_lock,
    validate_item,
    visible_to,
)
from catalog_service.repository import Claimed, NotTaken, StoredItem

log = logging.getLogger("catalog_service.stock")   # the name its log lines were always searched by

# LOW_STOCK_THRESHOLD's default (config.py), for callers that do not give it.
DEFAULT_LOW_STOCK = 10

# Decisions and writes that can each be overtaken by a concurrent change (the definition, the last unit of
# stock, the player's count) are retried this often on fresh reads before the call gives up as UNAVAILABLE.
_ATTEMPTS = 3


def _nothing() -> None:
    pass


@dataclass(frozen=True, slots=True)
class Quote:
    """CheckEligibility's answer: the eligibility, and the price lock it took (empty id: none)."""

    eligibility: Eligibility
    price_lock_id: str = ""
    price_lock_expires_at: datetime | None = None


class Catalog:
    """low_stock_threshold: LOW_STOCK_THRESHOLD, for the items without their own; events_written: wakes the
    relay after a reservation that wrote a tenant's event (events.py)."""

    def __init__(self, sessions: async_sessionmaker, pool: PgPool, *, low_stock_threshold: int = DEFAULT_LOW_STOCK,
                 events_written: Callable[[], None] = _nothing) -> None:
        self.sessions = sessions
        self.pool = pool
        self.definitions = ItemDefinitions()
        self.low_stock_threshold = low_stock_threshold
        self.events_written = events_written

    # --- the operators' writes ------------------------------------------------------------------------------

    async def create_item(self, scope: Scope, item: Item) -> Item:
        item = validate_item(item)
        require_sandbox_outcome_in_sandbox(scope.environment, item)
        if item.status is ItemStatus.DELETED:
            raise invalid("an item cannot be created deleted")
        async with self.sessions.begin() as session:
            return await repository.create_item(session, scope, item)

    async def update_item(self, scope: Scope, item_id: str, patch_of: Callable[[Item], Item], update_mask: list[str],
                          unlimited_stock: bool) -> Item:
        """patch_of: the request's item, its unspecified enums taken from the current item."""
        async with self.sessions.begin() as session:
            current = await repository.load_item(session, scope, item_id, lock=True)
            if current is None or current.status is ItemStatus.DELETED:
                raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
            updated = validate_item(apply_update(current, patch_of(current), update_mask, unlimited_stock))
            require_sandbox_outcome_in_sandbox(scope.environment, updated)
            saved = await repository.replace_item(session, scope, updated, stock_changed=updated.stock != current.stock)
        self.definitions.forget(scope, item_id)
        return saved

    async def archive_item(self, scope: Scope, item_id: str) -> Item:
        async with self.sessions.begin() as session:
            item = await repository.archive_item(session, scope, item_id)
        self.definitions.forget(scope, item_id)
        return item

    async def adjust_stock(self, scope: Scope, *, item_id: str, delta: int, idempotency_key: str,
                           reason: str) -> Item:
        """Adds delta to a counted item's stock once per idempotency key; never below zero. An adjustment that
        crosses the item's low-stock threshold (its own, else low_stock_threshold) or takes the last unit writes
        its events in its transaction."""
        item = await self._adjust_stock(scope, item_id, delta, idempotency_key, reason)
        self.definitions.forget(scope, item.id)
        return item

    async def _adjust_stock(self, scope: Scope, item_id: str, delta: int, idempotency_key: str, reason: str) -> Item:
        try:
            async with self.sessions.begin() as session:
                if await _adjustment_replayed(session, scope, idempotency_key, item_id, delta):
                    return await _current(session, scope, item_id)
                moved = await repository.move_stock(session, scope, item_id, delta)
                if moved is None:
                    raise await _adjustment_refusal(session, scope, item_id, delta)
                stock_after, own_threshold = moved
                threshold = own_threshold if own_threshold is not None else self.low_stock_threshold
                await repository.add_adjustment_events(session, scope, item_id=item_id, before=stock_after - delta,
                                                       after=stock_after, threshold=threshold,
                                                       idempotency_key=idempotency_key)
                if not await repository.record_adjustment(session, scope, idempotency_key=idempotency_key,
                                                          item_id=item_id, delta=delta, stock_after=stock_after,
                                                          reason=reason):
                    raise Claimed()  # rolls the stock change back: the concurrent call with this key applied it
                return await _current(session, scope, item_id)
        except Claimed:
            async with self.sessions() as session:
                await _adjustment_replayed(session, scope, idempotency_key, item_id, delta)
                return await _current(session, scope, item_id)

    # --- the reads ------------------------------------------------------------------------------------------

    async def get_item(self, scope: Scope, item_id: str, player: Player | None) -> StoredItem:
        """The item as `player` may see it (None: an operator, who sees every item not deleted)."""
        stored = await repository.item_for_player(self.pool, scope, item_id, player.player_id if player else "")
        item = stored.item if stored is not None else None
        if player is None:
            visible = item is not None and item.status is not ItemStatus.DELETED
        else:
            visible = item is not None and visible_to(item, player, datetime.now(UTC))
        if stored is None or not visible:
            raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
        self.definitions.remember(scope, stored.item, stored.revision)
        return stored

    async def list_items(self, scope: Scope, *, player: Player | None, after_id: str | None,
                         limit: int) -> list[Item]:
        return await repository.list_items(self.pool, scope, player=player, now=datetime.now(UTC),
                                           after_id=after_id, limit=limit)

    async def check_eligibility(self, scope: Scope, *, item_id: str, player: Player, variant_id: str = "",
                                rounds: int = 0, point_type: str = "", has_shipping_address: bool = False,
                                has_customer_info: bool = False, skip_required_fields: bool = False,
                                lock_price_seconds: int = 0) -> Quote:
        """ReserveStock's checks, changing nothing; a refusal is reported as the reason, not raised. One round
        trip; the definition read is kept for the reservation that usually follows a quote. With
        lock_price_seconds, an eligible offer's price is locked for the player (capped at a day): one more."""
        result = await self._eligibility(scope, item_id, player, variant_id, rounds, point_type,
                                         has_shipping_address, has_customer_info, skip_required_fields)
        if lock_price_seconds < 0:
            raise invalid("lock_price_seconds may not be negative")
        if not (lock_price_seconds and result.eligible and result.offer is not None):
            return Quote(result)
        offer = result.offer
        lock_id = str(uuid.uuid4())
        expires_at = await repository.insert_price_lock(
            self.pool, scope, lock_id=lock_id, player_id=player.player_id, item_id=item_id,
            variant_id=offer.variant.id if offer.variant else "", price=offer.price,
            seconds=lock_seconds_of(lock_price_seconds))
        return Quote(result, lock_id, expires_at)

    async def _eligibility(self, scope: Scope, item_id: str, player: Player, variant_id: str, rounds: int,
                           point_type: str, has_shipping_address: bool, has_customer_info: bool,
                           skip_required_fields: bool) -> Eligibility:
        stored = await repository.item_for_player(self.pool, scope, item_id, player.player_id)
        if stored is None:
            return Eligibility(False, ErrorCode.ITEM_NOT_FOUND.value, None, None, -1)
        self.definitions.remember(scope, stored.item, stored.revision)
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

    # --- the saga's reservations ----------------------------------------------------------------------------

    async def reserve_stock(self, scope: Scope, *, saga_id: str, item_id: str, player: Player, variant_id: str = "",
                            rounds: int = 0, point_type: str = "", has_shipping_address: bool = False,
                            has_customer_info: bool = False, price_lock_id: str = "") -> Reservation:
        """Takes a unit of the item (and of the player's allowance) for the saga, or refuses with the first check
        that fails (domain.choose_offer's order). Idempotent on saga_id: a retry answers the stored snapshot.
        With a quote's price lock (read first: a redeem without one reads nothing more), its variant and point type
        are chosen and its price is paid, and the reservation's statement claims it. A unit taken that crosses the
        item's low-stock threshold (its own, else low_stock_threshold) writes its events, and then calls
        events_written."""
        price_lock = None
        if price_lock_id:
            price_lock = await self._price_lock(scope, price_lock_id, saga_id=saga_id, player_id=player.player_id,
                                                item_id=item_id, variant_id=variant_id, point_type=point_type)
        reservation = await self._reserve(scope, saga_id, item_id, player, variant_id, rounds, point_type,
                                          has_shipping_address, has_customer_info, price_lock)
        failpoint("catalog.after_reserve_commit")
        return reservation

    async def _price_lock(self, scope: Scope, lock_id: str, *, saga_id: str, player_id: str, item_id: str,
                          variant_id: str, point_type: str) -> PriceLock:
        require_lock_id_length(lock_id)
        lock = await repository.read_price_lock(self.pool, scope, lock_id) if is_lock_id(lock_id) else None
        return usable_price_lock(lock, lock_id, saga_id=saga_id, player_id=player_id, item_id=item_id,
                                 variant_id=variant_id, point_type=point_type)

    async def _reserve(self, scope: Scope, saga_id: str, item_id: str, player: Player, variant_id: str, rounds: int,
                       point_type: str, has_shipping_address: bool, has_customer_info: bool,
                       price_lock: PriceLock | None) -> Reservation:
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
        definition = self.definitions.get(scope, item_id)
        offer: Offer | None = None
        if definition is not None:
            try:
                offer = offer_of(definition.item, 0)
            except DomainError:
                pass   # decided below, on fresh reads
        for _ in range(_ATTEMPTS):
            if definition is None or offer is None:
                stored = await repository.item_for_player(self.pool, scope, item_id, player.player_id)
                try:
                    if stored is None:
                        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
                    fresh = self.definitions.remember(scope, stored.item, stored.revision)
                    definition, offer = fresh, offer_of(stored.item, stored.redeemed_count)
                except DomainError:
                    # A retry of a reservation that landed is answered whatever the item has become.
                    replayed = await self._replay(scope, saga_id, item_id, player.player_id)
                    if replayed is not None:
                        return replayed
                    raise
            try:
                reservation, told = await self._take(scope, saga_id, player, definition, offer, price_lock)
                if told:
                    log.info("stock level told", extra={"item_id": item_id, "stock": reservation.item.stock,
                                                         "saga_id": saga_id})
                    self.events_written()
                return reservation
            except Claimed:
                # A concurrent call with the same saga id (or a release's tombstone) committed first.
                replayed = await self._replay(scope, saga_id, item_id, player.player_id)
                if replayed is None:  # pragma: no cover - the conflicting row is committed, it cannot vanish
                    raise DomainError(ErrorCode.UNAVAILABLE, "reservation conflict, retry") from None
                return replayed
            except NotTaken:
                definition = offer = None   # decide again on fresh reads: the refusal, or a retry that takes
                if price_lock is not None:
                    # The lock may be what was not taken (another saga holds it now, or it just expired).
                    price_lock = await self._price_lock(
                        scope, price_lock.id, saga_id=saga_id, player_id=player.player_id, item_id=item_id,
                        variant_id=price_lock.variant_id, point_type=price_lock.point_type)
        raise DomainError(ErrorCode.UNAVAILABLE, f"item {item_id} kept changing during the reservation; try again",
                          {"retry_after_seconds": "1"})

    async def _take(self, scope: Scope, saga_id: str, player: Player, definition: Definition, offer: Offer,
                    price_lock: PriceLock | None) -> tuple[Reservation, bool]:
        """The reservation, and whether its statement wrote an event (a threshold crossed)."""
        item = definition.item
        taken = await repository.reserve(
            self.pool, scope, saga_id=saga_id, item_id=item.id, variant_id=offer.variant.id if offer.variant else None,
            player_id=player.player_id, price=offer.price, stock_counted=definition.stock_counted,
            snapshot=definition.snapshot(offer), per_player_limit=item.per_player_limit,
            revision=definition.revision, low_stock_threshold=self.low_stock_threshold,
            price_lock_id=price_lock.id if price_lock is not None else None)
        return Reservation(saga_id, replace(item, stock=taken.stock), offer.variant, offer.price,
                           already_reserved=False), taken.told

    async def _replay(self, scope: Scope, saga_id: str, item_id: str, player_id: str) -> Reservation | None:
        """The answer to a retried reservation, or None when the saga has no reservation."""
        stored = await repository.stored_reservation(self.pool, scope, saga_id)
        if stored is None:
            return None
        if stored.state == "released":
            raise invalid(f"saga already released: saga {saga_id} was released or compensated, it cannot reserve")
        if stored.item_id != item_id or stored.player_id != player_id:
            raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                              f"saga {saga_id} already reserved item {stored.item_id} for another request")
        item, offer = snapshot_from_json(stored.snapshot)
        return Reservation(saga_id, replace(item, stock=stored.stock), offer.variant, offer.price,
                           already_reserved=True)

    async def release_stock(self, scope: Scope, *, saga_id: str, reason: str) -> bool:
        """Gives back what the saga's reservation held; False when nothing was held. A saga never seen gets a
        tombstone, so that its reservation, if it is still in flight, is refused when it lands."""
        released = await self._release(scope, saga_id, reason)
        failpoint("catalog.after_release_commit")
        return released

    async def _release(self, scope: Scope, saga_id: str, reason: str) -> bool:
        for _ in range(2):
            outcome = await repository.release(self.pool, scope, saga_id, reason)
            if outcome.released:
                return True
            if outcome.tombstoned or outcome.released_before:
                return False
            # The tombstone met a reservation in flight and waited for it to commit: a new statement sees it held.
        return False


async def _current(session: AsyncSession, scope: Scope, item_id: str) -> Item:
    item = await repository.load_item(session, scope, item_id)
    if item is None:  # pragma: no cover - items are never deleted from the table
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
    return item


async def _adjustment_replayed(session: AsyncSession, scope: Scope, key: str, item_id: str, delta: int) -> bool:
    done = await repository.adjustment_of(session, scope, key)
    if done is None:
        return False
    if done.item_id != item_id or done.delta != delta:
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                          f"idempotency key {key!r} was used for another adjustment ({done.delta:+d} on {done.item_id})")
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
