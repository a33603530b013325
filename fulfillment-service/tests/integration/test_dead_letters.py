"""The dead-letter path on the real NATS and PostgreSQL: a job whose every delivery dies un-acked (a consumer that
fetches and never answers, as a killed process does) reaches its max deliveries; the server's advisory lands in the
dead-letters stream; DeadLetters fails the job (FAILED result in the outbox, so the redemption is refunded) and
removes it from the jobs stream, once, however often the advisory comes."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator

import nats.errors
import pytest
from fulfillment_service.dead_letters import DeadLetters
from fulfillment_service.domain import NewCode
from fulfillment_service.fulfilment import fulfil_job, read_job
from fulfillment_service.job_consumer import consumer_config
from fulfillment_service.models import code_pool, jobs, outbox
from fulfillment_service.repository import add_codes
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.messaging import (
    DEAD_LETTERS_STREAM,
    JOBS_STREAM,
    JetStreamLink,
    max_deliveries_subject,
)
from service_kit.scope import Scope
from sqlalchemy import func, select

SCOPE = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)
MAX_DELIVERIES = 2
ACK_WAIT = 0.3
_names = itertools.count(1)


def make_job(redemption_id: str) -> fulfillment_pb2.FulfillmentJob:
    return fulfillment_pb2.FulfillmentJob(
        event_id=f"job-{redemption_id}", redemption_id=redemption_id, scope=SCOPE, player_id="p1",
        item_id="amazon-10", strategy="code_pool", point_type="gems", cost=500)


@pytest.fixture
async def dead_letters(sessions, vault, bus, nats_server) -> AsyncIterator[DeadLetters]:  # type: ignore[no-untyped-def]
    broker = JetStreamLink(nats_server.url, "dead-letters-test", max_backoff=0.5)
    yield DeadLetters(sessions, broker, vault, consumer_name=f"dead-letters-{next(_names)}", ack_wait=1.0,
                      fetch_batch=4)
    await broker.close()


async def deliver_until_exhausted(bus, job: fulfillment_pb2.FulfillmentJob) -> int:  # type: ignore[no-untyped-def]
    """Publishes the job and lets every delivery lapse un-acked; returns its stream sequence. The fetch after the
    last one makes the server give up on it and publish the max-deliveries advisory."""
    name = f"dying-worker-{next(_names)}"
    await bus.js.add_consumer(JOBS_STREAM, consumer_config(name, ACK_WAIT, MAX_DELIVERIES))
    await bus.publish_job(job)
    sub = await bus.js.pull_subscribe_bind(durable=name, stream=JOBS_STREAM)
    seq, deliveries = 0, 0
    try:
        for _ in range(20):
            try:
                [msg] = await sub.fetch(1, timeout=1.0)
            except (nats.errors.TimeoutError, TimeoutError):
                if deliveries >= MAX_DELIVERIES:
                    break
                continue
            seq, deliveries = msg.metadata.sequence.stream, msg.metadata.num_delivered
    finally:
        await sub.unsubscribe()
    assert deliveries == MAX_DELIVERIES
    return seq


async def jobs_in_stream(bus) -> int:  # type: ignore[no-untyped-def]
    return (await bus.js.stream_info(JOBS_STREAM)).state.messages


async def settle(dead_letters: DeadLetters, expected: int) -> None:
    """The advisory is published as the server gives up: wait for it to be there, then settle."""
    settled = 0
    for _ in range(50):
        settled += await dead_letters.settle_waiting()
        if settled >= expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{settled} dead letters settled, expected {expected}")


async def test_a_job_that_died_on_every_delivery_is_failed_once(dead_letters, bus, sessions) -> None:
    seq = await deliver_until_exhausted(bus, make_job("r-poison"))
    assert await jobs_in_stream(bus) == 1  # a work queue keeps the message that reached its max deliveries

    await settle(dead_letters, 1)

    async with sessions() as session:
        job = (await session.execute(select(jobs))).one()
        results = await session.scalar(select(func.count()).select_from(outbox))
    assert (job.redemption_id, job.state, job.result_outcome) == ("r-poison", "failed", "FAILED")
    assert "FULFILLMENT_ERROR" in job.result_data and results == 1
    assert await jobs_in_stream(bus) == 0
    assert (await bus.js.stream_info(DEAD_LETTERS_STREAM)).state.messages == 0

    # The same advisory again (its ack was lost): the job is gone, nothing changes.
    advisory = {"type": "io.nats.jetstream.advisory.v1.max_deliver", "stream": JOBS_STREAM,
                "consumer": "dying-worker", "stream_seq": seq, "deliveries": MAX_DELIVERIES}
    await bus.nc.publish(max_deliveries_subject(JOBS_STREAM, "dying-worker"), json.dumps(advisory).encode())
    await bus.nc.flush()
    await settle(dead_letters, 1)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 1
        assert (await session.execute(select(jobs.c.state))).scalar_one() == "failed"


async def test_a_job_fulfilled_before_it_died_keeps_its_result(dead_letters, bus, sessions, pool, vault) -> None:
    async with sessions.begin() as session:
        await add_codes(session, vault, Scope("acme", "live"), "amazon-10", [NewCode("AMZN-AAAA-1111", "1234", None)])
    job = make_job("r-done")
    # The effect committed on a delivery whose ack never went out (killed after the commit, every time).
    await fulfil_job(sessions, pool, vault, read_job(job.SerializeToString(), None))
    await deliver_until_exhausted(bus, job)

    await settle(dead_letters, 1)

    async with sessions() as session:
        row = (await session.execute(select(jobs))).one()
        assigned = (await session.execute(select(code_pool.c.assigned_to))).scalar_one()
        results = await session.scalar(select(func.count()).select_from(outbox))
    assert (row.state, row.result_outcome, assigned, results) == ("succeeded", "COMPLETED", "r-done", 1)
    assert await jobs_in_stream(bus) == 0


async def test_an_advisory_that_is_not_about_the_jobs_is_dropped(dead_letters, bus, sessions) -> None:
    await bus.nc.publish(max_deliveries_subject(JOBS_STREAM, "x"), b"not json")
    await bus.nc.flush()
    await settle(dead_letters, 1)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(jobs)) == 0
    assert (await bus.js.stream_info(DEAD_LETTERS_STREAM)).state.messages == 0
