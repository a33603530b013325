"""Points in lots with an expiry: a debit takes from the lots that expire first, a refund gives the points back to
the lots they came from (and what goes back to a lot already expired expires at once), the sweep expires lapsed
lots with an `expire` entry; every balance stays the sum of its ledger and of its lots (checked after every test
by the conftest's books_balance), under concurrency too."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import ErrorCode
from sqlalchemy import text
from wallet_service import repository
from wallet_service.expiry import LotExpiry

SOON = timedelta(days=5)


def ahead(delta: timedelta) -> datetime:
    return datetime.now(UTC) + delta


async def account(w: Any, player_id: str, point_type: str = "gems") -> wallet_pb2.Account:
    response = await w.stub.GetBalances(wallet_pb2.GetBalancesRequest(scope=w.scope, player_id=player_id),
                                        timeout=10)
    return next(a for a in response.accounts if a.point_type == point_type)


async def lots(w: Any, player_id: str) -> list[tuple[int, int, datetime | None]]:
    """(granted, remaining, expires_at) of every lot of the player's gems, oldest first, empty ones included."""
    rows = await w.rows("SELECT granted, remaining, expires_at FROM point_lots WHERE tenant_id = :tenant"
                        " AND player_id = :p ORDER BY id", p=player_id)
    return [(int(g), int(r), e) for g, r, e in rows]


async def committed(w: Any, statement: str, **params: object) -> None:
    async with w.engine.begin() as conn:
        await conn.execute(text(statement), {"tenant": w.scope.tenant_id, **params})


async def lapse(w: Any, player_id: str, granted: int) -> None:
    """Moves the expiry of the player's lot of `granted` points into the past (time passing, for the test)."""
    await committed(w, "UPDATE point_lots SET expires_at = now() - interval '1 second' WHERE tenant_id = :tenant"
                       " AND player_id = :p AND granted = :g", p=player_id, g=granted)


async def entries(w: Any, player_id: str) -> list[tuple[str, int, int, str]]:
    rows = await w.rows("SELECT kind, amount, balance_after, reference FROM ledger_entries WHERE tenant_id = :tenant"
                        " AND player_id = :p ORDER BY id", p=player_id)
    return [(k, int(a), int(b), r) for k, a, b, r in rows]


async def test_a_debit_takes_from_the_lots_that_expire_first_and_never_expiring_ones_last(w: Any) -> None:
    await w.define("gems")
    later, soon = ahead(timedelta(days=10)), ahead(SOON)
    await w.grant("p1", 50)
    await w.grant("p1", 30, expires_at=later)
    await w.grant("p1", 20, expires_at=soon)
    await w.debit("saga-1", "p1", 60)
    assert [(g, r) for g, r, _ in await lots(w, "p1")] == [(50, 40), (30, 0), (20, 0)]
    takes = await w.rows("SELECT t.amount, l.granted FROM lot_takes t JOIN point_lots l ON l.id = t.lot_id"
                         " WHERE t.tenant_id = :tenant AND t.reference = 'saga-1' ORDER BY l.granted")
    assert takes == [(20, 20), (30, 30), (10, 50)]
    shown = await account(w, "p1")
    assert shown.balance == 40
    assert [(lot.remaining, lot.granted, lot.HasField("expires_at")) for lot in shown.lots] == [(40, 50, False)]
    assert shown.expiring_within_30_days == 0


async def test_the_wallet_shows_the_lots_in_spending_order_and_what_expires_within_30_days(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 7)
    await w.grant("p1", 11, expires_at=ahead(timedelta(days=40)))
    at = ahead(SOON).replace(microsecond=0)
    await w.grant("p1", 13, expires_at=at)
    shown = await account(w, "p1")
    assert [lot.remaining for lot in shown.lots] == [13, 11, 7]
    assert shown.lots[0].expires_at.ToDatetime(tzinfo=UTC) == at
    assert shown.expiring_within_30_days == 13
    assert shown.balance == 31


async def test_a_refund_gives_the_points_back_to_the_lots_they_came_from_with_their_expiry(w: Any) -> None:
    await w.define("gems")
    soon = ahead(SOON)
    await w.grant("p1", 50)
    await w.grant("p1", 20, expires_at=soon)
    before = await lots(w, "p1")
    await w.debit("saga-1", "p1", 30)
    await w.grant("p1", 5, expires_at=ahead(timedelta(days=1)))   # a newer, sooner lot: the refund ignores it
    refund = await w.refund("saga-1")
    assert refund.refunded and refund.entry.amount == 30 and refund.entry.balance_after == 75
    assert (await lots(w, "p1"))[:2] == before
    assert (await w.refund("saga-1")).replayed
    assert (await lots(w, "p1"))[:2] == before


async def test_points_refunded_into_a_lot_already_expired_expire_at_once(w: Any) -> None:
    """The rule: what goes back to a lot whose expiry has passed is expired in the refund's own transaction,
    by an `expire` entry (reference the saga id) right after the refund entry."""
    await w.define("gems")
    await w.grant("p1", 30, expires_at=ahead(SOON))
    await w.grant("p1", 50)
    await w.debit("saga-1", "p1", 40)          # 30 from the expiring lot, 10 from the other
    await lapse(w, "p1", 30)
    refund = await w.refund("saga-1")
    assert (refund.entry.amount, refund.entry.balance_after) == (40, 80)
    assert (await entries(w, "p1"))[-2:] == [("refund", 40, 80, "saga-1"), ("expire", -30, 50, "saga-1")]
    assert [(g, r) for g, r, _ in await lots(w, "p1")] == [(30, 0), (50, 50)]
    assert await w.balances("p1") == {"gems": 50}
    assert (await w.refund("saga-1")).replayed
    assert await w.balances("p1") == {"gems": 50}


async def test_the_sweep_expires_lapsed_lots_with_an_expire_entry_and_a_lapsed_lot_is_not_spendable(
        w: Any, caplog: pytest.LogCaptureFixture) -> None:
    await w.define("gems")
    await w.grant("p1", 30, expires_at=ahead(SOON))
    await w.grant("p1", 20)
    await w.grant("p2", 9, expires_at=ahead(SOON))
    await lapse(w, "p1", 30)
    error = await w.refused(w.debit("saga-1", "p1", 25))     # 50 in the balance, 20 spendable
    assert error.code == ErrorCode.INSUFFICIENT_BALANCE
    assert (await account(w, "p1")).expiring_within_30_days == 30   # shown until the sweep reaches it
    counted = REGISTRY.get_sample_value("rewards_wallet_points_expired_total") or 0.0
    with caplog.at_level(logging.INFO, logger="wallet_service.expiry"):
        expired = await LotExpiry(w.pool).round()
    assert expired.lots >= 1 and expired.points >= 30        # (other tests' lots may lapse in the same round)
    assert REGISTRY.get_sample_value("rewards_wallet_points_expired_total") == counted + expired.points
    assert any(r.getMessage() == "lots expired" and r.points == expired.points for r in caplog.records)
    assert (await entries(w, "p1"))[-1][:3] == ("expire", -30, 20)
    assert (await entries(w, "p1"))[-1][3].startswith("lot:")
    assert await w.balances("p1") == {"gems": 20}
    assert [(g, r) for g, r, _ in await lots(w, "p2")] == [(9, 9)]   # not lapsed: untouched
    await LotExpiry(w.pool).round()
    assert len(await entries(w, "p1")) == 3                   # nothing more to expire
    await w.debit("saga-2", "p1", 20)


async def test_a_grant_must_expire_in_the_future_and_writes_nothing_otherwise(w: Any) -> None:
    await w.define("gems")
    error = await w.refused(w.grant("p1", 10, expires_at=ahead(-timedelta(seconds=1))))
    assert error.code == ErrorCode.VALIDATION_ERROR
    assert await w.rows("SELECT 1 FROM ledger_entries WHERE tenant_id = :tenant") == []
    assert await w.rows("SELECT 1 FROM players WHERE tenant_id = :tenant") == []


async def test_a_grant_that_names_no_expiry_takes_the_point_types_lifetime(w: Any) -> None:
    stored = await w.define("gems", lifetime_seconds=3600)
    assert stored.lifetime_seconds == 3600
    await w.define("coins")
    started = datetime.now(UTC)
    await w.grant("p1", 10)
    await w.grant("p1", 10, point_type="coins")
    [(_, _, expires_at)] = (await lots(w, "p1"))[:1]
    assert started + timedelta(seconds=3599) <= expires_at <= datetime.now(UTC) + timedelta(seconds=3601)
    assert (await lots(w, "p1"))[1][2] is None
    own = ahead(timedelta(days=2))
    await w.grant("p2", 10, expires_at=own)
    assert abs((await lots(w, "p2"))[0][2] - own) < timedelta(milliseconds=1)
    error = await w.refused(w.define("gems", lifetime_seconds=-1))
    assert error.code == ErrorCode.VALIDATION_ERROR


async def test_adjustments_make_a_never_expiring_lot_or_take_like_a_debit(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 10, expires_at=ahead(SOON))
    await w.adjust("p1", 25)
    assert [(g, r, e) for g, r, e in await lots(w, "p1")][1] == (25, 25, None)
    await w.adjust("p1", -15)
    assert [(g, r) for g, r, _ in await lots(w, "p1")] == [(10, 0), (25, 20)]
    await lapse(w, "p1", 25)
    error = await w.refused(w.adjust("p1", -1))
    assert error.code == ErrorCode.INSUFFICIENT_BALANCE


async def test_debits_refunds_and_the_sweep_racing_on_one_player_never_lose_or_duplicate_a_point(
        w: Any) -> None:
    rng = random.Random(16)
    await w.define("gems")
    for i in range(12):
        await w.grant("p1", 40, expires_at=ahead(timedelta(days=1 + i)) if i % 3 else None)
    sweep = LotExpiry(w.pool)
    sagas = [f"saga-{i}" for i in range(40)]

    async def debit(saga: str) -> None:
        await asyncio.sleep(rng.random() / 50)
        try:
            await w.debit(saga, "p1", rng.randint(1, 30))
        except Exception as exc:
            assert "INSUFFICIENT_BALANCE" in repr(exc) or "compensated" in repr(exc), exc

    async def refund(saga: str) -> None:
        await asyncio.sleep(rng.random() / 40)
        await w.refund(saga)

    async def lapse_and_sweep() -> None:
        for _ in range(4):
            await asyncio.sleep(rng.random() / 50)
            await committed(w, "UPDATE point_lots SET expires_at = now() WHERE id = (SELECT id FROM point_lots"
                               " WHERE tenant_id = :tenant AND expires_at > now() ORDER BY expires_at LIMIT 1)")
            await sweep.round()

    await asyncio.gather(*(debit(s) for s in sagas), *(refund(s) for s in sagas[::3]), lapse_and_sweep())
    await sweep.round()
    await w.books_balance()   # balance == ledger == lots
    [(granted, remaining, expired)] = await w.rows(
        "SELECT sum(granted), sum(remaining), sum(expired) FROM point_lots WHERE tenant_id = :tenant")
    [(outstanding,)] = await w.rows(
        "SELECT COALESCE(sum(t.amount), 0) FROM lot_takes t WHERE t.tenant_id = :tenant AND NOT EXISTS ("
        " SELECT FROM ledger_entries r WHERE r.tenant_id = t.tenant_id AND r.kind = 'refund'"
        " AND r.reference = t.reference)")
    assert granted == 12 * 40 == remaining + expired + outstanding
    mismatched = await w.rows(
        "SELECT d.reference FROM ledger_entries d WHERE d.tenant_id = :tenant AND d.kind = 'debit' AND -d.amount <>"
        " (SELECT COALESCE(sum(amount), 0) FROM lot_takes t WHERE t.tenant_id = d.tenant_id"
        " AND t.reference = d.reference)")
    assert mismatched == []
    by_kind = dict(await w.rows("SELECT kind, sum(amount) FROM ledger_entries WHERE tenant_id = :tenant"
                                " GROUP BY kind"))
    assert -by_kind.get("expire", 0) == expired
    assert await w.stored_balance("p1") == remaining >= 0


async def test_a_repeat_of_a_grant_answers_the_first_even_once_its_expiry_passed(w: Any) -> None:
    await w.define("gems")
    first = await w.grant("p1", 10, key="g-1", expires_at=ahead(SOON))
    await lapse(w, "p1", 10)
    again = await w.grant("p1", 10, key="g-1", expires_at=ahead(-timedelta(seconds=1)))
    assert again.replayed and again.entry == first.entry
    assert len(await lots(w, "p1")) == 1


async def test_credits_of_one_expiry_join_one_lot_so_lots_do_not_pile_up(w: Any) -> None:
    await w.define("gems")
    end_of_month = ahead(timedelta(days=20))
    for _ in range(3):
        await w.grant("p1", 10)
        await w.grant("p1", 5, expires_at=end_of_month)
    await w.adjust("p1", 4)
    assert [(g, r) for g, r, _ in await lots(w, "p1")] == [(34, 34), (15, 15)]
    await w.debit("saga-1", "p1", 20)
    assert [(g, r) for g, r, _ in await lots(w, "p1")] == [(34, 29), (15, 0)]
    await w.grant("p1", 5, expires_at=end_of_month)
    await w.refund("saga-1")
    assert [(g, r) for g, r, _ in await lots(w, "p1")] == [(34, 34), (20, 20)]


async def test_a_debit_that_read_a_lot_changed_before_it_had_the_lock_runs_again_behind_the_lock(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 10, expires_at=ahead(SOON))
    await w.grant("p1", 50)
    again = REGISTRY.get_sample_value("rewards_wallet_debits_run_again_total") or 0.0
    key = (w.scope.tenant_id, "live")
    async with w.pool.transaction() as tx:   # another debit, holding the account's lock: it empties the first lot
        await tx.execute(repository.LOCK_ACCOUNT, *key, "p1", "gems")
        await tx.fetchrow(repository.DEBIT, *key, "saga-a", "p1", "gems", 10, "")
        racing = asyncio.create_task(w.debit("saga-b", "p1", 5))   # reads the first lot full, then waits
        for _ in range(200):
            waiting = await w.rows("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                   " AND query LIKE '%WITH player AS%' AND query NOT LIKE '%pg_stat_activity%'")
            if waiting[0][0]:
                break
            await asyncio.sleep(0.05)
    debited = await racing
    assert (debited.entry.amount, debited.entry.balance_after) == (-5, 45)
    assert REGISTRY.get_sample_value("rewards_wallet_debits_run_again_total") == again + 1
    assert [(g, r) for g, r, _ in await lots(w, "p1")] == [(10, 0), (50, 45)]
