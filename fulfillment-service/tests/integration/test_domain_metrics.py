"""The fulfillment metrics read after driving the service: a provider attempt counted by its outcome (and a
rejection and a 5xx as provider errors, each call timed), a pool going low then exhausted, a manual job waiting
for an operator, the outbox drained; and the codes' invariant check, clean, then broken by a code written straight
into the pool for a redemption that has no job."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy.exc
from fulfillment_service.metrics import (
    CODE_ASSIGNED_ONCE,
    CODES_MATCH_JOBS,
    SERVICE,
    CodeSweep,
    sample_jobs,
    sample_messaging,
    sample_pools,
)
from local_runner.pytest_plugin import wait_until
from prometheus_client import REGISTRY
from service_kit.invariants import InvariantChecks
from sqlalchemy import text


def _sibling(name: str) -> ModuleType:
    """The helpers of a sibling test module (the tests are not a package)."""
    spec = importlib.util.spec_from_file_location(f"_metrics_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_code_pool = _sibling("test_code_pool_jobs")
_providers = _sibling("test_provider_and_operator_jobs")
make_job, settled, upload = _code_pool.make_job, _code_pool.settled, _code_pool.upload
Answer, job, results_for = _providers.Answer, _providers.job, _providers.results_for
provider = _providers.provider   # the fake provider fixture


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_provider_attempts_errors_and_durations_are_counted(service, bus, sessions, provider):
    before = {
        "completed": value("rewards_fulfillment_attempts_total", strategy="webhook", outcome="completed"),
        "failed": value("rewards_fulfillment_attempts_total", strategy="webhook", outcome="failed"),
        "rejected": value("rewards_provider_errors_total", strategy="webhook", kind="rejected"),
        "unreachable": value("rewards_provider_errors_total", strategy="webhook", kind="unreachable"),
        "calls": value("rewards_provider_duration_seconds_count", strategy="webhook"),
    }
    provider.script = [Answer(500, {}), Answer(200, {"status": "completed", "code": "C-1"}),
                       Answer(400, {"message": "unknown sku"})]
    await bus.publish_job(job("r-metrics-ok", "webhook", config={"url": provider.url}))
    await results_for(bus, sessions, 1)
    await bus.publish_job(job("r-metrics-bad", "webhook", config={"url": provider.url}))
    await results_for(bus, sessions, 1)

    assert value("rewards_fulfillment_attempts_total", strategy="webhook", outcome="completed") == \
        before["completed"] + 1
    assert value("rewards_fulfillment_attempts_total", strategy="webhook", outcome="failed") == before["failed"] + 1
    assert value("rewards_provider_errors_total", strategy="webhook", kind="unreachable") == \
        before["unreachable"] + 1    # the 500, retried within the delivery
    assert value("rewards_provider_errors_total", strategy="webhook", kind="rejected") == before["rejected"] + 1
    assert value("rewards_provider_duration_seconds_count", strategy="webhook") == before["calls"] + 3


async def test_a_pool_is_reported_low_then_exhausted(service, bus, sessions, pool):
    await upload(service.stub, ("LOW-1", "1"), ("LOW-2", "2"), item_id="pool-low")
    assert (await sample_pools(pool, low_threshold=3))[("acme", "pool-low")] == 2
    assert value("rewards_code_pool_available", tenant="acme", item="pool-low") == 2
    assert value("rewards_code_pools", state="low") == 1 and value("rewards_code_pools", state="exhausted") == 0
    for n in (1, 2):
        await bus.publish_job(make_job(f"r-pool-{n}", item_id="pool-low"))
    await wait_until(lambda: settled(sessions, 2), what="both jobs to take their codes")
    await sample_pools(pool, low_threshold=3)
    assert value("rewards_code_pool_available", tenant="acme", item="pool-low") == 0
    assert value("rewards_code_pools", state="low") == 0 and value("rewards_code_pools", state="exhausted") == 1


@pytest.fixture
async def dead_letters_consumer(bus):  # type: ignore[no-untyped-def]
    from fulfillment_service.dead_letters import consumer_config
    from service_kit.messaging import DEAD_LETTERS_STREAM
    await bus.js.add_consumer(DEAD_LETTERS_STREAM, consumer_config("fulfillment-dead-letters-test", 30))


@pytest.mark.usefixtures("dead_letters_consumer")
async def test_a_manual_job_waits_for_an_operator_and_the_outbox_drains(service, bus, sessions, pool):
    await bus.publish_job(job("r-metrics-manual", "manual"))
    await results_for(bus, sessions, 1)     # its ACCEPTED: published, so the outbox is empty
    jobs = await sample_jobs(pool)
    assert jobs[("manual", "waiting")] == 1
    assert value("rewards_fulfillment_jobs", strategy="manual", state="waiting") == 1
    assert value("rewards_fulfillment_waiting_operator") == 1
    await sample_messaging(pool, service.broker, jobs_consumer=service.consumer.config.durable_name,
                           dead_letters_consumer="fulfillment-dead-letters-test")
    assert value("rewards_outbox_backlog", service=SERVICE) == 0
    assert value("rewards_outbox_oldest_age_seconds", service=SERVICE) == 0
    assert value("rewards_consumer_pending", service=SERVICE, consumer=service.consumer.config.durable_name) == 0


async def test_codes_given_by_the_service_pass_the_check(service, bus, sessions, pool):
    await upload(service.stub, ("OK-1", "1"))
    await bus.publish_job(make_job("r-inv-ok"))
    await wait_until(lambda: settled(sessions, 1), what="the job to take its code")
    checks = InvariantChecks(SERVICE, [CodeSweep(pool)])
    assert await checks.run_once() == {CODE_ASSIGNED_ONCE: 0, CODES_MATCH_JOBS: 0}
    assert value("rewards_invariant_violations", service=SERVICE, check=CODES_MATCH_JOBS) == 0
    assert value("rewards_invariant_last_run_timestamp_seconds", service=SERVICE) > 0


async def test_a_code_assigned_behind_the_service_is_a_violation(service, bus, sessions, pool, caplog):
    await upload(service.stub, ("OK-1", "1"), ("STRAY-1", "2"))
    await bus.publish_job(make_job("r-inv-real"))
    await wait_until(lambda: settled(sessions, 1), what="the job to take its code")
    async with sessions.begin() as session:   # a code handed to a redemption that fulfillment never had a job for
        await session.execute(text(
            "UPDATE code_pool SET assigned_to = 'r-no-job', assigned_at = now() WHERE assigned_to IS NULL"))
    # A second code for the same redemption is refused by the schema itself: that check can only read 0.
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        async with sessions.begin() as session:
            await session.execute(text(
                "INSERT INTO code_pool (tenant_id, environment, item_id, code_encrypted, code_hash, assigned_to,"
                " assigned_at) VALUES ('acme', 'live', 'amazon-10', 'x', 'h-twice', 'r-inv-real', now())"))
    checks = InvariantChecks(SERVICE, [CodeSweep(pool)])
    with caplog.at_level(logging.ERROR, logger="service_kit.invariants"):
        assert await checks.run_once() == {CODE_ASSIGNED_ONCE: 0, CODES_MATCH_JOBS: 1}
    assert value("rewards_invariant_violations", service=SERVICE, check=CODES_MATCH_JOBS) == 1
    assert any(getattr(r, "check", "") == CODES_MATCH_JOBS for r in caplog.records if r.levelno == logging.ERROR)


async def test_the_code_check_and_the_gauges_read_through_indexes(service, bus, sessions, pool):
    from fulfillment_service.metrics import LIVE_POOLS, UNSETTLED_JOBS
    from fulfillment_service.outbox import BACKLOG
    await upload(service.stub, ("IX-1", "1"))
    with pool.counting() as trips:
        await CodeSweep(pool).round()
        await pool.fetch(LIVE_POOLS)
        await pool.fetch(UNSETTLED_JOBS)
        await pool.fetchrow(BACKLOG)
    assert await pool.tables_read_without_index(trips.calls) == []
