"""DebitPoints and RefundPoints, the saga's step and its compensation: idempotent on saga_id, exact under
concurrency, and safe when the refund comes before a debit that timed out."""

from __future__ import annotations

import asyncio
from typing import Any

from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import ErrorCode


async def test_debit_takes_points_and_writes_a_negative_entry(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    debited = await w.debit("saga-1", "p1", 30)
    assert not debited.replayed
    assert (debited.entry.kind, debited.entry.amount, debited.entry.balance_after, debited.entry.reference) == \
        (wallet_pb2.ENTRY_KIND_DEBIT, -30, 70, "saga-1")
    assert await w.balances("p1") == {"gems": 70}
    await w.books_balance()


async def test_debit_replays_a_saga_and_refuses_it_for_other_values(w: Any) -> None:
    await w.define("gems")
    await w.define("coins", 2)
    await w.grant("p1", 100)
    await w.grant("p2", 100)
    await w.grant("p1", 100, point_type="coins")
    first = await w.debit("saga-1", "p1", 30)
    again = await w.debit("saga-1", "p1", 30)
    assert again.replayed and again.entry == first.entry

    for player_id, amount, point_type in [("p2", 30, "gems"), ("p1", 31, "gems"), ("p1", 30, "coins")]:
        error = await w.refused(w.debit("saga-1", player_id, amount, point_type=point_type))
        assert error.code == ErrorCode.IDEMPOTENCY_KEY_REUSED
    # a replay answers the first result even when the player was suspended since
    await w.set_status("p1", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    assert (await w.debit("saga-1", "p1", 30)).replayed
    assert await w.balances("p1") == {"coins": 100, "gems": 70}
    assert await w.balances("p2") == {"coins": 0, "gems": 100}
    await w.books_balance()


async def test_debit_refusals_change_nothing(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    await w.grant("frozen", 100)
    await w.set_status("frozen", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    cases = [
        (("s1", "ghost", 10), {}, ErrorCode.PLAYER_NOT_FOUND),
        (("s2", "frozen", 10), {}, ErrorCode.PLAYER_INACTIVE),
        (("s3", "p1", 10), {"point_type": "stars"}, ErrorCode.INVALID_POINT_TYPE),
        (("s4", "p1", 101), {}, ErrorCode.INSUFFICIENT_BALANCE),
        (("", "p1", 10), {}, ErrorCode.VALIDATION_ERROR),
        (("s" * 201, "p1", 10), {}, ErrorCode.VALIDATION_ERROR),
        (("s5", "", 10), {}, ErrorCode.VALIDATION_ERROR),
        (("s6", "p1", 0), {}, ErrorCode.VALIDATION_ERROR),
        (("s7", "p1", -10), {}, ErrorCode.VALIDATION_ERROR),
    ]
    for args, kwargs, code in cases:
        error = await w.refused(w.debit(*args, **kwargs))
        assert error.code == code, (args, error)
    # an account that was never opened has nothing to take
    await w.define("coins", 2)
    assert (await w.refused(w.debit("s8", "p1", 1, point_type="coins"))).code == ErrorCode.INSUFFICIENT_BALANCE
    assert await w.balances("p1") == {"coins": 0, "gems": 100}
    assert await w.stored_balance("frozen") == 100
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'debit'") == [(0,)]
    # a refused debit leaves its saga free: the same saga may be debited once the balance allows
    await w.grant("p1", 1)
    assert (await w.debit("s4", "p1", 101)).entry.balance_after == 0
    await w.books_balance()


async def test_twenty_concurrent_duplicates_of_one_saga_debit_once(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    results = await asyncio.gather(*(w.debit("saga-dup", "p1", 40) for _ in range(20)))
    assert len({r.entry.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'debit'") == [(1,)]
    assert await w.stored_balance("p1") == 60
    await w.books_balance()


async def test_thirty_concurrent_debits_never_overdraw(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    calls = [w.debit(f"saga-{i}", "p1", 10) for i in range(30)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    succeeded = [o for o in outcomes if isinstance(o, wallet_pb2.DebitPointsResponse)]
    assert len(succeeded) == 10
    for failure in (o for o in outcomes if not isinstance(o, wallet_pb2.DebitPointsResponse)):
        error = await w.refused(_raise(failure))
        assert error.code == ErrorCode.INSUFFICIENT_BALANCE
    assert sorted(r.entry.balance_after for r in succeeded) == list(range(0, 100, 10))
    assert await w.stored_balance("p1") == 0
    assert await w.rows("SELECT min(balance_after) FROM ledger_entries WHERE tenant_id = :tenant") == [(0,)]
    await w.books_balance()


async def _raise(exc: BaseException) -> None:
    raise exc


async def test_refund_gives_back_the_exact_debit_once(w: Any) -> None:
    await w.define("coins", 2)
    await w.grant("p1", 15050, point_type="coins")
    debit = await w.debit("saga-r", "p1", 15025, point_type="coins")
    refund = await w.refund("saga-r", "voucher provider failed")
    assert refund.refunded and not refund.replayed
    assert (refund.entry.kind, refund.entry.amount, refund.entry.balance_after, refund.entry.reference,
            refund.entry.player_id, refund.entry.point_type, refund.entry.description, refund.entry.scale) == \
        (wallet_pb2.ENTRY_KIND_REFUND, 15025, 15050, "saga-r", "p1", "coins", "voucher provider failed", 2)
    assert refund.entry.id > debit.entry.id

    again = await w.refund("saga-r")
    assert again.refunded and again.replayed and again.entry == refund.entry
    # the debit of a refunded saga stays a replay: the saga does not charge again
    assert (await w.debit("saga-r", "p1", 15025, point_type="coins")).replayed
    assert await w.stored_balance("p1", "coins") == 15050
    await w.books_balance()


async def test_refund_of_a_suspended_player_is_not_refused(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    await w.debit("saga-s", "p1", 60)
    await w.set_status("p1", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    refund = await w.refund("saga-s")
    assert refund.refunded and refund.entry.balance_after == 100
    await w.books_balance()


async def test_twenty_concurrent_refunds_write_one_refund(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    await w.debit("saga-c", "p1", 45)
    results = await asyncio.gather(*(w.refund("saga-c") for _ in range(20)))
    assert all(r.refunded for r in results)
    assert len({r.entry.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'refund'") == [(1,)]
    assert await w.stored_balance("p1") == 100
    await w.books_balance()


async def test_refund_before_the_debit_leaves_a_tombstone_that_refuses_it(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    early = await w.refund("saga-late", "saga timed out")
    assert not early.refunded and not early.replayed and not early.HasField("entry")
    assert (await w.refund("saga-late")).refunded is False  # harmless twice

    error = await w.refused(w.debit("saga-late", "p1", 30))
    assert error.code == ErrorCode.VALIDATION_ERROR
    assert error.message.startswith("saga already compensated")
    assert await w.stored_balance("p1") == 100
    assert await w.rows("SELECT saga_id, reason FROM saga_tombstones WHERE tenant_id = :tenant") == \
        [("saga-late", "saga timed out")]
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant") == [(1,)]
    await w.books_balance()


async def test_racing_debit_and_refund_of_a_saga_never_keep_the_points(w: Any) -> None:
    """Whichever lands first, the saga ends with the player whole: debit then refund, or tombstone and no debit."""
    await w.define("gems")
    await w.grant("p1", 1000)
    sagas = [f"race-{i}" for i in range(15)]

    async def debit_quietly(saga_id: str) -> bool:
        try:
            await w.debit(saga_id, "p1", 10)
            return True
        except Exception as exc:
            error = await w.refused(_raise(exc))
            assert error.code == ErrorCode.VALIDATION_ERROR
            return False

    outcomes = await asyncio.gather(*(x for s in sagas for x in (debit_quietly(s), w.refund(s))))
    for i, saga_id in enumerate(sagas):
        debited, refund = outcomes[2 * i], outcomes[2 * i + 1]
        assert debited == refund.refunded, saga_id
    assert await w.stored_balance("p1") == 1000
    debits = await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'debit'")
    refunds = await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'refund'")
    tombstones = await w.rows("SELECT count(*) FROM saga_tombstones WHERE tenant_id = :tenant")
    assert debits == refunds and debits[0][0] + tombstones[0][0] == len(sagas)
    await w.books_balance()


async def test_refund_validation(w: Any) -> None:
    assert (await w.refused(w.refund(""))).code == ErrorCode.VALIDATION_ERROR
    assert (await w.refused(w.refund("s" * 201))).code == ErrorCode.VALIDATION_ERROR
    assert (await w.refused(w.refund("s", "r" * 501))).code == ErrorCode.VALIDATION_ERROR
    assert await w.rows("SELECT count(*) FROM saga_tombstones WHERE tenant_id = :tenant") == [(0,)]


async def test_debit_of_an_unknown_player_is_refused_and_charges_nothing(w: Any) -> None:
    """The saga no longer asks GetPlayer first: DebitPoints itself refuses a player it does not know."""
    await w.define("gems")
    await w.grant("p1", 100)
    error = await w.refused(w.debit("saga-ghost", "ghost", 10))
    assert error.code == ErrorCode.PLAYER_NOT_FOUND
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'debit'") == [(0,)]
    assert await w.rows("SELECT count(*) FROM saga_outcomes WHERE tenant_id = :tenant") == [(0,)]
    assert await w.rows("SELECT count(*) FROM players WHERE tenant_id = :tenant AND player_id = 'ghost'") == [(0,)]
    # the refusal left the saga free: once the player exists and holds points, the same saga charges once
    await w.grant("ghost", 10)
    assert (await w.debit("saga-ghost", "ghost", 10)).entry.balance_after == 0
    await w.books_balance()


async def test_debit_of_a_suspended_player_is_refused_and_charges_nothing(w: Any) -> None:
    await w.define("gems")
    await w.grant("frozen", 100)
    await w.set_status("frozen", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    error = await w.refused(w.debit("saga-frozen", "frozen", 10))
    assert error.code == ErrorCode.PLAYER_INACTIVE
    assert await w.stored_balance("frozen") == 100
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant AND kind = 'debit'") == [(0,)]
    assert await w.rows("SELECT count(*) FROM saga_outcomes WHERE tenant_id = :tenant") == [(0,)]
    await w.set_status("frozen", wallet_pb2.PLAYER_STATUS_ACTIVE)
    assert (await w.debit("saga-frozen", "frozen", 10)).entry.balance_after == 90
    await w.books_balance()


async def test_concurrent_duplicates_of_a_debit_of_most_of_the_balance_replay_not_refuse(w: Any) -> None:
    """A duplicate that waited on the account's row lock sees a balance the winner already took: it must answer
    the winner's entry, not INSUFFICIENT_BALANCE."""
    await w.define("gems")
    await w.grant("p1", 100)
    results = await asyncio.gather(*(w.debit("saga-big", "p1", 80) for _ in range(10)))
    assert len({r.entry.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await w.stored_balance("p1") == 20
    await w.books_balance()
