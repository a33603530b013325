"""The redemption metrics, read after driving the service: how each redeem ended (and with which code), the
compensations the runner ran (and gave up), recovery's actions, idempotent replays, conflicts and reuses; and the
gauges sampled from the database (the oldest unfinished saga, overdue redemptions, the outbox backlog)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from redemption_service import repository
from redemption_service.metrics import SERVICE, sample_sagas
from redemption_service.outbox import BACKLOG
from redemption_service.saga.recovery import recover_stale_sagas
from service_kit.errors import DomainError, ErrorCode
from service_kit.messaging_metrics import sample_outbox
from service_kit.scope import Scope


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def redemptions(outcome: str, failure_code: str = "") -> float:
    return value("rewards_redemptions_total", outcome=outcome, failure_code=failure_code)


def compensations(step: str, result: str) -> float:
    """`step` names the step undone (the saga's step, as the runner's log does), not its compensation."""
    return value("rewards_saga_compensations_total", step=step, result=result)


async def test_a_redeem_that_fails_is_counted_with_its_code_and_its_compensation(system) -> None:  # type: ignore[no-untyped-def]
    failed, released, opened = (redemptions("failed", "INSUFFICIENT_BALANCE"),
                                compensations("reserve_stock", "ok"), redemptions("open"))
    system.wallet.balances["p1"] = 10
    with pytest.raises(DomainError) as refused:
        await system.calls.redeem(system.request(key="poor"))
    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert redemptions("failed", "INSUFFICIENT_BALANCE") == failed + 1
    assert compensations("reserve_stock", "ok") == released + 1

    system.wallet.balances["p1"] = 1000
    await system.calls.redeem(system.request(key="rich"))
    assert redemptions("open") == opened + 1


async def test_a_compensation_that_gives_up_is_counted_failed(system) -> None:  # type: ignore[no-untyped-def]
    gave_up, refunded_ok = compensations("debit_points", "failed"), compensations("debit_points", "ok")
    system.redemptions.runner.compensation_backoff_seconds = 0.001
    system.redemptions.runner.compensation_attempts = 2
    system.wallet.refund_unavailable = True
    system.wallet.balances["p1"] = 10             # the debit is refused: both compensations run, the refund fails
    with pytest.raises(DomainError):
        await system.calls.redeem(system.request(key="down"))
    assert compensations("debit_points", "failed") == gave_up + 1
    assert compensations("debit_points", "ok") == refunded_ok


async def test_replays_conflicts_and_reuses_of_a_key_are_counted(system) -> None:  # type: ignore[no-untyped-def]
    before = {r: value("rewards_idempotency_total", result=r) for r in ("replayed", "conflict", "reused")}
    first, replayed = await system.calls.redeem(system.request(key="same"))
    again, replayed_again = await system.calls.redeem(system.request(key="same"))
    assert (replayed, replayed_again, again.id) == (False, True, first.id)
    with pytest.raises(DomainError):
        await system.calls.redeem(system.request(player="p2", key="same"))
    with pytest.raises(DomainError):
        await system.calls.redeem(system.request(key="same", comment="another body"))
    assert {r: value("rewards_idempotency_total", result=r) - before[r] for r in before} == \
        {"replayed": 1, "conflict": 1, "reused": 1}


async def test_recovery_counts_what_it_did(system) -> None:  # type: ignore[no-untyped-def]
    compensated = value("rewards_saga_recoveries_total", action="compensated")
    assert (await repository.accept(system.pool, Scope("acme", "live"), key="crashed", fingerprint="f",
                                    ttl=timedelta(hours=1), values=system.accepted_values("stale-saga"))).claimed
    await system.sql("UPDATE sagas SET updated_at = now() - interval '1 hour' WHERE id = 'stale-saga'")
    assert await recover_stale_sagas(system.sessions, system.way_back,
                                     stale_seconds=30) == 1
    assert value("rewards_saga_recoveries_total", action="compensated") == compensated + 1


async def test_the_gauges_read_unfinished_sagas_overdue_redemptions_and_the_outbox(system) -> None:  # type: ignore[no-untyped-def]
    assert await sample_sagas(system.pool, overdue_seconds=60) == (0.0, 0)
    opened, _ = await system.calls.redeem(system.request(key="late"))
    await system.sql("UPDATE redemptions SET created_at = now() - interval '2 minutes' WHERE id = :id",
                     id=opened.id)
    assert (await repository.accept(system.pool, Scope("acme", "live"), key="running", fingerprint="f",
                                    ttl=timedelta(hours=1), values=system.accepted_values("running-saga"))).claimed
    await system.sql("UPDATE sagas SET created_at = now() - interval '100 seconds' WHERE id = 'running-saga'")

    oldest, overdue = await sample_sagas(system.pool, overdue_seconds=60)
    assert 100 <= oldest < 200 and overdue == 1
    assert value("rewards_saga_oldest_unfinished_age_seconds") == oldest
    assert value("rewards_redemptions_overdue") == 1
    backlog, _ = await sample_outbox(SERVICE, system.pool, BACKLOG)
    assert backlog == 1 and value("rewards_outbox_backlog", service=SERVICE) == 1   # the open job, not yet sent
    assert value("rewards_outbox_oldest_age_seconds", service=SERVICE) >= 0


async def test_the_gauges_read_through_indexes(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.redeem(system.request(key="ix"))
    with system.pool.counting() as trips:
        await sample_sagas(system.pool, overdue_seconds=60)
        await sample_outbox(SERVICE, system.pool, BACKLOG)
    assert await system.pool.tables_read_without_index(trips.calls) == []
