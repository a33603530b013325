"""What the canonical API's JSON shares: the base model (camelCase on the wire), the bounds of numbers, and the
conversions from and to the services' protos (timestamps, amounts, free-form objects)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

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


def or_none(value: Any) -> Any:
    return value or None
