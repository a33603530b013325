"""Every statement of the redemption's hot paths reads its tables through an index (service_kit.query_plans), as
the service issues them: a redeem to OPEN, its replay and one that compensates, fulfillment results through the
real consumer, reads and pages, the outbox relay, the reconciler, saga recovery and the idempotency-key pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redemption_service import repository
from redemption_service.domain import ReviewRules, Status
from redemption_service.reconciler import report_backlog, republish_stale_jobs
from redemption_service.saga.recovery import recover_stale_sagas
from rewards.fulfillment.v1 import fulfillment_pb2 as f
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.query_plans import Statement, captured_statements, tables_read_without_index
from service_kit.scope import Scope

AFTER = 60.0


async def test_the_hot_statements_use_indexes(system, results) -> None:  # type: ignore[no-untyped-def]
    statements: list[Statement] = []
    calls: list[tuple[str, tuple]] = []   # type: ignore[type-arg]
    with captured_statements(system.engine) as seen, system.pool.counting() as trips:
        opened, replayed = await system.calls.redeem(system.request(key="k1"))
        again, replay = await system.calls.redeem(system.request(key="k1"))
        delivered, _ = await system.calls.redeem(system.request(key="k2", player="p2"))
        undeliverable, _ = await system.calls.redeem(system.request(key="k3"))
        assert (opened.status, replayed, again.id, replay) == (Status.OPEN, False, opened.id, True)
        system.wallet.balances["p2"] = 0      # a debit refused after the reservation: the saga compensates
        with pytest.raises(DomainError) as refused_debit:
            await system.calls.redeem(system.request(key="k4", player="p2"))
        assert refused_debit.value.code is ErrorCode.INSUFFICIENT_BALANCE

        assert await system.publish_jobs(results.link) == 3
        await results.publish(system.result(delivered.id, f.RESULT_OUTCOME_COMPLETED, 1, code="CODE-1"))
        await results.publish(system.result(undeliverable.id, f.RESULT_OUTCOME_FAILED, 1,
                                            failure_code="OUT_OF_CODES"))
        await results.settled()
    statements += seen
    calls += trips.calls
    assert (await system.status(delivered.id)).status == "COMPLETED"
    assert (await system.status(undeliverable.id)).status == "CANCELED"

    with captured_statements(system.engine) as seen, system.pool.counting() as trips:
        scope = system.scope()
        assert (await system.calls.get(scope, opened.id, "p1")).id == opened.id
        assert (await system.calls.get(scope, str(opened.number), "")).id == opened.id
        for player in ("", "p1"):
            first = await system.calls.list(redemption_pb2.ListRedemptionsRequest(
                scope=scope, player_id=player, page_size=1))
            assert first.next_page_token
            second = await system.calls.list(redemption_pb2.ListRedemptionsRequest(
                scope=scope, player_id=player, page_size=1, page_token=first.next_page_token))
            assert second.redemptions and second.redemptions[0].id != first.redemptions[0].id
        by_status = await system.calls.list(redemption_pb2.ListRedemptionsRequest(
            scope=scope, status=redemption_pb2.REDEMPTION_STATUS_OPEN))
        assert [r.id for r in by_status.redemptions] == [opened.id]
    statements += seen
    calls += trips.calls

    # The background rounds, each with something to do: a job out long ago and never answered, a saga a crash
    # left behind, an expired idempotency key.
    await system.sql("UPDATE redemptions SET job_published_at = now() - interval '2 minutes' WHERE id = :id",
                     id=opened.id)
    assert (await repository.accept(system.pool, Scope("acme", "live"), key="crashed", fingerprint="f",
                                    ttl=timedelta(hours=1), values=system.accepted_values("stale-saga"))).claimed
    await system.sql("UPDATE sagas SET updated_at = now() - interval '1 hour' WHERE id = 'stale-saga'")
    await system.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 hour' WHERE key = 'k3'")
    with captured_statements(system.engine) as seen, system.pool.counting() as trips:
        assert await republish_stale_jobs(system.sessions, AFTER) == 1
        assert (await report_backlog(system.sessions, AFTER)).unpublished == 1
        assert await recover_stale_sagas(system.sessions, system.way_back,
                                         stale_seconds=30) == 1
        async with system.sessions.begin() as session:
            assert await repository.prune_idempotency_keys(session) == 1
    statements += seen
    calls += trips.calls

    assert len(statements) + len(calls) >= 45, [s.sql for s in statements] + [sql for sql, _ in calls]
    assert await tables_read_without_index(system.engine, statements) == []
    assert await system.pool.tables_read_without_index(calls) == []


async def test_the_review_holds_statements_use_indexes(system) -> None:  # type: ignore[no-untyped-def]
    async with system.sessions.begin() as session:
        await repository.set_review_rules(session, Scope("acme", "live"), "", ReviewRules(max_redemptions_per_hour=1))
    with captured_statements(system.engine) as seen, system.pool.counting() as trips:
        opened, _ = await system.calls.redeem(system.request(key="k1"))
        held = [(await system.calls.redeem(system.request(key=f"k{n}")))[0] for n in (2, 3, 4)]
        assert opened.status is not Status.AWAITING_APPROVAL
        assert [h.status for h in held] == [Status.AWAITING_APPROVAL] * 3
        scope = system.scope()
        listed = await system.calls.list(redemption_pb2.ListRedemptionsRequest(
            scope=scope, status=redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL))
        assert len(listed.redemptions) == 3
        await system.calls.approve(redemption_pb2.ApproveRedemptionRequest(scope=scope, redemption_id=held[0].id))
        await system.calls.reject(redemption_pb2.RejectRedemptionRequest(scope=scope, redemption_id=held[1].id))
        assert await system.redemptions.expire_holds(hold_seconds=0) == 1
    assert await tables_read_without_index(system.engine, seen) == []
    assert await system.pool.tables_read_without_index(trips.calls) == []
