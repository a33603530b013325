"""The event log: events from the stream appended once each (by id), per tenant and environment, listed after a
cursor in the order received, filtered by type, paged to the end; a malformed message terminated; bad requests
refused with INVALID_ARGUMENT; the retention purge; append-only."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from events_service import event_log, repository
from local_runner.pytest_plugin import wait_until
from rewards.common.v1 import common_pb2
from rewards.events.v1 import events_pb2
from service_kit import domain_events
from service_kit.scope import Scope

LIVE = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)
SANDBOX = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_SANDBOX)


async def publish(service, event_type: str, key: str, *, tenant: str = "acme", environment: str = "live",  # type: ignore[no-untyped-def]
                  msg_id: str | None = None, **data: object) -> str:
    event_id, subject, payload = domain_events.build(event_type, Scope(tenant, environment), key,
                                                     {"redemption_id": key, **data})
    await service.js.publish(subject, payload, timeout=5, headers={"Nats-Msg-Id": msg_id or event_id})
    return event_id


async def listing(service, scope=LIVE, **fields) -> events_pb2.ListEventsResponse:  # type: ignore[no-untyped-def]
    return await service.stub.ListEvents(events_pb2.ListEventsRequest(scope=scope, **fields), timeout=5)


async def until_listed(service, n: int, scope=LIVE) -> None:  # type: ignore[no-untyped-def]
    async def enough() -> bool:
        return len((await listing(service, scope, limit=1000)).events) >= n
    await wait_until(enough, timeout=10, what=f"{n} events listed")


async def test_events_are_kept_once_each_in_order_per_scope(service) -> None:  # type: ignore[no-untyped-def]
    created = await publish(service, "redemption.created", "r1", status="OPEN")
    await publish(service, "redemption.created", "r9", environment="sandbox")
    await publish(service, "redemption.created", "r8", tenant="other")
    completed = await publish(service, "redemption.completed", "r1", status="COMPLETED")
    # The same event again, past JetStream's duplicate window (another Nats-Msg-Id): the log still keeps one.
    await publish(service, "redemption.completed", "r1", msg_id=f"again-{uuid.uuid4()}", status="COMPLETED")
    canceled = await publish(service, "redemption.canceled", "r2")
    await until_listed(service, 3)

    answer = await listing(service)
    assert [e.id for e in answer.events] == [created, completed, canceled]
    assert [e.type for e in answer.events] == ["redemption.created", "redemption.completed", "redemption.canceled"]
    first = answer.events[0]
    assert (first.tenant_id, first.environment, first.version) == ("acme", common_pb2.ENVIRONMENT_LIVE, 1)
    assert json.loads(first.data_json) == {"redemption_id": "r1", "status": "OPEN"}
    assert first.time.seconds > 0 and not answer.has_more and answer.next_cursor == answer.events[-1].cursor
    assert [e.id for e in (await listing(service, SANDBOX)).events] == \
        [domain_events.event_id("redemption.created", Scope("acme", "sandbox"), "r9")]

    after_first = await listing(service, after=first.cursor, types=["redemption.canceled", "redemption.completed"])
    assert [e.id for e in after_first.events] == [completed, canceled]
    nothing_new = await listing(service, after=answer.next_cursor)
    assert list(nothing_new.events) == [] and nothing_new.next_cursor == answer.next_cursor


async def test_one_redemptions_events_are_listed_in_order_with_its_id_through_the_index(service, pool) -> None:  # type: ignore[no-untyped-def]
    created = await publish(service, "redemption.created", "r5", status="OPEN")
    await publish(service, "redemption.created", "r6", status="OPEN")
    await publish(service, "points.granted", "g5", amount=5)
    completed = await publish(service, "redemption.completed", "r5", status="COMPLETED")
    await publish(service, "redemption.created", "r5", tenant="other")
    await until_listed(service, 4)
    assert [e.id for e in (await listing(service, redemption_id="r5")).events] == [created, completed]
    only_completed = await listing(service, redemption_id="r5", types=["redemption.completed"])
    assert [e.id for e in only_completed.events] == [completed]
    first = await listing(service, redemption_id="r5", limit=1)
    assert first.has_more and [e.id for e in (await listing(service, redemption_id="r5",
                                                              after=first.next_cursor)).events] == [completed]
    assert list((await listing(service, redemption_id="nobody")).events) == []
    async with pool.transaction() as tx:   # a small table may be read whole: the index must be usable
        await tx.execute("SET LOCAL enable_seqscan = off")
        plan = await tx.fetchval("EXPLAIN (FORMAT JSON) " + repository.PAGE_OF_REDEMPTION, "acme", "live", 0, 101,
                                 None, "r5")
    assert "ix_events_scope_redemption_seq" in json.dumps(plan), plan


async def test_a_malformed_message_is_terminated_and_the_next_event_is_kept(service) -> None:  # type: ignore[no-untyped-def]
    await service.js.publish("rewards.events.redemption.created", b"not json", timeout=5,
                             headers={"Nats-Msg-Id": "junk-1"})
    await service.js.publish("rewards.events.redemption.created", json.dumps({"id": "x"}).encode(), timeout=5,
                             headers={"Nats-Msg-Id": "junk-2"})
    kept = await publish(service, "points.granted", "g1", amount=5)
    await until_listed(service, 1)
    assert [e.id for e in (await listing(service)).events] == [kept]


@pytest.mark.parametrize("fields", [{"after": "abc"}, {"after": "-1"}, {"after": "9" * 30},
                                    {"types": ["redemption.exploded"]}, {"limit": 1001}, {"limit": -1},
                                    {"redemption_id": "r" * 65}])
async def test_a_bad_request_is_refused_as_invalid(service, fields) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await listing(service, **fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_tenant_over_the_bound_is_refused_as_invalid(service) -> None:  # type: ignore[no-untyped-def]
    too_long = common_pb2.Scope(tenant_id="t" * 65, environment=common_pb2.ENVIRONMENT_LIVE)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await listing(service, scope=too_long)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at most 64" in refused.value.details()


async def test_ten_thousand_events_page_to_the_end_in_order(service, pool) -> None:  # type: ignore[no-untyped-def]
    await pool.execute("""
        INSERT INTO events (event_id, tenant_id, environment, type, version, occurred_at, data)
        SELECT md5('bulk-' || n)::uuid::text, 'acme', 'live', 'points.granted', 1, now(),
               jsonb_build_object('n', n)
        FROM generate_series(1, 10000) AS n ORDER BY n""")
    seen: list[int] = []
    cursor, pages = "", 0
    while True:
        answer = await listing(service, after=cursor, limit=1000)
        seen += [json.loads(e.data_json)["n"] for e in answer.events]
        cursor, pages = answer.next_cursor, pages + 1
        if not answer.has_more:
            break
    assert seen == list(range(1, 10001)) and pages == 10
    assert list((await listing(service, after=cursor)).events) == []


async def test_the_purge_deletes_what_is_older_than_the_retention_and_the_log_refuses_updates(pool) -> None:  # type: ignore[no-untyped-def]
    await pool.execute("""
        INSERT INTO events (event_id, tenant_id, environment, type, version, occurred_at, data, received_at)
        VALUES ('old', 'acme', 'live', 'points.granted', 1, now(), '{}', now() - interval '31 days'),
               ('new', 'acme', 'live', 'points.granted', 1, now(), '{}', now() - interval '29 days')""")
    assert await event_log.purge(pool, 30 * 24 * 3600.0, batch=1) == 1
    assert [r["event_id"] for r in await pool.fetch("SELECT event_id FROM events")] == ["new"]
    with pytest.raises(Exception, match="append-only"):
        await pool.execute("UPDATE events SET type = 'points.adjusted'")
