"""PostgreSQL is the source of truth: the reconciler re-publishes the job of an OPEN redemption that fulfillment never
acknowledged (no result, not even ACCEPTED), under a new event id, at most once per bound and once across
instances; the backlog is reported; a refund for a failed fulfillment that the process did not finish is finished
by recovery."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redemption_service.fulfillment_results import apply_result, read_result
from redemption_service.reconciler import report_backlog, republish_stale_jobs
from redemption_service.saga.recovery import recover_stale_sagas
from rewards.fulfillment.v1 import fulfillment_pb2 as f
from service_kit.errors import DomainError, ErrorCode
from service_kit.messaging import JetStreamLink

AFTER = 60.0


async def jobs_of(system, redemption_id: str) -> list[f.FulfillmentJob]:  # type: ignore[no-untyped-def]
    rows = await system.sql("SELECT event_id, payload FROM outbox WHERE redemption_id = :id ORDER BY id",
                            id=redemption_id)
    jobs = [f.FulfillmentJob.FromString(row.payload) for row in rows]
    assert [job.event_id for job in jobs] == [row.event_id for row in rows]
    return jobs


async def published_long_ago(system, redemption_id: str) -> None:  # type: ignore[no-untyped-def]
    await system.sql("UPDATE outbox SET published_at = now() WHERE redemption_id = :id", id=redemption_id)
    await system.sql("UPDATE redemptions SET job_published_at = now() - interval '2 minutes' WHERE id = :id",
                     id=redemption_id)


async def test_a_stale_open_job_is_republished_with_a_new_event_id_once_per_bound(
        system, nats_server, caplog: pytest.LogCaptureFixture) -> None:
    opened, _ = await system.calls.redeem(system.request(key="lost"))
    answered, _ = await system.calls.redeem(system.request(key="answered"))
    assert await republish_stale_jobs(system.sessions, AFTER) == 0, "fresh jobs are left alone"
    await system.sql("UPDATE redemptions SET job_published_at = now() - interval '2 minutes'")
    assert await republish_stale_jobs(system.sessions, AFTER) == 0, "jobs not yet out (NATS down) are not doubled"
    for rid in (opened.id, answered.id):
        await published_long_ago(system, rid)
    async with system.sessions.begin() as session:
        await apply_result(session, read_result(system.result(answered.id, f.RESULT_OUTCOME_AWAITING_VENDOR, 1)
                                                .SerializeToString()), system.redemptions.codes)

    with caplog.at_level(logging.INFO):
        assert await republish_stale_jobs(system.sessions, AFTER) == 1
    assert any(r.getMessage().startswith("fulfillment jobs re-published") and r.count == 1  # type: ignore[attr-defined]
               for r in caplog.records)
    first, again = await jobs_of(system, opened.id)
    assert again.redemption_id == first.redemption_id == opened.id and again.event_id != first.event_id
    assert (again.item_id, again.strategy, again.cost) == (first.item_id, first.strategy, first.cost)
    assert len(await jobs_of(system, answered.id)) == 1, "a redemption with a result is not asked again"

    assert await republish_stale_jobs(system.sessions, AFTER) == 0, "its new job is still in the outbox"
    link = JetStreamLink(nats_server.url, "redemption-test")
    try:
        assert await system.publish_jobs(link) == 1
    finally:
        await link.close()
    row = (await system.sql("SELECT job_published_at > now() - interval '5 seconds' AS recent FROM redemptions "
                            "WHERE id = :id", id=opened.id))[0]
    assert row.recent, "the relay restarted the redemption's clock"
    assert await republish_stale_jobs(system.sessions, AFTER) == 0, "not twice within the bound"
    await published_long_ago(system, opened.id)
    assert await republish_stale_jobs(system.sessions, AFTER) == 1, "and again after it"


async def apply(system, result: f.FulfillmentResult):  # type: ignore[no-untyped-def]
    async with system.sessions.begin() as session:
        return await apply_result(session, read_result(result.SerializeToString()), system.redemptions.codes)


async def test_an_accepted_job_keeps_its_redemption_open_and_is_not_asked_about_again(system) -> None:  # type: ignore[no-untyped-def]
    waiting, _ = await system.calls.redeem(system.request(key="waits-for-an-operator"))
    silent, _ = await system.calls.redeem(system.request(key="never-answered"))
    for rid in (waiting.id, silent.id):
        await published_long_ago(system, rid)
    applied = await apply(system, system.result(waiting.id, f.RESULT_OUTCOME_ACCEPTED, 1))
    assert applied.kind == "acknowledge"
    row = await system.status(waiting.id)
    assert (row.status, row.result_sequence, row.fulfillment) == ("OPEN", 1, None)
    assert row.job_acknowledged_at is not None
    assert (await system.status(silent.id)).job_acknowledged_at is None

    assert await republish_stale_jobs(system.sessions, AFTER) == 1
    assert len(await jobs_of(system, waiting.id)) == 1, "an acknowledged job waits; it is not sent again"
    assert len(await jobs_of(system, silent.id)) == 2, "a job never acknowledged is sent again"

    await system.sql("UPDATE redemptions SET created_at = now() - interval '90 seconds'")
    assert (await report_backlog(system.sessions, AFTER)).open_overdue == 1, "only the unacknowledged one"


async def test_an_accepted_after_a_later_result_changes_nothing(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    await apply(system, system.result(opened.id, f.RESULT_OUTCOME_AWAITING_VENDOR, 2, provider_reference="pv-1"))
    before = await system.status(opened.id)
    assert (before.status, before.result_sequence) == ("AWAITING_VENDOR", 2)
    assert before.job_acknowledged_at is not None, "any applied result acknowledges the job"
    late = await apply(system, system.result(opened.id, f.RESULT_OUTCOME_ACCEPTED, 1))
    assert late.kind == "stale"
    after = await system.status(opened.id)
    assert (after.status, after.result_sequence, after.fulfillment, after.updated_at,
            after.job_acknowledged_at) == ("AWAITING_VENDOR", 2, {"provider_reference": "pv-1"}, before.updated_at,
                                           before.job_acknowledged_at)


async def test_two_reconcilers_republish_each_stale_job_once(system) -> None:  # type: ignore[no-untyped-def]
    ids = []
    for n in range(6):
        redemption, _ = await system.calls.redeem(system.request(key=f"k{n}"))
        await published_long_ago(system, redemption.id)
        ids.append(redemption.id)
    counts = await asyncio.gather(*(republish_stale_jobs(system.sessions, AFTER, batch=2) for _ in range(2)))
    assert sum(counts) == 6
    for rid in ids:
        assert len(await jobs_of(system, rid)) == 2


async def test_the_backlog_names_unpublished_jobs_and_overdue_open_redemptions(
        system, caplog: pytest.LogCaptureFixture) -> None:
    assert (await report_backlog(system.sessions, AFTER)).unpublished == 0
    await system.calls.redeem(system.request())
    await system.sql("UPDATE outbox SET created_at = now() - interval '90 seconds'")
    await system.sql("UPDATE redemptions SET created_at = now() - interval '90 seconds'")
    with caplog.at_level(logging.WARNING):
        backlog = await report_backlog(system.sessions, AFTER)
    assert (backlog.unpublished, backlog.open_overdue) == (1, 1)
    assert 89 < backlog.oldest_unpublished_seconds < 120
    record = next(r for r in caplog.records if r.getMessage() == "fulfillment backlog")
    assert (record.outbox_unpublished, record.open_overdue) == (1, 1)  # type: ignore[attr-defined]


async def test_a_refund_for_a_failed_fulfillment_left_unfinished_is_finished_by_recovery(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    async with system.sessions.begin() as session:
        applied = await apply_result(session, read_result(system.result(
            opened.id, f.RESULT_OUTCOME_FAILED, 1, failure_code="PROVIDER_REJECTED",
            failure_message="the provider said no").SerializeToString()), system.redemptions.codes)
    system.wallet.refund_unavailable = True   # the process "dies" before the refund lands
    with pytest.raises(DomainError) as down:
        await system.redemptions.refund_and_release(applied.redemption, applied.redemption.cancel_reason)
    assert down.value.code is ErrorCode.UNAVAILABLE
    row = (await system.sql("SELECT r.status, s.state FROM redemptions r JOIN sagas s ON s.id = r.id"))[0]
    assert (row.status, row.state) == ("OPEN", "canceling")

    system.wallet.refund_unavailable = False
    await system.sql("UPDATE sagas SET updated_at = now() - interval '1 hour'")
    assert await recover_stale_sagas(system.sessions, system.way_back, 30) == 1
    row = await system.status(opened.id)
    assert (row.status, row.failure_code, row.failure_message) == \
        ("CANCELED", "PROVIDER_REJECTED", "the provider said no")
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
