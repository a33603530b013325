"""The canonical API's JSON (seed 003's shape: camelCase), and how each is read from the services' protos.
Amounts are integers in minor units; `display` fields are the same amount as a decimal string."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from pydantic import AfterValidator, AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from rewards.catalog.v1 import catalog_pb2
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2

from gateway import openapi
from gateway.errors import public_code

ID_FIELD = Field(min_length=1, max_length=128)


# Bounds of integer inputs: every one ends in a fixed-size proto field (int64, int32), so a larger number would
# be a crash, not a refusal. Amounts stop at the wallet's own limit.
MAX_MINOR_UNITS = 10**15
MAX_COUNT = 1_000_000


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


# ---- conversions shared by the models ------------------------------------------------------------------------

def display_amount(amount: int, scale: int) -> str:
    """15050 at scale 2 -> "150.50"; exact, no floats."""
    if scale <= 0:
        return str(amount)
    whole, part = divmod(abs(amount), 10**scale)
    return f"{'-' if amount < 0 else ''}{whole}.{part:0{scale}d}"


def timestamp(message: Message, name: str) -> datetime | None:
    if not message.HasField(name):
        return None
    value: timestamp_pb2.Timestamp = getattr(message, name)
    return value.ToDatetime(tzinfo=UTC)


def set_timestamp(target: timestamp_pb2.Timestamp, value: datetime) -> None:
    target.FromDatetime(value)


def _in_utc(value: datetime) -> datetime:
    """The instant in UTC (a naive one is read as UTC). A valid ISO date such as 0001-01-01T00:00:00+02:00 falls
    outside what a datetime or a protobuf Timestamp can hold once in UTC: that is bad input, answered 422."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("out of range: an instant must fall between the years 0001 and 9999 in UTC") from None


Instant = Annotated[datetime, AfterValidator(_in_utc)]              # a request's instant; naive means UTC
AwareInstant = Annotated[AwareDatetime, AfterValidator(_in_utc)]    # a request's instant that must name its zone


def _plain(value: Any) -> Any:
    # Struct keeps every number as a double; whole numbers read back as integers.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# A free-form object of a request (triggerDetails, fulfillmentConfig) travels as a protobuf Struct, which refuses
# to decode past ~100 levels (a 500) and holds numbers as doubles; it is stored and listed again, a hundred to a
# page under gRPC's 4 MB. So it is bounded here, all levels together.
FREE_FORM_MAX_DEPTH = 16
FREE_FORM_MAX_ITEMS = 1_000          # keys and list elements
FREE_FORM_MAX_KEY_LENGTH = 256
FREE_FORM_MAX_STRING_LENGTH = 4_096
FREE_FORM_MAX_TEXT = 16_384          # characters of every key and string
MAX_EXACT_NUMBER = 2**53             # the largest integer a double holds exactly


def _bounded_free_form(value: dict[str, Any]) -> dict[str, Any]:
    """Walks the object without recursion (a hostile one may be deep) and refuses at the first bound passed."""
    items = text = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > FREE_FORM_MAX_DEPTH:
            raise ValueError(f"nested deeper than {FREE_FORM_MAX_DEPTH} levels")
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in children:
            items += 1
            if isinstance(key, str):
                if len(key) > FREE_FORM_MAX_KEY_LENGTH:
                    raise ValueError(f"a key is longer than {FREE_FORM_MAX_KEY_LENGTH} characters")
                text += len(key)
            if isinstance(child, str):
                if len(child) > FREE_FORM_MAX_STRING_LENGTH:
                    raise ValueError(f"a string is longer than {FREE_FORM_MAX_STRING_LENGTH} characters")
                text += len(child)
            elif isinstance(child, (dict, list)):
                pending.append((child, depth + 1))
            elif isinstance(child, (int, float)) and not abs(child) <= MAX_EXACT_NUMBER:  # NaN compares false
                raise ValueError("numbers must be finite and at most 2^53 in size (send larger ones as strings)")
        if items > FREE_FORM_MAX_ITEMS:
            raise ValueError(f"more than {FREE_FORM_MAX_ITEMS} keys and list elements")
        if text > FREE_FORM_MAX_TEXT:
            raise ValueError(f"more than {FREE_FORM_MAX_TEXT} characters of keys and strings")
    return value


FreeFormObject = Annotated[dict[str, Any], AfterValidator(_bounded_free_form)]


def struct_to_dict(message: Message, name: str) -> dict[str, Any] | None:
    if not message.HasField(name):
        return None
    return _plain(json_format.MessageToDict(getattr(message, name)))


def dict_to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def _or_none(value: Any) -> Any:
    return value or None


# ---- items ---------------------------------------------------------------------------------------------------

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
            id=i.id, name=i.name, description=i.description, image_url=_or_none(i.image_url),
            points_price=first.amount if first else None, point_type=first.point_type if first else None,
            prices=_prices(i.prices), variants=[Variant.from_proto(v) for v in i.variants],
            unlimited_stock=i.unlimited_stock, stock=None if i.unlimited_stock else i.stock,
            per_player_limit=_or_none(i.per_player_limit),
            available_from=timestamp(i, "available_from"), available_until=timestamp(i, "available_until"),
            shipping_address_required=i.shipping_address_required, customer_info_required=i.customer_info_required,
            redemption_message=_or_none(i.redemption_message), face_value=_or_none(i.face_value),
            face_currency=_or_none(i.face_currency))

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


# ---- wallet --------------------------------------------------------------------------------------------------

class Balance(ApiModel):
    point_type: str
    amount: int = Field(description="minor units")
    scale: int
    display: str = Field(description='decimal string, e.g. "150.50"')

    @classmethod
    def from_proto(cls, a: wallet_pb2.Account) -> Balance:
        return cls(point_type=a.point_type, amount=a.balance, scale=a.scale,
                   display=display_amount(a.balance, a.scale))


class Balances(ApiModel):
    player_id: str
    balances: list[Balance]


ENTRY_KIND_NAMES = {v: k.removeprefix("ENTRY_KIND_").lower() for k, v in wallet_pb2.EntryKind.items() if v}


class Transaction(ApiModel):
    id: int
    player_id: str
    point_type: str
    kind: str = Field(description="grant, debit, refund or adjustment")
    amount: int = Field(description="signed minor units: credits positive, debits negative")
    display: str
    balance_after: int
    scale: int
    reference: str
    description: str
    created_at: datetime | None

    @classmethod
    def from_proto(cls, e: wallet_pb2.LedgerEntry) -> Transaction:
        return cls(id=e.id, player_id=e.player_id, point_type=e.point_type,
                   kind=ENTRY_KIND_NAMES.get(e.kind, "unspecified"), amount=e.amount,
                   display=display_amount(e.amount, e.scale), balance_after=e.balance_after, scale=e.scale,
                   reference=e.reference, description=e.description, created_at=timestamp(e, "created_at"))


class TransactionList(ApiModel):
    transactions: list[Transaction]
    next_cursor: str | None


class PointsMovement(ApiModel):
    transaction: Transaction
    replayed: bool


class Grant(ApiModel):
    point_type: str = Field(min_length=1, max_length=32)
    amount: int = Field(gt=0, le=MAX_MINOR_UNITS, description="minor units")
    description: str = Field(default="", max_length=500)


class Adjustment(ApiModel):
    point_type: str = Field(min_length=1, max_length=32)
    amount: int = Field(ge=-MAX_MINOR_UNITS, le=MAX_MINOR_UNITS, description="signed minor units, not zero")
    description: str = Field(default="", max_length=500)

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("amount must not be zero")
        return v


class PointTypeDefinition(ApiModel):
    name: str = Field(min_length=1, max_length=100)
    scale: int = Field(ge=0, le=6, description="decimals shown: 0 for gems, 2 for coins")


class PointType(ApiModel):
    code: str
    name: str
    scale: int


class PointTypeList(ApiModel):
    point_types: list[PointType]


PLAYER_STATUS_NAMES = {v: k.removeprefix("PLAYER_STATUS_") for k, v in wallet_pb2.PlayerStatus.items() if v}
PLAYER_STATUS_VALUES = {v: k for k, v in PLAYER_STATUS_NAMES.items()}


class PlayerStatusChange(ApiModel):
    status: Literal["ACTIVE", "SUSPENDED"]

    @field_validator("status", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class PlayerState(ApiModel):
    player_id: str
    status: str
    balances: list[Balance] | None = None


# ---- redemptions ---------------------------------------------------------------------------------------------

class ShippingAddress(ApiModel):
    name: str = Field(default="", max_length=200)
    line1: str = Field(default="", max_length=300)
    line2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=120)
    postal_code: str = Field(default="", max_length=32)
    country: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=40)

    def to_proto(self) -> common_pb2.ShippingAddress:
        return common_pb2.ShippingAddress(**self.model_dump(by_alias=False))


class CustomerInfo(ApiModel):
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=320)

    def to_proto(self) -> common_pb2.CustomerInfo:
        return common_pb2.CustomerInfo(**self.model_dump(by_alias=False))


class _Selection(ApiModel):
    offer: str = Field(min_length=1, max_length=128, validation_alias=AliasChoices("offer", "itemId"),
                       description="the item id (itemId is accepted too)")
    variant_id: str = Field(default="", max_length=128)
    rounds: int = Field(default=0, ge=0, le=1_000_000)
    point_type: str = Field(default="", max_length=32)
    external_user_id: str | None = Field(default=None, alias="externalUserID", max_length=128,
                                         description="the player, when a back-end credential acts for one")


# Examples of the canonical API (seed 003's fields; the physical address is seed 000's, in our words).
NEW_REDEMPTION_EXAMPLES: list[dict[str, Any]] = [
    {"offer": "12"},
    {"offer": "12", "externalUserID": "user-42"},
    {"offer": "99", "shippingAddress": {"name": "Rahul Nema", "line1": "123 MG Road", "line2": "Near Metro",
                                        "city": "Bengaluru", "state": "Karnataka", "postalCode": "560001",
                                        "country": "IN", "phone": "+919999999999"}},
]
REDEMPTION_EXAMPLE: dict[str, Any] = {
    "id": "0b9f6c1e9d2a4f6e8c3b5a7d9e1f2a3b", "number": 834, "playerId": "user-42",
    "offer": {"id": "12", "name": "Amazon voucher", "imageUrl": None, "pointsPrice": 150, "pointType": "gems"},
    "variantId": None, "rounds": None, "status": "COMPLETED", "deliveryStatus": None, "pointsPrice": 150,
    "pointType": "gems", "scale": 0, "display": "150",
    "fulfillment": {"code": "AMZN-XXXX-YYYY", "pin": "1234", "financialRefId": None, "trackingNumber": None,
                    "providerReference": None, "data": None},
    "failure": None, "shippingAddress": None, "customerInfo": None, "comment": None, "triggerSource": None,
    "triggerDetails": None, "transactionId": 123456, "balanceAfter": 850, "redemptionMessage": None,
    "createdAt": "2026-03-22T16:00:00Z", "updatedAt": "2026-03-22T16:00:01Z", "completedAt": "2026-03-22T16:00:01Z",
    "canceledAt": None, "startAt": None, "endAt": None}


class NewRedemption(_Selection):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              json_schema_extra=openapi.examples(*NEW_REDEMPTION_EXAMPLES))

    shipping_address: ShippingAddress | None = None
    customer_info: CustomerInfo | None = None
    comment: str = Field(default="", max_length=2000)
    trigger_source: str = Field(default="", max_length=64)
    trigger_details: FreeFormObject | None = None
    quote_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="a quote's `quoteId`: pay the quoted price for the quoted variant and "
                                             "point type, even if the offer's price changed since (refused with "
                                             "QUOTE_EXPIRED, QUOTE_NOT_YOURS, QUOTE_ALREADY_USED, QUOTE_MISMATCH, "
                                             "QUOTE_NOT_FOUND)")


class QuoteRequest(_Selection):
    pass


class CancelRequest(ApiModel):
    reason: str = Field(default="", max_length=500)
    external_user_id: str | None = Field(default=None, alias="externalUserID", max_length=128)


class Offer(ApiModel):
    id: str
    name: str
    image_url: str | None
    points_price: int
    point_type: str


class FulfillmentResult(ApiModel):
    code: str | None
    pin: str | None
    financial_ref_id: int | None
    tracking_number: str | None
    provider_reference: str | None
    data: dict[str, Any] | None


class Failure(ApiModel):
    code: str
    message: str


REDEMPTION_STATUS_NAMES = {v: k.removeprefix("REDEMPTION_STATUS_")
                           for k, v in redemption_pb2.RedemptionStatus.items() if v}
REDEMPTION_STATUS_VALUES = {v: k for k, v in REDEMPTION_STATUS_NAMES.items()}
DELIVERY_STATUS_NAMES = {v: k.removeprefix("DELIVERY_STATUS_") for k, v in redemption_pb2.DeliveryStatus.items() if v}


class Redemption(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              json_schema_extra=openapi.examples(REDEMPTION_EXAMPLE))

    id: str
    number: int
    player_id: str
    offer: Offer
    variant_id: str | None
    rounds: int | None
    status: str = Field(description="SUBMITTED, OPEN, AWAITING_VENDOR, AWAITING_CUSTOMER, PURCHASED, COMPLETED, "
                                    "CANCELED or FAILED")
    delivery_status: str | None
    points_price: int
    point_type: str
    scale: int
    display: str = Field(description="pointsPrice as a decimal string")
    fulfillment: FulfillmentResult
    failure: Failure | None
    shipping_address: ShippingAddress | None
    customer_info: CustomerInfo | None
    comment: str | None
    trigger_source: str | None
    trigger_details: dict[str, Any] | None
    transaction_id: int | None
    balance_after: int | None
    redemption_message: str | None
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: datetime | None
    canceled_at: datetime | None
    start_at: datetime | None = None
    end_at: datetime | None = None

    @classmethod
    def from_proto(cls, r: redemption_pb2.Redemption) -> Redemption:
        f = r.fulfillment
        charged = r.debit_transaction_id != 0
        return cls(
            id=r.id, number=r.number, player_id=r.player_id,
            offer=Offer(id=r.item_id, name=r.item_name, image_url=_or_none(r.item_image_url), points_price=r.cost,
                        point_type=r.point_type),
            variant_id=_or_none(r.variant_id), rounds=_or_none(r.rounds),
            status=REDEMPTION_STATUS_NAMES.get(r.status, "SUBMITTED"),
            delivery_status=DELIVERY_STATUS_NAMES.get(r.delivery_status),
            points_price=r.cost, point_type=r.point_type, scale=r.point_scale,
            display=display_amount(r.cost, r.point_scale),
            fulfillment=FulfillmentResult(code=_or_none(f.code), pin=_or_none(f.pin),
                                          financial_ref_id=_or_none(f.financial_ref_id),
                                          tracking_number=_or_none(f.tracking_number),
                                          provider_reference=_or_none(f.provider_reference),
                                          data=struct_to_dict(f, "data")),
            failure=Failure(code=public_code(r.failure_code), message=r.failure_message) if r.failure_code else None,
            shipping_address=(ShippingAddress(**json_format.MessageToDict(r.shipping_address,
                                                                          preserving_proto_field_name=True))
                              if r.HasField("shipping_address") else None),
            customer_info=(CustomerInfo(**json_format.MessageToDict(r.customer_info,
                                                                    preserving_proto_field_name=True))
                           if r.HasField("customer_info") else None),
            comment=_or_none(r.comment), trigger_source=_or_none(r.trigger_source),
            trigger_details=struct_to_dict(r, "trigger_details"),
            transaction_id=r.debit_transaction_id if charged else None,
            balance_after=r.balance_after if charged else None,
            redemption_message=_or_none(r.redemption_message),
            created_at=timestamp(r, "created_at"), updated_at=timestamp(r, "updated_at"),
            completed_at=timestamp(r, "completed_at"), canceled_at=timestamp(r, "canceled_at"))


class RedemptionList(ApiModel):
    redemptions: list[Redemption]
    next_cursor: str | None


class Quote(ApiModel):
    eligible: bool
    reason: str | None = Field(description="the error code a redemption would fail with")
    offer_id: str
    variant_id: str | None
    point_type: str
    points_price: int
    scale: int
    display: str
    balance: int
    balance_display: str
    stock_left: int | None = Field(description="null: unlimited")
    remaining_allowance: int | None = Field(description="null: unlimited")
    shipping_address_required: bool
    customer_info_required: bool
    quote_id: str | None = Field(description="send it as the redemption's `quoteId` to pay this price for this "
                                             "variant until `expiresAt`, once; null when the offer refused the "
                                             "player")
    expires_at: datetime | None = Field(description="the end of the quote's price lock")

    @classmethod
    def from_proto(cls, q: redemption_pb2.QuoteRedemptionResponse) -> Quote:
        return cls(eligible=q.eligible, reason=public_code(q.reason) if q.reason else None, offer_id=q.item_id,
                   variant_id=_or_none(q.variant_id), point_type=q.point_type, points_price=q.cost,
                   scale=q.point_scale, display=display_amount(q.cost, q.point_scale), balance=q.balance,
                   balance_display=display_amount(q.balance, q.point_scale),
                   stock_left=None if q.stock_left < 0 else q.stock_left,
                   remaining_allowance=None if q.remaining_allowance < 0 else q.remaining_allowance,
                   shipping_address_required=q.shipping_address_required,
                   customer_info_required=q.customer_info_required, quote_id=_or_none(q.quote_id),
                   expires_at=timestamp(q, "quote_expires_at") if q.quote_id else None)


# ---- auth and health (OAuth-style snake_case, as token endpoints usually speak) ------------------------------

class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    player_id: str = Field(min_length=1, max_length=128, validation_alias=AliasChoices("player_id", "playerId"))
    segments: list[str] | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=8)
    level: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    ttl_seconds: int | None = Field(default=None, ge=1, le=10**9, validation_alias=AliasChoices("ttl_seconds", "ttlSeconds"))
    client_id: str | None = Field(default=None, max_length=128)
    client_secret: str | None = Field(default=None, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    player_id: str


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, bool]
    failing: list[str]


# ---- fulfillment: code pools and jobs (operators) ------------------------------------------------------------

MAX_CODES_PER_UPLOAD = 10_000
MAX_CODE_LENGTH = 200


class CodeInput(ApiModel):
    """One voucher code to add to an item's pool (a JSON entry, or a CSV line code,pin,expires_at)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=MAX_CODE_LENGTH)
    pin: str | None = Field(default=None, max_length=MAX_CODE_LENGTH)
    expires_at: AwareInstant | None = Field(default=None, description="with a timezone, e.g. 2027-01-31T23:59:59Z")

    def to_proto(self) -> fulfillment_pb2.CodeInput:
        code = fulfillment_pb2.CodeInput(code=self.code, pin=self.pin or "")
        if self.expires_at is not None:
            set_timestamp(code.expires_at, self.expires_at)
        return code


class CodeUpload(ApiModel):
    codes: list[CodeInput] = Field(min_length=1, max_length=MAX_CODES_PER_UPLOAD)


class CodeUploadResult(ApiModel):
    added: int
    duplicates: int = Field(description="codes the pool already held, left as they were")


class CodePool(ApiModel):
    available: int
    assigned: int
    expired: int
    low_threshold: int
    own_threshold: bool = Field(description="lowThreshold is the pool's own (PUT .../codes/threshold); false: "
                                            "the fulfillment service's LOW_POOL_THRESHOLD")
    low: bool = Field(description="available is below lowThreshold (a code_pool.low event when a claim crosses it)")
    masked_sample: list[str] = Field(description="a few available codes, masked")

    @classmethod
    def from_proto(cls, p: fulfillment_pb2.GetCodePoolResponse) -> CodePool:
        return cls(available=p.available, assigned=p.assigned, expired=p.expired, low_threshold=p.low_threshold,
                   own_threshold=p.own_threshold, low=p.low, masked_sample=list(p.masked_sample))


class CodePoolThreshold(ApiModel):
    """PUT /v1/admin/items/{id}/codes/threshold."""

    low_threshold: int | None = Field(ge=0, le=1_000_000_000,
                                      description="the pool is low below this; null: back to LOW_POOL_THRESHOLD")


JOB_STATE_NAMES = {v: k.removeprefix("JOB_STATE_") for k, v in fulfillment_pb2.JobState.items() if v}
JOB_STATE_VALUES = {v: k for k, v in JOB_STATE_NAMES.items()}
OUTCOME_VALUES = {k.removeprefix("RESULT_OUTCOME_"): v for k, v in fulfillment_pb2.ResultOutcome.items() if v}
OutcomeName = Literal["AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED", "FAILED", "SHIPPED",
                      "DELIVERED"]


class FulfillmentJob(ApiModel):
    redemption_id: str
    item_id: str
    strategy: str = Field(description="code_pool, webhook, physical, bonus, free_rounds or manual")
    state: str = Field(description="PENDING, RUNNING, WAITING, SUCCEEDED or FAILED")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivery_status: str | None
    tracking_number: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, j: fulfillment_pb2.Job) -> FulfillmentJob:
        return cls(redemption_id=j.redemption_id, item_id=j.item_id, strategy=j.strategy,
                   state=JOB_STATE_NAMES.get(j.state, "UNSPECIFIED"), attempts=j.attempts,
                   last_error=_or_none(j.last_error), next_attempt_at=timestamp(j, "next_attempt_at"),
                   delivery_status=_or_none(j.delivery_status), tracking_number=_or_none(j.tracking_number),
                   created_at=timestamp(j, "created_at"), updated_at=timestamp(j, "updated_at"))


class FulfillmentJobList(ApiModel):
    jobs: list[FulfillmentJob]
    next_cursor: str | None


class JobFailure(ApiModel):
    reason: str = Field(min_length=1, max_length=500, description="why the job is given up; the player is refunded")


class JobAdvance(ApiModel):
    outcome: OutcomeName
    tracking_number: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("outcome", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class Shipment(ApiModel):
    tracking_number: str = Field(min_length=1, max_length=128)


class CallbackReceipt(ApiModel):
    status: Literal["ok"] = "ok"
