"""The canonical API's offers (items): what a player sees, what an operator sees and changes, the stock."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator
from rewards.catalog.v1 import catalog_pb2

from gateway.schemas.common import (
    MAX_COUNT,
    MAX_MINOR_UNITS,
    ApiModel,
    FreeFormObject,
    Instant,
    dict_to_struct,
    or_none,
    set_timestamp,
    struct_to_dict,
    timestamp,
)

ITEM_STATUS_NAMES = {v: k.removeprefix("ITEM_STATUS_") for k, v in catalog_pb2.ItemStatus.items() if v}
ITEM_STATUS_VALUES = {v: k for k, v in ITEM_STATUS_NAMES.items()}
STRATEGY_NAMES = {v: k.removeprefix("FULFILLMENT_STRATEGY_").lower()
                  for k, v in catalog_pb2.FulfillmentStrategy.items() if v}
STRATEGY_VALUES = {v: k for k, v in STRATEGY_NAMES.items()}


class Price(ApiModel):
    point_type: str = Field(min_length=1, max_length=32)
    amount: int = Field(ge=0, le=MAX_MINOR_UNITS, description="minor units")

    def to_proto(self) -> catalog_pb2.Price:
        return catalog_pb2.Price(point_type=self.point_type, amount=self.amount)


def _prices(prices: Any) -> list[Price]:
    return [Price(point_type=p.point_type, amount=p.amount) for p in prices]


class Variant(ApiModel):
    id: str = Field(default="", max_length=128)
    name: str = Field(default="", max_length=200)
    rounds: int = Field(default=0, ge=0, le=MAX_COUNT)
    prices: list[Price] = Field(default_factory=list, max_length=20)

    @classmethod
    def from_proto(cls, v: catalog_pb2.Variant) -> Variant:
        return cls(id=v.id, name=v.name, rounds=v.rounds, prices=_prices(v.prices))

    def to_proto(self) -> catalog_pb2.Variant:
        return catalog_pb2.Variant(id=self.id, name=self.name, rounds=self.rounds,
                                   prices=[p.to_proto() for p in self.prices])


class Targeting(ApiModel):
    private: bool = False
    segments: list[str] = Field(default_factory=list, max_length=100)
    countries: list[str] = Field(default_factory=list, max_length=300)
    min_level: int = Field(default=0, ge=0, le=MAX_COUNT)

    def to_proto(self) -> catalog_pb2.Targeting:
        return catalog_pb2.Targeting(private=self.private, segments=self.segments, countries=self.countries,
                                     min_level=self.min_level)


class Item(ApiModel):
    """An item as a player sees it (an offer, in seed 003's words)."""

    id: str
    name: str
    description: str
    image_url: str | None
    points_price: int | None = Field(description="the default price, in minor units of pointType")
    point_type: str | None
    prices: list[Price]
    variants: list[Variant]
    unlimited_stock: bool
    stock: int | None = Field(description="left to redeem; null when unlimited")
    per_player_limit: int | None = Field(description="null: no limit")
    available_from: datetime | None
    available_until: datetime | None
    shipping_address_required: bool
    customer_info_required: bool
    redemption_message: str | None
    face_value: int | None
    face_currency: str | None
    redeemed_count: int | None = None

    @classmethod
    def fields_from_proto(cls, i: catalog_pb2.Item) -> dict[str, Any]:
        first = i.prices[0] if i.prices else None
        return dict(
            id=i.id, name=i.name, description=i.description, image_url=or_none(i.image_url),
            points_price=first.amount if first else None, point_type=first.point_type if first else None,
            prices=_prices(i.prices), variants=[Variant.from_proto(v) for v in i.variants],
            unlimited_stock=i.unlimited_stock, stock=None if i.unlimited_stock else i.stock,
            per_player_limit=or_none(i.per_player_limit),
            available_from=timestamp(i, "available_from"), available_until=timestamp(i, "available_until"),
            shipping_address_required=i.shipping_address_required, customer_info_required=i.customer_info_required,
            redemption_message=or_none(i.redemption_message), face_value=or_none(i.face_value),
            face_currency=or_none(i.face_currency))

    @classmethod
    def from_proto(cls, i: catalog_pb2.Item, redeemed_count: int | None = None) -> Item:
        return cls(**cls.fields_from_proto(i), redeemed_count=redeemed_count)


class AdminItem(Item):
    """An item as an operator sees it: everything, including targeting and how it is fulfilled."""

    status: str
    targeting: Targeting
    fulfillment_strategy: str | None
    fulfillment_config: dict[str, Any] | None
    low_stock_threshold: int | None = Field(
        description="counted stock below this is low (an item.stock_low event when a change crosses it); null: "
                    "the catalog's LOW_STOCK_THRESHOLD")
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, i: catalog_pb2.Item, redeemed_count: int | None = None) -> AdminItem:
        t = i.targeting
        return cls(**cls.fields_from_proto(i), status=ITEM_STATUS_NAMES.get(i.status, "UNSPECIFIED"),
                   targeting=Targeting(private=t.private, segments=list(t.segments), countries=list(t.countries),
                                       min_level=t.min_level),
                   fulfillment_strategy=STRATEGY_NAMES.get(i.fulfillment_strategy),
                   fulfillment_config=struct_to_dict(i, "fulfillment_config"),
                   low_stock_threshold=i.low_stock_threshold if i.HasField("low_stock_threshold") else None,
                   created_at=timestamp(i, "created_at"), updated_at=timestamp(i, "updated_at"))


class ItemList(ApiModel):
    items: list[Item]
    next_cursor: str | None


class AdminItemList(ApiModel):
    items: list[AdminItem]
    next_cursor: str | None


ItemStatusName = Literal["DRAFT", "ACTIVE", "INACTIVE"]
StrategyName = Literal["code_pool", "webhook", "physical", "bonus", "free_rounds", "manual"]

# ItemChanges field -> the proto Item field it sets (the update mask speaks proto names).
ITEM_FIELD_NAMES = {
    "name": "name", "description": "description", "image_url": "image_url", "status": "status",
    "available_from": "available_from", "available_until": "available_until", "prices": "prices",
    "variants": "variants", "unlimited_stock": "unlimited_stock", "stock": "stock",
    "per_player_limit": "per_player_limit", "targeting": "targeting", "fulfillment_strategy": "fulfillment_strategy",
    "fulfillment_config": "fulfillment_config", "shipping_address_required": "shipping_address_required",
    "customer_info_required": "customer_info_required", "redemption_message": "redemption_message",
    "face_value": "face_value", "face_currency": "face_currency", "low_stock_threshold": "low_stock_threshold",
}


class ItemChanges(ApiModel):
    """PATCH /v1/admin/items/{id}: only the fields sent change (stock moves through /stock)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    image_url: str | None = Field(default=None, max_length=2000)
    status: ItemStatusName | None = None
    available_from: Instant | None = None
    available_until: Instant | None = None
    prices: list[Price] | None = Field(default=None, min_length=1, max_length=20)
    variants: list[Variant] | None = Field(default=None, max_length=100)
    unlimited_stock: bool | None = None
    per_player_limit: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    targeting: Targeting | None = None
    fulfillment_strategy: StrategyName | None = None
    fulfillment_config: FreeFormObject | None = None
    shipping_address_required: bool | None = None
    customer_info_required: bool | None = None
    redemption_message: str | None = Field(default=None, max_length=2000)
    face_value: int | None = Field(default=None, ge=0, le=MAX_MINOR_UNITS)
    face_currency: str | None = Field(default=None, max_length=8)
    low_stock_threshold: int | None = Field(
        default=None, ge=0, le=MAX_MINOR_UNITS,
        description="counted stock below this is low (item.stock_low); null: the catalog's LOW_STOCK_THRESHOLD")

    @field_validator("status", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("fulfillment_strategy", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    def to_proto(self, item_id: str = "", only_sent: bool = False) -> tuple[catalog_pb2.Item, list[str]]:
        item = catalog_pb2.Item(id=item_id)
        sent = self.model_fields_set if only_sent else set(type(self).model_fields)
        mask = []
        for name in sorted(sent):
            if name not in ITEM_FIELD_NAMES:
                continue
            mask.append(ITEM_FIELD_NAMES[name])
            value = getattr(self, name)
            if value is None:
                continue  # sent as null: the mask clears it
            if name == "status":
                item.status = ITEM_STATUS_VALUES[value]
            elif name == "fulfillment_strategy":
                item.fulfillment_strategy = STRATEGY_VALUES[value]
            elif name in ("available_from", "available_until"):
                set_timestamp(getattr(item, name), value)
            elif name == "prices":
                item.prices.extend(p.to_proto() for p in value)
            elif name == "variants":
                item.variants.extend(v.to_proto() for v in value)
            elif name == "targeting":
                item.targeting.CopyFrom(value.to_proto())
            elif name == "fulfillment_config":
                item.fulfillment_config.CopyFrom(dict_to_struct(value))
            else:
                setattr(item, name, value)
        return item, mask


class NewItem(ItemChanges):
    """POST /v1/admin/items. id: an operator-chosen id (empty: generated)."""

    id: str = Field(default="", max_length=128)
    name: str = Field(min_length=1, max_length=200)  # type: ignore[assignment]
    status: ItemStatusName = "ACTIVE"  # type: ignore[assignment]
    prices: list[Price] = Field(min_length=1, max_length=20)  # type: ignore[assignment]
    stock: int = Field(default=0, ge=0, le=MAX_MINOR_UNITS)
    fulfillment_strategy: StrategyName = "manual"  # type: ignore[assignment]


class StockAdjustment(ApiModel):
    delta: int = Field(ge=-MAX_MINOR_UNITS, le=MAX_MINOR_UNITS,
                       description="added to stock; the result may not go below zero")
    reason: str = Field(default="", max_length=500)

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("delta must not be zero")
        return v
