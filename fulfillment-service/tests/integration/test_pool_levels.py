"""Issue 15 item 4, fulfillment's side: the claim that takes an item's code pool below its low threshold (its own,
else LOW_POOL_THRESHOLD) tells code_pool.low, the one that takes its last code (or finds none) code_pool.exhausted,
each once per crossing and in the claim's own statement (FulfilNow's and the job event's), with an id made from
the item and that redemption; a retried claim tells nothing again, concurrent claims tell each crossing once, an
upload that refills the pool makes the next crossing tell again, and the gauges count with the same thresholds.
Published by the service's one relay as they were written (in clear: never a code)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import nats.js.errors
import pytest
from fulfillment_service.metrics import sample_pools
from fulfillment_service.models import event_outbox
from local_runner.pytest_plugin import wait_until
from prometheus_client import REGISTRY
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2 as O
from service_kit import domain_events
from service_kit.domain_events import EVENTS_STREAM
from service_kit.scope import Scope
from sqlalchemy import select

SCOPE_PROTO = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)
SCOPE = Scope.from_proto(SCOPE_PROTO)
LOW, EXHAUSTED = domain_events.CODE_POOL_LOW, domain_events.CODE_POOL_EXHAUSTED
LOW_POOL_THRESHOLD = 3   # the service fixture's setting (conftest), on its servicer and its connections


def _job(rid: str, item: str) -> O.FulfillmentJob:
    return O.FulfillmentJob(event_id=f"job-{rid}", redemption_id=rid, scope=SCOPE_PROTO, player_id="p1",
                            item_id=item, strategy="code_pool", point_type="gems", cost=500)


async def _upload(service: Any, item: str, n: int, prefix: str = "C") -> None:
    await service.stub.UploadCodes(O.UploadCodesRequest(
        scope=SCOPE_PROTO, item_id=item, codes=[O.CodeInput(code=f"{prefix}-{item}-{i:04d}", pin="1234")
                                                for i in range(n)]), timeout=5)


async def _claim(service: Any, rid: str, item: str) -> O.FulfilNowResponse:
    return await service.stub.FulfilNow(O.FulfilNowRequest(job=_job(rid, item)), timeout=5)


async def _events(sessions: Any, item: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        payloads = (await session.execute(select(event_outbox.c.payload).order_by(event_outbox.c.id))).scalars()
        # The pool levels' events are the rows in clear; the others are sealed.
        events = [domain_events.parse(p) for p in payloads if p[:1] == b"{"]
    return [e for e in events if e["data"]["item_id"] == item]


def _told(events: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["type"], e["data"]["cause_id"], e["data"]["available"]) for e in events]


async def test_fulfil_now_tells_low_and_exhausted_once_each_and_again_after_a_refill(service, bus, sessions):
    item = "pool-now"
    await _upload(service, item, 4)
    for n in range(1, 6):   # 4 -> 3 -> 2 (low) -> 1 -> 0 (exhausted); the fifth finds none
        await _claim(service, f"r-{n}", item)
    again = await _claim(service, "r-2", item)   # a retry answers its result and tells nothing
    assert again.result.outcome == O.RESULT_OUTCOME_COMPLETED
    assert _told(await _events(sessions, item)) == [(LOW, "r-2", 2), (EXHAUSTED, "r-4", 0)]
    low, exhausted = await _events(sessions, item)
    assert low["id"] == domain_events.event_id(LOW, SCOPE, f"{item}/r-2")
    assert exhausted["id"] == domain_events.event_id(EXHAUSTED, SCOPE, f"{item}/r-4")
    assert low["data"] == {"item_id": item, "available": 2, "threshold": LOW_POOL_THRESHOLD,
                           "cause": "redemption", "cause_id": "r-2"}
    assert (low["tenant"], low["environment"], low["version"]) == ("acme", "live", 1)

    # Published by the one relay, as written (the results beside them are still unsealed as they go out).
    async def published() -> bool:
        return await _last(bus, EXHAUSTED) is not None

    await wait_until(published, timeout=10, what="the exhausted event on the stream")
    msg = await _last(bus, EXHAUSTED)
    assert domain_events.parse(msg.data)["id"] == exhausted["id"] == msg.headers["Nats-Msg-Id"]

    # A refill above the threshold: the next crossings are told again, by the claims that make them.
    await _upload(service, item, 4, prefix="D")
    for n in range(6, 11):
        await _claim(service, f"r-{n}", item)
    assert _told(await _events(sessions, item))[2:] == [(LOW, "r-7", 2), (EXHAUSTED, "r-9", 0)]


async def _last(bus: Any, event_type: str) -> Any:
    try:
        return await bus.js.get_last_msg(EVENTS_STREAM, f"rewards.events.{event_type}")
    except nats.js.errors.NotFoundError:   # not on the stream yet
        return None


async def test_the_job_events_claim_tells_with_the_pools_own_threshold(service, bus, sessions):
    item = "pool-durable"
    await _upload(service, item, 3)
    set_to = await service.stub.SetCodePoolThreshold(O.SetCodePoolThresholdRequest(
        scope=SCOPE_PROTO, item_id=item, low_threshold=2), timeout=5)
    assert (set_to.low_threshold, set_to.own_threshold) == (2, True)
    status = await service.stub.GetCodePool(O.GetCodePoolRequest(scope=SCOPE_PROTO, item_id=item), timeout=5)
    assert (status.low_threshold, status.own_threshold, status.low) == (2, True, False)
    for n in range(1, 4):   # 3 -> 2 -> 1 (low: below its own 2, where the setting's 3 was crossed before) -> 0
        await bus.publish_job(_job(f"d-{n}", item))

    async def told() -> bool:
        return len(await _events(sessions, item)) == 2

    await wait_until(told, timeout=10)
    assert _told(await _events(sessions, item)) == [(LOW, "d-2", 1), (EXHAUSTED, "d-3", 0)]
    assert (await _events(sessions, item))[0]["data"]["threshold"] == 2
    await bus.publish_job(_job("d-2", item), msg_id="again-d-2")   # redelivered: no second claim, nothing told
    await asyncio.sleep(0.5)
    assert len(await _events(sessions, item)) == 2

    # Cleared: the pool follows the setting again.
    cleared = await service.stub.SetCodePoolThreshold(O.SetCodePoolThresholdRequest(
        scope=SCOPE_PROTO, item_id=item), timeout=5)
    assert (cleared.low_threshold, cleared.own_threshold) == (LOW_POOL_THRESHOLD, False)


async def test_concurrent_claims_tell_each_crossing_once(service, sessions):
    item = "pool-race"
    await _upload(service, item, 6)
    answers = await asyncio.gather(*(_claim(service, f"c-{n}", item) for n in range(10)))
    assert sum(a.result.outcome == O.RESULT_OUTCOME_COMPLETED for a in answers) == 6
    assert sorted(t for t, _, _ in _told(await _events(sessions, item))) == [EXHAUSTED, LOW]


async def test_a_threshold_is_refused_below_zero(service):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.stub.SetCodePoolThreshold(O.SetCodePoolThresholdRequest(
            scope=SCOPE_PROTO, item_id="x", low_threshold=-1), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_gauges_count_a_pool_low_by_its_own_threshold(service, pool):
    await _upload(service, "pool-own-high", 5)
    await _upload(service, "pool-own-low", 2)
    for item, threshold in (("pool-own-high", 10), ("pool-own-low", 1)):
        await service.stub.SetCodePoolThreshold(O.SetCodePoolThresholdRequest(
            scope=SCOPE_PROTO, item_id=item, low_threshold=threshold), timeout=5)
    await sample_pools(pool, low_threshold=LOW_POOL_THRESHOLD)
    # Low: the pool of 5 under its own 10; not the pool of 2, whose own 1 overrides the setting's 3.
    assert REGISTRY.get_sample_value("rewards_code_pools", {"state": "low"}) == 1
