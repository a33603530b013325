"""Redemptions: statuses, the moves allowed between them, the rule of what may be cancelled, and what a
fulfillment result may do to a redemption; and the requests the use cases take (a redeem, a quote, a listing),
checked when made."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service_kit.errors import DomainError, ErrorCode
from service_kit.validation import optional_text, require_text

from redemption_service import sandbox

if TYPE_CHECKING:
    from service_kit.scope import Scope


class Status(enum.StrEnum):
    SUBMITTED = "SUBMITTED"        # accepted; the saga runs (reserve, debit) and nothing is promised yet
    OPEN = "OPEN"                  # paid and confirmed: the pivot; from here forward, or cancelled with a refund
    AWAITING_VENDOR = "AWAITING_VENDOR"
    AWAITING_CUSTOMER = "AWAITING_CUSTOMER"
    PURCHASED = "PURCHASED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"              # rejected before any charge
    # Paid and held for an operator's review (a review rule applied): no fulfillment job until approved (OPEN);
    # a rejection or the hold's timeout refunds and releases it (CANCELED).
    AWAITING_APPROVAL = "AWAITING_APPROVAL"


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
    Status.SUBMITTED: frozenset({Status.OPEN, Status.FAILED, Status.AWAITING_APPROVAL}),
    # A hold is decided once: approved (its job is sent) or rejected (refunded and canceled).
    Status.AWAITING_APPROVAL: frozenset({Status.OPEN, Status.CANCELED}),
    # Forward only: once past OPEN, never back to it.
    **{s: _IN_FLIGHT - {s, Status.OPEN} | {Status.COMPLETED, Status.CANCELED} for s in _IN_FLIGHT},
    Status.COMPLETED: frozenset(),
    Status.CANCELED: frozenset(),
    Status.FAILED: frozenset(),
}

# Statuses a cancel may start from (physical goods also need to be not yet shipped).
CANCELLABLE = frozenset(s for s, targets in ALLOWED.items() if Status.CANCELED in targets)

# How long a caller should wait before asking again about a redemption that is changing (its saga still running,
# a delivery in flight, a result landing between a read and a write).
RETRY_AFTER_SECONDS = 1


class ReviewDecision(enum.StrEnum):
    """A held redemption's decision, as `review_decision` keeps it."""

    APPROVED = "approved"          # an operator approved: fulfilment goes on
    REJECTED = "rejected"          # an operator rejected: refund and release, CANCELED REVIEW_REJECTED
    EXPIRED = "expired"            # undecided for REVIEW_HOLD_SECONDS: as rejected, CANCELED REVIEW_EXPIRED


# The failure code a held redemption that was not approved ends CANCELED with.
REJECTION_CODES = {ReviewDecision.REJECTED: "REVIEW_REJECTED", ReviewDecision.EXPIRED: "REVIEW_EXPIRED"}


class ReviewPlan(enum.Enum):
    APPROVE = "approve"            # move the hold to OPEN and send its job
    REJECT = "reject"              # persist the rejection, then the saga's way back, then CANCELED
    FINISH_REJECTION = "finish"    # rejected already, its refund not finished: run the way back again (idempotent)
    UNCHANGED = "unchanged"        # decided this way already: answered as it is


class HoldReason(enum.StrEnum):
    """Why a redemption was held, in the order the rules are checked (the cheap ones first)."""

    ALWAYS_REVIEW = "ALWAYS_REVIEW"        # the item (or the tenant) is marked "always review"
    SANDBOX_REVIEW = "SANDBOX_REVIEW"      # the sandbox outcome `review`
    COST_OVER = "COST_OVER"                # the cost is over the threshold
    MAX_PER_HOUR = "MAX_PER_HOUR"          # the player redeemed more than N times in the last hour
    NEW_PLAYER = "NEW_PLAYER"              # the player is younger than N days


MAX_RULE_PER_HOUR = 10_000
MAX_RULE_DAYS = 3_650


@dataclass(frozen=True, slots=True)
class ReviewRules:
    """When a redemption is held for review; a zero (or false) rule does not apply."""

    max_redemptions_per_hour: int = 0
    cost_over: int = 0
    player_younger_than_days: int = 0
    always_review: bool = False

    def __post_init__(self) -> None:
        bounds = {"max_redemptions_per_hour": MAX_RULE_PER_HOUR, "player_younger_than_days": MAX_RULE_DAYS,
                  "cost_over": 2**62}
        for name, bound in bounds.items():
            value = getattr(self, name)
            if not 0 <= value <= bound:
                raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} must be between 0 and {bound}")

    @property
    def empty(self) -> bool:
        return not (self.max_redemptions_per_hour or self.cost_over or self.player_younger_than_days
                    or self.always_review)

    def merged(self, other: ReviewRules) -> ReviewRules:
        """The tenant's rules and an item's together: a redemption is held when a rule of either applies."""
        def lowest(a: int, b: int) -> int:
            return min(a, b) if a and b else a or b
        return ReviewRules(
            max_redemptions_per_hour=lowest(self.max_redemptions_per_hour, other.max_redemptions_per_hour),
            cost_over=lowest(self.cost_over, other.cost_over),
            player_younger_than_days=max(self.player_younger_than_days, other.player_younger_than_days),
            always_review=self.always_review or other.always_review)

    def reason_without_lookups(self, cost: int) -> HoldReason | None:
        """The rules that need nothing but the redemption itself."""
        if self.always_review:
            return HoldReason.ALWAYS_REVIEW
        if self.cost_over and cost > self.cost_over:
            return HoldReason.COST_OVER
        return None

    @property
    def counts_recent(self) -> bool:
        return self.max_redemptions_per_hour > 0

    @property
    def needs_player_age(self) -> bool:
        return self.player_younger_than_days > 0

    def reason(self, cost: int, *, recent: int | None = None, player_age_days: float | None = None,
               ) -> HoldReason | None:
        """Why the redemption is held, or None. recent: the player's other redemptions in the last hour (asked
        only when counts_recent); player_age_days: asked only when needs_player_age."""
        cheap = self.reason_without_lookups(cost)
        if cheap is not None:
            return cheap
        if self.counts_recent and recent is not None and recent >= self.max_redemptions_per_hour:
            # "more than N per hour": this one would be the N+1th.
            return HoldReason.MAX_PER_HOUR
        if self.needs_player_age and player_age_days is not None and player_age_days < self.player_younger_than_days:
            return HoldReason.NEW_PLAYER
        return None


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
    review_reason: str = ""                   # why it was held for review (HoldReason); empty: never held
    held_at: datetime | None = None
    review_decision: str = ""                 # ReviewDecision, once decided
    reviewed_at: datetime | None = None
    review_note: str = ""

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
                              {"retry_after_seconds": str(RETRY_AFTER_SECONDS)})
        if self.status is Status.COMPLETED:
            raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE, "a completed redemption cannot be cancelled")
        if self.delivery_status in (DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED):
            raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE,
                              f"the goods are already {self.delivery_status.lower()}")
        assert self.may_become(Status.CANCELED), self.status
        return CancelPlan.REFUND

    def review(self, decision: ReviewDecision) -> ReviewPlan:
        """What an operator's decision (or the hold's timeout, as EXPIRED) does here. Deciding the same way twice
        is harmless; deciding a redemption that is not held, or the other way, is refused."""
        decided = ReviewDecision(self.review_decision) if self.review_decision else None
        wants_refund = decision is not ReviewDecision.APPROVED
        if decided is not None:
            if (decided is not ReviewDecision.APPROVED) == wants_refund:
                if wants_refund and self.status is not Status.CANCELED:
                    return ReviewPlan.FINISH_REJECTION
                return ReviewPlan.UNCHANGED
            raise DomainError(ErrorCode.REDEMPTION_NOT_HELD,
                              f"the review was decided already: {decided.value}")
        if self.status is not Status.AWAITING_APPROVAL:
            raise DomainError(ErrorCode.REDEMPTION_NOT_HELD, "the redemption is not held for review")
        if self.cancel_requested_at is not None:
            raise DomainError(ErrorCode.REDEMPTION_NOT_HELD, "the redemption is being canceled")
        target = Status.CANCELED if wants_refund else Status.OPEN
        assert self.may_become(target), (self.status, target)
        return ReviewPlan.REJECT if wants_refund else ReviewPlan.APPROVE

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
        if self.status is Status.AWAITING_APPROVAL:
            return ResultMove(ResultPlan.CONFLICT, reason="a result for a redemption held for review (no job sent)")
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


# --- the requests -------------------------------------------------------------------------------------------------

# The bounds of a redeem's optional text fields (the required ones, player.player_id and item_id, are 128).
REDEEM_TEXT_LIMITS = {"variant_id": 128, "point_type": 32, "comment": 1000, "trigger_source": 64, "quote_id": 64}


@dataclass(frozen=True, slots=True)
class RedeemCommand:
    """A redeem as the use case takes it (grpc_api reads it from a RedeemRequest), refused when made if the
    request is not one. The address, the customer info and the trigger details are dicts, None when unset or
    empty (an empty address is no address); the field names in the refusals are the request's."""

    scope: Scope
    player_id: str
    item_id: str
    idempotency_key: str = ""            # empty: one is generated (no replay protection)
    variant_id: str = ""
    rounds: int = 0
    point_type: str = ""
    shipping_address: dict[str, Any] | None = None
    customer_info: dict[str, Any] | None = None
    comment: str = ""
    trigger_source: str = ""             # empty: service_kit.contract.DEFAULT_TRIGGER_SOURCE
    trigger_details: dict[str, Any] | None = None
    wait_for_fulfillment_ms: int = 0     # 0: the service's default
    quote_id: str = ""
    sandbox_outcome: str = ""            # sandbox only (sandbox.py); refused in live

    def __post_init__(self) -> None:
        require_text(self.player_id, "player.player_id", 128)
        require_text(self.item_id, "item_id", 128)
        for name, limit in REDEEM_TEXT_LIMITS.items():
            optional_text(getattr(self, name), name, limit)
        if self.rounds < 0:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "rounds may not be negative")
        if self.wait_for_fulfillment_ms < 0:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "wait_for_fulfillment_ms may not be negative")
        address = self.shipping_address
        if address is not None:
            missing = [f for f in ("line1", "city", "country") if not address.get(f)]
            if missing:
                raise DomainError(ErrorCode.VALIDATION_ERROR, "shipping_address needs " + ", ".join(missing))
        customer = self.customer_info
        if customer is not None and not (customer.get("email") or customer.get("phone")):
            raise DomainError(ErrorCode.VALIDATION_ERROR, "customer_info needs an email or a phone")
        sandbox.checked_outcome(self.sandbox_outcome, self.scope)


@dataclass(frozen=True, slots=True)
class QuoteQuery:
    """QuoteRedemption: what the player would pay for the item, and whether they may."""

    scope: Scope
    player_id: str
    item_id: str
    variant_id: str = ""
    rounds: int = 0
    point_type: str = ""

    def __post_init__(self) -> None:
        require_text(self.player_id, "player.player_id", 128)
        require_text(self.item_id, "item_id", 128)


@dataclass(frozen=True, slots=True)
class RedemptionQuery:
    """ListRedemptions: a page of a tenant's redemptions, newest first."""

    scope: Scope
    player_id: str = ""                  # empty: every player's
    status: Status | None = None         # None: every status
    page_size: int = 0                   # 0: the default
    page_token: str = ""
    # What a page token is bound to: the player and the status filter as the request numbered it (the wire's
    # RedemptionStatus, 0 for every status), so the tokens issued before stay valid.
    token_query: tuple[str, int] = ("", 0)

    def __post_init__(self) -> None:
        if self.page_size < 0:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "page_size may not be negative")
