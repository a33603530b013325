"""Fulfillment results over the real NATS: a result completes or refunds its redemption exactly once, duplicates and
older results change nothing, nothing leaves a final status, unknown and malformed results are not retried
forever, codes are never logged; and Redeem waits a bounded time for a fast result."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from redemption_service import redemptions as redemptions_module
from redemption_service.codes import Viewer, ViewerKind
from redemption_service.domain import Status
from redemption_service.fulfillment_results import apply_result, read_result
from redemption_service.grpc_api import redemption_to_proto
from rewards.fulfillment.v1 import fulfillment_pb2 as f
from rewards.redemption.v1 import redemption_pb2
from service_kit.messaging import JOBS_STREAM, JOBS_SUBJECT, RESULTS_STREAM, keep_cancellation

from .conftest import revealed


async def open_redemption(system, key: str = "k1", **fields: object) -> str:  # type: ignore[no-untyped-def]
    redemption, _ = await system.calls.redeem(system.request(key=key, **fields))
    assert redemption.status is Status.OPEN
    return redemption.id


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record with its extra fields, as one text."""
    return "\n".join(f"{r.levelname} {r.getMessage()} {r.__dict__}" for r in caplog.records)


async def test_a_completed_result_completes_and_duplicates_or_older_results_change_nothing(system, results) -> None:  # type: ignore[no-untyped-def]
    rid = await open_redemption(system)
    completed = system.result(rid, f.RESULT_OUTCOME_COMPLETED, 2, code="CODE-1", pin="1234")
    await results.publish(completed)
    await system.eventually(lambda: _status_is(system, rid, "COMPLETED"))
    row = await system.status(rid)
    assert revealed(row.fulfillment) == {"code": "CODE-1", "pin": "1234"} and row.completed_at is not None
    assert row.result_sequence == 2

    await results.publish(completed, msg_id=False)                                     # the same event again
    await results.publish(system.result(rid, f.RESULT_OUTCOME_FAILED, 1, failure_code="OUT_OF_CODES"))  # older
    await results.publish(system.result(rid, f.RESULT_OUTCOME_AWAITING_VENDOR, 3))      # newer, but it is done
    await results.settled()

    again = await system.status(rid)
    assert (again.status, again.fulfillment, again.updated_at, again.result_sequence) == \
        ("COMPLETED", row.fulfillment, row.updated_at, 2)
    assert "RefundPoints" not in system.wallet.calls and "ReleaseStock" not in system.catalog.calls
    events = await system.sql("SELECT count(*) AS n FROM processed_events WHERE redemption_id = :id", id=rid)
    assert events[0].n == 3, "the duplicate left no second record"


async def test_a_failed_result_refunds_once_releases_once_and_cancels(system, results) -> None:  # type: ignore[no-untyped-def]
    rid = await open_redemption(system)
    assert system.wallet.balances["p1"] == 850 and system.catalog.items["voucher"].stock == 99
    failed = system.result(rid, f.RESULT_OUTCOME_FAILED, 1, failure_code="OUT_OF_CODES",
                           failure_message="no code left for this item")
    await results.publish(failed)
    await results.publish(failed, msg_id=False)
    await results.publish(system.result(rid, f.RESULT_OUTCOME_FAILED, 2, failure_code="OUT_OF_CODES"))
    await system.eventually(lambda: _status_is(system, rid, "CANCELED"))
    await results.settled()

    row = await system.status(rid)
    assert (row.failure_code, row.failure_message) == ("OUT_OF_CODES", "no code left for this item")
    assert row.canceled_at is not None and row.completed_at is None
    saga = await system.sql("SELECT state FROM sagas WHERE id = :id", id=rid)
    assert saga[0].state == "canceled"
    assert system.wallet.calls.count("RefundPoints") == 1 and system.catalog.calls.count("ReleaseStock") == 1
    assert system.wallet.refunded == {rid} and system.wallet.balances["p1"] == 1000
    assert system.catalog.items["voucher"].stock == 100


async def test_a_code_after_a_cancel_is_a_logged_conflict_that_never_shows_the_code(
        system, results, caplog: pytest.LogCaptureFixture) -> None:
    rid = await open_redemption(system)
    await system.calls.cancel(redemption_pb2.CancelRedemptionRequest(scope=system.scope(), redemption_id=rid))
    with caplog.at_level(logging.INFO):
        await results.publish(system.result(rid, f.RESULT_OUTCOME_COMPLETED, 1, code="SECRET-CODE", pin="SECRET-PIN"))
        await results.settled()
    row = await system.status(rid)
    assert row.status == "CANCELED" and row.fulfillment is None and row.completed_at is None
    conflicts = [r for r in caplog.records if r.levelno == logging.WARNING and "conflict" in r.getMessage()]
    assert conflicts and conflicts[0].redemption_id == rid  # type: ignore[attr-defined]
    assert "SECRET-CODE" not in logged(caplog) and "SECRET-PIN" not in logged(caplog)
    assert system.wallet.calls.count("RefundPoints") == 1, "the cancel's refund only"


async def test_unknown_and_malformed_results_are_acked_or_terminated_not_retried(
        system, results, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        await results.publish(system.result("no-such-redemption", f.RESULT_OUTCOME_COMPLETED, 1, code="C-7"))
        await results.publish_raw(b"\xff\x00 not a protobuf")
        await results.publish(system.result("", f.RESULT_OUTCOME_COMPLETED, 1))
        await results.settled()
    text = logged(caplog)
    assert "unknown redemption" in text and "no-such-redemption" in text
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == \
        ["malformed fulfillment result terminated"] * 2
    assert "C-7" not in text
    js = await results.link.jetstream()
    info = await js.consumer_info(RESULTS_STREAM, "redemption-results")
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)


async def test_physical_goods_ship_then_deliver_which_completes(system, results) -> None:  # type: ignore[no-untyped-def]
    address = redemption_pb2.RedeemRequest(shipping_address={"line1": "1 Main St", "city": "Oslo",
                                                             "country": "NO"}).shipping_address
    rid = await open_redemption(system, item="tshirt", shipping_address=address)
    await results.publish(system.result(rid, f.RESULT_OUTCOME_PURCHASED, 1, provider_reference="PO-1"))
    await results.publish(system.result(rid, f.RESULT_OUTCOME_SHIPPED, 2, tracking_number="TRK-1"))
    await system.eventually(lambda: _delivery_is(system, rid, "SHIPPED"))
    await results.publish(system.result(rid, f.RESULT_OUTCOME_AWAITING_VENDOR, 1, provider_reference="OLD"))
    await results.settled()
    row = await system.status(rid)
    assert row.status == "PURCHASED", "an older result (another event id) changed nothing"
    assert row.fulfillment == {"provider_reference": "PO-1", "tracking_number": "TRK-1"}
    with pytest.raises(Exception, match="shipped"):
        await system.calls.cancel(redemption_pb2.CancelRedemptionRequest(scope=system.scope(),
                                                                               redemption_id=rid))
    await results.publish(system.result(rid, f.RESULT_OUTCOME_DELIVERED, 3))
    await system.eventually(lambda: _status_is(system, rid, "COMPLETED"))
    assert (await system.status(rid)).delivery_status == "DELIVERED"


async def test_redeem_answers_completed_with_the_code_when_the_result_comes_within_the_wait(
        system, results, monkeypatch) -> None:
    # No periodic re-read within the wait: only the consumer's bell can wake the Redeem call.
    monkeypatch.setattr(redemptions_module, "FULFILLMENT_REREAD_SECONDS", 60.0)
    # A 5 s poll: only the wake on the pivot's commit can publish the job in time.
    relay = asyncio.create_task(system.relay(results.link, poll_seconds=5.0).run())
    fulfillment = asyncio.create_task(_fulfil_with_codes(results))
    try:
        started = time.monotonic()
        # A long wait (a loaded machine may take seconds): what is checked is that the answer came with the result.
        redemption, replayed = await system.calls.redeem(system.request(wait_for_fulfillment_ms=15000))
        elapsed = time.monotonic() - started
    finally:
        relay.cancel()
        fulfillment.cancel()
        await asyncio.gather(relay, fulfillment, return_exceptions=True)
    assert not replayed and redemption.status is Status.COMPLETED
    answer = redemption_to_proto(redemption, system.redemptions.codes, Viewer(ViewerKind.PLAYER, "p1"))
    assert answer.status == redemption_pb2.REDEMPTION_STATUS_COMPLETED
    assert (answer.fulfillment.code, answer.fulfillment.pin) == (f"CODE-{redemption.id[:8]}", "0000")
    assert elapsed < 4.5, "answered when the result came, not after the whole wait (nor the relay's 5 s poll)"
    assert system.waits.waiting() == 0, "the bell is taken down after the call"


async def test_redeem_without_a_result_answers_open_after_the_wait_and_a_replay_does_not_wait(system) -> None:  # type: ignore[no-untyped-def]
    system.redemptions.fulfillment_wait_ms = 300   # FULFILLMENT_WAIT_MS, used when the request says 0
    started = time.monotonic()
    redemption, _ = await system.calls.redeem(system.request())
    waited = time.monotonic() - started
    assert redemption.status is Status.OPEN
    assert 0.3 <= waited < 1.5

    started = time.monotonic()
    replay, replayed = await system.calls.redeem(system.request(wait_for_fulfillment_ms=2000))
    assert replayed and replay.status is Status.OPEN and time.monotonic() - started < 0.25


async def test_a_result_applied_by_another_instance_is_seen_during_the_wait(system) -> None:  # type: ignore[no-untyped-def]
    """No bell rings in this process: the periodic re-read finds the result before the wait is over."""

    async def another_instance_applies_the_result() -> None:
        while not (rows := await system.sql("SELECT id FROM redemptions WHERE status = 'OPEN'")):
            await asyncio.sleep(0.01)
        received = read_result(system.result(rows[0].id, f.RESULT_OUTCOME_COMPLETED, 1, code="X-1", pin="1")
                               .SerializeToString())
        async with system.sessions.begin() as session:
            await apply_result(session, received, system.redemptions.codes)

    other = asyncio.create_task(another_instance_applies_the_result())
    started = time.monotonic()
    redemption, _ = await system.calls.redeem(system.request(wait_for_fulfillment_ms=5000))
    await other
    assert redemption.status is Status.COMPLETED and revealed(redemption.fulfillment) == {"code": "X-1", "pin": "1"}
    assert time.monotonic() - started < 5.0


async def _fulfil_with_codes(results) -> None:  # type: ignore[no-untyped-def]
    """Plays fulfillment-service for a code pool: takes each new job off the jobs stream, answers COMPLETED.
    keep_cancellation() each round: Python 3.11's wait_for inside nats-py can swallow the test's cancel when a
    request completes as it lands, and this loop would then never end (a CI run hung here for 300 s)."""
    js = await results.link.jetstream()
    seen = (await js.stream_info(JOBS_STREAM)).state.last_seq
    while True:
        keep_cancellation()
        try:
            message = await js.get_last_msg(JOBS_STREAM, JOBS_SUBJECT)
        except Exception:
            message = None
        if message is not None and message.seq > seen:
            seen = message.seq
            job = f.FulfillmentJob.FromString(message.data)
            await js.delete_msg(JOBS_STREAM, message.seq)
            await results.publish(f.FulfillmentResult(
                event_id=f"result-{job.event_id}", redemption_id=job.redemption_id, scope=job.scope,
                outcome=f.RESULT_OUTCOME_COMPLETED, code=f"CODE-{job.redemption_id[:8]}", pin="0000", sequence=1))
        await asyncio.sleep(0.01)


async def _status_is(system, redemption_id: str, status: str) -> bool:  # type: ignore[no-untyped-def]
    return (await system.status(redemption_id)).status == status


async def _delivery_is(system, redemption_id: str, delivery: str) -> bool:  # type: ignore[no-untyped-def]
    return (await system.status(redemption_id)).delivery_status == delivery
