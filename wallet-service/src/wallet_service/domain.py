"""The wallet's vocabulary: point types, players, accounts, ledger entries, and the rules a request must meet.

Limits mirror the column sizes, so bad input is refused as VALIDATION_ERROR before it can reach the database.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from service_kit.errors import DomainError, ErrorCode
from service_kit.validation import require_text

MAX_PLAYER_ID = 128
MAX_REFERENCE = 200          # idempotency keys and saga ids
MAX_POINT_TYPE_CODE = 32
MAX_POINT_TYPE_NAME = 100
MAX_DESCRIPTION = 500
MAX_SCALE = 6
# Larger than any real balance, far below int64: a sum of two never overflows the BIGINT columns.
MAX_AMOUNT = 10**15

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_POINT_TYPE_CODE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class PlayerStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class EntryKind(enum.StrEnum):
    GRANT = "grant"
    DEBIT = "debit"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True, slots=True)
class PointType:
    code: str
    name: str
    scale: int


@dataclass(frozen=True, slots=True)
class Account:
    point_type: str
    balance: int
    scale: int


@dataclass(frozen=True, slots=True)
class Player:
    player_id: str
    status: PlayerStatus
    accounts: list[Account]
    created_at: datetime | None = None   # when the wallet first knew the player (review holds' player-age rule)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int
    player_id: str
    point_type: str
    kind: EntryKind
    amount: int            # signed: positive credits, negative debits
    balance_after: int
    reference: str         # idempotency key or saga id
    description: str
    created_at: datetime
    scale: int


@dataclass(frozen=True, slots=True)
class Movement:
    """The result of a mutating call: the entry, and whether it had been written by an earlier call."""

    entry: LedgerEntry
    replayed: bool


@dataclass(frozen=True, slots=True)
class Refund:
    entry: LedgerEntry | None   # None: no debit landed for the saga
    replayed: bool

    @property
    def refunded(self) -> bool:
        return self.entry is not None


@dataclass(frozen=True, slots=True)
class TransactionPage:
    entries: list[LedgerEntry]
    next_page_token: str


# --- validation ---------------------------------------------------------------------------------------------

def require_point_type_code(value: str, field: str = "point_type") -> str:
    require_text(value, field, MAX_POINT_TYPE_CODE)
    if not _POINT_TYPE_CODE.match(value):
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"{field} may hold only letters, digits, '_', '.' and '-'")
    return value


def require_scale(scale: int) -> int:
    if not 0 <= scale <= MAX_SCALE:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"point_type.scale must be 0..{MAX_SCALE}")
    return scale


def require_positive_amount(amount: int) -> int:
    if amount <= 0:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "amount must be a positive number of minor units")
    if amount > MAX_AMOUNT:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"amount must be at most {MAX_AMOUNT}")
    return amount


def require_adjustment_amount(amount: int) -> int:
    if amount == 0:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "amount of an adjustment must not be zero")
    if abs(amount) > MAX_AMOUNT:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"amount must be at most {MAX_AMOUNT} in absolute value")
    return amount


def page_size_of(requested: int) -> int:
    if requested < 0:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "page_size must not be negative")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


# --- page tokens --------------------------------------------------------------------------------------------
# A token carries the id of the last entry served and a digest of the query it belongs to, so that a token
# of one player's list is refused on another's instead of silently serving the wrong rows.

