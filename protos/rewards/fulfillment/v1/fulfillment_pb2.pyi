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

class ResultOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_OUTCOME_UNSPECIFIED: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_COMPLETED: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_FAILED: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_AWAITING_VENDOR: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_AWAITING_CUSTOMER: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_PURCHASED: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_SHIPPED: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_DELIVERED: _ClassVar[ResultOutcome]
    RESULT_OUTCOME_ACCEPTED: _ClassVar[ResultOutcome]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_PENDING: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_WAITING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_VOIDED: _ClassVar[JobState]

class VoidOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOID_OUTCOME_UNSPECIFIED: _ClassVar[VoidOutcome]
    VOID_OUTCOME_VOIDED: _ClassVar[VoidOutcome]
    VOID_OUTCOME_DELIVERED: _ClassVar[VoidOutcome]
    VOID_OUTCOME_IN_PROGRESS: _ClassVar[VoidOutcome]
RESULT_OUTCOME_UNSPECIFIED: ResultOutcome
RESULT_OUTCOME_COMPLETED: ResultOutcome
RESULT_OUTCOME_FAILED: ResultOutcome
RESULT_OUTCOME_AWAITING_VENDOR: ResultOutcome
RESULT_OUTCOME_AWAITING_CUSTOMER: ResultOutcome
RESULT_OUTCOME_PURCHASED: ResultOutcome
RESULT_OUTCOME_SHIPPED: ResultOutcome
RESULT_OUTCOME_DELIVERED: ResultOutcome
RESULT_OUTCOME_ACCEPTED: ResultOutcome
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_PENDING: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_WAITING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_VOIDED: JobState
VOID_OUTCOME_UNSPECIFIED: VoidOutcome
VOID_OUTCOME_VOIDED: VoidOutcome
VOID_OUTCOME_DELIVERED: VoidOutcome
VOID_OUTCOME_IN_PROGRESS: VoidOutcome

class FulfillmentJob(_message.Message):
    __slots__ = ("event_id", "redemption_id", "scope", "player_id", "item_id", "variant_id", "rounds", "strategy", "config", "shipping_address", "customer_info", "point_type", "cost", "face_value", "face_currency", "requested_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_INFO_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    FACE_VALUE_FIELD_NUMBER: _ClassVar[int]
    FACE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    redemption_id: str
    scope: _common_pb2.Scope
    player_id: str
    item_id: str
    variant_id: str
    rounds: int
    strategy: str
    config: _struct_pb2.Struct
    shipping_address: _common_pb2.ShippingAddress
    customer_info: _common_pb2.CustomerInfo
    point_type: str
    cost: int
    face_value: int
    face_currency: str
    requested_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., redemption_id: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ..., item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., rounds: _Optional[int] = ..., strategy: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., shipping_address: _Optional[_Union[_common_pb2.ShippingAddress, _Mapping]] = ..., customer_info: _Optional[_Union[_common_pb2.CustomerInfo, _Mapping]] = ..., point_type: _Optional[str] = ..., cost: _Optional[int] = ..., face_value: _Optional[int] = ..., face_currency: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FulfillmentResult(_message.Message):
    __slots__ = ("event_id", "redemption_id", "scope", "outcome", "code", "pin", "financial_ref_id", "tracking_number", "provider_reference", "data", "failure_code", "failure_message", "occurred_at", "sequence")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    FINANCIAL_REF_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FAILURE_CODE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    redemption_id: str
    scope: _common_pb2.Scope
    outcome: ResultOutcome
    code: str
    pin: str
    financial_ref_id: int
    tracking_number: str
    provider_reference: str
    data: _struct_pb2.Struct
    failure_code: str
    failure_message: str
    occurred_at: _timestamp_pb2.Timestamp
    sequence: int
    def __init__(self, event_id: _Optional[str] = ..., redemption_id: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., outcome: _Optional[_Union[ResultOutcome, str]] = ..., code: _Optional[str] = ..., pin: _Optional[str] = ..., financial_ref_id: _Optional[int] = ..., tracking_number: _Optional[str] = ..., provider_reference: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., failure_code: _Optional[str] = ..., failure_message: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("redemption_id", "scope", "item_id", "strategy", "state", "attempts", "last_error", "next_attempt_at", "created_at", "updated_at", "delivery_status", "tracking_number")
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_STATUS_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    redemption_id: str
    scope: _common_pb2.Scope
    item_id: str
    strategy: str
    state: JobState
    attempts: int
    last_error: str
    next_attempt_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    delivery_status: str
    tracking_number: str
    def __init__(self, redemption_id: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ..., strategy: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivery_status: _Optional[str] = ..., tracking_number: _Optional[str] = ...) -> None: ...

class CodeInput(_message.Message):
    __slots__ = ("code", "pin", "expires_at")
    CODE_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    code: str
    pin: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, code: _Optional[str] = ..., pin: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UploadCodesRequest(_message.Message):
    __slots__ = ("scope", "item_id", "codes")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    codes: _containers.RepeatedCompositeFieldContainer[CodeInput]
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ..., codes: _Optional[_Iterable[_Union[CodeInput, _Mapping]]] = ...) -> None: ...

class UploadCodesResponse(_message.Message):
    __slots__ = ("added", "duplicates")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    added: int
    duplicates: int
    def __init__(self, added: _Optional[int] = ..., duplicates: _Optional[int] = ...) -> None: ...

class GetCodePoolRequest(_message.Message):
    __slots__ = ("scope", "item_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ...) -> None: ...

class GetCodePoolResponse(_message.Message):
    __slots__ = ("available", "assigned", "expired", "low_threshold", "low", "masked_sample", "own_threshold")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    LOW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    MASKED_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    OWN_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    available: int
    assigned: int
    expired: int
    low_threshold: int
    low: bool
    masked_sample: _containers.RepeatedScalarFieldContainer[str]
    own_threshold: bool
    def __init__(self, available: _Optional[int] = ..., assigned: _Optional[int] = ..., expired: _Optional[int] = ..., low_threshold: _Optional[int] = ..., low: _Optional[bool] = ..., masked_sample: _Optional[_Iterable[str]] = ..., own_threshold: _Optional[bool] = ...) -> None: ...

class SetCodePoolThresholdRequest(_message.Message):
    __slots__ = ("scope", "item_id", "low_threshold")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    LOW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    item_id: str
    low_threshold: int
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., item_id: _Optional[str] = ..., low_threshold: _Optional[int] = ...) -> None: ...

class SetCodePoolThresholdResponse(_message.Message):
    __slots__ = ("low_threshold", "own_threshold")
    LOW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    OWN_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    low_threshold: int
    own_threshold: bool
    def __init__(self, low_threshold: _Optional[int] = ..., own_threshold: _Optional[bool] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("scope", "state", "stuck_only", "page_size", "page_token")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STUCK_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    state: JobState
    stuck_only: bool
    page_size: int
    page_token: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., state: _Optional[_Union[JobState, str]] = ..., stuck_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryJobRequest(_message.Message):
    __slots__ = ("scope", "redemption_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ...) -> None: ...

class RetryJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class FailJobRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    reason: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class FailJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class AdvanceJobRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "outcome", "tracking_number", "note")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    outcome: ResultOutcome
    tracking_number: str
    note: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., outcome: _Optional[_Union[ResultOutcome, str]] = ..., tracking_number: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class AdvanceJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ProviderCallbackRequest(_message.Message):
    __slots__ = ("redemption_id", "body", "signature", "timestamp")
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    redemption_id: str
    body: bytes
    signature: str
    timestamp: str
    def __init__(self, redemption_id: _Optional[str] = ..., body: _Optional[bytes] = ..., signature: _Optional[str] = ..., timestamp: _Optional[str] = ...) -> None: ...

class ProviderCallbackResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class VoidJobRequest(_message.Message):
    __slots__ = ("scope", "redemption_id", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    redemption_id: str
    reason: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., redemption_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VoidJobResponse(_message.Message):
    __slots__ = ("outcome", "message")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    outcome: VoidOutcome
    message: str
    def __init__(self, outcome: _Optional[_Union[VoidOutcome, str]] = ..., message: _Optional[str] = ...) -> None: ...

class FulfilNowRequest(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: FulfillmentJob
    def __init__(self, job: _Optional[_Union[FulfillmentJob, _Mapping]] = ...) -> None: ...

class FulfilNowResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: FulfillmentResult
    def __init__(self, result: _Optional[_Union[FulfillmentResult, _Mapping]] = ...) -> None: ...
