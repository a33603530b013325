"""Price locks: a quote's price and variant paid by the reservation that names the lock, whatever the item's price
has become; refused when the lock is unknown, another player's or item's, expired or held by another saga; one
saga holds it even under a race; a release gives it back."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
from rewards.catalog.v1 import catalog_pb2
from service_kit.errors import ErrorCode, from_rpc_error

Price = catalog_pb2.Price
Variant = catalog_pb2.Variant


async def _item_with_tiers(catalog: Any, stock: int = 10) -> str:
    item_id = f"locked-{uuid.uuid4().hex[:8]}"
    await catalog.create(id=item_id, stock=stock, prices=[Price(point_type="coins", amount=500)],
                         variants=[Variant(id="r20", rounds=20, prices=[Price(point_type="coins", amount=200)]),
                                   Variant(id="r50", rounds=50, prices=[Price(point_type="coins", amount=450)])])
    return item_id


async def _reprice(catalog: Any, item_id: str, amount: int) -> None:
    await catalog.call("UpdateItem", item=catalog_pb2.Item(
        id=item_id, variants=[Variant(id="r20", rounds=20, prices=[Price(point_type="coins", amount=amount)]),
                              Variant(id="r50", rounds=50, prices=[Price(point_type="coins", amount=amount + 1)])]),
        update_mask=["variants"])


async def test_a_reservation_with_the_lock_pays_the_quoted_price_and_variant_after_a_price_change(catalog: Any) -> None:
    item_id = await _item_with_tiers(catalog)
    quote = await catalog.check(item_id, catalog.player("p1"), rounds=20, lock_price_seconds=60,
                                skip_required_fields=True)
    assert quote.eligible and quote.price.amount == 200 and quote.price_lock_id
    assert quote.HasField("price_lock_expires_at")
    await _reprice(catalog, item_id, 900)
    # Named with only the lock: its variant is chosen and its price paid.
    reserved = await catalog.reserve("pl-s1", item_id, catalog.player("p1"), price_lock_id=quote.price_lock_id)
    assert reserved.price.amount == 200 and reserved.variant.id == "r20" and not reserved.already_reserved
    # A retry of the saga answers the same snapshot.
    again = await catalog.reserve("pl-s1", item_id, catalog.player("p1"), price_lock_id=quote.price_lock_id)
    assert again.already_reserved and again.price.amount == 200
    # Without the lock, today's price.
    today = await catalog.reserve("pl-s2", item_id, catalog.player("p1"), rounds=20)
    assert today.price.amount == 900
    # A dry run without lock_price_seconds writes no lock.
    assert not (await catalog.check(item_id, catalog.player("p1"), rounds=20)).price_lock_id


async def test_a_lock_is_refused_to_another_player_item_variant_saga_and_after_it_expired(catalog: Any) -> None:
    item_id = await _item_with_tiers(catalog)
    other_item = await _item_with_tiers(catalog)
    lock = (await catalog.check(item_id, catalog.player("p1"), rounds=50, lock_price_seconds=60)).price_lock_id

    async def refused(code: ErrorCode, saga_id: str, **fields: Any) -> None:
        fields.setdefault("player", catalog.player("p1"))
        fields.setdefault("item_id", item_id)
        await catalog.refused(catalog.call("ReserveStock", saga_id=saga_id, price_lock_id=lock, **fields), code)

    await refused(ErrorCode.QUOTE_NOT_YOURS, "pl-r1", player=catalog.player("p2"))
    await refused(ErrorCode.QUOTE_MISMATCH, "pl-r2", item_id=other_item)
    await refused(ErrorCode.QUOTE_MISMATCH, "pl-r3", variant_id="r20")
    await refused(ErrorCode.QUOTE_MISMATCH, "pl-r4", point_type="gems")
    await catalog.refused(catalog.call("ReserveStock", saga_id="pl-r5", item_id=item_id, player=catalog.player("p1"),
                                       price_lock_id=str(uuid.uuid4())), ErrorCode.QUOTE_NOT_FOUND)
    for hostile, code in (("not-a-lock", ErrorCode.QUOTE_NOT_FOUND), (lock.upper(), ErrorCode.QUOTE_NOT_FOUND),
                          ("a\x00b", ErrorCode.VALIDATION_ERROR)):   # never a 500
        await catalog.refused(catalog.call("ReserveStock", saga_id="pl-r5", item_id=item_id,
                                           player=catalog.player("p1"), price_lock_id=hostile), code)
    assert await catalog.stock_of(item_id) == 10   # none of them took anything

    await catalog.reserve("pl-r6", item_id, catalog.player("p1"), price_lock_id=lock)
    await refused(ErrorCode.QUOTE_ALREADY_USED, "pl-r7")
    # The release (a failed or canceled redemption) gives the lock back.
    assert await catalog.release("pl-r6")
    assert (await catalog.reserve("pl-r8", item_id, catalog.player("p1"), price_lock_id=lock)).price.amount == 450
    assert await catalog.release("pl-r8")

    await catalog.pool.execute("UPDATE price_locks SET expires_at = now() - interval '1 second' WHERE id = $1", lock)
    await refused(ErrorCode.QUOTE_EXPIRED, "pl-r9")
    assert await catalog.stock_of(item_id) == 10


async def test_sagas_racing_with_one_lock_reserve_once(catalog: Any) -> None:
    item_id = await _item_with_tiers(catalog)
    lock = (await catalog.check(item_id, catalog.player("p1"), rounds=20, lock_price_seconds=60)).price_lock_id

    async def attempt(n: int) -> str:
        try:
            await catalog.reserve(f"pl-race-{n}", item_id, catalog.player("p1"), price_lock_id=lock)
            return "reserved"
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            assert error is not None
            return error.code.value

    outcomes = await asyncio.gather(*(attempt(n) for n in range(8)))
    assert outcomes.count("reserved") == 1, outcomes
    assert set(outcomes) == {"reserved", ErrorCode.QUOTE_ALREADY_USED.value}, outcomes
    assert await catalog.stock_of(item_id) == 9


async def test_a_reservation_with_a_lock_costs_one_more_round_trip_and_one_without_none(catalog: Any) -> None:
    item_id = await _item_with_tiers(catalog)
    lock = (await catalog.check(item_id, catalog.player("p1"), rounds=20, lock_price_seconds=60)).price_lock_id
    with catalog.pool.counting() as plain:
        await catalog.reserve("pl-rt1", item_id, catalog.player("p1"), rounds=20)
    with catalog.pool.counting() as quoted:
        await catalog.reserve("pl-rt2", item_id, catalog.player("p1"), price_lock_id=lock)
    assert plain.count == 1
    assert quoted.count == 2   # the lock read, then the reservation that claims it
    # Each statement of a quote reads through an index, the lock's write (with its sweep) too.
    with catalog.pool.counting() as locking:
        await catalog.check(item_id, catalog.player("p1"), rounds=20, lock_price_seconds=60)
    assert await catalog.pool.tables_read_without_index(quoted.calls + locking.calls) == []
