"""Recovery: a stale saga before its pivot is compensated and FAILED; a confirmed one is left alone; a cancel
under way is finished forward; two recoverers never settle the same saga twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redemption_service import repository
from redemption_service.domain import DeliveryStatus, Snapshot, Status
from redemption_service.grpc_api import redeem_call
from redemption_service.idempotency import request_fingerprint
from redemption_service.saga.engine import Step
from redemption_service.saga.recovery import recover_stale_sagas
from redemption_service.saga.redeem import RedeemOrder, RedeemSaga, Undo
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope


async def accept(system, redemption_id: str, key: str, fingerprint: str = "f") -> None:  # type: ignore[no-untyped-def]
    """A saga as a crash leaves it: SUBMITTED, the reservation and the debit landed, nothing more."""
    assert (await repository.accept(system.pool, Scope("acme", "live"), key=key, fingerprint=fingerprint,
                                    ttl=timedelta(hours=1), values=system.accepted_values(redemption_id))).claimed
    system.catalog.items["voucher"].stock -= 1
    system.catalog.reservations[redemption_id] = "voucher"
    system.wallet.balances["p1"] -= 150
    system.wallet.debits[redemption_id] = ("p1", 150, 1)


async def age(system, redemption_id: str, seconds: int = 3600) -> None:  # type: ignore[no-untyped-def]
    await system.sql("UPDATE sagas SET updated_at = now() - make_interval(secs => :s) WHERE id = :id",
                     s=seconds, id=redemption_id)


async def status_of(system, redemption_id: str) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    row = (await system.sql("SELECT r.status, r.failure_code, s.state FROM redemptions r JOIN sagas s "
                            "ON s.id = r.id WHERE r.id = :id", id=redemption_id))[0]
    return row.status, row.failure_code, row.state


async def test_a_stale_submitted_saga_is_compensated_and_open_ones_are_left_alone(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request(key="done"))
    await age(system, opened.id)
    await accept(system, "stale-saga", "crashed")
    await age(system, "stale-saga")
    await accept(system, "fresh-saga", "running")
    assert system.wallet.balances["p1"] == 1000 - 3 * 150

    settled = await recover_stale_sagas(system.sessions, system.way_back,
                                        stale_seconds=30)

    assert settled == 1
    assert await status_of(system, "stale-saga") == ("FAILED", "UNAVAILABLE", "failed")
    assert await status_of(system, "fresh-saga") == ("SUBMITTED", "", "running")
    assert await status_of(system, opened.id) == ("OPEN", "", "confirmed")
    assert system.wallet.balances["p1"] == 1000 - 2 * 150, "only the stale saga was refunded"
    assert "stale-saga" not in system.catalog.reservations and "fresh-saga" in system.catalog.reservations
    assert opened.id not in system.wallet.refunded


async def test_two_recoverers_settle_each_stale_saga_once(system) -> None:  # type: ignore[no-untyped-def]
    for n in range(4):
        await accept(system, f"stale-{n}", f"key-{n}")
        await age(system, f"stale-{n}")
    results = await asyncio.gather(*(recover_stale_sagas(system.sessions, system.way_back, stale_seconds=30)
                                     for _ in range(2)))
    assert sum(results) == 4
    assert system.wallet.calls.count("RefundPoints") == 4
    assert system.wallet.balances["p1"] == 1000


async def test_a_runner_that_lost_its_saga_to_recovery_cannot_pass_the_pivot(system) -> None:  # type: ignore[no-untyped-def]
    await accept(system, "slow-saga", "slow")
    await age(system, "slow-saga")
    async with system.sessions.begin() as session:
        claimed = await repository.claim_stale_sagas(session, 30, 10)
    assert [s.id for s in claimed] == ["slow-saga"]
    snapshot = Snapshot("Item", "", "", 0, "gems", 150, 0, 0, "", "code_pool", {}, "", 1, 850, DeliveryStatus.NONE)
    assert await repository.confirm(system.pool, "slow-saga", snapshot, job_event_id="e", job_subject="s",
                                    job_payload=b"", job_delay_seconds=0) is None
    assert (await system.sql("SELECT count(*) AS n FROM outbox"))[0].n == 0, "no job for a saga taken over"
    async with system.sessions.begin() as session:
        assert not await repository.begin_compensation(session, "slow-saga")


async def test_a_retry_waits_out_a_crashed_saga_then_is_processed_afresh(make_system) -> None:  # type: ignore[no-untyped-def]
    """While the crashed saga is unsettled the key is held (409 in progress, no saga of the retry's own); once
    recovery refunded it and marked it FAILED, the key is released and the same request is charged once."""
    system = await make_system(wait_seconds=0.1)
    request = system.request(key="crashed")
    await accept(system, "crashed-saga", "crashed", fingerprint=request_fingerprint(redeem_call(request)[0]))
    with pytest.raises(DomainError) as busy:
        await system.calls.redeem(request)
    assert busy.value.code is ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS
    assert system.wallet.calls.count("DebitPoints") == 0, "the retry ran no saga of its own"
    await age(system, "crashed-saga")
    await recover_stale_sagas(system.sessions, system.way_back, stale_seconds=30)
    assert await status_of(system, "crashed-saga") == ("FAILED", "UNAVAILABLE", "failed")
    redemption, replayed = await system.calls.redeem(request)
    assert not replayed and redemption.status is Status.OPEN
    assert system.wallet.calls.count("DebitPoints") == 1 and system.wallet.balances["p1"] == 850
    assert "crashed-saga" in system.wallet.refunded


async def test_a_cancel_under_way_is_finished_forward(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request(key="to-cancel"))
    system.wallet.refund_unavailable = True
    cancel = redemption_pb2.CancelRedemptionRequest(scope=system.scope(), redemption_id=opened.id, reason="oops")
    with pytest.raises(DomainError) as unavailable:
        await system.calls.cancel(cancel)
    assert unavailable.value.code is ErrorCode.UNAVAILABLE
    assert await status_of(system, opened.id) == ("OPEN", "", "canceling")
    system.wallet.refund_unavailable = False
    await age(system, opened.id)
    assert await recover_stale_sagas(system.sessions, system.way_back,
                                     stale_seconds=30) == 1
    assert await status_of(system, opened.id) == ("CANCELED", "", "canceled")
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    again = await system.calls.cancel(cancel)
    assert again.status is Status.CANCELED and again.canceled_at is not None


class SagaWithABonus(RedeemSaga):
    """The redeem saga with one more compensable step, and nothing else changed: every way back undoes it. The
    bonus is refused while `refusing` is set (the runner then unwinds it with the others)."""

    def __init__(self, saga: RedeemSaga, undone: list[tuple[str, str, str]]) -> None:
        super().__init__(saga.catalog, saga.wallet, saga.confirmation, saga.review)
        self.undone = undone
        self.refusing = False

    def steps(self) -> list[Step[RedeemOrder]]:
        *before, pivot = super().steps()
        return [*before, Step("hold_bonus", self.hold_bonus, compensation=Undo("release_bonus", self.release_bonus)),
                pivot]

    async def hold_bonus(self, order: RedeemOrder) -> None:
        if self.refusing:
            raise DomainError(ErrorCode.UNAVAILABLE, "the bonus could not be held")

    async def release_bonus(self, scope: Scope, saga_id: str, reason: str) -> None:
        self.undone.append((scope.tenant_id, saga_id, reason))


async def test_a_step_added_to_the_definition_is_undone_by_every_way_back(system) -> None:  # type: ignore[no-untyped-def]
    """The runner's unwinding, recovery before the pivot, and the cancel saga from each of its entries (a cancel,
    recovery of a cancel under way, a review's rejection, a failed fulfilment's refund) all undo the new step,
    with no other change: each runs its definition."""
    undone: list[tuple[str, str, str]] = []
    saga = system.redemptions.saga = SagaWithABonus(system.redemptions.saga, undone)
    assert [u.name for u in saga.way_back()] == ["release_bonus", "refund_points", "release_stock"]

    # The runner unwinds it (registered before its call), then the debit and the reservation.
    saga.refusing = True
    with pytest.raises(DomainError) as refused:
        await system.calls.redeem(system.request(key="bonus-refused"))
    assert refused.value.code is ErrorCode.UNAVAILABLE
    saga.refusing = False
    [(_, failed_id, reason)] = undone
    assert reason == "redemption failed" and await status_of(system, failed_id) == ("FAILED", "UNAVAILABLE", "failed")
    assert failed_id in system.wallet.refunded and failed_id not in system.catalog.reservations

    # Recovery compensates it on a saga interrupted before its pivot.
    await accept(system, "crashed-with-bonus", "crashed")
    await age(system, "crashed-with-bonus")
    assert await recover_stale_sagas(system.sessions, saga.way_back(), stale_seconds=30) == 1
    assert undone[-1] == ("acme", "crashed-with-bonus", "redemption interrupted")
    assert "crashed-with-bonus" in system.wallet.refunded and "crashed-with-bonus" not in system.catalog.reservations

    # A cancel refunds it: the cancel saga runs the redeem saga's way back.
    opened, _ = await system.calls.redeem(system.request(key="with-bonus"))
    cancel = redemption_pb2.CancelRedemptionRequest(scope=system.scope(), redemption_id=opened.id, reason="oops")
    assert (await system.calls.cancel(cancel)).status is Status.CANCELED
    assert undone[-1] == ("acme", opened.id, "oops")

    # Recovery resumes a cancel whose request was persisted before a crash.
    interrupted, _ = await system.calls.redeem(system.request(key="cancel-interrupted"))
    async with system.sessions.begin() as session:
        assert await repository.request_cancel(session, interrupted.id, "oops") is not None
    await age(system, interrupted.id)
    assert await recover_stale_sagas(system.sessions, saga.way_back(), stale_seconds=30) == 1
    assert undone[-1] == ("acme", interrupted.id, "redemption canceled")
    assert await status_of(system, interrupted.id) == ("CANCELED", "", "canceled")

    # A review's rejection and a failed fulfilment's refund resume the cancel saga after their own request.
    await system.calls.set_review_rules(redemption_pb2.SetReviewRulesRequest(
        scope=system.scope(), rules=redemption_pb2.ReviewRules(cost_over=100)))
    held, _ = await system.calls.redeem(system.request(key="held-with-bonus"))
    assert held.status is Status.AWAITING_APPROVAL
    rejected = await system.calls.reject(redemption_pb2.RejectRedemptionRequest(
        scope=system.scope(), redemption_id=held.id, reason="fraud"))
    assert rejected.status is Status.CANCELED and undone[-1] == ("acme", held.id, "fraud")
    await system.calls.set_review_rules(redemption_pb2.SetReviewRulesRequest(scope=system.scope()))
    system.fulfillment.pool_empty = True
    out_of_codes, _ = await system.calls.redeem(system.request(key="no-code-with-bonus"))
    assert out_of_codes.status is Status.CANCELED and out_of_codes.failure_code == "OUT_OF_CODES"
    assert undone[-1] == ("acme", out_of_codes.id, "no code left for this item")
    assert len(undone) == 6 and system.wallet.balances["p1"] == 1000
