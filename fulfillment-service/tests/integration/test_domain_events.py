"""The tenants' fulfillment events: a physical job waiting for an operator, then shipped and delivered, each an
event in the transaction of its move, with an id made from the redemption, published by the service's one relay
(beside its results) onto the events stream."""

from __future__ import annotations

from fulfillment_service.models import event_outbox
from local_runner.pytest_plugin import wait_until
from service_kit import domain_events
from service_kit.domain_events import EVENTS_STREAM
from service_kit.scope import Scope
from sqlalchemy import func, select

from .test_provider_and_operator_jobs import ADDRESS, O, advance, job


async def test_a_physical_job_tells_waiting_shipped_and_delivered(service, bus, sessions):
    await bus.publish_job(job("r-ev", "physical", shipping_address=ADDRESS))

    async def published(n: int) -> bool:
        async with sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(event_outbox)
                                        .where(event_outbox.c.published_at.is_not(None)))
        return rows == n

    await wait_until(lambda: published(1), timeout=10)
    await bus.publish_job(job("r-ev", "physical", shipping_address=ADDRESS), msg_id="again-r-ev")
    await service.stub.AdvanceJob(advance("r-ev", O.RESULT_OUTCOME_SHIPPED, tracking_number="TRK9"), timeout=5)
    await service.stub.AdvanceJob(advance("r-ev", O.RESULT_OUTCOME_DELIVERED), timeout=5)
    await wait_until(lambda: published(3), timeout=10)

    scope = Scope("acme", "live")
    for event_type, delivery in (("fulfillment.waiting_for_operator", None), ("fulfillment.shipped", "shipped"),
                                 ("fulfillment.delivered", "delivered")):
        msg = await bus.js.get_last_msg(EVENTS_STREAM, f"rewards.events.{event_type}")
        event = domain_events.parse(msg.data)
        assert msg.headers["Nats-Msg-Id"] == event["id"] == domain_events.event_id(event_type, scope, "r-ev")
        assert (event["type"], event["tenant"], event["environment"]) == (event_type, "acme", "live")
        assert event["data"]["redemption_id"] == "r-ev" and event["data"]["item_id"] == "it-1"
        if delivery:
            assert event["data"]["delivery_status"] == delivery and event["data"]["tracking_number"] == "TRK9"
        else:
            assert event["data"]["strategy"] == "physical"
    info = await bus.js.stream_info(EVENTS_STREAM)
    assert info.state.messages == 3, "the redelivered job wrote no second event"
