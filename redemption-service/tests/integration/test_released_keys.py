"""What an idempotency key keeps after its attempt: a FAILED attempt (nothing charged) releases the key, so the
same request again is processed afresh and charged at most once; an attempt that charged (OPEN, COMPLETED,
CANCELED with its refund) is replayed. The failed attempt stays in the history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redemption_service import repository
from redemption_service.domain import Status
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope


async def attempts(system, key: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(id, status) of every redemption stored under the key, oldest first."""
    rows = await system.sql("SELECT id, status FROM redemptions WHERE idempotency_key = :k ORDER BY number", k=key)
    return [(r.id, r.status) for r in rows]


async def key_row(system, key: str):  # type: ignore[no-untyped-def]
    return (await system.sql("SELECT redemption_id, released_at FROM idempotency_keys WHERE key = :k", k=key))[0]


async def refused_for_balance(system, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as refused:
        await system.calls.redeem(system.request(key=key))
    assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE


async def test_a_refused_attempt_releases_its_key_and_the_retry_is_processed_and_charged_once(system) -> None:  # type: ignore[no-untyped-def]
    system.wallet.balances["p1"] = 100
    await refused_for_balance(system, "poor")
    [(failed_id, status)] = await attempts(system, "poor")
    assert status == "FAILED" and (await key_row(system, "poor")).released_at is not None

    system.wallet.balances["p1"] = 1000          # the player earned points meanwhile
    redemption, replayed = await system.calls.redeem(system.request(key="poor"))
    assert not replayed and redemption.status is Status.OPEN and redemption.id != failed_id
    assert await attempts(system, "poor") == [(failed_id, "FAILED"), (redemption.id, "OPEN")], \
        "the failed attempt stays in the history"
    key = await key_row(system, "poor")
    assert key.redemption_id == redemption.id and key.released_at is None

    again, replayed = await system.calls.redeem(system.request(key="poor"))
    assert replayed and again.id == redemption.id, "the charged attempt is what the key keeps now"
    assert list(system.wallet.debits) == [redemption.id] and system.wallet.balances["p1"] == 850
    assert (await system.calls.get(system.scope(), failed_id, "p1")).status is Status.FAILED


async def test_a_dependency_failure_past_the_deadline_is_refunded_and_the_retry_succeeds(make_system) -> None:  # type: ignore[no-untyped-def]
    system = await make_system(call_timeout=0.2)
    system.wallet.debit_delay_seconds = 1.0      # the debit lands, its answer misses the deadline
    with pytest.raises(DomainError) as failed:
        await system.calls.redeem(system.request(key="stall"))
    assert failed.value.code is ErrorCode.UNAVAILABLE
    system.wallet.debit_delay_seconds = 0.0      # the wallet recovered
    redemption, replayed = await system.calls.redeem(system.request(key="stall"))
    assert not replayed and redemption.status is Status.OPEN
    assert len(system.wallet.debits) == 2 and len(system.wallet.refunded) == 1
    assert system.wallet.balances["p1"] == 850, "the failed attempt's debit was refunded: one charge in all"
    assert system.catalog.items["voucher"].stock == 99


async def test_concurrent_retries_after_a_failure_make_one_new_redemption_and_one_debit(make_system) -> None:  # type: ignore[no-untyped-def]
    system = await make_system(wait_seconds=10)
    system.wallet.balances["p1"] = 100
    await refused_for_balance(system, "rush")
    system.wallet.balances["p1"] = 1000
    debits_before = system.wallet.calls.count("DebitPoints")

    results = await asyncio.gather(*(system.calls.redeem(system.request(key="rush")) for _ in range(20)))

    assert sorted(replayed for _, replayed in results) == [False] + [True] * 19
    assert len({r.id for r, _ in results}) == 1
    assert system.wallet.calls.count("DebitPoints") - debits_before == 1
    assert system.wallet.balances["p1"] == 850
    assert [status for _, status in await attempts(system, "rush")] == ["FAILED", "OPEN"]


async def test_a_released_key_stays_bound_to_its_player_and_body(system) -> None:  # type: ignore[no-untyped-def]
    """A released key keeps no result, but it is still this player's key for this request: another body is
    IDEMPOTENCY_KEY_REUSED and another player IDEMPOTENCY_KEY_CONFLICT, changing nothing; the same request
    is then still processed afresh."""
    system.wallet.balances["p1"] = 100
    await refused_for_balance(system, "bound")
    with pytest.raises(DomainError) as reused:
        await system.calls.redeem(system.request(key="bound", comment="another body"))
    assert reused.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    with pytest.raises(DomainError) as conflict:
        await system.calls.redeem(system.request(key="bound", player="p2"))
    assert conflict.value.code is ErrorCode.IDEMPOTENCY_KEY_CONFLICT
    assert len(await attempts(system, "bound")) == 1 and system.wallet.balances["p2"] == 1000
    assert (await key_row(system, "bound")).released_at is not None

    system.wallet.balances["p1"] = 1000
    redemption, replayed = await system.calls.redeem(system.request(key="bound"))
    assert not replayed and redemption.status is Status.OPEN


async def test_a_completed_attempt_replays_and_charges_nothing_more(system) -> None:  # type: ignore[no-untyped-def]
    system.fulfillment.codes = ["CODE-1", "CODE-2"]
    first, _ = await system.calls.redeem(system.request(key="done"))
    assert first.status is Status.COMPLETED
    again, replayed = await system.calls.redeem(system.request(key="done"))
    assert replayed and again.id == first.id and again.status is Status.COMPLETED
    assert system.wallet.calls.count("DebitPoints") == 1 and (await key_row(system, "done")).released_at is None


@pytest.mark.parametrize("how", ["out_of_codes", "player_cancel"])
async def test_a_canceled_attempt_with_its_refund_replays(system, how: str) -> None:  # type: ignore[no-untyped-def]
    """It charged, then refunded: the key keeps that outcome (a retry is not a new order)."""
    if how == "out_of_codes":
        system.fulfillment.pool_empty = True
        first, _ = await system.calls.redeem(system.request(key="gone"))
    else:
        opened, _ = await system.calls.redeem(system.request(key="gone"))
        first = await system.calls.cancel(redemption_pb2.CancelRedemptionRequest(
            scope=system.scope(), redemption_id=opened.id, player_id="p1", reason="changed my mind"))
    assert first.status is Status.CANCELED
    system.fulfillment.pool_empty = False
    again, replayed = await system.calls.redeem(system.request(key="gone"))
    assert replayed and again.id == first.id and again.status is Status.CANCELED
    assert system.wallet.calls.count("DebitPoints") == 1 and system.wallet.balances["p1"] == 1000
    assert (await key_row(system, "gone")).released_at is None


async def test_marking_an_old_attempt_failed_again_leaves_the_newer_attempts_key_alone(system) -> None:  # type: ignore[no-untyped-def]
    """A second recovery of the failed attempt (or a late runner) releases nothing: the key names the retry."""
    system.wallet.balances["p1"] = 100
    await refused_for_balance(system, "twice")
    [(failed_id, _)] = await attempts(system, "twice")
    system.wallet.balances["p1"] = 1000
    retry, _ = await system.calls.redeem(system.request(key="twice"))
    async with system.sessions.begin() as session:
        await repository.mark_failed(session, failed_id, ErrorCode.UNAVAILABLE.value, "again")
    key = await key_row(system, "twice")
    assert key.redemption_id == retry.id and key.released_at is None
    again, replayed = await system.calls.redeem(system.request(key="twice"))
    assert replayed and again.id == retry.id


async def test_a_held_key_is_not_taken_over_by_accept(system) -> None:  # type: ignore[no-untyped-def]
    """Without a release, accept claims nothing (the first attempt is still running, or it charged)."""
    scope = Scope("acme", "live")
    assert (await repository.accept(system.pool, scope, key="held", fingerprint="f", ttl=timedelta(hours=1),
                                    values=system.accepted_values("first"))).claimed
    assert not (await repository.accept(system.pool, scope, key="held", fingerprint="f", ttl=timedelta(hours=1),
                                        values=system.accepted_values("second"))).claimed
    assert await attempts(system, "held") == [("first", "SUBMITTED")]
