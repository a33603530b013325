"""Voids: a cancel and a delivery decided on the job's row, on the real PostgreSQL. Exactly one of a void and a
code assignment wins, whichever comes first; a voided job (or its tombstone) is never delivered, called, moved or
completed by a callback; a void of a delivered job, a shipped one or one whose provider call is in flight is
refused and changes nothing."""

from __future__ import annotations

import asyncio
import json
import time

import grpc
import pytest
from fulfillment_service import job_controls, repository
from fulfillment_service.domain import Advance, NewCode
from fulfillment_service.fulfilment import ReceivedJob, Taken, fulfil_job, give_up_job, read_job, take_code_pool_job
from fulfillment_service.job_controls import CANCELED_ON_REQUEST, VoidOutcome, void_job
from fulfillment_service.models import code_pool, jobs, outbox
from fulfillment_service.provider_calls import signature_for
from fulfillment_service.vault import Vault
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2 as O
from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

SIGNING_SECRET = "test-signing-secret-0123456789"  # the service fixture's (conftest)
SCOPE_PROTO = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)
SCOPE = Scope.from_proto(SCOPE_PROTO)
ITEM = "amazon-10"


def received(rid: str, strategy: str = "code_pool", event_id: str | None = None, **fields) -> ReceivedJob:  # type: ignore[no-untyped-def]
    job = O.FulfillmentJob(event_id=event_id or f"job-{rid}", redemption_id=rid, scope=SCOPE_PROTO, player_id="p1",
                           item_id=ITEM, strategy=strategy, **fields)
    return read_job(job.SerializeToString(), None)


async def stock_codes(sessions: async_sessionmaker, vault: Vault, n: int) -> None:
    async with sessions.begin() as session:
        await repository.add_codes(session, vault, SCOPE, ITEM, [NewCode(f"CODE-{i:04d}", "", None) for i in range(n)])


@pytest.fixture
def fulfil(sessions: async_sessionmaker, pool: PgPool):  # type: ignore[no-untyped-def]
    """A job event taken as the consumer takes it."""
    async def take(sessions: async_sessionmaker, vault: Vault, job: ReceivedJob) -> Taken:
        return await fulfil_job(sessions, pool, vault, job)
    return take


async def void(sessions: async_sessionmaker, vault: Vault, rid: str, reason: str = "changed my mind"
               ) -> job_controls.Void:
    async with sessions.begin() as session:
        return await void_job(session, vault, SCOPE, rid, reason)


async def job_row(sessions: async_sessionmaker, rid: str):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.execute(select(jobs).where(jobs.c.redemption_id == rid))).one()


async def assigned_to(sessions: async_sessionmaker, rid: str) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(code_pool)
                                        .where(code_pool.c.assigned_to == rid)))


async def results_of(sessions: async_sessionmaker, vault: Vault, rid: str) -> list[O.FulfillmentResult]:
    async with sessions() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.created_at))).all()
    found = [O.FulfillmentResult.FromString(vault.unseal_bytes(row.payload)) for row in rows]
    return sorted((r for r in found if r.redemption_id == rid), key=lambda r: r.sequence)


async def test_a_void_before_the_job_leaves_a_tombstone_and_the_job_spends_no_code(sessions, vault, fulfil):
    await stock_codes(sessions, vault, 2)

    first = await void(sessions, vault, "r-1", "changed my mind")
    assert first.outcome is VoidOutcome.VOIDED
    [failed] = await results_of(sessions, vault, "r-1")
    assert (failed.outcome, failed.failure_code, failed.failure_message, failed.sequence) == \
        (O.RESULT_OUTCOME_FAILED, CANCELED_ON_REQUEST, "changed my mind", 1)
    assert (await void(sessions, vault, "r-1")).outcome is VoidOutcome.VOIDED  # idempotent: no second result
    assert len(await results_of(sessions, vault, "r-1")) == 1

    assert await fulfil(sessions, vault, received("r-1")) is Taken.VOIDED
    assert await fulfil(sessions, vault, received("r-1")) is Taken.VOIDED  # a redelivery: the same
    assert await assigned_to(sessions, "r-1") == 0
    row = await job_row(sessions, "r-1")
    assert (row.state, row.strategy, row.item_id, row.job_event_id) == ("voided", "code_pool", ITEM, "job-r-1")

    # The reconciler asks again (the cancel may never have reached the redemption): the FAILED result goes out
    # again, under its own id; still no code.
    async with sessions.begin() as session:
        await session.execute(outbox.update().values(published_at=func.now()))
    assert await fulfil(sessions, vault, received("r-1", event_id="job-r-1-again")) is Taken.VOIDED
    async with sessions() as session:
        queued = (await session.execute(select(outbox.c.event_id).where(outbox.c.published_at.is_(None)))).all()
    assert [e for (e,) in queued] == [failed.event_id]
    assert await assigned_to(sessions, "r-1") == 0
    async with sessions.begin() as session:  # a job given up after every delivery fails nothing more
        assert not await give_up_job(session, vault, received("r-1", event_id="job-r-1-last"), "boom")
    assert len(await results_of(sessions, vault, "r-1")) == 1


async def test_a_void_after_the_code_was_assigned_is_refused_and_changes_nothing(sessions, vault, fulfil):
    await stock_codes(sessions, vault, 1)
    assert await fulfil(sessions, vault, received("r-2")) is Taken.FULFILLED
    refused = await void(sessions, vault, "r-2")
    assert refused.outcome is VoidOutcome.DELIVERED and "delivered" in refused.message
    assert (await job_row(sessions, "r-2")).state == "succeeded"
    assert [r.outcome for r in await results_of(sessions, vault, "r-2")] == [O.RESULT_OUTCOME_COMPLETED]
    assert await assigned_to(sessions, "r-2") == 1


async def test_a_void_waits_for_a_code_assignment_in_progress_and_is_refused(sessions, pool, vault):
    await stock_codes(sessions, vault, 1)
    async with pool.transaction() as tx:
        assert await take_code_pool_job(tx, vault, received("r-3").order) is Taken.FULFILLED
        voiding = asyncio.create_task(void(sessions, vault, "r-3"))
        await asyncio.sleep(0.3)
        assert not voiding.done(), "the void must wait on the job row the assignment holds"
    assert (await voiding).outcome is VoidOutcome.DELIVERED
    assert await assigned_to(sessions, "r-3") == 1


async def test_a_job_arriving_during_a_void_waits_and_assigns_no_code(sessions, vault, fulfil):
    await stock_codes(sessions, vault, 1)
    async with sessions.begin() as session:
        assert (await void_job(session, vault, SCOPE, "r-4", "")).outcome is VoidOutcome.VOIDED
        taking = asyncio.create_task(fulfil(sessions, vault, received("r-4")))
        await asyncio.sleep(0.3)
        assert not taking.done(), "the job must wait on the tombstone the void holds"
    assert await taking is Taken.VOIDED
    assert await assigned_to(sessions, "r-4") == 0
    [failed] = await results_of(sessions, vault, "r-4")
    assert failed.failure_message == "canceled on request"


async def test_concurrent_voids_and_deliveries_exactly_one_wins_each_time(sessions, vault, fulfil):
    n = 30
    await stock_codes(sessions, vault, n)
    outcomes = []
    for i in range(n):
        rid = f"r-race-{i}"
        start = asyncio.Event()

        async def deliver(rid: str = rid, start: asyncio.Event = start) -> Taken:
            await start.wait()
            return await fulfil(sessions, vault, received(rid))

        async def cancel(rid: str = rid, start: asyncio.Event = start, later: bool = i % 2 == 1
                         ) -> job_controls.Void:
            await start.wait()
            if later:
                await asyncio.sleep(0)  # alternate which one reaches PostgreSQL first
            return await void(sessions, vault, rid)

        both = asyncio.gather(deliver(), cancel())
        start.set()
        taken, voided = await both
        outcomes.append((rid, taken, voided.outcome))
    for rid, taken, voided in outcomes:
        codes = await assigned_to(sessions, rid)
        state = (await job_row(sessions, rid)).state
        kinds = [r.outcome for r in await results_of(sessions, vault, rid)]
        if voided is VoidOutcome.VOIDED:
            assert (taken, codes, state, kinds) == (Taken.VOIDED, 0, "voided", [O.RESULT_OUTCOME_FAILED]), rid
        else:
            assert (taken, voided, codes, state, kinds) == \
                (Taken.FULFILLED, VoidOutcome.DELIVERED, 1, "succeeded", [O.RESULT_OUTCOME_COMPLETED]), rid
    async with sessions() as session:
        assigned = await session.scalar(select(func.count()).select_from(code_pool)
                                        .where(code_pool.c.assigned_to.is_not(None)))
    assert assigned == sum(1 for _, _, v in outcomes if v is VoidOutcome.DELIVERED)


async def test_a_waiting_manual_job_is_voided_and_no_operator_move_changes_it(sessions, vault, fulfil):
    assert await fulfil(sessions, vault, received("r-m", "manual")) is Taken.FULFILLED
    assert (await job_row(sessions, "r-m")).state == "waiting"
    assert (await void(sessions, vault, "r-m")).outcome is VoidOutcome.VOIDED
    async with sessions.begin() as session:
        with pytest.raises(DomainError) as refused:
            await job_controls.advance_job(session, vault, SCOPE, "r-m", Advance(
                target="COMPLETED", tracking_number="", note=""))
    assert refused.value.code is ErrorCode.VALIDATION_ERROR and "voided" in refused.value.message
    async with sessions.begin() as session:
        await job_controls.fail_job(session, vault, SCOPE, "r-m", "sold out")  # harmless
    assert (await job_row(sessions, "r-m")).state == "voided"
    assert [(r.outcome, r.sequence) for r in await results_of(sessions, vault, "r-m")] == \
        [(O.RESULT_OUTCOME_ACCEPTED, 1), (O.RESULT_OUTCOME_FAILED, 2)]


async def test_a_shipped_job_and_a_job_whose_provider_is_being_called_are_not_voided(sessions, vault, fulfil):
    address = common_pb2.ShippingAddress(line1="1 Main St", city="Oslo", country="NO")
    assert await fulfil(sessions, vault, received("r-ph", "physical", shipping_address=address)) is Taken.FULFILLED
    async with sessions.begin() as session:
        await job_controls.advance_job(session, vault, SCOPE, "r-ph", Advance(
            target="SHIPPED", tracking_number="TRK1", note=""))
    refused = await void(sessions, vault, "r-ph")
    assert refused.outcome is VoidOutcome.DELIVERED and "shipped" in refused.message
    assert (await job_row(sessions, "r-ph")).state == "waiting"

    webhook = received("r-wh", "webhook", config=None)
    webhook.job.config.update({"url": "http://127.0.0.1:9/deliver"})
    webhook = read_job(webhook.job.SerializeToString(), None)
    assert await fulfil(sessions, vault, webhook) is Taken.CALL_PROVIDER
    async with sessions.begin() as session:  # the consumer commits the attempt, then calls the provider
        assert (await repository.start_attempt(session, SCOPE, "r-wh", ("pending", "running"), holder="consumer",
                                               lease_seconds=90)).started
    in_flight = await void(sessions, vault, "r-wh")
    assert in_flight.outcome is VoidOutcome.IN_PROGRESS
    assert (await job_row(sessions, "r-wh")).state == "running"
    assert await results_of(sessions, vault, "r-wh") == []


async def test_a_pending_provider_job_is_voided_and_never_called(service, sessions, vault, fulfil):
    webhook = O.FulfillmentJob(event_id="job-r-p", redemption_id="r-p", scope=SCOPE_PROTO, player_id="p1",
                               item_id=ITEM, strategy="webhook")
    webhook.config.update({"url": "http://127.0.0.1:9/deliver"})  # nothing listens: a call would be seen
    job = read_job(webhook.SerializeToString(), None)
    assert await fulfil(sessions, vault, job) is Taken.CALL_PROVIDER  # opened pending; the call comes after
    assert (await void(sessions, vault, "r-p")).outcome is VoidOutcome.VOIDED
    # The delivery goes on to call the provider: the voided row stops it before any call.
    assert await service.consumer.provider.deliver(SCOPE, job.job, final=False, retry_delay=0.0)
    row = await job_row(sessions, "r-p")
    assert (row.state, row.attempts, row.last_error) == ("voided", 0, "")


async def test_a_provider_callback_for_a_voided_job_changes_nothing(service, sessions, vault, fulfil):
    webhook = O.FulfillmentJob(event_id="job-r-cb", redemption_id="r-cb", scope=SCOPE_PROTO, player_id="p1",
                               item_id=ITEM, strategy="webhook")
    webhook.config.update({"url": "http://127.0.0.1:9/deliver"})
    job = read_job(webhook.SerializeToString(), None)
    assert await fulfil(sessions, vault, job) is Taken.CALL_PROVIDER
    async with sessions.begin() as session:  # the provider accepted: the job waits for its callback
        await repository.settle_job(session, SCOPE, "r-cb", state="waiting", outcome="AWAITING_VENDOR",
                                                 result_event_id="x", result_data={})
    assert (await void(sessions, vault, "r-cb")).outcome is VoidOutcome.VOIDED
    body = json.dumps({"status": "completed", "code": "LATE-1"}).encode()
    now = str(int(time.time()))
    answer = await service.stub.ProviderCallback(O.ProviderCallbackRequest(
        redemption_id="r-cb", body=body, timestamp=now, signature=signature_for(SIGNING_SECRET.encode(), now, body)),
        timeout=5)
    assert answer.job.state == O.JOB_STATE_VOIDED
    assert [r.outcome for r in await results_of(sessions, vault, "r-cb")] == [O.RESULT_OUTCOME_FAILED]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.stub.RetryJob(O.RetryJobRequest(scope=SCOPE_PROTO, redemption_id="r-cb"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_void_job_rpc_answers_each_outcome_and_refuses_bad_input(service, sessions, vault, fulfil):
    await stock_codes(sessions, vault, 1)
    await fulfil(sessions, vault, received("r-done"))
    voided = await service.stub.VoidJob(O.VoidJobRequest(scope=SCOPE_PROTO, redemption_id="r-new", reason="x"),
                                        timeout=5)
    assert (voided.outcome, voided.message) == (O.VOID_OUTCOME_VOIDED, "")
    done = await service.stub.VoidJob(O.VoidJobRequest(scope=SCOPE_PROTO, redemption_id="r-done"), timeout=5)
    assert done.outcome == O.VOID_OUTCOME_DELIVERED and done.message
    listed = await service.stub.ListJobs(O.ListJobsRequest(scope=SCOPE_PROTO, state=O.JOB_STATE_VOIDED), timeout=5)
    assert [j.redemption_id for j in listed.jobs] == ["r-new"]
    for bad in (O.VoidJobRequest(scope=SCOPE_PROTO), O.VoidJobRequest(scope=SCOPE_PROTO, redemption_id="r" * 129)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.stub.VoidJob(bad, timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(jobs)) == 2
