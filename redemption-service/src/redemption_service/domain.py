"""Redemptions: statuses, the moves allowed between them, the rule of what may be cancelled, and what a
fulfillment result may do to a redemption."""

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


# Goods move forward only: never back from shipped to pending, nor from delivered to shipped.
DELIVERY_ALLOWED: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.NONE: frozenset({DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED}),
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED}),
    DeliveryStatus.SHIPPED: frozenset({DeliveryStatus.DELIVERED}),
    DeliveryStatus.DELIVERED: frozenset(),
}


class Outcome(enum.StrEnum):
    """What fulfillment-service reports (rewards.fulfillment.v1.ResultOutcome without its prefix)."""

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    AWAITING_VENDOR = "AWAITING_VENDOR"
    AWAITING_CUSTOMER = "AWAITING_CUSTOMER"
    PURCHASED = "PURCHASED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    ACCEPTED = "ACCEPTED"          # the job is taken and waits (an operator, a provider): no status changes


class ResultPlan(enum.Enum):
    APPLY = "apply"                # record the result: a new status and/or delivery status, fulfillment data
    ACKNOWLEDGE = "acknowledge"    # record only that fulfillment took the job (and the result's sequence)
    COMPENSATE = "compensate"      # a permanent failure: cancel with a refund
    STALE = "stale"                # a newer result was applied already
    FINISHED = "finished"          # the redemption has ended (or its cancel is under way): nothing moves it
    CONFLICT = "conflict"          # the result contradicts the redemption's state: logged for an operator


@dataclass(frozen=True, slots=True)
class ResultMove:
    plan: ResultPlan
    status: Status | None = None                    # the new status, when it changes
    delivery_status: DeliveryStatus | None = None   # the new delivery status, when it changes
    reason: str = ""                                # why a result is not applied, for the log


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
    result_sequence: int = 0                  # the newest fulfillment result applied
    result_applied_at: datetime | None = None
    job_published_at: datetime | None = None  # the last time its job was handed to the outbox or published
    job_acknowledged_at: datetime | None = None  # the first result applied: fulfillment has the job

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

    def fulfillment_result(self, outcome: Outcome, sequence: int) -> ResultMove:
        """What a fulfillment result with this sequence does here. Nothing moves a redemption out of COMPLETED,
        CANCELED or FAILED, nor back to an earlier result."""
        if sequence <= self.result_sequence:
            return ResultMove(ResultPlan.STALE, reason=f"sequence {sequence} <= {self.result_sequence}")
        if self.status is Status.SUBMITTED:
            return ResultMove(ResultPlan.CONFLICT, reason="a result for a redemption that was never confirmed")
        if self.status in (Status.CANCELED, Status.FAILED) or self.cancel_requested_at is not None:
            if outcome in (Outcome.COMPLETED, Outcome.SHIPPED, Outcome.DELIVERED):
                # A known race: delivered after the cancel. The refund stands; what was delivered is not shown.
                return ResultMove(ResultPlan.CONFLICT, reason="delivered after the redemption was canceled")
            return ResultMove(ResultPlan.FINISHED, reason="the redemption is canceled")
        if outcome in (Outcome.SHIPPED, Outcome.DELIVERED):
            return self._goods_move(DeliveryStatus(outcome.value))
        if self.status is Status.COMPLETED:
            return ResultMove(ResultPlan.FINISHED, reason="the redemption is completed")
        if outcome is Outcome.ACCEPTED:
            return ResultMove(ResultPlan.ACKNOWLEDGE)
        if outcome is Outcome.FAILED:
            if self.delivery_status in (DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED):
                return ResultMove(ResultPlan.CONFLICT, reason="a failure after the goods were shipped")
            return ResultMove(ResultPlan.COMPENSATE, Status.CANCELED)
        target = Status(outcome.value)
        if target is self.status:
            return ResultMove(ResultPlan.APPLY)  # news of the same status (a provider reference, say)
        assert self.may_become(target), (self.status, target)
        return ResultMove(ResultPlan.APPLY, target)

    def _goods_move(self, delivery: DeliveryStatus) -> ResultMove:
        if delivery not in DELIVERY_ALLOWED[self.delivery_status]:
            return ResultMove(ResultPlan.APPLY)  # already there (or beyond): only the data is news
        completes = (delivery is DeliveryStatus.DELIVERED and self.fulfillment_strategy == "physical"
                     and self.may_become(Status.COMPLETED))
        return ResultMove(ResultPlan.APPLY, Status.COMPLETED if completes else None, delivery)


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
