"""The CatalogService servicer: proto <-> domain, and one repository or stock call per RPC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf import json_format
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.common.v1 import common_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.failpoints import failpoint
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.validation import optional_text, require_text
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalog_service import price_locks, repository, stock
from catalog_service.definitions import ItemDefinitions
from catalog_service.domain import (
    MAX_IDEMPOTENCY_KEY,
    MAX_REASON,
    MAX_TENANT_ID,
    FulfillmentStrategy,
    Item,
    ItemStatus,
    Offer,
    Player,
    Price,
    Targeting,
    Variant,
    apply_update,
    decode_page_token,
    encode_page_token,
    invalid,
    page_size_of,
    require_id,
    require_player,
    require_saga_id,
    require_stock_delta,
    validate_item,
    visible_to,
)

STATUS_FROM_PROTO = {
    catalog_pb2.ITEM_STATUS_DRAFT: ItemStatus.DRAFT,
    catalog_pb2.ITEM_STATUS_ACTIVE: ItemStatus.ACTIVE,
    catalog_pb2.ITEM_STATUS_INACTIVE: ItemStatus.INACTIVE,
    catalog_pb2.ITEM_STATUS_DELETED: ItemStatus.DELETED,
}
STATUS_TO_PROTO = {v: k for k, v in STATUS_FROM_PROTO.items()}
STRATEGY_FROM_PROTO = {
    catalog_pb2.FULFILLMENT_STRATEGY_CODE_POOL: FulfillmentStrategy.CODE_POOL,
    catalog_pb2.FULFILLMENT_STRATEGY_WEBHOOK: FulfillmentStrategy.WEBHOOK,
    catalog_pb2.FULFILLMENT_STRATEGY_PHYSICAL: FulfillmentStrategy.PHYSICAL,
    catalog_pb2.FULFILLMENT_STRATEGY_BONUS: FulfillmentStrategy.BONUS,
    catalog_pb2.FULFILLMENT_STRATEGY_FREE_ROUNDS: FulfillmentStrategy.FREE_ROUNDS,
    catalog_pb2.FULFILLMENT_STRATEGY_MANUAL: FulfillmentStrategy.MANUAL,
}
STRATEGY_TO_PROTO = {v: k for k, v in STRATEGY_FROM_PROTO.items()}


# --- proto -> domain ----------------------------------------------------------------------------------------

def scope_of(message: common_pb2.Scope) -> Scope:
    scope = Scope.from_proto(message)
    if len(scope.tenant_id) > MAX_TENANT_ID:
        raise invalid(f"scope.tenant_id must be at most {MAX_TENANT_ID} characters")
    return scope


def player_of(message: common_pb2.PlayerContext) -> Player | None:
    """The player a request acts for; None when it names none (an operator)."""
    if not message.player_id:
        return None
    return require_player(Player(message.player_id, tuple(message.segments), message.country, message.level))


def required_player(message: common_pb2.PlayerContext) -> Player:
    player = player_of(message)
    if player is None:
        raise invalid("player.player_id is required")
    return player


def _time(message, field: str) -> datetime | None:  # type: ignore[no-untyped-def]
    return getattr(message, field).ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def _prices(messages) -> tuple[Price, ...]:  # type: ignore[no-untyped-def]
    return tuple(Price(p.point_type, p.amount) for p in messages)


def _status(value: int, default: ItemStatus | None) -> ItemStatus:
    if value == catalog_pb2.ITEM_STATUS_UNSPECIFIED and default is not None:
        return default
    if value not in STATUS_FROM_PROTO:
        raise invalid("status must be draft, active, inactive or deleted")
    return STATUS_FROM_PROTO[value]


def _strategy(value: int, default: FulfillmentStrategy | None) -> FulfillmentStrategy:
    if value == catalog_pb2.FULFILLMENT_STRATEGY_UNSPECIFIED and default is not None:
        return default
    if value not in STRATEGY_FROM_PROTO:
        raise invalid("fulfillment_strategy must be one of code_pool, webhook, physical, bonus, free_rounds, "
                      "manual")
    return STRATEGY_FROM_PROTO[value]


def item_of(message: catalog_pb2.Item, *, status: ItemStatus | None,
            strategy: FulfillmentStrategy | None) -> Item:
    """The domain item a request carries; status and strategy stand in for unspecified enums (None: required)."""
    t = message.targeting
    return Item(
        id=message.id, name=message.name, description=message.description, image_url=message.image_url,
        status=_status(message.status, status), prices=_prices(message.prices),
        fulfillment_strategy=_strategy(message.fulfillment_strategy, strategy),
        available_from=_time(message, "available_from"), available_until=_time(message, "available_until"),
        variants=tuple(Variant(v.id, v.name, v.rounds, _prices(v.prices)) for v in message.variants),
        stock=None if message.unlimited_stock else message.stock, per_player_limit=message.per_player_limit,
        targeting=Targeting(t.private, tuple(t.segments), tuple(t.countries), t.min_level),
        fulfillment_config=json_format.MessageToDict(message.fulfillment_config),
        shipping_address_required=message.shipping_address_required,
        customer_info_required=message.customer_info_required, redemption_message=message.redemption_message,
        face_value=message.face_value, face_currency=message.face_currency,
        low_stock_threshold=(message.low_stock_threshold if message.HasField("low_stock_threshold") else None),
    )


# --- domain -> proto ----------------------------------------------------------------------------------------

def price_proto(price: Price) -> catalog_pb2.Price:
    return catalog_pb2.Price(point_type=price.point_type, amount=price.amount)


def variant_proto(variant: Variant) -> catalog_pb2.Variant:
    return catalog_pb2.Variant(id=variant.id, name=variant.name, rounds=variant.rounds,
                               prices=[price_proto(p) for p in variant.prices])


def item_proto(item: Item) -> catalog_pb2.Item:
    t = item.targeting
    message = catalog_pb2.Item(
        id=item.id, name=item.name, description=item.description, image_url=item.image_url,
        status=STATUS_TO_PROTO[item.status], prices=[price_proto(p) for p in item.prices],
        variants=[variant_proto(v) for v in item.variants], unlimited_stock=item.stock is None,
        stock=item.stock or 0, per_player_limit=item.per_player_limit,
        targeting=catalog_pb2.Targeting(private=t.private, segments=t.segments, countries=t.countries,
                                        min_level=t.min_level),
        fulfillment_strategy=STRATEGY_TO_PROTO[item.fulfillment_strategy],
        shipping_address_required=item.shipping_address_required,
        customer_info_required=item.customer_info_required, redemption_message=item.redemption_message,
        face_value=item.face_value, face_currency=item.face_currency,
    )
    message.fulfillment_config.update(item.fulfillment_config)
    if item.low_stock_threshold is not None:
        message.low_stock_threshold = item.low_stock_threshold
    for field in ("available_from", "available_until", "created_at", "updated_at"):
        value = getattr(item, field)
        if value is not None:
            getattr(message, field).FromDatetime(value)
    return message


def _offer_fields(offer: Offer | None) -> dict:  # type: ignore[type-arg]
    if offer is None:
        return {}
    fields: dict = {"price": price_proto(offer.price)}  # type: ignore[type-arg]
    if offer.variant is not None:
        fields["variant"] = variant_proto(offer.variant)
    return fields


# An item's forced fulfilment outcome (redemption-service's and fulfillment-service's sandbox.py) is for the sandbox.
SANDBOX_OUTCOME_KEY = "sandbox_outcome"


def _sandbox_outcome_in_sandbox_only(scope: Scope, item: Item) -> None:
    if scope.environment != "sandbox" and SANDBOX_OUTCOME_KEY in item.fulfillment_config:
        raise DomainError(ErrorCode.SANDBOX_ONLY,
                          "fulfillment_config.sandbox_outcome (a forced outcome) is for the sandbox only")


class CatalogApi(catalog_pb2_grpc.CatalogServiceServicer):
    """The hot path (reads, ReserveStock, ReleaseStock) runs on `pool`; the operators' writes on `sessions`.
    low_stock_threshold: LOW_STOCK_THRESHOLD, for the items without their own; events_written: wakes the
    relay after a reservation that wrote a tenant's event (events.py)."""

    def __init__(self, sessions: async_sessionmaker, pool: PgPool, *,
                 low_stock_threshold: int = stock.DEFAULT_LOW_STOCK,
                 events_written: Callable[[], None] = lambda: None) -> None:
        self.sessions = sessions
        self.pool = pool
        self.definitions = ItemDefinitions()
        self.low_stock_threshold = low_stock_threshold
        self.events_written = events_written

    async def CreateItem(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        # An item created without a status is for sale at once; without a strategy it is refused.
        item = validate_item(item_of(request.item, status=ItemStatus.ACTIVE, strategy=None))
        _sandbox_outcome_in_sandbox_only(scope, item)
        if item.status is ItemStatus.DELETED:
            raise invalid("an item cannot be created deleted")
        async with self.sessions.begin() as session:
            created = await repository.create_item(session, scope, item)
        return catalog_pb2.CreateItemResponse(item=item_proto(created))

    async def UpdateItem(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item_id = require_id(request.item.id, "item.id")
        async with self.sessions.begin() as session:
            current = await repository.load_item(session, scope, item_id, lock=True)
            if current is None or current.status is ItemStatus.DELETED:
                raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
            # Unspecified enums keep the current values, so a partial Item with an empty mask stays valid.
            patch = item_of(request.item, status=current.status, strategy=current.fulfillment_strategy)
            updated = validate_item(apply_update(current, patch, list(request.update_mask),
                                                 request.item.unlimited_stock))
            _sandbox_outcome_in_sandbox_only(scope, updated)
            saved = await repository.replace_item(session, scope, updated, stock_changed=updated.stock != current.stock)
        self.definitions.forget(scope, item_id)
        return catalog_pb2.UpdateItemResponse(item=item_proto(saved))

    async def ArchiveItem(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item_id = require_id(request.item_id)
        async with self.sessions.begin() as session:
            item = await repository.archive_item(session, scope, item_id)
        self.definitions.forget(scope, item_id)
        return catalog_pb2.ArchiveItemResponse(item=item_proto(item))

    async def AdjustStock(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item = await stock.adjust_stock(
            self.sessions, scope, item_id=require_id(request.item_id), delta=require_stock_delta(request.delta),
            idempotency_key=require_text(request.idempotency_key, "idempotency_key", MAX_IDEMPOTENCY_KEY),
            reason=optional_text(request.reason, "reason", MAX_REASON),
            low_stock_threshold=self.low_stock_threshold)
        self.definitions.forget(scope, item.id)
        return catalog_pb2.AdjustStockResponse(item=item_proto(item))

    async def GetItem(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item_id = require_id(request.item_id)
        player = player_of(request.player)
        stored = await repository.item_for_player(self.pool, scope, item_id, player.player_id if player else "")
        item = stored.item if stored is not None else None
        if player is None:
            visible = item is not None and item.status is not ItemStatus.DELETED
        else:
            visible = item is not None and visible_to(item, player, datetime.now(UTC))
        if stored is None or not visible:
            raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id!r}")
        self.definitions.remember(scope, stored.item, stored.revision)
        return catalog_pb2.GetItemResponse(item=item_proto(stored.item), player_redeemed_count=stored.redeemed_count)

    async def ListItems(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        size = page_size_of(request.page_size)
        after_id = decode_page_token(request.page_token, request.player.player_id)
        page = await repository.list_items(self.pool, scope, player=player_of(request.player),
                                           now=datetime.now(UTC), after_id=after_id, limit=size + 1)
        token = encode_page_token(page[size - 1].id, request.player.player_id) if len(page) > size else ""
        return catalog_pb2.ListItemsResponse(items=[item_proto(i) for i in page[:size]], next_page_token=token)

    async def CheckEligibility(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item_id = require_id(request.item_id)
        player = required_player(request.player)
        result = await stock.check_eligibility(
            self.pool, self.definitions, scope, item_id=item_id, player=player, variant_id=request.variant_id,
            rounds=request.rounds, point_type=request.point_type,
            has_shipping_address=request.has_shipping_address, has_customer_info=request.has_customer_info,
            skip_required_fields=request.skip_required_fields)
        response = catalog_pb2.CheckEligibilityResponse(eligible=result.eligible, reason=result.reason,
                                                        remaining_allowance=result.remaining_allowance,
                                                        **_offer_fields(result.offer))
        if result.item is not None:
            response.item.CopyFrom(item_proto(result.item))
        if request.lock_price_seconds < 0:
            raise invalid("lock_price_seconds may not be negative")
        if request.lock_price_seconds and result.eligible and result.offer is not None:
            lock_id, expires_at = await price_locks.lock_price(
                self.pool, scope, player_id=player.player_id, item_id=item_id, offer=result.offer,
                seconds=request.lock_price_seconds)
            response.price_lock_id = lock_id
            response.price_lock_expires_at.FromDatetime(expires_at)
        return response

    async def ReserveStock(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        saga_id, item_id, player = require_saga_id(request.saga_id), require_id(request.item_id), \
            required_player(request.player)
        price_lock = None
        if request.price_lock_id:   # a quote's redeem; without one nothing more is read
            price_lock = await price_locks.lock_for_reservation(
                self.pool, scope, request.price_lock_id, saga_id=saga_id, player_id=player.player_id,
                item_id=item_id, variant_id=request.variant_id, point_type=request.point_type)
        reservation = await stock.reserve_stock(
            self.pool, self.definitions, scope, saga_id=saga_id, item_id=item_id, player=player,
            variant_id=request.variant_id, rounds=request.rounds, point_type=request.point_type,
            has_shipping_address=request.has_shipping_address, has_customer_info=request.has_customer_info,
            price_lock=price_lock, low_stock_threshold=self.low_stock_threshold,
            events_written=self.events_written)
        failpoint("catalog.after_reserve_commit")
        return catalog_pb2.ReserveStockResponse(
            saga_id=reservation.saga_id, item=item_proto(reservation.item),
            already_reserved=reservation.already_reserved,
            **_offer_fields(Offer(reservation.variant, reservation.price)))

    async def ReleaseStock(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        released = await stock.release_stock(self.pool, scope, saga_id=require_saga_id(request.saga_id),
                                              reason=optional_text(request.reason, "reason", MAX_REASON))
        failpoint("catalog.after_release_commit")
        return catalog_pb2.ReleaseStockResponse(released=released)
