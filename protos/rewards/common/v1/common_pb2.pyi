from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Environment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENVIRONMENT_UNSPECIFIED: _ClassVar[Environment]
    ENVIRONMENT_LIVE: _ClassVar[Environment]
    ENVIRONMENT_SANDBOX: _ClassVar[Environment]
ENVIRONMENT_UNSPECIFIED: Environment
ENVIRONMENT_LIVE: Environment
ENVIRONMENT_SANDBOX: Environment

class Scope(_message.Message):
    __slots__ = ("tenant_id", "environment")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    environment: Environment
    def __init__(self, tenant_id: _Optional[str] = ..., environment: _Optional[_Union[Environment, str]] = ...) -> None: ...

class PlayerContext(_message.Message):
    __slots__ = ("player_id", "segments", "country", "level", "client_ip")
    PLAYER_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    player_id: str
    segments: _containers.RepeatedScalarFieldContainer[str]
    country: str
    level: int
    client_ip: str
    def __init__(self, player_id: _Optional[str] = ..., segments: _Optional[_Iterable[str]] = ..., country: _Optional[str] = ..., level: _Optional[int] = ..., client_ip: _Optional[str] = ...) -> None: ...

class ShippingAddress(_message.Message):
    __slots__ = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LINE1_FIELD_NUMBER: _ClassVar[int]
    LINE2_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str
    phone: str
    def __init__(self, name: _Optional[str] = ..., line1: _Optional[str] = ..., line2: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., postal_code: _Optional[str] = ..., country: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class CustomerInfo(_message.Message):
    __slots__ = ("name", "phone", "email")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    phone: str
    email: str
    def __init__(self, name: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...
