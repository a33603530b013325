"""Every statement of fulfillment's hot paths reads its tables through an index (service_kit.query_plans for the
SQLAlchemy engine, PgPool.tables_read_without_index for the SQL text), as the service issues them: a code-pool job
taken by the consumer (code assigned, result in the outbox) and delivered again, FulfilNow (a first claim, a
repeat), the relay's rounds (claim unpublished rows, mark them published, the backlog report), a provider job's
attempt bookkeeping, a page of jobs and the next, voids (a waiting job and a tombstone), and the code pool's
stats."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fulfillment_service.fulfilment import Taken, fulfil_job, read_job
from fulfillment_service.models import outbox
from fulfillment_service.outbox import BACKLOG, CLAIM_UNPUBLISHED, MARK_PUBLISHED
from fulfillment_service.repository import (
    CLAIM_CODE,
    LOCK_JOB_WITH_RESULT,
    NAME_TOMBSTONE,
    QUEUE_AGAIN,
    RECORD_FIRST_RESULT,
)
from google.protobuf.struct_pb2 import Struct
from local_runner.infra import free_port
from local_runner.pytest_plugin import wait_until
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.db import create_engine
from service_kit.query_plans import captured_statements, tables_read_without_index
from service_kit.scope import Scope
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

SCOPE = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)




def make_job(redemption_id: str, strategy: str, **config: str) -> fulfillment_pb2.FulfillmentJob:
    settings = Struct()
    settings.update(config)
    return fulfillment_pb2.FulfillmentJob(
        event_id=f"job-{redemption_id}", redemption_id=redemption_id, scope=SCOPE, player_id="p1",
        item_id="amazon-10", strategy=strategy, config=settings, point_type="gems", cost=500, face_value=1000,
        face_currency="EUR")


@pytest.fixture
async def watcher(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own reads, on another engine than the service's, so that only the service's statements are
    captured."""
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


async def test_the_hot_statements_use_indexes(service, bus, sessions, pool, vault,  # type: ignore[no-untyped-def]
                                              watcher: AsyncEngine) -> None:
    engine = sessions.kw["bind"]

    async def results_published(n: int) -> bool:
        async with watcher.connect() as conn:
            total, pending = (await conn.execute(select(
                func.count(), func.count().filter(outbox.c.published_at.is_(None))).select_from(outbox))).one()
        return (total, pending) == (n, 0)

    await service.stub.UploadCodes(fulfillment_pb2.UploadCodesRequest(
        scope=SCOPE, item_id="amazon-10", codes=[fulfillment_pb2.CodeInput(code="AMZN-AAAA-1111", pin="1111"),
                                                 fulfillment_pb2.CodeInput(code="AMZN-BBBB-2222")]), timeout=5)
    code_job = make_job("r-code", "code_pool")
    # Nothing listens on this port: the provider call fails fast and the job waits for its next delivery.
    webhook = make_job("r-web", "webhook", url=f"http://127.0.0.1:{free_port()}/deliver")

    with captured_statements(engine) as statements, pool.counting() as trips:
        # Taken by the consumer off the stream; the relay claims the result and marks it published.
        await bus.publish_job(code_job)
        await wait_until(lambda: results_published(1), what="the code's result to be published")
        # the same job delivered again, as the consumer takes it
        assert await fulfil_job(sessions, pool, vault, read_job(code_job.SerializeToString(), None)) \
            is Taken.REDELIVERED
        # A provider job: opened, then an attempt counted and postponed (the consumer's path, without NATS).
        assert await fulfil_job(sessions, pool, vault, read_job(webhook.SerializeToString(), None)) \
            is Taken.CALL_PROVIDER
        assert not (await service.consumer.provider.deliver(Scope.from_proto(SCOPE), webhook, final=False,
                                                            retry_delay=60)).settled
        first = await service.stub.ListJobs(fulfillment_pb2.ListJobsRequest(scope=SCOPE, page_size=1), timeout=5)
        second = await service.stub.ListJobs(fulfillment_pb2.ListJobsRequest(
            scope=SCOPE, page_size=1, page_token=first.next_page_token), timeout=5)
        pending = await service.stub.ListJobs(fulfillment_pb2.ListJobsRequest(
            scope=SCOPE, state=fulfillment_pb2.JOB_STATE_PENDING), timeout=5)
        voided = await service.stub.VoidJob(fulfillment_pb2.VoidJobRequest(
            scope=SCOPE, redemption_id="r-web", reason="player canceled"), timeout=5)
        tombstone = await service.stub.VoidJob(fulfillment_pb2.VoidJobRequest(
            scope=SCOPE, redemption_id="r-never-arrived"), timeout=5)
        stats = await service.stub.GetCodePool(fulfillment_pb2.GetCodePoolRequest(scope=SCOPE, item_id="amazon-10"),
                                               timeout=5)
        await wait_until(lambda: results_published(3), what="the voids' results to be published")
        # The job of the tombstone arrives: named, its FAILED result queued again, no code.
        late = read_job(make_job("r-never-arrived", "code_pool").SerializeToString(), None)
        assert await fulfil_job(sessions, pool, vault, late, outbox_written=service.relay.wake) is Taken.VOIDED
        await wait_until(lambda: results_published(3), what="the void's result to be published again")
        # FulfilNow: a first claim (the last code), then its repeat.
        now = fulfillment_pb2.FulfilNowRequest(job=make_job("r-now", "code_pool"))
        first_now = await service.stub.FulfilNow(now, timeout=5)
        again_now = await service.stub.FulfilNow(now, timeout=5)
        await service.relay.report_backlog()

    # The paths ran as intended, so the statements captured are theirs.
    assert [j.redemption_id for j in (*first.jobs, *second.jobs)] == ["r-web", "r-code"]
    assert [j.redemption_id for j in pending.jobs] == ["r-web"]
    assert voided.outcome == tombstone.outcome == fulfillment_pb2.VOID_OUTCOME_VOIDED
    assert (stats.available, stats.assigned) == (1, 1)
    assert first_now.result.code == again_now.result.code == "AMZN-BBBB-2222"
    assert len(statements) >= 15, [s.sql for s in statements]
    assert await tables_read_without_index(engine, statements) == []
    sql_text = {sql for sql, _ in trips.calls}
    assert {CLAIM_CODE, RECORD_FIRST_RESULT, LOCK_JOB_WITH_RESULT, NAME_TOMBSTONE, QUEUE_AGAIN, CLAIM_UNPUBLISHED,
            MARK_PUBLISHED, BACKLOG} <= sql_text, trips.statements
    assert await pool.tables_read_without_index(trips.calls) == []
