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

class Viewer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VIEWER_UNSPECIFIED: _ClassVar[Viewer]
    VIEWER_PLAYER: _ClassVar[Viewer]
    VIEWER_BACKEND: _ClassVar[Viewer]
    VIEWER_ADMIN: _ClassVar[Viewer]

class RedemptionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REDEMPTION_STATUS_UNSPECIFIED: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_SUBMITTED: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_OPEN: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_AWAITING_VENDOR: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_AWAITING_CUSTOMER: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_PURCHASED: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_COMPLETED: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_CANCELED: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_FAILED: _ClassVar[RedemptionStatus]
    REDEMPTION_STATUS_AWAITING_APPROVAL: _ClassVar[RedemptionStatus]

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_PENDING: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SHIPPED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DELIVERED: _ClassVar[DeliveryStatus]
VIEWER_UNSPECIFIED: Viewer
VIEWER_PLAYER: Viewer
VIEWER_BACKEND: Viewer
VIEWER_ADMIN: Viewer
REDEMPTION_STATUS_UNSPECIFIED: RedemptionStatus
REDEMPTION_STATUS_SUBMITTED: RedemptionStatus
REDEMPTION_STATUS_OPEN: RedemptionStatus
REDEMPTION_STATUS_AWAITING_VENDOR: RedemptionStatus
REDEMPTION_STATUS_AWAITING_CUSTOMER: RedemptionStatus
REDEMPTION_STATUS_PURCHASED: RedemptionStatus
REDEMPTION_STATUS_COMPLETED: RedemptionStatus
REDEMPTION_STATUS_CANCELED: RedemptionStatus
REDEMPTION_STATUS_FAILED: RedemptionStatus
REDEMPTION_STATUS_AWAITING_APPROVAL: RedemptionStatus
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_PENDING: DeliveryStatus
DELIVERY_STATUS_SHIPPED: DeliveryStatus
DELIVERY_STATUS_DELIVERED: DeliveryStatus

class Fulfillment(_message.Message):
    __slots__ = ("code", "pin", "financial_ref_id", "tracking_number", "provider_reference", "data", "masked")
    CODE_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_REF_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    MASKED_FIELD_NUMBER: _ClassVar[int]
    code: str
    pin: str
    financial_ref_id: int
    tracking_number: str
    provider_reference: str
    data: _struct_pb2.Struct
    masked: bool
    def __init__(self, code: _Optional[str] = ..., pin: _Optional[str] = ..., financial_ref_id: _Optional[int] = ..., tracking_number: _Optional[str] = ..., provider_reference: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., masked: _Optional[bool] = ...) -> None: ...

class Redemption(_message.Message):
    __slots__ = ("id", "number", "scope", "player_id", "item_id", "variant_id", "rounds", "item_name", "item_image_url", "point_type", "cost", "point_scale", "face_value", "face_currency", "fulfillment_strategy", "redemption_message", "status", "delivery_status", "failure_code", "failure_message", "fulfillment", "debit_transaction_id", "balance_after", "shipping_address", "customer_info", "comment", "trigger_source", "trigger_details", "created_at", "updated_at", "completed_at", "canceled_at", "review_reason", "held_at", "review_decision", "reviewed_at", "review_note")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    ITEM_NAME_FIELD_NUMBER: _ClassVar[int]
    ITEM_IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    POINT_SCALE_FIELD_NUMBER: _ClassVar[int]
    FACE_VALUE_FIELD_NUMBER: _ClassVar[int]
    FACE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_STATUS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_CODE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_FIELD_NUMBER: _ClassVar[int]
    DEBIT_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_INFO_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_DETAILS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELED_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_REASON_FIELD_NUMBER: _ClassVar[int]
    HELD_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_DECISION_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: int
    scope: _common_pb2.Scope
    player_id: str
    item_id: str
    variant_id: str
    rounds: int
    item_name: str
    item_image_url: str
    point_type: str
    cost: int
    point_scale: int
    face_value: int
    face_currency: str
    fulfillment_strategy: str
    redemption_message: str
    status: RedemptionStatus
    delivery_status: DeliveryStatus
    failure_code: str
    failure_message: str
    fulfillment: Fulfillment
    debit_transaction_id: int
    balance_after: int
    shipping_address: _common_pb2.ShippingAddress
    customer_info: _common_pb2.CustomerInfo
    comment: str
    trigger_source: str
    trigger_details: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    canceled_at: _timestamp_pb2.Timestamp
    review_reason: str
    held_at: _timestamp_pb2.Timestamp
    review_decision: str
    reviewed_at: _timestamp_pb2.Timestamp
    review_note: str
    def __init__(self, id: _Optional[str] = ..., number: _Optional[int] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ..., item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., rounds: _Optional[int] = ..., item_name: _Optional[str] = ..., item_image_url: _Optional[str] = ..., point_type: _Optional[str] = ..., cost: _Optional[int] = ..., point_scale: _Optional[int] = ..., face_value: _Optional[int] = ..., face_currency: _Optional[str] = ..., fulfillment_strategy: _Optional[str] = ..., redemption_message: _Optional[str] = ..., status: _Optional[_Union[RedemptionStatus, str]] = ..., delivery_status: _Optional[_Union[DeliveryStatus, str]] = ..., failure_code: _Optional[str] = ..., failure_message: _Optional[str] = ..., fulfillment: _Optional[_Union[Fulfillment, _Mapping]] = ..., debit_transaction_id: _Optional[int] = ..., balance_after: _Optional[int] = ..., shipping_address: _Optional[_Union[_common_pb2.ShippingAddress, _Mapping]] = ..., customer_info: _Optional[_Union[_common_pb2.CustomerInfo, _Mapping]] = ..., comment: _Optional[str] = ..., trigger_source: _Optional[str] = ..., trigger_details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., canceled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., review_reason: _Optional[str] = ..., held_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., review_decision: _Optional[str] = ..., reviewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., review_note: _Optional[str] = ...) -> None: ...

class RedeemRequest(_message.Message):
    __slots__ = ("scope", "player", "idempotency_key", "item_id", "variant_id", "rounds", "point_type", "shipping_address", "customer_info", "comment", "trigger_source", "trigger_details", "wait_for_fulfillment_ms", "viewer", "viewer_id", "quote_id", "sandbox_outcome")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_INFO_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_DETAILS_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_FULFILLMENT_MS_FIELD_NUMBER: _ClassVar[int]
    VIEWER_FIELD_NUMBER: _ClassVar[int]
    VIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player: _common_pb2.PlayerContext
    idempotency_key: str
    item_id: str
    variant_id: str
    rounds: int
    point_type: str
    shipping_address: _common_pb2.ShippingAddress
    customer_info: _common_pb2.CustomerInfo
    comment: str
    trigger_source: str
    trigger_details: _struct_pb2.Struct
    wait_for_fulfillment_ms: int
    viewer: Viewer
    viewer_id: str
    quote_id: str
    sandbox_outcome: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player: _Optional[_Union[_common_pb2.PlayerContext, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., rounds: _Optional[int] = ..., point_type: _Optional[str] = ..., shipping_address: _Optional[_Union[_common_pb2.ShippingAddress, _Mapping]] = ..., customer_info: _Optional[_Union[_common_pb2.CustomerInfo, _Mapping]] = ..., comment: _Optional[str] = ..., trigger_source: _Optional[str] = ..., trigger_details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., wait_for_fulfillment_ms: _Optional[int] = ..., viewer: _Optional[_Union[Viewer, str]] = ..., viewer_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., sandbox_outcome: _Optional[str] = ...) -> None: ...

class RedeemResponse(_message.Message):
    __slots__ = ("redemption", "replayed")
    REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    redemption: Redemption
    replayed: bool
    def __init__(self, redemption: _Optional[_Union[Redemption, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class QuoteRedemptionRequest(_message.Message):
    __slots__ = ("scope", "player", "item_id", "variant_id", "rounds", "point_type")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player: _common_pb2.PlayerContext
    item_id: str
    variant_id: str
    rounds: int
    point_type: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player: _Optional[_Union[_common_pb2.PlayerContext, _Mapping]] = ..., item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., rounds: _Optional[int] = ..., point_type: _Optional[str] = ...) -> None: ...

class QuoteRedemptionResponse(_message.Message):
    __slots__ = ("eligible", "reason", "item_id", "variant_id", "point_type", "cost", "point_scale", "balance", "stock_left", "remaining_allowance", "shipping_address_required", "customer_info_required", "quote_id", "quote_expires_at")
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    POINT_SCALE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    STOCK_LEFT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_INFO_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    eligible: bool
    reason: str
    item_id: str
    variant_id: str
    point_type: str
    cost: int
    point_scale: int
    balance: int
    stock_left: int
    remaining_allowance: int
    shipping_address_required: bool
    customer_info_required: bool
    quote_id: str
    quote_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, eligible: _Optional[bool] = ..., reason: _Optional[str] = ..., item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., point_type: _Optional[str] = ..., cost: _Optional[int] = ..., point_scale: _Optional[int] = ..., balance: _Optional[int] = ..., stock_left: _Optional[int] = ..., remaining_allowance: _Optional[int] = ..., shipping_address_required: _Optional[bool] = ..., customer_info_required: _Optional[bool] = ..., quote_id: _Optional[str] = ..., quote_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRedemptionRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "player_id", "viewer", "viewer_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    VIEWER_FIELD_NUMBER: _ClassVar[int]
    VIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    player_id: str
    viewer: Viewer
    viewer_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., player_id: _Optional[str] = ..., viewer: _Optional[_Union[Viewer, str]] = ..., viewer_id: _Optional[str] = ...) -> None: ...

class GetRedemptionResponse(_message.Message):
    __slots__ = ("redemption",)
    REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    redemption: Redemption
    def __init__(self, redemption: _Optional[_Union[Redemption, _Mapping]] = ...) -> None: ...

class ListRedemptionsRequest(_message.Message):
    __slots__ = ("scope", "player_id", "status", "page_size", "page_token", "viewer", "viewer_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEWER_FIELD_NUMBER: _ClassVar[int]
    VIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player_id: str
    status: RedemptionStatus
    page_size: int
    page_token: str
    viewer: Viewer
    viewer_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ..., status: _Optional[_Union[RedemptionStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., viewer: _Optional[_Union[Viewer, str]] = ..., viewer_id: _Optional[str] = ...) -> None: ...

class ListRedemptionsResponse(_message.Message):
    __slots__ = ("redemptions", "next_page_token")
    REDEMPTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    redemptions: _containers.RepeatedCompositeFieldContainer[Redemption]
    next_page_token: str
    def __init__(self, redemptions: _Optional[_Iterable[_Union[Redemption, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelRedemptionRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "player_id", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    player_id: str
    reason: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., player_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelRedemptionResponse(_message.Message):
    __slots__ = ("redemption",)
    REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    redemption: Redemption
    def __init__(self, redemption: _Optional[_Union[Redemption, _Mapping]] = ...) -> None: ...

class CodeReveal(_message.Message):
    __slots__ = ("id", "redemption_id", "viewer", "viewer_id", "action", "revealed_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    VIEWER_FIELD_NUMBER: _ClassVar[int]
    VIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REVEALED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    redemption_id: str
    viewer: Viewer
    viewer_id: str
    action: str
    revealed_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., redemption_id: _Optional[str] = ..., viewer: _Optional[_Union[Viewer, str]] = ..., viewer_id: _Optional[str] = ..., action: _Optional[str] = ..., revealed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCodeRevealsRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "page_size", "page_token")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    page_size: int
    page_token: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCodeRevealsResponse(_message.Message):
    __slots__ = ("reveals", "next_page_token")
    REVEALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reveals: _containers.RepeatedCompositeFieldContainer[CodeReveal]
    next_page_token: str
    def __init__(self, reveals: _Optional[_Iterable[_Union[CodeReveal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReviewRules(_message.Message):
    __slots__ = ("max_redemptions_per_hour", "cost_over", "player_younger_than_days", "always_review")
    MAX_REDEMPTIONS_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    COST_OVER_FIELD_NUMBER: _ClassVar[int]
    PLAYER_YOUNGER_THAN_DAYS_FIELD_NUMBER: _ClassVar[int]
    ALWAYS_REVIEW_FIELD_NUMBER: _ClassVar[int]
    max_redemptions_per_hour: int
    cost_over: int
    player_younger_than_days: int
    always_review: bool
    def __init__(self, max_redemptions_per_hour: _Optional[int] = ..., cost_over: _Optional[int] = ..., player_younger_than_days: _Optional[int] = ..., always_review: _Optional[bool] = ...) -> None: ...

class ReviewRuleSet(_message.Message):
    __slots__ = ("item_id", "rules", "updated_at")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    rules: ReviewRules
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, item_id: _Optional[str] = ..., rules: _Optional[_Union[ReviewRules, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetReviewRulesRequest(_message.Message):
    __slots__ = ("scope", "item_id", "rules")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    rules: ReviewRules
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ..., rules: _Optional[_Union[ReviewRules, _Mapping]] = ...) -> None: ...

class SetReviewRulesResponse(_message.Message):
    __slots__ = ("rule_set",)
    RULE_SET_FIELD_NUMBER: _ClassVar[int]
    rule_set: ReviewRuleSet
    def __init__(self, rule_set: _Optional[_Union[ReviewRuleSet, _Mapping]] = ...) -> None: ...

class ListReviewRulesRequest(_message.Message):
    __slots__ = ("scope",)
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ...) -> None: ...

class ListReviewRulesResponse(_message.Message):
    __slots__ = ("rule_sets",)
    RULE_SETS_FIELD_NUMBER: _ClassVar[int]
    rule_sets: _containers.RepeatedCompositeFieldContainer[ReviewRuleSet]
    def __init__(self, rule_sets: _Optional[_Iterable[_Union[ReviewRuleSet, _Mapping]]] = ...) -> None: ...

class ApproveRedemptionRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "note")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    note: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ApproveRedemptionResponse(_message.Message):
    __slots__ = ("redemption",)
    REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    redemption: Redemption
    def __init__(self, redemption: _Optional[_Union[Redemption, _Mapping]] = ...) -> None: ...

class RejectRedemptionRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    reason: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectRedemptionResponse(_message.Message):
    __slots__ = ("redemption",)
    REDEMPTION_FIELD_NUMBER: _ClassVar[int]
    redemption: Redemption
    def __init__(self, redemption: _Optional[_Union[Redemption, _Mapping]] = ...) -> None: ...
