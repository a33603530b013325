"""The tenants' redemption events: written by the statement that makes the change (the hot path's CTEs, so the
round trips stay those of test_inline_fulfilment.py), deterministic ids, never a code or PIN, and published by
the service's one relay onto the events stream."""

from __future__ import annotations

import json

import pytest
from redemption_service.domain import Status
from rewards.redemption.v1 import redemption_pb2
from service_kit import domain_events
from service_kit.domain_events import EVENTS_STREAM, event_outbox_statements
from service_kit.errors import DomainError
from service_kit.scope import Scope

from .conftest import TENANT


async def events_of(system, redemption_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = await system.sql("SELECT event_id, subject, payload FROM event_outbox ORDER BY id")
    found = []
    for row in rows:
        event = domain_events.parse(bytes(row.payload))
        assert row.event_id == event["id"] and row.subject == f"rewards.events.{event['type']}"
        if event["data"]["redemption_id"] == redemption_id:
            found.append(event)
    return found


def expected_id(event_type: str, redemption_id: str) -> str:
    return domain_events.event_id(event_type, Scope(TENANT, "live"), redemption_id)


async def test_a_code_pool_redeem_writes_created_then_completed_without_the_code(system) -> None:  # type: ignore[no-untyped-def]
    system.fulfillment.codes = ["SECRET-CODE-1"]
    with system.pool.counting() as trips:
        redemption, _ = await system.calls.redeem(system.request())
    assert redemption.status is Status.COMPLETED and trips.count == 3, "no round trip for the events"
    created, completed = await events_of(system, redemption.id)
    assert (created["type"], completed["type"]) == ("redemption.created", "redemption.completed")
    assert created["id"] == expected_id("redemption.created", redemption.id)
    assert completed["id"] == expected_id("redemption.completed", redemption.id)
    for event in (created, completed):
        assert event["tenant"] == TENANT and event["environment"] == "live" and event["version"] == 1
        assert event["time"].endswith("Z")
        text = json.dumps(event)
        assert "SECRET-CODE-1" not in text and "1234" not in text and "sealed" not in text
    assert created["data"]["status"] == "OPEN" and completed["data"]["status"] == "COMPLETED"
    assert completed["data"]["cost"] == 150 and completed["data"]["point_type"] == "gems"
    assert completed["data"]["number"] == redemption.number and completed["data"]["player_id"] == "p1"
    assert (await system.sql("SELECT count(*) AS n FROM outbox WHERE subject LIKE 'rewards.events.%'"))[0].n == 0, \
        "the jobs' outbox holds jobs only"


async def test_a_failed_redeem_writes_failed_with_its_reason(system) -> None:  # type: ignore[no-untyped-def]
    system.wallet.balances["p1"] = 10
    with pytest.raises(DomainError):
        await system.calls.redeem(system.request(key="poor"))
    [row] = await system.sql("SELECT id FROM redemptions")
    [failed] = await events_of(system, row.id)
    assert failed["type"] == "redemption.failed" and failed["data"]["failure_code"] == "INSUFFICIENT_BALANCE"
    assert failed["data"]["status"] == "FAILED"


async def test_a_cancel_writes_canceled_with_its_refund_once(system) -> None:  # type: ignore[no-untyped-def]
    redemption, _ = await system.calls.redeem(system.request())   # no code at once: it stays OPEN
    assert redemption.status is Status.OPEN
    cancel = redemption_pb2.CancelRedemptionRequest(scope=system.scope(), redemption_id=redemption.id,
                                                    reason="changed my mind")
    await system.calls.cancel(cancel)
    await system.calls.cancel(cancel)
    created, canceled = await events_of(system, redemption.id)
    assert created["type"] == "redemption.created" and canceled["type"] == "redemption.canceled"
    assert canceled["data"]["refund"] == {"point_type": "gems", "amount": 150, "point_scale": 0}
    assert canceled["data"]["reason"] == "changed my mind" and canceled["data"]["status"] == "CANCELED"


async def test_a_result_over_jetstream_writes_completed_and_the_relay_publishes_every_event(system, results) -> None:  # type: ignore[no-untyped-def]
    system.redemptions.inline_timeout_seconds = 0.2
    system.fulfillment.codes = ["CODE-LATE"]
    system.fulfillment.inline_delay_seconds = 1.0
    redemption, _ = await system.calls.redeem(system.request())
    assert redemption.status is Status.OPEN
    assert await system.publish_jobs(results.link) == 1
    await results.publish(system.fulfillment.inline_results[redemption.id])

    async def completed() -> bool:
        return (await system.status(redemption.id)).status == "COMPLETED"
    await system.eventually(completed)
    assert [e["type"] for e in await events_of(system, redemption.id)] == \
        ["redemption.created", "redemption.completed"]

    relay = system.relay(results.link)
    assert await relay.publish_pending(event_outbox_statements()) >= 2     # with those other tests left
    assert await relay.publish_pending(event_outbox_statements()) == 0, "each is published once"
    assert await system.publish_jobs(results.link) == 0, "publish_pending alone is the jobs' table"
    js = await results.link.jetstream()
    last = await js.get_last_msg(EVENTS_STREAM, "rewards.events.redemption.completed")
    assert last.headers["Nats-Msg-Id"] == expected_id("redemption.completed", redemption.id)
    assert domain_events.parse(last.data)["data"]["redemption_id"] == redemption.id
