"""Page tokens, one codec for every listing: opaque to clients, the unpadded base64url of a JSON array holding the
last row's sort key and a digest of the query the page belongs to. Decoding checks the shape and the type of
every value (an int is a non-negative int, never a bool; a str is at most MAX_KEY_TEXT characters; a datetime is
an ISO 8601 time with its offset), and refuses with VALIDATION_ERROR a token this service did not issue or one
issued for another query (other filters, another player), so a client never reads a page of another listing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service_kit.errors import DomainError, ErrorCode

MAX_TOKEN_LENGTH = 512
MAX_KEY_TEXT = 200
KeyValue = str | int | datetime


def encode(key: Sequence[KeyValue], query: Sequence[object] = ()) -> str:
    """The token of the page after the row whose sort key is `key`, for the listing filtered by `query`."""
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps([*values, _digest(query)], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, shape: Sequence[type], query: Sequence[object] = (),
           field: str = "page_token") -> tuple[Any, ...] | None:
    """The sort key `encode` was given, as a tuple of `shape`'s types; None for an empty token (the first page)."""
    if not token:
        return None
    foreign = DomainError(ErrorCode.VALIDATION_ERROR, f"{field} is not a token this service issued")
    if len(token) > MAX_TOKEN_LENGTH:
        raise foreign
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise foreign from None
    if not isinstance(values, list) or len(values) != len(shape) + 1:
        raise foreign
    *key, digest = values
    decoded = tuple(_value(v, kind) for v, kind in zip(key, shape, strict=True))
    if None in decoded:
        raise foreign
    if digest != _digest(query):
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"{field} belongs to another query: page with the filters that gave it")
    return decoded


def _value(value: object, kind: type) -> KeyValue | None:
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    if kind is str:
        return value if isinstance(value, str) and len(value) <= MAX_KEY_TEXT else None
    if kind is datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else None
    return None


def _digest(query: Sequence[object]) -> str:
    return hashlib.sha256("\x00".join(map(str, query)).encode()).hexdigest()[:16]
