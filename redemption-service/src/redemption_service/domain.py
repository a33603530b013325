"""Redemptions: statuses, the moves allowed between them, and the rule of what may be cancelled."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service_kit.errors import DomainError, ErrorCode


class Status(enum.StrEnum):
    SUBMITTED = "SUBMITTED"        # accepted; the saga runs (reserve, debit) and nothing is promised yet
    OPEN = "OPEN"                  # paid and confirmed: the pivot; from here forward, or cancelled with a refund
    AWAITING_VENDOR = "AWAITING_VENDOR"
    AWAITING_CUSTOMER = "AWAITING_CUSTOMER"
    PURCHASED = "PURCHASED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"              # rejected before any charge


class DeliveryStatus(enum.StrEnum):
    NONE = ""                      # nothing to deliver
    PENDING = "PENDING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"


class SagaState(enum.StrEnum):
    RUNNING = "running"            # before the pivot
    COMPENSATING = "compensating"
    FAILED = "failed"
    CONFIRMED = "confirmed"        # the pivot committed
    CANCELING = "canceling"        # a cancel was requested: refund and release under way
    CANCELED = "canceled"


_IN_FLIGHT = frozenset({Status.OPEN, Status.AWAITING_VENDOR, Status.AWAITING_CUSTOMER, Status.PURCHASED})

ALLOWED: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.OPEN, Status.FAILED}),
    # Forward only: once past OPEN, never back to it.
    **{s: _IN_FLIGHT - {s, Status.OPEN} | {Status.COMPLETED, Status.CANCELED} for s in _IN_FLIGHT},
    Status.COMPLETED: frozenset(),
    Status.CANCELED: frozenset(),
    Status.FAILED: frozenset(),
}

# Statuses a cancel may start from (physical goods also need to be not yet shipped).
CANCELLABLE = frozenset(s for s, targets in ALLOWED.items() if Status.CANCELED in targets)

# How long a caller should wait before asking again about a redemption whose saga is still running.
SAGA_RETRY_AFTER_SECONDS = 1


class CancelPlan(enum.Enum):
    REFUND = "refund"              # refund the debit, release the stock, then CANCELED
    UNCHANGED = "unchanged"        # already CANCELED or FAILED: cancelling again is harmless


@dataclass(frozen=True, slots=True)
class Redemption:
    id: str
    number: int
    tenant_id: str
    environment: str
    player_id: str
    idempotency_key: str
    item_id: str
    variant_id: str
    rounds: int
    point_type: str
    cost: int
    point_scale: int
    item_name: str
    item_image_url: str
    face_value: int
    face_currency: str
    fulfillment_strategy: str
    fulfillment_config: dict[str, Any]
    redemption_message: str
    status: Status
    delivery_status: DeliveryStatus
    failure_code: str
    failure_message: str
    fulfillment: dict[str, Any] | None
    debit_transaction_id: int | None
    balance_after: int | None
    shipping_address: dict[str, Any] | None
    customer_info: dict[str, Any] | None
    comment: str
    trigger_source: str
    trigger_details: dict[str, Any] | None
    cancel_reason: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    cancel_requested_at: datetime | None
    canceled_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "delivery_status", DeliveryStatus(self.delivery_status))

    def may_become(self, status: Status) -> bool:
        return status in ALLOWED[self.status]

    def cancel(self) -> CancelPlan:
        """What a cancel request does to this redemption; refuses what may no longer be cancelled."""
        if self.status in (Status.CANCELED, Status.FAILED):
            return CancelPlan.UNCHANGED
        if self.status is Status.SUBMITTED:
            raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE,
                              "the redemption is still being processed; try again shortly",
                              {"retry_after_seconds": str(SAGA_RETRY_AFTER_SECONDS)})
        if self.status is Status.COMPLETED:
            raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE, "a completed redemption cannot be cancelled")
        if self.delivery_status in (DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED):
            raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE,
                              f"the goods are already {self.delivery_status.lower()}")
        assert self.may_become(Status.CANCELED), self.status
        return CancelPlan.REFUND


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the redemption keeps of the item, the price and the debit at the time it was made."""

    item_name: str
    item_image_url: str
    variant_id: str
    rounds: int
    point_type: str
    cost: int
    point_scale: int
    face_value: int
    face_currency: str
    fulfillment_strategy: str
    fulfillment_config: dict[str, Any]
    redemption_message: str
    debit_transaction_id: int
    balance_after: int
    delivery_status: DeliveryStatus
