"""Reading a FulfillmentResult off the stream: what is malformed (terminated, never retried) and what is not."""

from __future__ import annotations

import pytest
from redemption_service.domain import Outcome
from redemption_service.fulfillment_results import MalformedResult, read_result
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2 as f


def result(**fields: object) -> f.FulfillmentResult:
    base = f.FulfillmentResult(event_id="e1", redemption_id="r1", outcome=f.RESULT_OUTCOME_COMPLETED, sequence=1,
                               scope=common_pb2.Scope(tenant_id="t", environment=common_pb2.ENVIRONMENT_LIVE),
                               code="C", pin="P")
    base.MergeFrom(f.FulfillmentResult(**fields))  # type: ignore[arg-type]
    return base


def without(field: str) -> bytes:
    message = result()
    message.ClearField(field)
    return message.SerializeToString()


def test_a_result_is_read_with_its_delivery_data() -> None:
    received = read_result(result(tracking_number="T1").SerializeToString())
    assert (received.event_id, received.redemption_id, received.outcome, received.sequence) == \
        ("e1", "r1", Outcome.COMPLETED, 1)
    assert received.scope.environment == "live"
    assert received.fulfillment() == {"code": "C", "pin": "P", "tracking_number": "T1"}


def test_the_event_id_may_come_from_the_message_header() -> None:
    assert read_result(without("event_id"), "from-header").event_id == "from-header"
    with pytest.raises(MalformedResult):
        read_result(without("event_id"))


@pytest.mark.parametrize("payload", [
    b"\xff\xff\xff",
    without("redemption_id"),
    without("outcome"),
    without("scope"),
    without("sequence"),
    result(outcome=99).SerializeToString(),  # type: ignore[arg-type]
])
def test_malformed_results(payload: bytes) -> None:
    with pytest.raises(MalformedResult):
        read_result(payload)


def test_failure_defaults() -> None:
    code, message = read_result(result(outcome=f.RESULT_OUTCOME_FAILED).SerializeToString()).failure()
    assert code == "FULFILLMENT_FAILED" and message
