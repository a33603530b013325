import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from rewards.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ItemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_STATUS_UNSPECIFIED: _ClassVar[ItemStatus]
    ITEM_STATUS_DRAFT: _ClassVar[ItemStatus]
    ITEM_STATUS_ACTIVE: _ClassVar[ItemStatus]
    ITEM_STATUS_INACTIVE: _ClassVar[ItemStatus]
    ITEM_STATUS_DELETED: _ClassVar[ItemStatus]

class FulfillmentStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FULFILLMENT_STRATEGY_UNSPECIFIED: _ClassVar[FulfillmentStrategy]
    FULFILLMENT_STRATEGY_CODE_POOL: _ClassVar[FulfillmentStrategy]
    FULFILLMENT_STRATEGY_WEBHOOK: _ClassVar[FulfillmentStrategy]
    FULFILLMENT_STRATEGY_PHYSICAL: _ClassVar[FulfillmentStrategy]
    FULFILLMENT_STRATEGY_BONUS: _ClassVar[FulfillmentStrategy]
    FULFILLMENT_STRATEGY_FREE_ROUNDS: _ClassVar[FulfillmentStrategy]
    FULFILLMENT_STRATEGY_MANUAL: _ClassVar[FulfillmentStrategy]
ITEM_STATUS_UNSPECIFIED: ItemStatus
ITEM_STATUS_DRAFT: ItemStatus
ITEM_STATUS_ACTIVE: ItemStatus
ITEM_STATUS_INACTIVE: ItemStatus
ITEM_STATUS_DELETED: ItemStatus
FULFILLMENT_STRATEGY_UNSPECIFIED: FulfillmentStrategy
FULFILLMENT_STRATEGY_CODE_POOL: FulfillmentStrategy
FULFILLMENT_STRATEGY_WEBHOOK: FulfillmentStrategy
FULFILLMENT_STRATEGY_PHYSICAL: FulfillmentStrategy
FULFILLMENT_STRATEGY_BONUS: FulfillmentStrategy
FULFILLMENT_STRATEGY_FREE_ROUNDS: FulfillmentStrategy
FULFILLMENT_STRATEGY_MANUAL: FulfillmentStrategy

class Price(_message.Message):
    __slots__ = ("point_type", "amount")
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    point_type: str
    amount: int
    def __init__(self, point_type: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("id", "name", "rounds", "prices")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    rounds: int
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., rounds: _Optional[int] = ..., prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ...) -> None: ...

class Targeting(_message.Message):
    __slots__ = ("private", "segments", "countries", "min_level")
    PRIVATE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    MIN_LEVEL_FIELD_NUMBER: _ClassVar[int]
    private: bool
    segments: _containers.RepeatedScalarFieldContainer[str]
    countries: _containers.RepeatedScalarFieldContainer[str]
    min_level: int
    def __init__(self, private: _Optional[bool] = ..., segments: _Optional[_Iterable[str]] = ..., countries: _Optional[_Iterable[str]] = ..., min_level: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("id", "name", "description", "image_url", "status", "available_from", "available_until", "prices", "variants", "unlimited_stock", "stock", "per_player_limit", "targeting", "fulfillment_strategy", "fulfillment_config", "shipping_address_required", "customer_info_required", "redemption_message", "face_value", "face_currency", "created_at", "updated_at", "low_stock_threshold")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FROM_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_STOCK_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    PER_PLAYER_LIMIT_FIELD_NUMBER: _ClassVar[int]
    TARGETING_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_INFO_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FACE_VALUE_FIELD_NUMBER: _ClassVar[int]
    FACE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LOW_STOCK_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    image_url: str
    status: ItemStatus
    available_from: _timestamp_pb2.Timestamp
    available_until: _timestamp_pb2.Timestamp
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    unlimited_stock: bool
    stock: int
    per_player_limit: int
    targeting: Targeting
    fulfillment_strategy: FulfillmentStrategy
    fulfillment_config: _struct_pb2.Struct
    shipping_address_required: bool
    customer_info_required: bool
    redemption_message: str
    face_value: int
    face_currency: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    low_stock_threshold: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., image_url: _Optional[str] = ..., status: _Optional[_Union[ItemStatus, str]] = ..., available_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., available_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., unlimited_stock: _Optional[bool] = ..., stock: _Optional[int] = ..., per_player_limit: _Optional[int] = ..., targeting: _Optional[_Union[Targeting, _Mapping]] = ..., fulfillment_strategy: _Optional[_Union[FulfillmentStrategy, str]] = ..., fulfillment_config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., shipping_address_required: _Optional[bool] = ..., customer_info_required: _Optional[bool] = ..., redemption_message: _Optional[str] = ..., face_value: _Optional[int] = ..., face_currency: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., low_stock_threshold: _Optional[int] = ...) -> None: ...

class CreateItemRequest(_message.Message):
    __slots__ = ("scope", "item")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item: Item
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class CreateItemResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: Item
    def __init__(self, item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class UpdateItemRequest(_message.Message):
    __slots__ = ("scope", "item", "update_mask")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item: Item
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., update_mask: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateItemResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: Item
    def __init__(self, item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class ArchiveItemRequest(_message.Message):
    __slots__ = ("scope", "item_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ...) -> None: ...

class ArchiveItemResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: Item
    def __init__(self, item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class AdjustStockRequest(_message.Message):
    __slots__ = ("scope", "item_id", "delta", "idempotency_key", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    delta: int
    idempotency_key: str
    reason: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ..., delta: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AdjustStockResponse(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: Item
    def __init__(self, item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class GetItemRequest(_message.Message):
    __slots__ = ("scope", "item_id", "player")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    player: _common_pb2.PlayerContext
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ..., player: _Optional[_Union[_common_pb2.PlayerContext, _Mapping]] = ...) -> None: ...

class GetItemResponse(_message.Message):
    __slots__ = ("item", "player_redeemed_count")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    PLAYER_REDEEMED_COUNT_FIELD_NUMBER: _ClassVar[int]
    item: Item
    player_redeemed_count: int
    def __init__(self, item: _Optional[_Union[Item, _Mapping]] = ..., player_redeemed_count: _Optional[int] = ...) -> None: ...

class ListItemsRequest(_message.Message):
    __slots__ = ("scope", "player", "page_size", "page_token")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player: _common_pb2.PlayerContext
    page_size: int
    page_token: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player: _Optional[_Union[_common_pb2.PlayerContext, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListItemsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Item]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CheckEligibilityRequest(_message.Message):
    __slots__ = ("scope", "item_id", "variant_id", "rounds", "point_type", "player", "has_shipping_address", "has_customer_info", "skip_required_fields", "lock_price_seconds")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    HAS_SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HAS_CUSTOMER_INFO_FIELD_NUMBER: _ClassVar[int]
    SKIP_REQUIRED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    LOCK_PRICE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    variant_id: str
    rounds: int
    point_type: str
    player: _common_pb2.PlayerContext
    has_shipping_address: bool
    has_customer_info: bool
    skip_required_fields: bool
    lock_price_seconds: int
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., rounds: _Optional[int] = ..., point_type: _Optional[str] = ..., player: _Optional[_Union[_common_pb2.PlayerContext, _Mapping]] = ..., has_shipping_address: _Optional[bool] = ..., has_customer_info: _Optional[bool] = ..., skip_required_fields: _Optional[bool] = ..., lock_price_seconds: _Optional[int] = ...) -> None: ...

class CheckEligibilityResponse(_message.Message):
    __slots__ = ("eligible", "reason", "item", "variant", "price", "remaining_allowance", "price_lock_id", "price_lock_expires_at")
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_LOCK_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_LOCK_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    eligible: bool
    reason: str
    item: Item
    variant: Variant
    price: Price
    remaining_allowance: int
    price_lock_id: str
    price_lock_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, eligible: _Optional[bool] = ..., reason: _Optional[str] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., variant: _Optional[_Union[Variant, _Mapping]] = ..., price: _Optional[_Union[Price, _Mapping]] = ..., remaining_allowance: _Optional[int] = ..., price_lock_id: _Optional[str] = ..., price_lock_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReserveStockRequest(_message.Message):
    __slots__ = ("scope", "saga_id", "item_id", "variant_id", "rounds", "point_type", "player", "has_shipping_address", "has_customer_info", "price_lock_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    HAS_SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HAS_CUSTOMER_INFO_FIELD_NUMBER: _ClassVar[int]
    PRICE_LOCK_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    saga_id: str
    item_id: str
    variant_id: str
    rounds: int
    point_type: str
    player: _common_pb2.PlayerContext
    has_shipping_address: bool
    has_customer_info: bool
    price_lock_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., saga_id: _Optional[str] = ..., item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., rounds: _Optional[int] = ..., point_type: _Optional[str] = ..., player: _Optional[_Union[_common_pb2.PlayerContext, _Mapping]] = ..., has_shipping_address: _Optional[bool] = ..., has_customer_info: _Optional[bool] = ..., price_lock_id: _Optional[str] = ...) -> None: ...

class ReserveStockResponse(_message.Message):
    __slots__ = ("saga_id", "item", "variant", "price", "already_reserved")
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    ALREADY_RESERVED_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    item: Item
    variant: Variant
    price: Price
    already_reserved: bool
    def __init__(self, saga_id: _Optional[str] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., variant: _Optional[_Union[Variant, _Mapping]] = ..., price: _Optional[_Union[Price, _Mapping]] = ..., already_reserved: _Optional[bool] = ...) -> None: ...

class ReleaseStockRequest(_message.Message):
    __slots__ = ("scope", "saga_id", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    saga_id: str
    reason: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., saga_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseStockResponse(_message.Message):
    __slots__ = ("released",)
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    released: bool
    def __init__(self, released: _Optional[bool] = ...) -> None: ...
