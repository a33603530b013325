"""The wallet's vocabulary: point types, players, accounts, ledger entries, and the rules a request must meet.

Limits mirror the column sizes, so bad input is refused as VALIDATION_ERROR before it can reach the database.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from service_kit.errors import DomainError, ErrorCode
from service_kit.validation import require_text

MAX_PLAYER_ID = 128
MAX_REFERENCE = 200          # idempotency keys and saga ids
MAX_POINT_TYPE_CODE = 32
MAX_POINT_TYPE_NAME = 100
MAX_DESCRIPTION = 500
MAX_SCALE = 6
# A point type's default lot lifetime: at most about a hundred years.
MAX_LIFETIME_SECONDS = 100 * 366 * 24 * 3600
# What the wallet API shows as expiring soon.
EXPIRING_SOON = timedelta(days=30)
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
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class PointType:
    code: str
    name: str
    scale: int
    lifetime_seconds: int = 0    # of a lot whose grant names no expiry; 0: never expires


@dataclass(frozen=True, slots=True)
class Lot:
    """Points of an account that expire together (one lot per expiry); expires_at None: never expires."""

    id: int
    remaining: int
    granted: int
    expires_at: datetime | None
    created_at: datetime

    def spendable(self, now: datetime) -> bool:
        return self.remaining > 0 and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class Account:
    point_type: str
    balance: int
    scale: int
    lots: tuple[Lot, ...] = ()
    expiring_soon: int = 0       # minor units in lots expiring within EXPIRING_SOON (lapsed ones included)


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


# --- lots ---------------------------------------------------------------------------------------------------

def spending_order(lot: Lot) -> tuple[bool, datetime, int]:
    """Soonest expiry first, never-expiring last, the older lot first among equals: the order debits take in."""
    return (lot.expires_at is None, lot.expires_at or datetime.min, lot.id)


def take_from_lots(lots: Iterable[Lot], amount: int, now: datetime) -> list[tuple[int, int]] | None:
    """(lot id, amount) taken from the spendable lots in spending order to make up amount; None when they hold
    less. The repository's DEBIT statement does the same in SQL (the hot path); negative adjustments use this."""
    taken: list[tuple[int, int]] = []
    left = amount
    for lot in sorted((lot for lot in lots if lot.spendable(now)), key=spending_order):
        if left == 0:
            break
        part = min(lot.remaining, left)
        taken.append((lot.id, part))
        left -= part
    return taken if left == 0 else None


def expiring_within(lots: Iterable[Lot], now: datetime, window: timedelta = EXPIRING_SOON) -> int:
    return sum(lot.remaining for lot in lots if lot.expires_at is not None and lot.expires_at <= now + window)


def lot_expiry(requested: datetime | None, lifetime_seconds: int, now: datetime) -> datetime | None:
    """When a granted lot expires: the grant's own expiry, which must be ahead of now; else the point type's
    lifetime from now; None (never) when it has none."""
    if requested is not None:
        if requested.tzinfo is None:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "expires_at must carry a time zone")
        if requested <= now:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "expires_at must be in the future")
        return requested
    if lifetime_seconds > 0:
        return now + timedelta(seconds=lifetime_seconds)
    return None


def require_lifetime(seconds: int) -> int:
    if not 0 <= seconds <= MAX_LIFETIME_SECONDS:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"point_type.lifetime_seconds must be 0..{MAX_LIFETIME_SECONDS} (0: lots never expire)")
    return seconds


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

