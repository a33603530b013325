import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from rewards.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlayerStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAYER_STATUS_UNSPECIFIED: _ClassVar[PlayerStatus]
    PLAYER_STATUS_ACTIVE: _ClassVar[PlayerStatus]
    PLAYER_STATUS_SUSPENDED: _ClassVar[PlayerStatus]

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_KIND_UNSPECIFIED: _ClassVar[EntryKind]
    ENTRY_KIND_GRANT: _ClassVar[EntryKind]
    ENTRY_KIND_DEBIT: _ClassVar[EntryKind]
    ENTRY_KIND_REFUND: _ClassVar[EntryKind]
    ENTRY_KIND_ADJUSTMENT: _ClassVar[EntryKind]
    ENTRY_KIND_EXPIRE: _ClassVar[EntryKind]
PLAYER_STATUS_UNSPECIFIED: PlayerStatus
PLAYER_STATUS_ACTIVE: PlayerStatus
PLAYER_STATUS_SUSPENDED: PlayerStatus
ENTRY_KIND_UNSPECIFIED: EntryKind
ENTRY_KIND_GRANT: EntryKind
ENTRY_KIND_DEBIT: EntryKind
ENTRY_KIND_REFUND: EntryKind
ENTRY_KIND_ADJUSTMENT: EntryKind
ENTRY_KIND_EXPIRE: EntryKind

class PointType(_message.Message):
    __slots__ = ("code", "name", "scale", "lifetime_seconds")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    scale: int
    lifetime_seconds: int
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., scale: _Optional[int] = ..., lifetime_seconds: _Optional[int] = ...) -> None: ...

class Lot(_message.Message):
    __slots__ = ("id", "remaining", "granted", "expires_at", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    remaining: int
    granted: int
    expires_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., remaining: _Optional[int] = ..., granted: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("point_type", "balance", "scale", "lots", "expiring_within_30_days")
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    EXPIRING_WITHIN_30_DAYS_FIELD_NUMBER: _ClassVar[int]
    point_type: str
    balance: int
    scale: int
    lots: _containers.RepeatedCompositeFieldContainer[Lot]
    expiring_within_30_days: int
    def __init__(self, point_type: _Optional[str] = ..., balance: _Optional[int] = ..., scale: _Optional[int] = ..., lots: _Optional[_Iterable[_Union[Lot, _Mapping]]] = ..., expiring_within_30_days: _Optional[int] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("id", "player_id", "point_type", "kind", "amount", "balance_after", "reference", "description", "created_at", "scale")
    ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    id: int
    player_id: str
    point_type: str
    kind: EntryKind
    amount: int
    balance_after: int
    reference: str
    description: str
    created_at: _timestamp_pb2.Timestamp
    scale: int
    def __init__(self, id: _Optional[int] = ..., player_id: _Optional[str] = ..., point_type: _Optional[str] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., amount: _Optional[int] = ..., balance_after: _Optional[int] = ..., reference: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scale: _Optional[int] = ...) -> None: ...

class DefinePointTypeRequest(_message.Message):
    __slots__ = ("scope", "point_type")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    point_type: PointType
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., point_type: _Optional[_Union[PointType, _Mapping]] = ...) -> None: ...

class DefinePointTypeResponse(_message.Message):
    __slots__ = ("point_type",)
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    point_type: PointType
    def __init__(self, point_type: _Optional[_Union[PointType, _Mapping]] = ...) -> None: ...

class ListPointTypesRequest(_message.Message):
    __slots__ = ("scope",)
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ...) -> None: ...

class ListPointTypesResponse(_message.Message):
    __slots__ = ("point_types",)
    POINT_TYPES_FIELD_NUMBER: _ClassVar[int]
    point_types: _containers.RepeatedCompositeFieldContainer[PointType]
    def __init__(self, point_types: _Optional[_Iterable[_Union[PointType, _Mapping]]] = ...) -> None: ...

class UpsertPlayerRequest(_message.Message):
    __slots__ = ("scope", "player_id", "status")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player_id: str
    status: PlayerStatus
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ..., status: _Optional[_Union[PlayerStatus, str]] = ...) -> None: ...

class UpsertPlayerResponse(_message.Message):
    __slots__ = ("player_id", "status")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    status: PlayerStatus
    def __init__(self, player_id: _Optional[str] = ..., status: _Optional[_Union[PlayerStatus, str]] = ...) -> None: ...

class GetPlayerRequest(_message.Message):
    __slots__ = ("scope", "player_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ...) -> None: ...

class GetPlayerResponse(_message.Message):
    __slots__ = ("player_id", "status", "accounts", "created_at")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    status: PlayerStatus
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, player_id: _Optional[str] = ..., status: _Optional[_Union[PlayerStatus, str]] = ..., accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GrantPointsRequest(_message.Message):
    __slots__ = ("scope", "player_id", "point_type", "amount", "idempotency_key", "description", "expires_at")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player_id: str
    point_type: str
    amount: int
    idempotency_key: str
    description: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ..., point_type: _Optional[str] = ..., amount: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., description: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GrantPointsResponse(_message.Message):
    __slots__ = ("entry", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: LedgerEntry
    replayed: bool
    def __init__(self, entry: _Optional[_Union[LedgerEntry, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class AdjustPointsRequest(_message.Message):
    __slots__ = ("scope", "player_id", "point_type", "amount", "idempotency_key", "description")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player_id: str
    point_type: str
    amount: int
    idempotency_key: str
    description: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ..., point_type: _Optional[str] = ..., amount: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class AdjustPointsResponse(_message.Message):
    __slots__ = ("entry", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: LedgerEntry
    replayed: bool
    def __init__(self, entry: _Optional[_Union[LedgerEntry, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class DebitPointsRequest(_message.Message):
    __slots__ = ("scope", "saga_id", "player_id", "point_type", "amount", "description")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    saga_id: str
    player_id: str
    point_type: str
    amount: int
    description: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., saga_id: _Optional[str] = ..., player_id: _Optional[str] = ..., point_type: _Optional[str] = ..., amount: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class DebitPointsResponse(_message.Message):
    __slots__ = ("entry", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: LedgerEntry
    replayed: bool
    def __init__(self, entry: _Optional[_Union[LedgerEntry, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class RefundPointsRequest(_message.Message):
    __slots__ = ("scope", "saga_id", "reason")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    saga_id: str
    reason: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., saga_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RefundPointsResponse(_message.Message):
    __slots__ = ("entry", "refunded", "replayed")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    entry: LedgerEntry
    refunded: bool
    replayed: bool
    def __init__(self, entry: _Optional[_Union[LedgerEntry, _Mapping]] = ..., refunded: _Optional[bool] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetBalancesRequest(_message.Message):
    __slots__ = ("scope", "player_id")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player_id: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ...) -> None: ...

class GetBalancesResponse(_message.Message):
    __slots__ = ("accounts",)
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("scope", "player_id", "point_type", "page_size", "page_token")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    POINT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    player_id: str
    point_type: str
    page_size: int
    page_token: str
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., player_id: _Optional[str] = ..., point_type: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
