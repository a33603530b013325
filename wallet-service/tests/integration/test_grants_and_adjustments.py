"""GrantPoints and AdjustPoints: credits, idempotency by key (also under concurrent duplicates), refusals."""

from __future__ import annotations

import asyncio
from typing import Any

from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import ErrorCode


async def test_grant_creates_the_player_and_credits(w: Any) -> None:
    await w.define("coins", 2)
    first = await w.grant("new-player", 15050, key="g1", point_type="coins")
    assert not first.replayed
    entry = first.entry
    assert (entry.player_id, entry.point_type, entry.kind, entry.amount, entry.balance_after, entry.reference,
            entry.scale) == ("new-player", "coins", wallet_pb2.ENTRY_KIND_GRANT, 15050, 15050, "g1", 2)
    assert entry.id > 0 and entry.created_at.seconds > 0

    second = await w.grant("new-player", 50, key="g2", point_type="coins")
    assert second.entry.balance_after == 15100 and second.entry.id > entry.id
    assert await w.balances("new-player") == {"coins": 15100}
    assert await w.rows("SELECT status FROM players WHERE tenant_id = :tenant") == [("active",)]
    await w.books_balance()


async def test_grant_replays_the_same_key_and_refuses_it_for_other_values(w: Any) -> None:
    await w.define("gems")
    await w.define("coins", 2)
    first = await w.grant("p1", 100, key="k")
    again = await w.grant("p1", 100, key="k")
    assert again.replayed and again.entry == first.entry

    for player_id, amount, point_type in [("p2", 100, "gems"), ("p1", 101, "gems"), ("p1", 100, "coins")]:
        error = await w.refused(w.grant(player_id, amount, key="k", point_type=point_type))
        assert error.code == ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert await w.balances("p1") == {"coins": 0, "gems": 100}
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant") == [(1,)]
    await w.books_balance()


async def test_twenty_concurrent_identical_grants_write_one_entry(w: Any) -> None:
    await w.define("gems")
    results = await asyncio.gather(*(w.grant("racer", 70, key="same-key") for _ in range(20)))
    assert len({r.entry.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await w.rows("SELECT count(*), sum(amount) FROM ledger_entries WHERE tenant_id = :tenant") == [(1, 70)]
    assert await w.stored_balance("racer") == 70
    await w.books_balance()


async def test_grants_to_a_suspended_player_are_allowed(w: Any) -> None:
    await w.define("gems")
    await w.set_status("p1", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    granted = await w.grant("p1", 10)
    assert granted.entry.balance_after == 10
    assert (await w.set_status("p1", wallet_pb2.PLAYER_STATUS_UNSPECIFIED)).status == \
        wallet_pb2.PLAYER_STATUS_SUSPENDED
    await w.books_balance()


async def test_grant_refusals_change_nothing(w: Any) -> None:
    await w.define("gems")
    cases = [
        (dict(player_id="", amount=1), ErrorCode.VALIDATION_ERROR, "player_id is required"),
        (dict(player_id="p" * 129, amount=1), ErrorCode.VALIDATION_ERROR, "at most 128"),
        (dict(player_id="p1", amount=0), ErrorCode.VALIDATION_ERROR, "positive"),
        (dict(player_id="p1", amount=-5), ErrorCode.VALIDATION_ERROR, "positive"),
        (dict(player_id="p1", amount=10**16), ErrorCode.VALIDATION_ERROR, "at most"),
        (dict(player_id="p1", amount=1, key="k" * 201), ErrorCode.VALIDATION_ERROR, "idempotency_key must be at"),
        (dict(player_id="p1", amount=1, point_type=""), ErrorCode.VALIDATION_ERROR, "point_type is required"),
        (dict(player_id="p1", amount=1, point_type="stars"), ErrorCode.INVALID_POINT_TYPE, "stars"),
    ]
    for kwargs, code, words in cases:
        error = await w.refused(w.grant(**kwargs))
        assert error.code == code, kwargs
        assert words in error.message, (kwargs, error.message)
    missing_key = await w.refused(w.stub.GrantPoints(
        wallet_pb2.GrantPointsRequest(scope=w.scope, player_id="p1", point_type="gems", amount=1), timeout=10))
    assert "idempotency_key is required" in missing_key.message
    long_description = await w.refused(w.stub.GrantPoints(
        wallet_pb2.GrantPointsRequest(scope=w.scope, player_id="p1", point_type="gems", amount=1,
                                      idempotency_key="k", description="d" * 501), timeout=10))
    assert "description must be at most 500" in long_description.message
    assert await w.rows("SELECT count(*) FROM players WHERE tenant_id = :tenant") == [(0,)]
    assert await w.rows("SELECT count(*) FROM ledger_entries WHERE tenant_id = :tenant") == [(0,)]


async def test_adjustments_are_signed_and_never_go_below_zero(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 50)
    up = await w.adjust("p1", 25, key="a1")
    assert (up.entry.kind, up.entry.amount, up.entry.balance_after, up.replayed) == \
        (wallet_pb2.ENTRY_KIND_ADJUSTMENT, 25, 75, False)
    down = await w.adjust("p1", -75, key="a2")
    assert (down.entry.amount, down.entry.balance_after) == (-75, 0)

    error = await w.refused(w.adjust("p1", -1, key="a3"))
    assert error.code == ErrorCode.INSUFFICIENT_BALANCE
    assert await w.stored_balance("p1") == 0
    await w.books_balance()


async def test_adjustment_idempotency_and_refusals(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 50)
    first = await w.adjust("p1", -20, key="fix")
    again = await w.adjust("p1", -20, key="fix")
    assert again.replayed and again.entry == first.entry
    reused = await w.refused(w.adjust("p1", -21, key="fix"))
    assert reused.code == ErrorCode.IDEMPOTENCY_KEY_REUSED
    # a grant and an adjustment may share a key: the key is unique per kind of movement
    assert not (await w.grant("p1", 5, key="fix")).replayed

    assert (await w.refused(w.adjust("p1", 0))).code == ErrorCode.VALIDATION_ERROR
    assert (await w.refused(w.adjust("ghost", 5))).code == ErrorCode.PLAYER_NOT_FOUND
    assert (await w.refused(w.adjust("p1", 5, point_type="stars"))).code == ErrorCode.INVALID_POINT_TYPE
    assert (await w.refused(w.adjust("p1", 5, key="k" * 201))).code == ErrorCode.VALIDATION_ERROR
    # operators may correct a suspended player's balance
    await w.set_status("p1", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    assert (await w.adjust("p1", -5)).entry.balance_after == 30
    assert await w.stored_balance("p1") == 30
    await w.books_balance()


async def test_concurrent_identical_adjustments_write_one_entry(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    results = await asyncio.gather(*(w.adjust("p1", -30, key="once") for _ in range(20)))
    assert len({r.entry.id for r in results}) == 1
    assert await w.stored_balance("p1") == 70
    await w.books_balance()
