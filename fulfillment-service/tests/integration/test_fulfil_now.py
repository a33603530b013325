"""FulfilNow, redemption-service's call within Redeem, on the real PostgreSQL and NATS: a first call opens the job and
assigns its code in four round trips (BEGIN, the claim, the result, COMMIT) and answers the result; the result is
recorded as published (the caller applies the answer) and the job event is not recorded, so the same job arriving
later over JetStream re-sends that result; repeats answer it without a second code; a voided job or another
strategy answers nothing and changes nothing; concurrent calls and a job event on one redemption assign one code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from fulfillment_service.domain import Result
from fulfillment_service.fulfilment import ReceivedJob, Taken, fulfil_job, fulfil_now, read_job, received_now
from fulfillment_service.grpc_api import FulfillmentApi
from fulfillment_service.models import code_pool, jobs, outbox, processed_events
from fulfillment_service.repository import FULFIL_NOW
from fulfillment_service.results import result_event_id
from local_runner.pytest_plugin import wait_until
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2 as O
from service_kit.pgpool import PgPool
from service_kit.query_plans import captured_statements
from service_kit.scope import Scope
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

SCOPE_PROTO = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)
SCOPE = Scope.from_proto(SCOPE_PROTO)
ITEM = "amazon-10"
ROUND_TRIP_BUDGET = 1  # one statement in autocommit: the job row opened settled, and its code assigned


def make_job(rid: str, *, strategy: str = "code_pool", item_id: str = ITEM, event_id: str = "") -> O.FulfillmentJob:
    return O.FulfillmentJob(event_id=event_id or f"job-{rid}", redemption_id=rid, scope=SCOPE_PROTO, player_id="p1",
                            item_id=item_id, strategy=strategy, point_type="gems", cost=500)


def now_request(rid: str, **kwargs) -> O.FulfilNowRequest:  # type: ignore[no-untyped-def]
    return O.FulfilNowRequest(job=make_job(rid, **kwargs))


async def upload(service, *codes: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    await service.stub.UploadCodes(O.UploadCodesRequest(
        scope=SCOPE_PROTO, item_id=ITEM, codes=[O.CodeInput(code=c, pin=p) for c, p in codes]), timeout=5)


async def scalar(sessions: async_sessionmaker, query):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await session.scalar(query)


async def codes_assigned_to(sessions: async_sessionmaker, rid: str) -> int:
    return int(await scalar(sessions, select(func.count()).select_from(code_pool)
                            .where(code_pool.c.assigned_to == rid)))


async def outbox_rows(sessions: async_sessionmaker):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.execute(select(outbox).order_by(outbox.c.created_at))).all()


async def all_published(sessions: async_sessionmaker) -> bool:
    rows = await outbox_rows(sessions)
    return bool(rows) and all(r.published_at is not None for r in rows)


@pytest.fixture
async def counted_api(service, sessions: async_sessionmaker, vault, database_url: str  # type: ignore[no-untyped-def]
                      ) -> AsyncIterator[tuple[FulfillmentApi, PgPool]]:
    """The servicer on a pool of its own: the round trips counted on it are the call's alone (the service's relay
    polls on the service's pool meanwhile)."""
    pool = await PgPool.open(database_url, size=1)
    yield FulfillmentApi(sessions, pool, vault, service.api.provider, callback_secret="x" * 16,
                         low_pool_threshold=3, stuck_after_seconds=300), pool
    await pool.close()


async def test_a_first_call_assigns_one_code_in_one_round_trip_and_answers_it(service, bus, sessions,
                                                                               counted_api):
    api, pool = counted_api
    await upload(service, ("AMZN-AAAA-1111", "1234"), ("AMZN-BBBB-2222", "5678"))
    await api.FulfilNow(now_request("r-warm"), None)  # the connection's prepared statements, as in steady state
    engine = sessions.kw["bind"]

    with pool.counting() as trips, captured_statements(engine) as orm_statements:
        answer = await api.FulfilNow(now_request("r-1"), None)

    assert trips.count <= ROUND_TRIP_BUDGET, trips.statements
    assert [sql for sql, _ in trips.calls] == [FULFIL_NOW]
    assert orm_statements == [], "the claim runs on PgPool only"
    result = answer.result
    assert (result.redemption_id, result.outcome, result.code, result.pin, result.sequence) == \
        ("r-1", O.RESULT_OUTCOME_COMPLETED, "AMZN-BBBB-2222", "5678", 1)
    assert result.event_id == result_event_id(SCOPE, "r-1", 1) and result.scope == SCOPE_PROTO
    assert await codes_assigned_to(sessions, "r-1") == 1
    async with sessions() as session:
        job = (await session.execute(select(jobs).where(jobs.c.redemption_id == "r-1"))).one()
        processed = await session.scalar(select(func.count()).select_from(processed_events))
    assert (job.state, job.strategy, job.result_outcome, job.result_event_id, job.job_event_id, job.attempts) == \
        ("succeeded", "code_pool", "COMPLETED", result.event_id, "job-r-1", 1)
    assert processed == 0, "FulfilNow must leave the job event unrecorded: the durable path relies on it"
    assert await outbox_rows(sessions) == [], "answered to the caller: no outbox row until a job event asks again"
    assert await bus.results(wait=0.5) == []


async def test_a_repeat_answers_the_recorded_result_and_assigns_nothing(service, sessions, vault):
    await upload(service, ("AMZN-AAAA-1111", "1234"), ("AMZN-BBBB-2222", "5678"))
    first = await service.stub.FulfilNow(now_request("r-2"), timeout=5)
    again = await service.stub.FulfilNow(now_request("r-2"), timeout=5)
    other_event = await service.stub.FulfilNow(now_request("r-2", event_id="job-r-2-again"), timeout=5)

    assert first.result.code == "AMZN-AAAA-1111"
    assert again.result == first.result == other_event.result, "the recorded result, byte for byte"
    assert await codes_assigned_to(sessions, "r-2") == 1
    assert await outbox_rows(sessions) == [], "no outbox row: nothing asked for the result over NATS"
    assert await scalar(sessions, select(func.count()).select_from(code_pool)
                        .where(code_pool.c.assigned_to.is_(None))) == 1


async def test_the_job_event_arriving_afterwards_resends_the_recorded_result(service, bus, sessions):
    await upload(service, ("AMZN-AAAA-1111", "1234"), ("AMZN-BBBB-2222", "5678"))
    answer = await service.stub.FulfilNow(now_request("r-3"), timeout=5)
    assert await bus.results(wait=0.3) == []

    # The caller died before applying the answer: its outbox publishes the same job (same event id).
    await bus.publish_job(make_job("r-3"))

    [(msg_id, sent)] = await results_eventually(bus)
    assert sent == answer.result and msg_id == answer.result.event_id, "the same result, under its own id"
    assert await codes_assigned_to(sessions, "r-3") == 1
    assert await scalar(sessions, select(func.count()).select_from(code_pool)
                        .where(code_pool.c.assigned_to.is_not(None))) == 1
    assert await scalar(sessions, select(func.count()).select_from(processed_events)
                        .where(processed_events.c.event_id == "job-r-3")) == 1
    info = await bus.js.consumer_info("FULFILLMENT_JOBS", service.consumer.config.durable_name)
    assert (info.num_pending, info.num_ack_pending) == (0, 0), "the job event is acked"

    # Delivered once more (the same event): a redelivery, nothing sent again.
    await bus.publish_job(make_job("r-3"), msg_id="job-r-3-redelivered")
    await wait_until(lambda: deliveries_acked(bus, service, 2), what="the redelivery to be acked")
    assert await bus.results(wait=0.5) == []
    assert await codes_assigned_to(sessions, "r-3") == 1


async def deliveries_acked(bus, service, deliveries: int) -> bool:  # type: ignore[no-untyped-def]
    info = await bus.js.consumer_info("FULFILLMENT_JOBS", service.consumer.config.durable_name)
    return info.delivered.consumer_seq >= deliveries and (info.num_pending, info.num_ack_pending) == (0, 0)


async def results_eventually(bus) -> list[tuple[str, O.FulfillmentResult]]:  # type: ignore[no-untyped-def]
    """The results on the stream once there is one, and any following it shortly."""
    found: list[tuple[str, O.FulfillmentResult]] = []

    async def some() -> bool:
        found.extend(await bus.results(wait=0.2))
        return bool(found)

    await wait_until(some, what="a result on the stream")
    return found + await bus.results(wait=0.3)


async def test_a_call_after_the_job_event_answers_the_result_the_event_recorded(service, bus, sessions):
    await upload(service, ("AMZN-AAAA-1111", "1234"))
    await bus.publish_job(make_job("r-4"))
    [(_, published)] = await results_eventually(bus)

    answer = await service.stub.FulfilNow(now_request("r-4"), timeout=5)

    assert answer.result == published and published.code == "AMZN-AAAA-1111"
    assert await codes_assigned_to(sessions, "r-4") == 1
    assert await bus.results(wait=0.5) == [], "answering changes nothing: the result is not sent again"


async def test_an_empty_pool_answers_failed_out_of_codes_and_a_job_without_item_invalid_job(service, sessions):
    empty = await service.stub.FulfilNow(now_request("r-5"), timeout=5)
    no_item = await service.stub.FulfilNow(now_request("r-6", item_id=""), timeout=5)

    assert (empty.result.outcome, empty.result.failure_code, empty.result.code, empty.result.sequence) == \
        (O.RESULT_OUTCOME_FAILED, "OUT_OF_CODES", "", 1)
    assert (no_item.result.outcome, no_item.result.failure_code) == (O.RESULT_OUTCOME_FAILED, "INVALID_JOB")
    async with sessions() as session:
        states = dict((await session.execute(select(jobs.c.redemption_id, jobs.c.last_error))).all())
    assert states == {"r-5": "code pool empty", "r-6": "item_id is empty"}
    assert (await service.stub.FulfilNow(now_request("r-5"), timeout=5)).result == empty.result


async def test_a_voided_job_or_another_strategy_answers_no_result_and_changes_nothing(service, sessions):
    await upload(service, ("AMZN-AAAA-1111", "1234"))
    voided = await service.stub.VoidJob(O.VoidJobRequest(scope=SCOPE_PROTO, redemption_id="r-7", reason="x"),
                                        timeout=5)
    assert voided.outcome == O.VOID_OUTCOME_VOIDED
    await wait_until(lambda: all_published(sessions), what="the void's result to be published")
    before = await outbox_rows(sessions)

    answer = await service.stub.FulfilNow(now_request("r-7"), timeout=5)
    webhook = await service.stub.FulfilNow(now_request("r-8", strategy="webhook"), timeout=5)

    assert not answer.HasField("result") and not webhook.HasField("result")
    assert await codes_assigned_to(sessions, "r-7") == 0
    async with sessions() as session:
        rows = (await session.execute(select(jobs.c.redemption_id, jobs.c.state, jobs.c.strategy))).all()
    assert [tuple(r) for r in rows] == [("r-7", "voided", "")], "the tombstone untouched; no job for r-8"
    assert await outbox_rows(sessions) == before


async def test_concurrent_calls_and_the_job_event_assign_one_code_per_redemption(service, sessions, pool, vault):
    n_redemptions, n_calls = 6, 5
    await upload(service, *[(f"CODE-{i:04d}", f"{i}") for i in range(n_redemptions + 2)])
    for i in range(n_redemptions):
        rid = f"r-race-{i}"
        received = received_now(make_job(rid))
        event = read_job(make_job(rid).SerializeToString(), None)
        start = asyncio.Event()

        async def call(received: ReceivedJob = received, start: asyncio.Event = start) -> Result | None:
            await start.wait()
            return await fulfil_now(pool, vault, received.order)

        async def job_event(event: ReceivedJob = event, start: asyncio.Event = start, later: bool = i % 2 == 1
                            ) -> Taken:
            await start.wait()
            if later:
                await asyncio.sleep(0)  # alternate which one reaches PostgreSQL first
            return await fulfil_job(sessions, pool, vault, event)

        racing = asyncio.gather(job_event(), *(call() for _ in range(n_calls)))
        start.set()
        taken, *answers = await racing

        assert taken in (Taken.FULFILLED, Taken.ALREADY_KNOWN), rid
        assert all(a is not None and a.outcome == "COMPLETED" for a in answers), rid
        assert len({a.code for a in answers if a is not None}) == 1, rid
        assert await codes_assigned_to(sessions, rid) == 1, rid
    assert await scalar(sessions, select(func.count()).select_from(code_pool)
                        .where(code_pool.c.assigned_to.is_not(None))) == n_redemptions
    assert await scalar(sessions, select(func.count()).select_from(outbox)) == n_redemptions


@pytest.mark.parametrize("request_, message", [
    (O.FulfilNowRequest(), "job is required"),
    (O.FulfilNowRequest(job=O.FulfillmentJob(event_id="e", scope=SCOPE_PROTO, strategy="code_pool")),
     "redemption_id is empty"),
    (O.FulfilNowRequest(job=O.FulfillmentJob(redemption_id="r", scope=SCOPE_PROTO, strategy="code_pool")),
     "event_id is empty"),
    (O.FulfilNowRequest(job=O.FulfillmentJob(event_id="e", redemption_id="r", strategy="code_pool")), "scope"),
    (now_request("r" * 129), "longer than 128"),
])
async def test_a_malformed_call_is_refused_and_changes_nothing(service, sessions, request_, message):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.stub.FulfilNow(request_, timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and message in refused.value.details()
    assert await scalar(sessions, select(func.count()).select_from(jobs)) == 0
