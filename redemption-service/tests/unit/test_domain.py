"""Statuses, cancel rules, what a fulfillment result may do, and the idempotency fingerprint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.struct_pb2 import Struct
from redemption_service.domain import CancelPlan, Outcome, Redemption, ResultPlan, Status
from redemption_service.grpc_api import redeem_call
from redemption_service.idempotency import key_or_generated
from redemption_service.idempotency import request_fingerprint as command_fingerprint
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode


def redemption(status: Status, delivery: str = "", *, sequence: int = 0, strategy: str = "physical",
               cancel_requested: bool = False) -> Redemption:
    now = datetime.now(UTC)
    return Redemption(
        id="r", number=1, tenant_id="t", environment="live", player_id="p", idempotency_key="k", item_id="i",
        variant_id="", rounds=0, point_type="gems", cost=10, point_scale=0, item_name="", item_image_url="",
        face_value=0, face_currency="", fulfillment_strategy=strategy, fulfillment_config={},
        redemption_message="", status=status, delivery_status=delivery, failure_code="",  # type: ignore[arg-type]
        failure_message="", fulfillment=None, debit_transaction_id=None, balance_after=None,
        shipping_address=None, customer_info=None, comment="", trigger_source="MANUAL", trigger_details=None,
        cancel_reason="", created_at=now, updated_at=now, completed_at=None,
        cancel_requested_at=now if cancel_requested else None, canceled_at=None, result_sequence=sequence)


@pytest.mark.parametrize("status", [Status.OPEN, Status.AWAITING_VENDOR, Status.AWAITING_CUSTOMER,
                                    Status.PURCHASED])
def test_in_flight_redemptions_cancel_with_a_refund(status: Status) -> None:
    assert redemption(status, "PENDING").cancel() is CancelPlan.REFUND


@pytest.mark.parametrize("status", [Status.CANCELED, Status.FAILED])
def test_cancelling_a_finished_redemption_again_is_harmless(status: Status) -> None:
    assert redemption(status).cancel() is CancelPlan.UNCHANGED


def test_completed_refuses_to_cancel() -> None:
    with pytest.raises(DomainError) as exc:
        redemption(Status.COMPLETED).cancel()
    assert exc.value.code is ErrorCode.REDEMPTION_NOT_CANCELLABLE
    assert not redemption(Status.COMPLETED).may_become(Status.CANCELED)


def test_submitted_refuses_with_a_retry_hint() -> None:
    with pytest.raises(DomainError) as exc:
        redemption(Status.SUBMITTED).cancel()
    assert exc.value.code is ErrorCode.REDEMPTION_NOT_CANCELLABLE
    assert exc.value.metadata["retry_after_seconds"] == "1"


@pytest.mark.parametrize("delivery", ["SHIPPED", "DELIVERED"])
def test_shipped_goods_refuse_to_cancel(delivery: str) -> None:
    with pytest.raises(DomainError) as exc:
        redemption(Status.PURCHASED, delivery).cancel()
    assert exc.value.code is ErrorCode.REDEMPTION_NOT_CANCELLABLE


def test_transitions_go_forward_only() -> None:
    assert redemption(Status.SUBMITTED).may_become(Status.OPEN)
    assert not redemption(Status.SUBMITTED).may_become(Status.COMPLETED)
    assert not redemption(Status.AWAITING_VENDOR).may_become(Status.OPEN)
    assert not redemption(Status.FAILED).may_become(Status.OPEN)


@pytest.mark.parametrize(("status", "delivery", "outcome", "plan", "to_status", "to_delivery"), [
    (Status.OPEN, "", Outcome.COMPLETED, ResultPlan.APPLY, Status.COMPLETED, None),
    (Status.AWAITING_VENDOR, "", Outcome.COMPLETED, ResultPlan.APPLY, Status.COMPLETED, None),
    (Status.OPEN, "", Outcome.FAILED, ResultPlan.COMPENSATE, Status.CANCELED, None),
    (Status.OPEN, "", Outcome.AWAITING_VENDOR, ResultPlan.APPLY, Status.AWAITING_VENDOR, None),
    (Status.AWAITING_VENDOR, "", Outcome.AWAITING_VENDOR, ResultPlan.APPLY, None, None),
    (Status.AWAITING_VENDOR, "", Outcome.PURCHASED, ResultPlan.APPLY, Status.PURCHASED, None),
    (Status.PURCHASED, "PENDING", Outcome.SHIPPED, ResultPlan.APPLY, None, "SHIPPED"),
    (Status.PURCHASED, "SHIPPED", Outcome.DELIVERED, ResultPlan.APPLY, Status.COMPLETED, "DELIVERED"),
    (Status.PURCHASED, "DELIVERED", Outcome.SHIPPED, ResultPlan.APPLY, None, None),
    (Status.PURCHASED, "SHIPPED", Outcome.FAILED, ResultPlan.CONFLICT, None, None),
    (Status.COMPLETED, "", Outcome.FAILED, ResultPlan.FINISHED, None, None),
    (Status.COMPLETED, "", Outcome.AWAITING_VENDOR, ResultPlan.FINISHED, None, None),
    (Status.CANCELED, "", Outcome.COMPLETED, ResultPlan.CONFLICT, None, None),
    (Status.CANCELED, "", Outcome.FAILED, ResultPlan.FINISHED, None, None),
    (Status.FAILED, "", Outcome.COMPLETED, ResultPlan.CONFLICT, None, None),
    (Status.SUBMITTED, "", Outcome.COMPLETED, ResultPlan.CONFLICT, None, None),
    (Status.OPEN, "", Outcome.ACCEPTED, ResultPlan.ACKNOWLEDGE, None, None),
    (Status.OPEN, "PENDING", Outcome.ACCEPTED, ResultPlan.ACKNOWLEDGE, None, None),
    (Status.AWAITING_VENDOR, "", Outcome.ACCEPTED, ResultPlan.ACKNOWLEDGE, None, None),
    (Status.COMPLETED, "", Outcome.ACCEPTED, ResultPlan.FINISHED, None, None),
    (Status.CANCELED, "", Outcome.ACCEPTED, ResultPlan.FINISHED, None, None),
])
def test_what_a_fulfillment_result_does(status: Status, delivery: str, outcome: Outcome, plan: ResultPlan,
                                        to_status: Status | None, to_delivery: str | None) -> None:
    move = redemption(status, delivery, sequence=1).fulfillment_result(outcome, 2)
    assert (move.plan, move.status, move.delivery_status) == (plan, to_status, to_delivery)


def test_an_older_result_never_overwrites_a_newer_one() -> None:
    assert redemption(Status.OPEN, sequence=3).fulfillment_result(Outcome.COMPLETED, 3).plan is ResultPlan.STALE
    assert redemption(Status.OPEN, sequence=3).fulfillment_result(Outcome.FAILED, 2).plan is ResultPlan.STALE
    later = redemption(Status.AWAITING_VENDOR, sequence=2)
    assert later.fulfillment_result(Outcome.ACCEPTED, 1).plan is ResultPlan.STALE


def test_a_result_during_a_cancel_moves_nothing() -> None:
    canceling = redemption(Status.OPEN, cancel_requested=True)
    assert canceling.fulfillment_result(Outcome.COMPLETED, 1).plan is ResultPlan.CONFLICT
    assert canceling.fulfillment_result(Outcome.FAILED, 1).plan is ResultPlan.FINISHED


def test_delivery_completes_only_physical_goods() -> None:
    move = redemption(Status.OPEN, strategy="webhook").fulfillment_result(Outcome.DELIVERED, 1)
    assert (move.plan, move.status, move.delivery_status) == (ResultPlan.APPLY, None, "DELIVERED")


def request(**fields: object) -> redemption_pb2.RedeemRequest:
    base = redemption_pb2.RedeemRequest(
        scope=common_pb2.Scope(tenant_id="t", environment=common_pb2.ENVIRONMENT_LIVE),
        player=common_pb2.PlayerContext(player_id="p"), idempotency_key="k", item_id="i")
    base.MergeFrom(redemption_pb2.RedeemRequest(**fields))  # type: ignore[arg-type]
    return base


def request_fingerprint(request: redemption_pb2.RedeemRequest) -> str:
    """The fingerprint of a request as Redeem takes it: read by the servicer, hashed from the command."""
    command, _, _ = redeem_call(request)
    return command_fingerprint(command)


def test_fingerprint_ignores_the_fulfillment_wait_and_sees_the_body() -> None:
    assert request_fingerprint(request()) == request_fingerprint(request(wait_for_fulfillment_ms=900))
    assert request_fingerprint(request()) == request_fingerprint(request(trigger_source="MANUAL"))
    assert request_fingerprint(request()) != request_fingerprint(request(comment="gift"))
    assert request_fingerprint(request()) != request_fingerprint(request(variant_id="v2"))
    details = Struct()
    details.update({"campaign": "spring"})
    assert request_fingerprint(request()) != request_fingerprint(request(trigger_details=details))


def test_fingerprint_sees_a_quote_and_is_unchanged_without_one() -> None:
    assert request_fingerprint(request()) != request_fingerprint(request(quote_id="q1"))
    assert request_fingerprint(request(quote_id="q1")) != request_fingerprint(request(quote_id="q2"))
    # A key stored before quotes existed still matches its request: the fingerprint of a body without a quote is
    # the one it always was (sha256 of these fields only).
    assert request_fingerprint(request()) == "0fefe3c37a92a784b999d917c1d97940820bfdee42960386b949bff679edb0b1"


def test_fingerprint_of_every_field_is_the_one_keys_were_stored_with() -> None:
    """The digests the service stored when the use case read the RedeemRequest itself (before it took a
    RedeemCommand): a key claimed then and replayed now still matches its request. Every hashed field is set, the
    messages with what their dict form may hold (unicode, numbers, lists, nesting, null), and the fields left out
    (the wait, the viewer) too; empty messages are no messages."""
    details = Struct()
    details.update({"campaign": "spring", "round": 3, "ratio": 0.5, "tags": ["a", "b"],
                    "nested": {"ok": True, "none": None}, "name": "Zoë"})
    full = request(
        variant_id="v2", rounds=10, point_type="gems",
        shipping_address=common_pb2.ShippingAddress(name="Ana Lúcia", line1="1 Main St", city="Lisboa",
                                                    country="PT", postal_code="1000-001"),
        customer_info=common_pb2.CustomerInfo(email="a@example.com", phone="+351"), comment="for my sister ✓",
        trigger_source="CAMPAIGN", trigger_details=details, wait_for_fulfillment_ms=500,
        viewer=redemption_pb2.VIEWER_BACKEND, viewer_id="cred-1", quote_id="q-1", sandbox_outcome="fail",
        scope=common_pb2.Scope(tenant_id="t", environment=common_pb2.ENVIRONMENT_SANDBOX))
    assert request_fingerprint(full) == "82a0b17acf50ef33c20bca7bb283e5d2687951912d7f835532f683e3f0cc401d"
    empty = request(shipping_address=common_pb2.ShippingAddress(), customer_info=common_pb2.CustomerInfo(),
                    trigger_details=Struct())
    assert request_fingerprint(empty) == "0fefe3c37a92a784b999d917c1d97940820bfdee42960386b949bff679edb0b1"


def test_idempotency_key_length_and_generation() -> None:
    assert key_or_generated("k" * 200) == "k" * 200
    with pytest.raises(DomainError) as exc:
        key_or_generated("k" * 201)
    assert exc.value.code is ErrorCode.VALIDATION_ERROR
    assert key_or_generated("") != key_or_generated("")


def redeem_request(**fields: object) -> redemption_pb2.RedeemRequest:
    base: dict[str, object] = {"scope": common_pb2.Scope(tenant_id="t", environment=common_pb2.ENVIRONMENT_LIVE),
                               "player": common_pb2.PlayerContext(player_id="p"), "idempotency_key": "k",
                               "item_id": "i"}
    return redemption_pb2.RedeemRequest(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "code", "message"), [
    ({"player": common_pb2.PlayerContext(player_id="  ")}, ErrorCode.VALIDATION_ERROR,
     "player.player_id is required"),
    ({"item_id": "x" * 129}, ErrorCode.VALIDATION_ERROR, "item_id must be at most 128 characters"),
    ({"point_type": "x" * 33}, ErrorCode.VALIDATION_ERROR, "point_type must be at most 32 characters"),
    ({"comment": "a\x00b"}, ErrorCode.VALIDATION_ERROR, "comment must not contain NUL characters"),
    ({"rounds": -1}, ErrorCode.VALIDATION_ERROR, "rounds may not be negative"),
    ({"wait_for_fulfillment_ms": -1}, ErrorCode.VALIDATION_ERROR, "wait_for_fulfillment_ms may not be negative"),
    ({"shipping_address": common_pb2.ShippingAddress(city="c")}, ErrorCode.VALIDATION_ERROR,
     "shipping_address needs line1, country"),
    ({"customer_info": common_pb2.CustomerInfo(name="A")}, ErrorCode.VALIDATION_ERROR,
     "customer_info needs an email or a phone"),
    ({"sandbox_outcome": "fail"}, ErrorCode.SANDBOX_ONLY,
     "a forced outcome (Sandbox-Outcome) is for the sandbox only"),
    ({"viewer": 42}, ErrorCode.VALIDATION_ERROR, "unknown viewer 42"),
    # In the order the use case checked the request when it read it itself: the scope, the fields, the sandbox
    # outcome, the viewer, the key.
    ({"scope": common_pb2.Scope(), "item_id": ""}, ErrorCode.VALIDATION_ERROR, "scope.tenant_id is required"),
    ({"item_id": "", "viewer_id": "v" * 201}, ErrorCode.VALIDATION_ERROR, "item_id is required"),
    ({"shipping_address": common_pb2.ShippingAddress(name="A"), "sandbox_outcome": "fail"},
     ErrorCode.VALIDATION_ERROR, "shipping_address needs line1, city, country"),
    ({"sandbox_outcome": "fail", "viewer_id": "v" * 201}, ErrorCode.SANDBOX_ONLY,
     "a forced outcome (Sandbox-Outcome) is for the sandbox only"),
    ({"viewer": 42, "idempotency_key": "k" * 300}, ErrorCode.VALIDATION_ERROR, "unknown viewer 42"),
])
def test_a_redeem_request_is_refused_as_it_always_was(fields: dict[str, object], code: ErrorCode,
                                                      message: str) -> None:
    with pytest.raises(DomainError) as refused:
        command, _, _ = redeem_call(redeem_request(**fields))
        key_or_generated(command.idempotency_key)
    assert (refused.value.code, str(refused.value)) == (code, message)


def test_a_redeem_passes_the_requests_messages_on_and_an_empty_one_as_none() -> None:
    address = common_pb2.ShippingAddress(line1="1 Main St", city="Lisboa", country="PT")
    command, viewer, forwarded = redeem_call(redeem_request(
        shipping_address=address, customer_info=common_pb2.CustomerInfo(), viewer=redemption_pb2.VIEWER_BACKEND))
    assert command.shipping_address == {"line1": "1 Main St", "city": "Lisboa", "country": "PT"}
    assert forwarded.shipping_address == address and forwarded.player.player_id == "p"
    assert command.customer_info is None and forwarded.customer_info is None   # an empty message is none
    assert (viewer.kind, viewer.id) == ("backend", "")
