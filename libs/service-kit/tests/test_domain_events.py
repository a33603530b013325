"""The envelope of the tenants' events: deterministic ids, a versioned payload, never a code or PIN, and parse()
refusing what is not an event (the SQL-built twin is checked against event_id in redemption-service's tests)."""

from __future__ import annotations

import json

import pytest
from service_kit import domain_events
from service_kit.scope import Scope

SCOPE = Scope("acme", "live")


def test_the_same_fact_makes_the_same_id_and_another_fact_another() -> None:
    first, subject, payload = domain_events.build("redemption.completed", SCOPE, "r1", {"redemption_id": "r1"})
    again, _, _ = domain_events.build("redemption.completed", SCOPE, "r1", {"redemption_id": "r1"})
    assert first == again == domain_events.event_id("redemption.completed", SCOPE, "r1")
    assert len({first, domain_events.event_id("redemption.canceled", SCOPE, "r1"),
                domain_events.event_id("redemption.completed", Scope("acme", "sandbox"), "r1"),
                domain_events.event_id("redemption.completed", SCOPE, "r2")}) == 4
    event = domain_events.parse(payload)
    assert subject == "rewards.events.redemption.completed"
    assert (event["id"], event["type"], event["version"], event["tenant"], event["environment"]) == \
        (first, "redemption.completed", 1, "acme", "live")
    assert event["time"].endswith("Z") and event["data"] == {"redemption_id": "r1"}


@pytest.mark.parametrize("key", ["code", "pin", "sealed_code", "fulfillment"])
def test_a_payload_with_a_code_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="never carries"):
        domain_events.build("redemption.completed", SCOPE, "r1", {key: "X"})


def test_an_unknown_type_has_no_subject() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        domain_events.subject("redemption.exploded")


@pytest.mark.parametrize("payload", [b"[]", b"{}", json.dumps({"id": "x", "type": "t", "version": "1", "time": "",
                                                               "tenant": "a", "environment": "live",
                                                               "data": {}}).encode()])
def test_parse_refuses_what_is_not_an_event(payload: bytes) -> None:
    with pytest.raises(ValueError):
        domain_events.parse(payload)
