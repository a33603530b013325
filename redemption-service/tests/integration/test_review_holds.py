"""Review holds on real PostgreSQL: each rule holds a redemption after its stock and points are taken
(AWAITING_APPROVAL, no job), an operator's approval sends the job, a rejection and the timeout refund and release
through the saga's way back; decisions are idempotent and race-safe; a crash between the rejection and its refund
is finished by recovery; the sandbox outcome `review`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from redemption_service import repository
from redemption_service.domain import ReviewDecision, Status
from redemption_service.saga.recovery import recover_stale_sagas
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode


def rules(system, item_id: str = "", **fields: object) -> redemption_pb2.SetReviewRulesRequest:  # type: ignore[no-untyped-def]
    return redemption_pb2.SetReviewRulesRequest(scope=system.scope(), item_id=item_id,
                                                rules=redemption_pb2.ReviewRules(**fields))  # type: ignore[arg-type]


def decision(system, redemption_id: str, approve: bool, text: str = ""):  # type: ignore[no-untyped-def]
    if approve:
        return system.calls.approve(redemption_pb2.ApproveRedemptionRequest(
            scope=system.scope(), redemption_id=redemption_id, note=text))
    return system.calls.reject(redemption_pb2.RejectRedemptionRequest(
        scope=system.scope(), redemption_id=redemption_id, reason=text))


async def jobs_of(system, redemption_id: str) -> list:  # type: ignore[no-untyped-def]
    return await system.sql("SELECT payload FROM outbox WHERE redemption_id = :id", id=redemption_id)


async def test_a_tenant_without_rules_is_not_held_and_asks_nothing_more(system) -> None:  # type: ignore[no-untyped-def]
    redemption, _ = await system.calls.redeem(system.request())
    assert redemption.status is Status.OPEN and redemption.review_reason == ""
    assert "GetPlayer" not in system.wallet.calls


async def test_a_cost_over_the_threshold_is_held_after_stock_and_points_are_taken(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, cost_over=100))
    held, _ = await system.calls.redeem(system.request())
    assert held.status is Status.AWAITING_APPROVAL and held.review_reason == "COST_OVER"
    assert held.held_at is not None and held.review_decision == ""
    assert system.wallet.balances["p1"] == 850 and system.catalog.items["voucher"].stock == 99
    assert await jobs_of(system, held.id) == [], "no job before an approval"
    assert system.fulfillment.inline_jobs == [] and "GetPlayer" not in system.wallet.calls
    saga = await system.sql("SELECT state FROM sagas WHERE id = :id", id=held.id)
    assert saga[0].state == "confirmed"
    # A replay answers the hold.
    replayed, was_replayed = await system.calls.redeem(system.request())
    assert was_replayed and replayed.id == held.id and replayed.status is Status.AWAITING_APPROVAL


async def test_an_item_marked_always_review_is_held_and_others_are_not(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, item_id="tshirt", always_review=True))
    plain, _ = await system.calls.redeem(system.request(key="plain"))
    assert plain.status is Status.OPEN
    address = common_pb2.ShippingAddress(name="Ann", line1="1 Main St", city="Oslo", country="NO")
    held, _ = await system.calls.redeem(system.request(key="held", item="tshirt", shipping_address=address))
    assert held.status is Status.AWAITING_APPROVAL and held.review_reason == "ALWAYS_REVIEW"


async def test_more_than_n_redemptions_in_an_hour_is_held(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, max_redemptions_per_hour=2))
    first, _ = await system.calls.redeem(system.request(key="a"))
    second, _ = await system.calls.redeem(system.request(key="b"))
    third, _ = await system.calls.redeem(system.request(key="c"))
    other, _ = await system.calls.redeem(system.request(key="d", player="p2"))
    assert [first.status, second.status, other.status] == [Status.OPEN] * 3
    assert third.status is Status.AWAITING_APPROVAL and third.review_reason == "MAX_PER_HOUR"
    assert "GetPlayer" not in system.wallet.calls


async def test_a_player_younger_than_n_days_is_held(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, player_younger_than_days=7))
    now = datetime.now(UTC)
    system.wallet.created.update({"p1": now - timedelta(days=1), "p2": now - timedelta(days=30)})
    young, _ = await system.calls.redeem(system.request(key="a"))
    old, _ = await system.calls.redeem(system.request(key="b", player="p2"))
    assert young.status is Status.AWAITING_APPROVAL and young.review_reason == "NEW_PLAYER"
    assert old.status is Status.OPEN
    assert system.wallet.calls.count("GetPlayer") == 2


async def test_an_approval_sends_the_job_once(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, cost_over=100))
    held, _ = await system.calls.redeem(system.request())
    approved = await decision(system, held.id, approve=True, text="looks fine")
    assert approved.status is Status.OPEN and approved.review_decision == "approved"
    assert approved.review_note == "looks fine" and approved.reviewed_at is not None
    [row] = await jobs_of(system, held.id)
    job = fulfillment_pb2.FulfillmentJob.FromString(row.payload)
    assert (job.redemption_id, job.strategy, job.cost) == (held.id, "code_pool", 150)
    again = await decision(system, str(held.number), approve=True)
    assert again.status is Status.OPEN and len(await jobs_of(system, held.id)) == 1
    with pytest.raises(DomainError) as refused:
        await decision(system, held.id, approve=False)
    assert refused.value.code is ErrorCode.REDEMPTION_NOT_HELD
    assert system.wallet.refunded == set()


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_rejection_refunds_and_restocks_by_the_way_back(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, cost_over=100))
    holds, rejections = counted("rewards_review_holds_total", reason="COST_OVER"), \
        counted("rewards_review_decisions_total", outcome="rejected")
    held, _ = await system.calls.redeem(system.request())
    rejected = await decision(system, held.id, approve=False, text="suspicious")
    assert counted("rewards_review_holds_total", reason="COST_OVER") == holds + 1
    assert counted("rewards_review_decisions_total", outcome="rejected") == rejections + 1
    assert rejected.status is Status.CANCELED and rejected.failure_code == "REVIEW_REJECTED"
    assert rejected.review_decision == "rejected" and rejected.failure_message == "suspicious"
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    assert system.wallet.refunded == {held.id} and system.fulfillment.voids == []
    again = await decision(system, held.id, approve=False)
    assert again.status is Status.CANCELED and system.wallet.calls.count("RefundPoints") == 1
    with pytest.raises(DomainError) as refused:
        await decision(system, held.id, approve=True)
    assert refused.value.code is ErrorCode.REDEMPTION_NOT_HELD
    assert await jobs_of(system, held.id) == []
    saga = await system.sql("SELECT state FROM sagas WHERE id = :id", id=held.id)
    assert saga[0].state == "canceled"


async def test_a_decision_on_a_redemption_never_held_is_refused(system) -> None:  # type: ignore[no-untyped-def]
    redemption, _ = await system.calls.redeem(system.request())
    for approve in (True, False):
        with pytest.raises(DomainError) as refused:
            await decision(system, redemption.id, approve=approve)
        assert refused.value.code is ErrorCode.REDEMPTION_NOT_HELD
    with pytest.raises(DomainError) as missing:
        await decision(system, "no-such-id", approve=True)
    assert missing.value.code is ErrorCode.REDEMPTION_NOT_FOUND


async def test_an_undecided_hold_is_rejected_with_its_refund_after_the_hold_time(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, cost_over=100))
    held, _ = await system.calls.redeem(system.request())
    assert await system.redemptions.expire_holds(hold_seconds=3600) == 0
    assert await system.redemptions.expire_holds(hold_seconds=0) == 1
    expired = await system.status(held.id)
    assert expired.status == "CANCELED" and expired.failure_code == "REVIEW_EXPIRED"
    assert expired.review_decision == "expired"
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    assert await system.redemptions.expire_holds(hold_seconds=0) == 0


@pytest.mark.parametrize("round_", range(3))
async def test_approve_reject_and_the_timeout_racing_make_one_decision(system, round_: int) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, cost_over=100))
    held, _ = await system.calls.redeem(system.request(key=f"race-{round_}"))
    answers = await asyncio.gather(decision(system, held.id, approve=True), decision(system, held.id, approve=False),
                                   system.redemptions.expire_holds(hold_seconds=0), return_exceptions=True)
    final = await system.status(held.id)
    refusals = [a for a in answers if isinstance(a, BaseException)]
    assert all(isinstance(a, DomainError) and a.code is ErrorCode.REDEMPTION_NOT_HELD for a in refusals), answers
    if final.status == "OPEN":
        assert final.review_decision == "approved" and len(await jobs_of(system, held.id)) == 1
        assert system.wallet.refunded == set() and system.catalog.items["voucher"].stock == 99
    else:
        assert final.status == "CANCELED" and final.review_decision in ("rejected", "expired")
        assert await jobs_of(system, held.id) == []
        assert system.wallet.refunded == {held.id} and system.catalog.items["voucher"].stock == 100
        assert system.wallet.balances["p1"] == 1000


async def test_a_crash_between_the_rejection_and_its_refund_is_finished_by_recovery(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, cost_over=100))
    held, _ = await system.calls.redeem(system.request())
    async with system.sessions.begin() as session:   # the rejection persisted, then the process died
        assert await repository.request_rejection(session, held.id, ReviewDecision.EXPIRED.value, "REVIEW_EXPIRED",
                                                  "no review decision in time") is not None
    assert await recover_stale_sagas(system.sessions, system.way_back, stale_seconds=0) == 1
    recovered = await system.status(held.id)
    assert recovered.status == "CANCELED" and recovered.failure_code == "REVIEW_EXPIRED"
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    # A decision after that answers what is there, refunding nothing again.
    again = await decision(system, held.id, approve=False)
    assert again.status is Status.CANCELED and system.wallet.calls.count("RefundPoints") == 1


async def test_the_sandbox_outcome_review_holds_and_an_approval_fulfils_as_usual(system) -> None:  # type: ignore[no-untyped-def]
    sandbox = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_SANDBOX)
    request = system.request(sandbox_outcome="review")
    request.scope.CopyFrom(sandbox)
    held, _ = await system.calls.redeem(request)
    assert held.status is Status.AWAITING_APPROVAL and held.review_reason == "SANDBOX_REVIEW"
    assert "sandbox_outcome" not in held.fulfillment_config
    approved = await system.calls.approve(redemption_pb2.ApproveRedemptionRequest(scope=sandbox,
                                                                                        redemption_id=held.id))
    assert approved.status is Status.OPEN
    [row] = await jobs_of(system, held.id)
    assert "sandbox_outcome" not in dict(fulfillment_pb2.FulfillmentJob.FromString(row.payload).config)
    with pytest.raises(DomainError) as live:
        await system.calls.redeem(system.request(key="live", sandbox_outcome="review"))
    assert live.value.code is ErrorCode.SANDBOX_ONLY


async def test_rules_are_validated_set_listed_and_removed(system) -> None:  # type: ignore[no-untyped-def]
    stored = await system.calls.set_review_rules(rules(system, cost_over=500, max_redemptions_per_hour=3))
    assert stored.rules.cost_over == 500 and stored.updated_at is not None
    await system.calls.set_review_rules(rules(system, item_id="voucher", always_review=True))
    for bad in ({"cost_over": -1}, {"max_redemptions_per_hour": -2}, {"player_younger_than_days": 100_000}):
        with pytest.raises(DomainError) as refused:
            await system.calls.set_review_rules(rules(system, **bad))
        assert refused.value.code is ErrorCode.VALIDATION_ERROR
    listed = await system.calls.list_review_rules(redemption_pb2.ListReviewRulesRequest(scope=system.scope()))
    assert [(r.item_id, r.rules.cost_over, r.rules.always_review) for r in listed] == \
        [("", 500, False), ("voucher", 0, True)]
    await system.calls.set_review_rules(rules(system, item_id="voucher"))   # all zero: removed
    listed = await system.calls.list_review_rules(redemption_pb2.ListReviewRulesRequest(scope=system.scope()))
    assert [r.item_id for r in listed] == [""]


async def test_rules_cost_no_round_trip_and_their_lookups_run_only_when_a_rule_needs_them(system) -> None:  # type: ignore[no-untyped-def]
    # The rules come with the accept statement: a code-pool redeem under a rule that does not hold it costs what
    # one without rules costs (test_inline_fulfilment.REDEEM_ROUND_TRIPS), and asks the wallet nothing more.
    system.fulfillment.codes = ["CODE-1", "CODE-2"]
    await system.calls.set_review_rules(rules(system, cost_over=1000))
    with system.pool.counting() as trips:
        redemption, _ = await system.calls.redeem(system.request(key="a"))
    assert redemption.status is Status.COMPLETED and trips.count == 3, trips.statements
    assert system.wallet.calls == ["DebitPoints"]
    # A max-per-hour rule counts the player's last hour: one statement more, and still no wallet call.
    await system.calls.set_review_rules(rules(system, max_redemptions_per_hour=5))
    with system.pool.counting() as trips:
        redemption, _ = await system.calls.redeem(system.request(key="b"))
    assert redemption.status is Status.COMPLETED and trips.count == 4, trips.statements
    assert system.wallet.calls == ["DebitPoints"] * 2


async def test_a_player_may_cancel_a_hold_and_no_decision_comes_after(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.set_review_rules(rules(system, cost_over=100))
    held, _ = await system.calls.redeem(system.request())
    canceled = await system.calls.cancel(redemption_pb2.CancelRedemptionRequest(
        scope=system.scope(), redemption_id=held.id, player_id="p1"))
    assert canceled.status is Status.CANCELED
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    for approve in (True, False):
        with pytest.raises(DomainError) as refused:
            await decision(system, held.id, approve=approve)
        assert refused.value.code is ErrorCode.REDEMPTION_NOT_HELD
    assert await system.redemptions.expire_holds(hold_seconds=0) == 0
