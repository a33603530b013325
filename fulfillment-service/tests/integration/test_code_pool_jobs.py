"""Code-pool jobs end to end: a job published on the jobs subject, a result read from the results subject."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
from fulfillment_service.domain import NewCode
from fulfillment_service.fulfilment import Taken, fulfil_job, read_job
from fulfillment_service.job_controls import void_job
from fulfillment_service.models import code_pool, jobs, outbox, processed_events
from fulfillment_service.outbox import results_relay
from fulfillment_service.repository import CLAIM_CODE, LOCK_JOB_WITH_RESULT, RECORD_FIRST_RESULT, add_codes
from local_runner.pytest_plugin import wait_until
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from service_kit.messaging import JetStreamLink
from service_kit.query_plans import captured_statements
from service_kit.scope import Scope
from sqlalchemy import func, select, text

COMPLETED = fulfillment_pb2.RESULT_OUTCOME_COMPLETED
FAILED = fulfillment_pb2.RESULT_OUTCOME_FAILED
SCOPE = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)




def make_job(redemption_id: str, *, event_id: str | None = None, item_id: str = "amazon-10",
             strategy: str = "code_pool") -> fulfillment_pb2.FulfillmentJob:
    return fulfillment_pb2.FulfillmentJob(
        event_id=event_id or f"job-{redemption_id}", redemption_id=redemption_id, scope=SCOPE,
        player_id="p1", item_id=item_id, strategy=strategy, point_type="gems", cost=500)


async def upload(stub: fulfillment_pb2_grpc.FulfillmentServiceStub, *codes: tuple[str, str],
                 item_id: str = "amazon-10") -> fulfillment_pb2.UploadCodesResponse:
    return await stub.UploadCodes(fulfillment_pb2.UploadCodesRequest(
        scope=SCOPE, item_id=item_id, codes=[fulfillment_pb2.CodeInput(code=c, pin=p) for c, p in codes]),
        timeout=5)


async def count(sessions, query) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(await session.scalar(query))


async def all_published(sessions) -> bool:  # type: ignore[no-untyped-def]
    total = await count(sessions, select(func.count()).select_from(outbox))
    pending = await count(sessions, select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
    return total > 0 and pending == 0


async def settled(sessions, jobs_done: int) -> bool:  # type: ignore[no-untyped-def]
    done = await count(sessions, select(func.count()).select_from(jobs).where(jobs.c.state.in_(("succeeded",
                                                                                                "failed"))))
    return done == jobs_done and await all_published(sessions)


async def test_a_job_with_a_code_in_the_pool_yields_one_completed_result(service, bus, sessions):
    await upload(service.stub, ("AMZN-AAAA-1111", "1234"))

    await bus.publish_job(make_job("r-1"))

    await wait_until(lambda: all_published(sessions), what="the result to be published")
    results = await bus.results()
    assert len(results) == 1
    msg_id, result = results[0]
    assert msg_id == result.event_id and result.event_id
    assert (result.redemption_id, result.outcome, result.code, result.pin, result.sequence) == \
        ("r-1", COMPLETED, "AMZN-AAAA-1111", "1234", 1)
    assert result.scope == SCOPE
    async with sessions() as session:
        job = (await session.execute(select(jobs))).one()
        assigned = (await session.execute(select(code_pool.c.assigned_to))).scalar_one()
    assert (job.redemption_id, job.state, job.result_outcome) == ("r-1", "succeeded", "COMPLETED")
    assert assigned == "r-1"


async def test_the_same_job_delivered_again_assigns_no_second_code(service, bus, sessions):
    await upload(service.stub, ("AMZN-AAAA-1111", "1111"), ("AMZN-BBBB-2222", "2222"))
    job = make_job("r-dup", event_id="evt-1")

    await bus.publish_job(job)
    await wait_until(lambda: all_published(sessions), what="the first result")
    # The same event again (published past JetStream's duplicate window: another message id), then the
    # same redemption under a new event id (a reconciler re-publishing it).
    await bus.publish_job(job, msg_id="evt-1-republished")
    await bus.publish_job(make_job("r-dup", event_id="evt-2"))
    await wait_until(lambda: _processed(sessions, "evt-2"), what="the second event to be taken")
    await wait_until(lambda: all_published(sessions), what="the outbox to drain")

    results = await bus.results()
    assert [r.redemption_id for _, r in results] == ["r-dup"]
    assert await count(sessions, select(func.count()).select_from(code_pool)
                       .where(code_pool.c.assigned_to.is_not(None))) == 1
    assert await count(sessions, select(func.count()).select_from(jobs)) == 1
    info = await bus.js.consumer_info("FULFILLMENT_JOBS", service.consumer.config.durable_name)
    assert (info.num_pending, info.num_ack_pending) == (0, 0), "every delivery is acked"


async def _processed(sessions, event_id: str) -> bool:  # type: ignore[no-untyped-def]
    return await count(sessions, select(func.count()).select_from(processed_events)
                       .where(processed_events.c.event_id == event_id)) == 1


async def test_an_empty_pool_yields_failed_out_of_codes(service, bus, sessions):
    await bus.publish_job(make_job("r-empty"))

    await wait_until(lambda: all_published(sessions), what="the result")
    [(_, result)] = await bus.results()
    assert (result.redemption_id, result.outcome, result.failure_code, result.code) == \
        ("r-empty", FAILED, "OUT_OF_CODES", "")
    async with sessions() as session:
        job = (await session.execute(select(jobs))).one()
    assert (job.state, job.last_error) == ("failed", "code pool empty")


async def test_an_expired_code_is_not_handed_out(service, bus, sessions):
    await upload(service.stub, ("OLD-CODE-0001", ""))
    async with sessions.begin() as session:
        await session.execute(code_pool.update().values(expires_at=func.now() - text("interval '1 minute'")))

    await bus.publish_job(make_job("r-late"))

    await wait_until(lambda: all_published(sessions), what="the result")
    [(_, result)] = await bus.results()
    assert (result.outcome, result.failure_code) == (FAILED, "OUT_OF_CODES")
    pool = await service.stub.GetCodePool(fulfillment_pb2.GetCodePoolRequest(scope=SCOPE, item_id="amazon-10"),
                                          timeout=5)
    assert (pool.available, pool.assigned, pool.expired) == (0, 0, 1)


async def test_an_unknown_strategy_is_reported_failed_so_it_is_refunded(service, bus, sessions):
    await bus.publish_job(make_job("r-odd", strategy="carrier_pigeon"))

    await wait_until(lambda: all_published(sessions), what="the result")
    [(_, result)] = await bus.results()
    assert (result.redemption_id, result.outcome, result.failure_code) == ("r-odd", FAILED, "INVALID_JOB")
    async with sessions() as session:
        job = (await session.execute(select(jobs))).one()
    assert (job.state, job.last_error) == ("failed", "unknown strategy")


async def test_a_malformed_job_is_terminated_without_a_result(service, bus, sessions):
    await upload(service.stub, ("AMZN-AAAA-1111", "1"))
    await bus.publish_raw(b"\xff\xff not a protobuf", "garbage-1")
    await bus.publish_job(make_job("", event_id="no-redemption"))
    await bus.publish_job(make_job("r-ok"))

    await wait_until(lambda: all_published(sessions), what="the valid job's result")
    results = await bus.results()
    assert [r.redemption_id for _, r in results] == ["r-ok"]
    info = await bus.js.consumer_info("FULFILLMENT_JOBS", service.consumer.config.durable_name)
    assert (info.num_pending, info.num_ack_pending) == (0, 0), "malformed jobs are terminated, not left"


async def test_codes_and_pins_are_stored_encrypted(service, bus, sessions, database_url):
    await upload(service.stub, ("PLAIN-SECRET-7788", "PIN-4455"))
    await bus.publish_job(make_job("r-secret"))
    await wait_until(lambda: all_published(sessions), what="the result")
    [(_, result)] = await bus.results()
    assert result.code == "PLAIN-SECRET-7788"

    async with sessions() as session:
        for table in ("code_pool", "outbox", "jobs"):
            dump = (await session.execute(text(f"SELECT string_agg(t::text, '|') FROM {table} t"))).scalar_one()
            assert dump, f"{table} is empty"
            for secret in ("PLAIN-SECRET-7788", "PIN-4455"):
                assert secret not in dump, f"{secret} in clear in {table}"
                assert secret.encode().hex() not in dump, f"{secret} in clear (bytea) in {table}"


async def test_upload_codes_counts_duplicates_and_reports_the_pool(service, sessions):
    first = await upload(service.stub, ("AMZN-AAAA-1111", "1"), ("AMZN-BBBB-2222", "2"), ("AMZN-AAAA-1111", "1"))
    second = await upload(service.stub, ("AMZN-BBBB-2222", "9"), ("AMZN-CCCC-3333", "3"))
    other_item = await upload(service.stub, ("AMZN-AAAA-1111", "1"), item_id="steam-20")

    assert (first.added, first.duplicates) == (2, 1)
    assert (second.added, second.duplicates) == (1, 1)
    assert (other_item.added, other_item.duplicates) == (1, 0), "de-duplication is per item"
    pool = await service.stub.GetCodePool(fulfillment_pb2.GetCodePoolRequest(scope=SCOPE, item_id="amazon-10"),
                                          timeout=5)
    assert (pool.available, pool.assigned, pool.expired, pool.low_threshold, pool.low) == (3, 0, 0, 3, False)
    assert list(pool.masked_sample) == ["AMZN-****-1111", "AMZN-****-2222", "AMZN-****-3333"]


@pytest.mark.parametrize("request_kwargs, message", [
    ({"item_id": "", "codes": [fulfillment_pb2.CodeInput(code="A-1")]}, "item_id is required"),
    ({"item_id": "x", "codes": []}, "codes must not be empty"),
    ({"item_id": "x", "codes": [fulfillment_pb2.CodeInput(code="A-1"), fulfillment_pb2.CodeInput(code="  ")]},
     "codes[1].code is empty"),
    ({"item_id": "x", "codes": [fulfillment_pb2.CodeInput(code="A" * 300)]}, "at most 256"),
])
async def test_upload_codes_refuses_bad_input_and_changes_nothing(service, sessions, request_kwargs, message):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.UploadCodes(fulfillment_pb2.UploadCodesRequest(scope=SCOPE, **request_kwargs), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()
    assert await count(sessions, select(func.count()).select_from(code_pool)) == 0


async def test_list_jobs_filters_by_state_and_pages(service, bus, sessions):
    await upload(service.stub, ("AMZN-AAAA-1111", "1"))
    for n, rid in enumerate(("r-a", "r-b", "r-c"), start=1):  # the first gets the only code; the others fail
        await bus.publish_job(make_job(rid))
        await wait_until(lambda: settled(sessions, n), what=f"the result of {rid}")  # noqa: B023

    failed = await service.stub.ListJobs(fulfillment_pb2.ListJobsRequest(
        scope=SCOPE, state=fulfillment_pb2.JOB_STATE_FAILED), timeout=5)
    assert sorted(j.redemption_id for j in failed.jobs) == ["r-b", "r-c"]
    assert failed.next_page_token == ""

    seen, token = [], ""
    while True:
        page = await service.stub.ListJobs(fulfillment_pb2.ListJobsRequest(scope=SCOPE, page_size=2,
                                                                            page_token=token), timeout=5)
        seen += [(j.redemption_id, j.state) for j in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == [("r-a", fulfillment_pb2.JOB_STATE_SUCCEEDED), ("r-b", fulfillment_pb2.JOB_STATE_FAILED),
                            ("r-c", fulfillment_pb2.JOB_STATE_FAILED)]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.ListJobs(fulfillment_pb2.ListJobsRequest(scope=SCOPE, page_token="nonsense"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_operator_moves_of_an_unknown_job_answer_not_found(service):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.stub.RetryJob(fulfillment_pb2.RetryJobRequest(scope=SCOPE, redemption_id="r-1"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_relay_keeps_results_while_nats_is_down_and_drains_them_after(service, bus, sessions, pool,
                                                                              vault, nats_server):
    await upload(service.stub, ("AMZN-AAAA-1111", "1"), ("AMZN-BBBB-2222", "2"))
    await service.broker.jetstream()  # the relay is connected before NATS goes away
    nats_server.stop()
    try:
        # Jobs fulfilled while NATS is away (as by a worker that fetched them just before).
        for rid in ("r-x", "r-y"):
            await fulfil_job(sessions, pool, vault, read_job(make_job(rid).SerializeToString(), None),
                             outbox_written=service.relay.wake)
        await asyncio.sleep(1.0)  # several relay rounds
        unpublished = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        assert await count(sessions, unpublished) == 2
    finally:
        nats_server.start()

    await wait_until(lambda: all_published(sessions), timeout=20, what="the outbox to drain after NATS returned")
    results = await bus.results()
    assert sorted((r.redemption_id, r.code) for _, r in results) == [("r-x", "AMZN-AAAA-1111"),
                                                                    ("r-y", "AMZN-BBBB-2222")]


async def test_the_relay_is_woken_by_commits_and_does_not_wait_for_its_interval(sessions, pool, vault, bus,
                                                                               nats_server):
    # A relay whose fallback poll would come only after the test: what it publishes, a commit woke it for.
    broker = JetStreamLink(nats_server.url, "fulfillment-relay-wake-test", max_backoff=0.5)
    relay = results_relay(pool, sessions, broker, vault, interval=60)
    running = asyncio.create_task(relay.run())
    try:
        await broker.jetstream()
        await asyncio.sleep(0.3)  # its first round is over: it waits
        async with sessions.begin() as session:
            await add_codes(session, vault, Scope("acme", "live"), "amazon-10", [NewCode("AMZN-AAAA-1111", "1", None)])

        # A code-pool job (PgPool: woken explicitly after the commit), then a void (a SQLAlchemy session: woken by
        # the kit's wake-on-commit).
        await fulfil_job(sessions, pool, vault, read_job(make_job("r-woken").SerializeToString(), None),
                         outbox_written=relay.wake)
        await wait_until(lambda: all_published(sessions), timeout=5, what="the code's result, woken by its commit")
        async with sessions.begin() as session:
            await void_job(session, vault, Scope("acme", "live"), "r-void", "changed my mind")
        await wait_until(lambda: all_published(sessions), timeout=5, what="the void's result, woken by its commit")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await broker.close()
    results = await bus.results()
    assert sorted((r.redemption_id, r.outcome) for _, r in results) == [("r-void", FAILED), ("r-woken", COMPLETED)]


async def test_a_code_pool_job_event_costs_four_round_trips_first_and_again(sessions, pool, vault):
    async with sessions.begin() as session:
        await add_codes(session, vault, Scope("acme", "live"), "amazon-10", [NewCode("AMZN-AAAA-1111", "1", None)])
    job = read_job(make_job("r-trips").SerializeToString(), None)
    engine = sessions.kw["bind"]

    with pool.counting() as first, captured_statements(engine) as orm_statements:
        assert await fulfil_job(sessions, pool, vault, job) is Taken.FULFILLED
    with pool.counting() as again:
        assert await fulfil_job(sessions, pool, vault, job) is Taken.REDELIVERED

    # SQLAlchemy took eight: BEGIN, the event, the job, the code, the sequence, the outbox row, the job's result,
    # COMMIT.
    assert [sql for sql, _ in first.calls] == ["BEGIN", CLAIM_CODE, RECORD_FIRST_RESULT, "COMMIT"]
    assert [sql for sql, _ in again.calls] == ["BEGIN", CLAIM_CODE, LOCK_JOB_WITH_RESULT, "COMMIT"]
    assert orm_statements == []
