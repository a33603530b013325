"""A provider attempt is a lease (issue 12, item 6): two replicas on one job make one provider call, a dead
replica's lease runs out and is taken over, and a replica whose lease was taken over writes nothing. Real
PostgreSQL (one engine per replica); the provider is a scripted client in this process, so the test decides
exactly when each call is in flight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from fulfillment_service import job_controls, repository
from fulfillment_service.models import jobs, outbox
from fulfillment_service.provider_calls import ProviderAnswer, ProviderUnreachable
from fulfillment_service.provider_jobs import ProviderDelivery
from fulfillment_service.vault import Vault
from google.protobuf.struct_pb2 import Struct
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.db import create_engine, session_maker
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

O = fulfillment_pb2
SCOPE_PB = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)
SCOPE = Scope.from_proto(SCOPE_PB)
LEASE = 30.0

Call = Callable[[str], Awaitable[ProviderAnswer]]


class ScriptedProvider:
    """ProviderClient's post, answered by the next scripted coroutine (default: completed at once)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.script: list[Call] = []

    async def post(self, url: str, payload: dict[str, Any], *, idempotency_key: str,
                   strategy: str = "") -> ProviderAnswer:
        self.calls.append(idempotency_key)
        if self.script:
            return await self.script.pop(0)(idempotency_key)
        return completed("C-default")


def completed(code: str) -> ProviderAnswer:
    return ProviderAnswer(200, {"status": "completed", "code": code, "reference": code})


def a_job(rid: str) -> O.FulfillmentJob:
    config = Struct()
    config.update({"url": "http://provider.invalid/deliver"})
    return O.FulfillmentJob(event_id=f"job-{rid}", redemption_id=rid, scope=SCOPE_PB, player_id="p1",
                            item_id="it-1", strategy="webhook", config=config)


@pytest.fixture
async def replicas(database_url: str, vault: Vault) -> AsyncIterator[Callable[[], ProviderDelivery]]:
    """Makes replicas: each its own engine (as another process would have), all calling one provider."""
    engines = []
    provider = ScriptedProvider()

    def replica() -> ProviderDelivery:
        engine = create_engine(database_url, pool_size=2)
        engines.append(engine)
        return ProviderDelivery(session_maker(engine), vault, provider,  # type: ignore[arg-type]
                                bonus_engine_url="", lease_seconds=LEASE)

    replica.provider = provider  # type: ignore[attr-defined]
    yield replica
    for engine in engines:
        await engine.dispose()


async def open_job(sessions: async_sessionmaker, job: O.FulfillmentJob) -> None:
    async with sessions.begin() as session:
        assert await repository.open_job(session, SCOPE, job.redemption_id, job.item_id, job.strategy, job.event_id,
                                         job.SerializeToString(), state="pending", attempts=0)


async def job_row(sessions: async_sessionmaker, rid: str) -> Any:
    async with sessions() as session:
        return (await session.execute(select(jobs).where(jobs.c.redemption_id == rid))).one()


async def results(sessions: async_sessionmaker, vault: Vault) -> list[O.FulfillmentResult]:
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.payload))).all()
    return [O.FulfillmentResult.FromString(vault.unseal_bytes(r.payload)) for r in rows]


async def expire_lease(sessions: async_sessionmaker, rid: str) -> None:
    """What time does to a lease whose replica died: it runs out."""
    async with sessions.begin() as session:
        await session.execute(text("UPDATE jobs SET lease_expires_at = now() - interval '1 second' "
                                   "WHERE redemption_id = :rid"), {"rid": rid})


async def test_two_replicas_delivering_one_job_at_once_call_the_provider_once(replicas, sessions, vault):
    job = a_job("r-twice")
    await open_job(sessions, job)
    provider = replicas.provider
    in_flight, answer = asyncio.Event(), asyncio.Event()

    async def slow(_: str) -> ProviderAnswer:
        in_flight.set()
        await answer.wait()
        return completed("C-1")

    provider.script = [slow, slow]
    first, second = replicas(), replicas()
    a = asyncio.create_task(first.deliver(SCOPE, job, final=False, retry_delay=1.0))
    await asyncio.wait_for(in_flight.wait(), 5)
    # The second replica (a copy of the job re-published, a redelivery) finds the live lease: no call.
    b = await asyncio.wait_for(second.deliver(SCOPE, job, final=False, retry_delay=1.0), 5)
    assert provider.calls == ["r-twice"]
    assert not b.settled and 0 < b.retry_in <= LEASE  # NAKed until the lease ends
    answer.set()
    assert (await asyncio.wait_for(a, 5)).settled
    row = await job_row(sessions, "r-twice")
    assert (row.state, row.attempts, row.lease_holder, row.lease_expires_at) == ("succeeded", 1, None, None)
    assert [(r.outcome, r.code) for r in await results(sessions, vault)] == [(O.RESULT_OUTCOME_COMPLETED, "C-1")]
    # Delivered again after the outcome: nothing is called.
    assert (await second.deliver(SCOPE, job, final=False, retry_delay=1.0)).settled
    assert provider.calls == ["r-twice"]


async def test_many_replicas_at_once_make_one_call(replicas, sessions, vault):
    job = a_job("r-many")
    await open_job(sessions, job)

    async def slow(_: str) -> ProviderAnswer:
        await asyncio.sleep(0.3)
        return completed("C-1")

    replicas.provider.script = [slow] * 8
    done = await asyncio.gather(*(replicas().deliver(SCOPE, job, final=False, retry_delay=1.0) for _ in range(8)))
    assert replicas.provider.calls == ["r-many"]
    assert sum(d.settled for d in done) == 1 and all(d.retry_in > 0 for d in done if not d.settled)
    assert len(await results(sessions, vault)) == 1


async def test_a_dead_replicas_lease_runs_out_and_is_taken_over(replicas, sessions, vault):
    job = a_job("r-dead")
    await open_job(sessions, job)
    # A replica took the lease and died (SIGKILL) before it could call or record anything.
    async with sessions.begin() as session:
        start = await repository.start_attempt(session, SCOPE, "r-dead", ("pending", "running"),
                                               holder="dead-replica", lease_seconds=LEASE)
    assert start.started
    survivor = replicas()
    busy = await survivor.deliver(SCOPE, job, final=False, retry_delay=1.0)
    assert not busy.settled and busy.retry_in > LEASE - 5 and replicas.provider.calls == []
    # The last delivery while the lease lives: acked, the job neither called nor failed.
    assert (await survivor.deliver(SCOPE, job, final=True, retry_delay=1.0)).settled
    assert (await job_row(sessions, "r-dead")).state == "running" and replicas.provider.calls == []
    await expire_lease(sessions, "r-dead")
    assert (await survivor.deliver(SCOPE, job, final=False, retry_delay=1.0)).settled
    assert replicas.provider.calls == ["r-dead"]
    row = await job_row(sessions, "r-dead")
    assert (row.state, row.attempts, row.lease_holder) == ("succeeded", 2, None)
    assert [r.code for r in await results(sessions, vault)] == ["C-default"]


@pytest.mark.parametrize("stale_answer", ["completed", "unreachable", "unreachable on the last delivery"])
async def test_a_replica_whose_lease_was_taken_over_cannot_finish(replicas, sessions, vault, stale_answer):
    job = a_job("r-stale")
    await open_job(sessions, job)
    provider = replicas.provider
    stale, new = replicas(), replicas()
    new_in_flight, new_answer = asyncio.Event(), asyncio.Event()
    taking_over: list[asyncio.Task] = []

    async def hung_then_answers(_: str) -> ProviderAnswer:
        # This replica stalls past its lease; meanwhile another takes the job over and calls the provider.
        await expire_lease(sessions, "r-stale")
        taking_over.append(asyncio.create_task(new.deliver(SCOPE, job, final=False, retry_delay=1.0)))
        await asyncio.wait_for(new_in_flight.wait(), 5)
        if stale_answer == "completed":
            return completed("C-stale")
        raise ProviderUnreachable("provider answered 503")

    async def answers_later(_: str) -> ProviderAnswer:
        new_in_flight.set()
        await new_answer.wait()
        return completed("C-new")

    provider.script = [hung_then_answers, answers_later]
    final = stale_answer.endswith("last delivery")
    done = await asyncio.wait_for(stale.deliver(SCOPE, job, final=final, retry_delay=1.0), 10)
    assert done.settled is final  # not final: delivered again, and then it finds the new holder's outcome
    row = await job_row(sessions, "r-stale")
    # The stale replica wrote nothing: no outcome, no postponement, the lease still the new holder's.
    assert (row.state, row.result_outcome, row.last_error, row.attempts) == ("running", None, "", 2)
    assert row.lease_holder is not None and await results(sessions, vault) == []
    new_answer.set()
    assert (await asyncio.wait_for(taking_over[0], 5)).settled
    row = await job_row(sessions, "r-stale")
    assert (row.state, row.lease_holder) == ("succeeded", None)
    assert [(r.outcome, r.code) for r in await results(sessions, vault)] == [(O.RESULT_OUTCOME_COMPLETED, "C-new")]
    assert provider.calls == ["r-stale", "r-stale"]


async def test_retry_job_is_refused_while_another_attempt_holds_the_lease(replicas, sessions, vault):
    job = a_job("r-retry")
    await open_job(sessions, job)
    async with sessions.begin() as session:
        assert (await repository.start_attempt(session, SCOPE, "r-retry", ("pending",), holder="busy-replica",
                                               lease_seconds=LEASE)).started
    operator = replicas()
    with pytest.raises(DomainError) as refused:
        await job_controls.retry_job(sessions, operator, SCOPE, "r-retry")
    assert refused.value.code is ErrorCode.VALIDATION_ERROR and "right now" in refused.value.message
    assert replicas.provider.calls == []
    await expire_lease(sessions, "r-retry")
    await job_controls.retry_job(sessions, operator, SCOPE, "r-retry")
    assert replicas.provider.calls == ["r-retry"] and (await job_row(sessions, "r-retry")).state == "succeeded"
