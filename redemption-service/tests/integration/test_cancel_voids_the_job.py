"""A cancel of a paid redemption asks fulfillment to void its job before anything is persisted: a refused void
(delivered, in flight) or an unreachable fulfillment-service changes nothing; a crash after the void is healed
by the FAILED result fulfillment recorded with it."""

from __future__ import annotations

import pytest
from redemption_service import redemptions as redemptions_module
from redemption_service import repository
from redemption_service.domain import Status
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode


def cancel_request(system, redemption_id: str) -> redemption_pb2.CancelRedemptionRequest:  # type: ignore[no-untyped-def]
    return redemption_pb2.CancelRedemptionRequest(scope=system.scope(), redemption_id=redemption_id,
                                                  reason="changed my mind")


async def assert_unchanged(system, redemption_id: str) -> None:  # type: ignore[no-untyped-def]
    row = await system.status(redemption_id)
    assert (row.status, row.cancel_requested_at) == (Status.OPEN, None)
    saga = (await system.sql("SELECT state FROM sagas WHERE id = :id", id=redemption_id))[0]
    assert saga.state == "confirmed"
    assert "RefundPoints" not in system.wallet.calls and "ReleaseStock" not in system.catalog.calls
    assert system.wallet.balances["p1"] == 850 and system.catalog.items["voucher"].stock == 99


async def test_a_cancel_voids_the_job_then_refunds_and_a_second_cancel_asks_nothing(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    canceled = await system.calls.cancel(cancel_request(system, opened.id))
    assert canceled.status is Status.CANCELED
    assert system.fulfillment.voids == [(opened.id, "changed my mind")]
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    again = await system.calls.cancel(cancel_request(system, opened.id))
    assert again.status is Status.CANCELED and len(system.fulfillment.voids) == 1


@pytest.mark.parametrize("outcome, retry_after", [(fulfillment_pb2.VOID_OUTCOME_DELIVERED, False),
                                                  (fulfillment_pb2.VOID_OUTCOME_IN_PROGRESS, True)])
async def test_a_refused_void_refuses_the_cancel_and_changes_nothing(system, outcome, retry_after) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    system.fulfillment.refusals[opened.id] = outcome
    with pytest.raises(DomainError) as refused:
        await system.calls.cancel(cancel_request(system, opened.id))
    assert refused.value.code is ErrorCode.REDEMPTION_NOT_CANCELLABLE and refused.value.message
    assert ("retry_after_seconds" in refused.value.metadata) is retry_after
    await assert_unchanged(system, opened.id)


async def test_fulfillment_down_answers_unavailable_after_retries_and_changes_nothing(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    system.fulfillment.down = True
    with pytest.raises(DomainError) as down:
        await system.calls.cancel(cancel_request(system, opened.id))
    assert down.value.code is ErrorCode.UNAVAILABLE
    assert len(system.fulfillment.voids) == 3, "the void is idempotent: it is retried"
    await assert_unchanged(system, opened.id)


async def test_a_crash_after_the_void_is_healed_by_the_failed_result_fulfillment_recorded(  # type: ignore[no-untyped-def]
        system, results, monkeypatch) -> None:
    opened, _ = await system.calls.redeem(system.request())

    async def crash(*args: object, **kwargs: object) -> None:
        raise ConnectionResetError("the process died before the cancel was persisted")

    monkeypatch.setattr(redemptions_module.repository, "request_cancel", crash)
    with pytest.raises(ConnectionResetError):
        await system.calls.cancel(cancel_request(system, opened.id))
    monkeypatch.undo()
    assert opened.id in system.fulfillment.voided
    await assert_unchanged(system, opened.id)

    # What fulfillment-service recorded with the void (and sends again when the reconciler re-publishes the job).
    await results.publish(system.result(opened.id, fulfillment_pb2.RESULT_OUTCOME_FAILED, 1,
                                        failure_code="CANCELED_ON_REQUEST", failure_message="changed my mind"))
    await results.settled()
    row = await system.status(opened.id)
    assert (row.status, row.failure_code, row.cancel_reason) == \
        (Status.CANCELED, "CANCELED_ON_REQUEST", "changed my mind")
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100


async def test_a_cancel_under_way_finishes_without_asking_fulfillment_again(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    async with system.sessions.begin() as session:  # a failed fulfillment persisted its cancel, then the refund died
        await repository.request_cancel(session, opened.id, "out of codes", failure_code="OUT_OF_CODES")
    system.fulfillment.down = True
    canceled = await system.calls.cancel(cancel_request(system, opened.id))
    assert canceled.status is Status.CANCELED and system.fulfillment.voids == []
    assert system.wallet.balances["p1"] == 1000


async def test_the_cancel_saga_offers_the_crash_tests_its_failpoints_at_their_moments(system, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The runner fires the cancel's failpoints from its steps: after_void once the job is voided and before the
    request is persisted, undid_<undo> once each undo of the way back landed; a cancel under way resumes at its
    request (no void), and recovery offers none (a process restarted with one set still recovers)."""
    from redemption_service.saga import engine
    from redemption_service.saga.recovery import recover_stale_sagas

    first, _ = await system.calls.redeem(system.request(key="first"))
    second, _ = await system.calls.redeem(system.request(key="second"))
    third, _ = await system.calls.redeem(system.request(key="third"))
    reached: list[tuple[str, bool, bool, bool]] = []   # the failpoint; voided, refunded, released by then
    current = [first.id]

    def seen(name: str) -> None:   # FAILPOINTS would kill this test's process: note what had landed instead
        rid = current[0]
        reached.append((name, rid in system.fulfillment.voided, rid in system.wallet.refunded,
                        rid not in system.catalog.reservations))

    monkeypatch.setattr(engine, "failpoint", seen)
    assert (await system.calls.cancel(cancel_request(system, first.id))).status is Status.CANCELED
    assert reached == [("redemption.before_void", False, False, False), ("redemption.after_void", True, False, False),
                       ("redemption.undid_refund_points", True, True, False),
                       ("redemption.undid_release_stock", True, True, True)]

    reached.clear()
    current[0] = second.id
    async with system.sessions.begin() as session:   # a failed fulfillment persisted its cancel
        await repository.request_cancel(session, second.id, "out of codes", failure_code="OUT_OF_CODES")
    assert (await system.calls.cancel(cancel_request(system, second.id))).status is Status.CANCELED
    assert [name for name, *_ in reached] == ["redemption.undid_refund_points", "redemption.undid_release_stock"]

    reached.clear()
    async with system.sessions.begin() as session:
        await repository.request_cancel(session, third.id, "changed my mind")
    await system.sql("UPDATE sagas SET updated_at = now() - interval '1 hour' WHERE id = :id", id=third.id)
    assert await recover_stale_sagas(system.sessions, system.way_back, stale_seconds=30) == 1
    assert (await system.status(third.id)).status == Status.CANCELED and reached == []
