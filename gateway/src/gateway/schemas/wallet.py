"""The canonical API's wallets: balances, transactions, grants and adjustments, point types, a player's status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator
from rewards.wallet.v1 import wallet_pb2

from gateway.schemas.common import MAX_MINOR_UNITS, ApiModel, AwareInstant, display_amount, timestamp


class Balance(ApiModel):
    point_type: str
    amount: int = Field(description="minor units")
    scale: int
    display: str = Field(description='decimal string, e.g. "150.50"')

    @classmethod
    def from_proto(cls, a: wallet_pb2.Account) -> Balance:
        return cls(point_type=a.point_type, amount=a.balance, scale=a.scale,
                   display=display_amount(a.balance, a.scale))


class PointsLot(ApiModel):
    id: int
    amount: int = Field(description="minor units still in the lot")
    display: str = Field(description='decimal string, e.g. "150.50"')
    granted: int = Field(description="minor units credited to the lot (grants of the same expiry join one lot)")
    expires_at: datetime | None = Field(description="when its points lapse; null: never")
    created_at: datetime | None

    @classmethod
    def from_proto(cls, lot: wallet_pb2.Lot, scale: int) -> PointsLot:
        return cls(id=lot.id, amount=lot.remaining, display=display_amount(lot.remaining, scale),
                   granted=lot.granted, expires_at=timestamp(lot, "expires_at"),
                   created_at=timestamp(lot, "created_at"))


class WalletBalance(Balance):
    lots: list[PointsLot] = Field(description="the lots holding the balance, in the order debits take them: "
                                              "soonest expiry first, never-expiring last")
    expiring_within_30_days: int = Field(description="minor units of the lots that expire within 30 days")
    expiring_within_30_days_display: str

    @classmethod
    def from_proto(cls, a: wallet_pb2.Account) -> WalletBalance:
        return cls(point_type=a.point_type, amount=a.balance, scale=a.scale,
                   display=display_amount(a.balance, a.scale),
                   lots=[PointsLot.from_proto(lot, a.scale) for lot in a.lots],
                   expiring_within_30_days=a.expiring_within_30_days,
                   expiring_within_30_days_display=display_amount(a.expiring_within_30_days, a.scale))


class Balances(ApiModel):
    player_id: str
    balances: list[WalletBalance]


ENTRY_KIND_NAMES = {v: k.removeprefix("ENTRY_KIND_").lower() for k, v in wallet_pb2.EntryKind.items() if v}


class Transaction(ApiModel):
    id: int
    player_id: str
    point_type: str
    kind: str = Field(description="grant, debit, refund, adjustment or expire")
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
    expires_at: AwareInstant | None = Field(
        default=None, description="when the granted points lapse, in the future (with its zone); absent: the "
                                  "point type's lifetimeSeconds from now, or never")


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
    lifetime_seconds: int = Field(default=0, ge=0, le=100 * 366 * 24 * 3600,
                                  description="how long a lot granted without expiresAt lives; 0: never expires")


class PointType(ApiModel):
    code: str
    name: str
    scale: int
    lifetime_seconds: int = Field(default=0, description="how long a lot granted without expiresAt lives; 0: never")

    @classmethod
    def from_proto(cls, pt: wallet_pb2.PointType) -> PointType:
        return cls(code=pt.code, name=pt.name, scale=pt.scale, lifetime_seconds=pt.lifetime_seconds)


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
