"""Review holds in the domain: which rule holds a redemption (the cheap ones first, lookups only when a rule needs
them), how a tenant's and an item's rules combine, and what an approval, a rejection or the timeout may do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from redemption_service.domain import (
    ALLOWED,
    CANCELLABLE,
    HoldReason,
    Outcome,
    Redemption,
    ResultPlan,
    ReviewDecision,
    ReviewPlan,
    ReviewRules,
    Status,
)
from service_kit.errors import DomainError, ErrorCode


def make_redemption(status: Status, strategy: str = "physical") -> Redemption:
    now = datetime.now(UTC)
    return Redemption(
        id="r", number=1, tenant_id="t", environment="live", player_id="p", idempotency_key="k", item_id="i",
        variant_id="", rounds=0, point_type="gems", cost=10, point_scale=0, item_name="", item_image_url="",
        face_value=0, face_currency="", fulfillment_strategy=strategy, fulfillment_config={},
        redemption_message="", status=status, delivery_status="", failure_code="",  # type: ignore[arg-type]
        failure_message="", fulfillment=None, debit_transaction_id=None, balance_after=None,
        shipping_address=None, customer_info=None, comment="", trigger_source="MANUAL", trigger_details=None,
        cancel_reason="", created_at=now, updated_at=now, completed_at=None, cancel_requested_at=None,
        canceled_at=None)


def held(**changes: object) -> Redemption:
    return dataclasses.replace(make_redemption(Status.AWAITING_APPROVAL, strategy="code_pool"),
                               review_reason="COST_OVER", held_at=datetime.now(UTC), **changes)  # type: ignore[arg-type]


def test_a_hold_is_entered_from_the_saga_and_left_only_by_a_decision() -> None:
    assert Status.AWAITING_APPROVAL in ALLOWED[Status.SUBMITTED]
    assert ALLOWED[Status.AWAITING_APPROVAL] == {Status.OPEN, Status.CANCELED}
    assert Status.AWAITING_APPROVAL in CANCELLABLE
    assert all(Status.AWAITING_APPROVAL not in ALLOWED[s] for s in Status if s is not Status.SUBMITTED)


def test_no_rules_hold_nothing() -> None:
    assert ReviewRules().empty
    assert ReviewRules().reason(10**9, recent=10**6, player_age_days=0) is None


def test_the_rules_that_need_no_lookup_come_first() -> None:
    rules = ReviewRules(always_review=True, cost_over=5, max_redemptions_per_hour=1, player_younger_than_days=3)
    assert rules.reason_without_lookups(1) is HoldReason.ALWAYS_REVIEW
    assert ReviewRules(cost_over=100).reason_without_lookups(101) is HoldReason.COST_OVER
    assert ReviewRules(cost_over=100).reason_without_lookups(100) is None, "over the threshold, not at it"


def test_more_than_n_per_hour_holds_the_n_plus_first() -> None:
    rules = ReviewRules(max_redemptions_per_hour=3)
    assert rules.counts_recent and not rules.needs_player_age
    assert rules.reason(1, recent=2) is None
    assert rules.reason(1, recent=3) is HoldReason.MAX_PER_HOUR


def test_a_player_younger_than_n_days_is_held_and_an_unknown_age_is_not() -> None:
    rules = ReviewRules(player_younger_than_days=7)
    assert rules.needs_player_age and not rules.counts_recent
    assert rules.reason(1, player_age_days=6.9) is HoldReason.NEW_PLAYER
    assert rules.reason(1, player_age_days=7.0) is None
    assert rules.reason(1, player_age_days=None) is None


def test_a_tenants_and_an_items_rules_combine_so_that_either_holds() -> None:
    tenant = ReviewRules(cost_over=1000, max_redemptions_per_hour=5)
    item = ReviewRules(cost_over=200, player_younger_than_days=30, always_review=False)
    merged = tenant.merged(item)
    assert merged == ReviewRules(max_redemptions_per_hour=5, cost_over=200, player_younger_than_days=30)
    assert ReviewRules(always_review=True).merged(ReviewRules()).always_review


@pytest.mark.parametrize("bad", [{"cost_over": -1}, {"max_redemptions_per_hour": -1},
                                 {"max_redemptions_per_hour": 10_001}, {"player_younger_than_days": 3651}])
def test_rules_out_of_bounds_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(DomainError) as refused:
        ReviewRules(**bad)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR


def test_an_undecided_hold_may_be_approved_or_rejected() -> None:
    assert held().review(ReviewDecision.APPROVED) is ReviewPlan.APPROVE
    assert held().review(ReviewDecision.REJECTED) is ReviewPlan.REJECT
    assert held().review(ReviewDecision.EXPIRED) is ReviewPlan.REJECT


def test_deciding_the_same_way_twice_is_harmless() -> None:
    approved = held(status=Status.OPEN, review_decision="approved")
    assert approved.review(ReviewDecision.APPROVED) is ReviewPlan.UNCHANGED
    rejected = held(status=Status.CANCELED, review_decision="rejected")
    assert rejected.review(ReviewDecision.REJECTED) is ReviewPlan.UNCHANGED
    assert rejected.review(ReviewDecision.EXPIRED) is ReviewPlan.UNCHANGED
    # Rejected, its refund interrupted (still held, cancel requested): a second rejection finishes it.
    refunding = held(review_decision="expired", cancel_requested_at=datetime.now(UTC))
    assert refunding.review(ReviewDecision.REJECTED) is ReviewPlan.FINISH_REJECTION


@pytest.mark.parametrize("subject, decision", [
    (held(status=Status.OPEN, review_decision="approved"), ReviewDecision.REJECTED),
    (held(status=Status.CANCELED, review_decision="rejected"), ReviewDecision.APPROVED),
    (held(status=Status.CANCELED, review_decision="expired"), ReviewDecision.APPROVED),
    (make_redemption(Status.OPEN), ReviewDecision.APPROVED),
    (make_redemption(Status.COMPLETED), ReviewDecision.REJECTED),
    (held(cancel_requested_at=datetime.now(UTC)), ReviewDecision.APPROVED),   # a player's cancel under way
])
def test_a_decision_on_what_is_not_held_or_decided_the_other_way_is_refused(subject: Redemption,
                                                                             decision: ReviewDecision) -> None:
    with pytest.raises(DomainError) as refused:
        subject.review(decision)
    assert refused.value.code is ErrorCode.REDEMPTION_NOT_HELD


def test_a_fulfillment_result_for_a_hold_is_a_conflict() -> None:
    assert held().fulfillment_result(Outcome.COMPLETED, 1).plan is ResultPlan.CONFLICT
