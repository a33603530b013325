"""The CatalogService servicer: proto <-> domain values, and one use case (catalog.py) per RPC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf import json_format
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.common.v1 import common_pb2
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.validation import optional_text, require_text
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalog_service.catalog import DEFAULT_LOW_STOCK, Catalog
from catalog_service.domain import (
    MAX_IDEMPOTENCY_KEY,
    MAX_REASON,
    FulfillmentStrategy,
    Item,
    ItemStatus,
    Offer,
    Player,
    Price,
    Targeting,
    Variant,
    decode_page_token,
    encode_page_token,
    invalid,
    page_size_of,
    require_id,
    require_player,
    require_saga_id,
    require_stock_delta,
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
    return Scope.from_proto(message)   # the tenant bound is checked there, for every service


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


class CatalogApi(catalog_pb2_grpc.CatalogServiceServicer):
    """Each RPC: its request to domain values, the use case (catalog.Catalog), the answer to proto. Refusals are
    DomainErrors, made statuses by the kit's interceptor."""

    def __init__(self, sessions: async_sessionmaker, pool: PgPool, *,
                 low_stock_threshold: int = DEFAULT_LOW_STOCK,
                 events_written: Callable[[], None] = lambda: None) -> None:
        self.catalog = Catalog(sessions, pool, low_stock_threshold=low_stock_threshold,
                               events_written=events_written)

    # The settings tests and the bootstrap may change after construction, kept on the use cases.
    @property
    def low_stock_threshold(self) -> int:
        return self.catalog.low_stock_threshold

    @low_stock_threshold.setter
    def low_stock_threshold(self, value: int) -> None:
        self.catalog.low_stock_threshold = value

    @property
    def events_written(self) -> Callable[[], None]:
        return self.catalog.events_written

    @events_written.setter
    def events_written(self, value: Callable[[], None]) -> None:
        self.catalog.events_written = value

    async def CreateItem(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        # An item created without a status is for sale at once; without a strategy it is refused.
        created = await self.catalog.create_item(scope, item_of(request.item, status=ItemStatus.ACTIVE, strategy=None))
        return catalog_pb2.CreateItemResponse(item=item_proto(created))

    async def UpdateItem(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item_id = require_id(request.item.id, "item.id")

        def patch_of(current: Item) -> Item:
            # Unspecified enums keep the current values, so a partial Item with an empty mask stays valid.
            return item_of(request.item, status=current.status, strategy=current.fulfillment_strategy)

        saved = await self.catalog.update_item(scope, item_id, patch_of, list(request.update_mask),
                                               request.item.unlimited_stock)
        return catalog_pb2.UpdateItemResponse(item=item_proto(saved))

    async def ArchiveItem(self, request, context):  # type: ignore[no-untyped-def]
        item = await self.catalog.archive_item(scope_of(request.scope), require_id(request.item_id))
        return catalog_pb2.ArchiveItemResponse(item=item_proto(item))

    async def AdjustStock(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item = await self.catalog.adjust_stock(
            scope, item_id=require_id(request.item_id), delta=require_stock_delta(request.delta),
            idempotency_key=require_text(request.idempotency_key, "idempotency_key", MAX_IDEMPOTENCY_KEY),
            reason=optional_text(request.reason, "reason", MAX_REASON))
        return catalog_pb2.AdjustStockResponse(item=item_proto(item))

    async def GetItem(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item_id = require_id(request.item_id)
        stored = await self.catalog.get_item(scope, item_id, player_of(request.player))
        return catalog_pb2.GetItemResponse(item=item_proto(stored.item), player_redeemed_count=stored.redeemed_count)

    async def ListItems(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        size = page_size_of(request.page_size)
        after_id = decode_page_token(request.page_token, request.player.player_id)
        page = await self.catalog.list_items(scope, player=player_of(request.player), after_id=after_id,
                                             limit=size + 1)
        token = encode_page_token(page[size - 1].id, request.player.player_id) if len(page) > size else ""
        return catalog_pb2.ListItemsResponse(items=[item_proto(i) for i in page[:size]], next_page_token=token)

    async def CheckEligibility(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        item_id = require_id(request.item_id)
        player = required_player(request.player)
        quote = await self.catalog.check_eligibility(
            scope, item_id=item_id, player=player, variant_id=request.variant_id,
            rounds=request.rounds, point_type=request.point_type,
            has_shipping_address=request.has_shipping_address, has_customer_info=request.has_customer_info,
            skip_required_fields=request.skip_required_fields, lock_price_seconds=request.lock_price_seconds)
        result = quote.eligibility
        response = catalog_pb2.CheckEligibilityResponse(eligible=result.eligible, reason=result.reason,
                                                        remaining_allowance=result.remaining_allowance,
                                                        **_offer_fields(result.offer))
        if result.item is not None:
            response.item.CopyFrom(item_proto(result.item))
        if quote.price_lock_expires_at is not None:
            response.price_lock_id = quote.price_lock_id
            response.price_lock_expires_at.FromDatetime(quote.price_lock_expires_at)
        return response

    async def ReserveStock(self, request, context):  # type: ignore[no-untyped-def]
        scope = scope_of(request.scope)
        saga_id, item_id, player = require_saga_id(request.saga_id), require_id(request.item_id), \
            required_player(request.player)
        reservation = await self.catalog.reserve_stock(
            scope, saga_id=saga_id, item_id=item_id, player=player, variant_id=request.variant_id,
            rounds=request.rounds, point_type=request.point_type,
            has_shipping_address=request.has_shipping_address, has_customer_info=request.has_customer_info,
            price_lock_id=request.price_lock_id)
        return catalog_pb2.ReserveStockResponse(
            saga_id=reservation.saga_id, item=item_proto(reservation.item),
            already_reserved=reservation.already_reserved,
            **_offer_fields(Offer(reservation.variant, reservation.price)))

    async def ReleaseStock(self, request, context):  # type: ignore[no-untyped-def]
        released = await self.catalog.release_stock(scope_of(request.scope), saga_id=require_saga_id(request.saga_id),
                                                    reason=optional_text(request.reason, "reason", MAX_REASON))
        return catalog_pb2.ReleaseStockResponse(released=released)
