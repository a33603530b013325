"""The saga's calls: ReserveStock's checks in order, variants, targeting, idempotency, release and its tombstone,
and the race-free stock and per-player limits under concurrent reservations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from rewards.catalog.v1 import catalog_pb2
from service_kit.errors import ErrorCode, from_rpc_error
from sqlalchemy import text

Price = catalog_pb2.Price
Variant = catalog_pb2.Variant


def ts(delta: timedelta) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + delta)
    return stamp


async def test_every_refusal_in_seed_002_order(catalog: Any) -> None:
    """Each call below breaks every check from one point on; it must fail with the earliest one, and
    CheckEligibility must name the same reason."""
    vip = catalog.player("vip", segments=["vip"])
    await catalog.create(
        id="12", stock=1, per_player_limit=1, prices=[Price(point_type="coins", amount=100)],
        variants=[Variant(id="r20", rounds=20), Variant(id="r50", rounds=50)],
        targeting=catalog_pb2.Targeting(private=True, segments=["vip"]),
        shipping_address_required=True, customer_info_required=True)
    # The vip player takes the only unit: their limit is now used and the stock is 0.
    await catalog.reserve("s0", "12", vip, rounds=20, has_shipping_address=True, has_customer_info=True)
    await catalog.call("UpdateItem", item=catalog_pb2.Item(id="12", status=catalog_pb2.ITEM_STATUS_INACTIVE),
                       update_mask=["status"])

    async def expect(code: ErrorCode, **request) -> None:  # type: ignore[no-untyped-def]
        request.setdefault("player", vip)
        request.setdefault("item_id", "12")
        await catalog.refused(catalog.call("ReserveStock", saga_id=f"s-{code}", **request), code)
        check = await catalog.call("CheckEligibility", **request)
        assert not check.eligible and check.reason == code.value

    await expect(ErrorCode.ITEM_NOT_FOUND, item_id="13", point_type="gems")
    await expect(ErrorCode.ITEM_UNAVAILABLE, point_type="gems")
    await catalog.call("UpdateItem", item=catalog_pb2.Item(id="12", status=catalog_pb2.ITEM_STATUS_ACTIVE),
                       update_mask=["status"])
    await expect(ErrorCode.INVALID_POINT_TYPE, point_type="gems")
    await expect(ErrorCode.INVALID_ROUNDS_SELECTION, point_type="coins")
    await expect(ErrorCode.INVALID_ROUNDS_SELECTION, rounds=30)
    await expect(ErrorCode.INVALID_ROUNDS_SELECTION, variant_id="r99")
    # The vip player, now outside the segment too: the limit is checked first.
    await expect(ErrorCode.REDEMPTION_ALREADY_EXISTS, rounds=50, player=catalog.player("vip", segments=["new"]))
    await expect(ErrorCode.ITEM_NOT_ELIGIBLE, rounds=50, player=catalog.player("plain", segments=["new"]))
    await expect(ErrorCode.SHIPPING_ADDRESS_REQUIRED, rounds=50, player=catalog.player("vip2", segments=["vip"]))
    await expect(ErrorCode.CUSTOMER_INFO_REQUIRED, rounds=50, player=catalog.player("vip2", segments=["vip"]),
                 has_shipping_address=True)
    await expect(ErrorCode.OUT_OF_STOCK, rounds=50, player=catalog.player("vip2", segments=["vip"]),
                 has_shipping_address=True, has_customer_info=True)
    # A quote skips the required fields and still reports the first real refusal.
    quote = await catalog.check("12", catalog.player("vip2", segments=["vip"]), rounds=50,
                                skip_required_fields=True)
    assert quote.reason == ErrorCode.OUT_OF_STOCK.value and quote.item.shipping_address_required
    # Nothing above changed anything.
    assert await catalog.stock_of("12") == 0
    assert (await catalog.call("ReleaseStock", saga_id="s-OUT_OF_STOCK")).released is False


async def test_unavailable_covers_draft_inactive_deleted_expired_and_not_started(catalog: Any) -> None:
    await catalog.create(id="draft", status=catalog_pb2.ITEM_STATUS_DRAFT)
    await catalog.create(id="inactive", status=catalog_pb2.ITEM_STATUS_INACTIVE)
    await catalog.create(id="deleted")
    await catalog.call("ArchiveItem", item_id="deleted")
    await catalog.create(id="expired", available_from=ts(timedelta(days=-9)), available_until=ts(timedelta(days=-1)))
    await catalog.create(id="later", available_from=ts(timedelta(days=1)))
    await catalog.create(id="now", available_from=ts(timedelta(days=-1)), available_until=ts(timedelta(days=1)))
    for item_id in ("draft", "inactive", "deleted", "expired", "later"):
        await catalog.refused(catalog.reserve(f"s-{item_id}", item_id, catalog.player()), ErrorCode.ITEM_UNAVAILABLE)
        await catalog.refused(catalog.get(item_id, catalog.player()), ErrorCode.ITEM_NOT_FOUND)
    assert (await catalog.reserve("s-now", "now", catalog.player())).item.id == "now"
    listed = await catalog.call("ListItems", player=catalog.player())
    assert [i.id for i in listed.items] == ["now"]
    operators = await catalog.call("ListItems")
    assert [i.id for i in operators.items] == ["draft", "expired", "inactive", "later", "now"]


async def test_limit_reached_above_one_and_counts_are_reported(catalog: Any) -> None:
    await catalog.create(id="12", per_player_limit=2)
    p = catalog.player("p1")
    assert (await catalog.check("12", p)).remaining_allowance == 2
    await catalog.reserve("s1", "12", p)
    await catalog.reserve("s2", "12", p)
    await catalog.refused(catalog.reserve("s3", "12", p), ErrorCode.LIMIT_REACHED, "limit of 2")
    assert (await catalog.get("12", p)).player_redeemed_count == 2
    check = await catalog.check("12", p)
    assert not check.eligible and check.remaining_allowance == 0
    assert await catalog.release("s1")
    assert (await catalog.get("12", p)).player_redeemed_count == 1
    assert (await catalog.reserve("s3", "12", p)).saga_id == "s3"
    await catalog.create(id="free")
    assert (await catalog.check("free", p)).remaining_allowance == -1


async def test_targeting_by_segment_country_and_level(catalog: Any) -> None:
    await catalog.create(id="public")
    await catalog.create(id="vip-se", targeting=catalog_pb2.Targeting(
        private=True, segments=["vip", "gold"], countries=["SE"], min_level=10))
    await catalog.create(id="private-any", targeting=catalog_pb2.Targeting(private=True))
    fits = catalog.player("a", segments=["gold"], country="se", level=10)
    cases = {
        "fits": (fits, ["private-any", "public", "vip-se"]),
        "segment": (catalog.player("b", segments=["bronze"], country="SE", level=10), ["private-any", "public"]),
        "country": (catalog.player("c", segments=["vip"], country="FI", level=10), ["private-any", "public"]),
        "no country": (catalog.player("d", segments=["vip"], level=10), ["private-any", "public"]),
        "level": (catalog.player("e", segments=["vip"], country="SE", level=9), ["private-any", "public"]),
    }
    for name, (who, visible) in cases.items():
        listed = [i.id for i in (await catalog.call("ListItems", player=who)).items]
        assert listed == visible, name
        eligible = "vip-se" in visible
        assert (await catalog.check("vip-se", who)).eligible is eligible, name
        if not eligible:
            await catalog.refused(catalog.get("vip-se", who), ErrorCode.ITEM_NOT_FOUND)
            await catalog.refused(catalog.reserve(f"s-{name}", "vip-se", who), ErrorCode.ITEM_NOT_ELIGIBLE)
    assert (await catalog.get("vip-se", fits)).item.id == "vip-se"
    assert (await catalog.reserve("s-fits", "vip-se", fits)).item.id == "vip-se"


async def test_a_public_item_with_a_country_list_is_refused_to_a_player_from_elsewhere(catalog: Any) -> None:
    """Issue 12, item 5: a French player redeemed a Germany-only item because it was not marked private."""
    await catalog.create(id="de-only", targeting=catalog_pb2.Targeting(private=False, countries=["DE"]))
    french, german, unknown = (catalog.player("fr", country="FR"), catalog.player("de", country="de"),
                               catalog.player("nowhere"))
    for who in (french, unknown):
        await catalog.refused(catalog.reserve(f"s-{who.player_id}", "de-only", who), ErrorCode.ITEM_NOT_ELIGIBLE)
        assert (await catalog.check("de-only", who)).reason == ErrorCode.ITEM_NOT_ELIGIBLE.value
        await catalog.refused(catalog.get("de-only", who), ErrorCode.ITEM_NOT_FOUND)
        assert [i.id for i in (await catalog.call("ListItems", player=who)).items] == []
    assert [i.id for i in (await catalog.call("ListItems", player=german)).items] == ["de-only"]
    assert (await catalog.reserve("s-de", "de-only", german)).item.id == "de-only"


async def test_a_public_item_with_a_minimum_level_is_refused_below_it(catalog: Any) -> None:
    await catalog.create(id="lvl5", targeting=catalog_pb2.Targeting(min_level=5))
    await catalog.create(id="gold", targeting=catalog_pb2.Targeting(segments=["gold"]))
    low, high = catalog.player("low", level=4), catalog.player("high", level=5, segments=["gold"])
    await catalog.refused(catalog.reserve("s-low", "lvl5", low), ErrorCode.ITEM_NOT_ELIGIBLE)
    await catalog.refused(catalog.reserve("s-low-gold", "gold", low), ErrorCode.ITEM_NOT_ELIGIBLE)
    # No level given (a back end acting for a player sends none) is level 0: below any minimum.
    await catalog.refused(catalog.reserve("s-none", "lvl5", catalog.player("none")), ErrorCode.ITEM_NOT_ELIGIBLE)
    assert [i.id for i in (await catalog.call("ListItems", player=low)).items] == []
    assert [i.id for i in (await catalog.call("ListItems", player=high)).items] == ["gold", "lvl5"]
    assert (await catalog.reserve("s-high", "lvl5", high)).item.id == "lvl5"
    assert (await catalog.reserve("s-high-gold", "gold", high)).item.id == "gold"


async def test_variants_by_rounds_or_id_with_their_own_prices(catalog: Any) -> None:
    await catalog.create(
        id="frb", prices=[Price(point_type="coins", amount=100), Price(point_type="gems", amount=5)],
        fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_FREE_ROUNDS,
        variants=[Variant(id="r20", name="20 rounds", rounds=20),
                  Variant(id="r50", name="50 rounds", rounds=50, prices=[Price(point_type="coins", amount=240)]),
                  Variant(id="r100", name="100 rounds", rounds=100, prices=[Price(point_type="tokens", amount=9)])])
    p = catalog.player()
    by_rounds = await catalog.reserve("s1", "frb", p, rounds=50)
    assert by_rounds.variant.id == "r50" and (by_rounds.price.point_type, by_rounds.price.amount) == ("coins", 240)
    by_id = await catalog.reserve("s2", "frb", p, variant_id="r20", point_type="gems")
    assert by_id.variant.rounds == 20 and (by_id.price.point_type, by_id.price.amount) == ("gems", 5)
    # A point type sold only for one tier is valid for the item, but not for another tier.
    tokens = await catalog.reserve("s3", "frb", p, rounds=100)
    assert (tokens.price.point_type, tokens.price.amount) == ("tokens", 9)
    await catalog.refused(catalog.reserve("s4", "frb", p, rounds=50, point_type="gems"),
                          ErrorCode.INVALID_POINT_TYPE)
    await catalog.refused(catalog.reserve("s5", "frb", p), ErrorCode.INVALID_ROUNDS_SELECTION, "3 variants")

    await catalog.create(id="single", variants=[Variant(id="only", rounds=10)])
    single = await catalog.reserve("s6", "single", p)
    assert single.variant.id == "only" and single.price.amount == 500
    without_variants = await catalog.create()
    plain = await catalog.reserve("s7", without_variants.id, p)
    assert not plain.HasField("variant") and plain.price.point_type == "coins"


async def test_reserve_is_idempotent_on_saga_id(catalog: Any) -> None:
    await catalog.create(id="12", stock=3, name="Voucher")
    p = catalog.player()
    first = await catalog.reserve("saga-1", "12", p)
    assert not first.already_reserved and first.item.stock == 2 and first.item.name == "Voucher"
    await catalog.call("UpdateItem", item=catalog_pb2.Item(id="12", name="Renamed"), update_mask=["name"])
    again = await catalog.reserve("saga-1", "12", p)
    assert again.already_reserved
    assert again.item == first.item and again.price == first.price  # the snapshot, not today's item
    assert await catalog.stock_of("12") == 2
    assert (await catalog.get("12", p)).player_redeemed_count == 1
    # Concurrent retries of one saga: one reservation.
    results = await asyncio.gather(*(catalog.reserve("saga-2", "12", p) for _ in range(6)))
    assert sum(not r.already_reserved for r in results) == 1
    assert await catalog.stock_of("12") == 1
    await catalog.create(id="13")
    await catalog.refused(catalog.reserve("saga-1", "13", p), ErrorCode.IDEMPOTENCY_KEY_REUSED, "saga-1")


async def test_release_gives_back_once_and_is_harmless_otherwise(catalog: Any) -> None:
    await catalog.create(id="12", stock=2)
    p = catalog.player()
    await catalog.reserve("s1", "12", p)
    assert await catalog.stock_of("12") == 1
    assert await catalog.release("s1") is True
    assert await catalog.stock_of("12") == 2
    assert (await catalog.get("12", p)).player_redeemed_count == 0
    assert await catalog.release("s1") is False
    assert await catalog.stock_of("12") == 2
    await catalog.refused(catalog.reserve("s1", "12", p), ErrorCode.VALIDATION_ERROR, "saga already released")
    # Concurrent releases of one held saga: stock comes back once.
    await catalog.reserve("s2", "12", p)
    released = await asyncio.gather(*(catalog.release("s2") for _ in range(5)))
    assert released.count(True) == 1 and await catalog.stock_of("12") == 2


async def test_release_of_an_unknown_saga_refuses_its_late_reserve(catalog: Any) -> None:
    await catalog.create(id="12", stock=5)
    assert await catalog.release("late") is False
    assert await catalog.release("late") is False
    await catalog.refused(catalog.reserve("late", "12", catalog.player()), ErrorCode.VALIDATION_ERROR,
                          "saga already released")
    assert await catalog.stock_of("12") == 5
    assert (await catalog.get("12", catalog.player())).player_redeemed_count == 0


async def test_unlimited_items_reserve_and_release_without_counting_stock(catalog: Any) -> None:
    await catalog.create(id="12")
    first = await catalog.reserve("s1", "12", catalog.player())
    assert first.item.unlimited_stock
    assert await catalog.release("s1")
    assert (await catalog.get("12")).item.unlimited_stock


async def test_reserve_needs_a_saga_an_item_and_a_player(catalog: Any) -> None:
    await catalog.create(id="12")
    await catalog.refused(catalog.reserve("", "12", catalog.player()), ErrorCode.VALIDATION_ERROR, "saga_id")
    await catalog.refused(catalog.reserve("s", "12", catalog.player("")), ErrorCode.VALIDATION_ERROR, "player")
    await catalog.refused(catalog.reserve("s", "bad id", catalog.player()), ErrorCode.VALIDATION_ERROR, "item_id")
    await catalog.refused(catalog.reserve("s" * 201, "12", catalog.player()), ErrorCode.VALIDATION_ERROR, "saga_id")


async def test_sixty_concurrent_reserves_on_stock_ten_sell_exactly_ten(catalog: Any) -> None:
    await catalog.create(id="12", stock=10)

    async def attempt(n: int) -> str:
        try:
            await catalog.reserve(f"saga-{n}", "12", catalog.player(f"player-{n}"))
            return "reserved"
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            return error.code.value if error else str(exc.code())

    outcomes = await asyncio.gather(*(attempt(n) for n in range(60)))
    assert outcomes.count("reserved") == 10
    assert outcomes.count(ErrorCode.OUT_OF_STOCK.value) == 50
    assert await catalog.stock_of("12") == 0
    # Each refused reservation's statement undid the rows it wrote before it found no stock: no held reservation
    # and no count is left behind for the fifty.
    tenant = catalog.scope.tenant_id
    assert await catalog.pool.fetchval("SELECT count(*) FROM reservations WHERE tenant_id = $1", tenant) == 10
    assert await catalog.pool.fetchval("SELECT sum(count) FROM player_counts WHERE tenant_id = $1", tenant) == 10


async def test_ten_concurrent_reserves_by_one_player_respect_a_limit_of_two(catalog: Any) -> None:
    await catalog.create(id="12", stock=100, per_player_limit=2)
    p = catalog.player("greedy")

    async def attempt(n: int) -> str:
        try:
            await catalog.reserve(f"saga-{n}", "12", p)
            return "reserved"
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            return error.code.value if error else str(exc.code())

    outcomes = await asyncio.gather(*(attempt(n) for n in range(10)))
    assert outcomes.count("reserved") == 2
    assert outcomes.count(ErrorCode.LIMIT_REACHED.value) == 8
    assert await catalog.stock_of("12") == 98
    assert await catalog.pool.fetchval("SELECT count(*) FROM reservations WHERE tenant_id = $1",
                                       catalog.scope.tenant_id) == 2
    assert (await catalog.get("12", p)).player_redeemed_count == 2


async def test_release_waits_for_a_reserve_in_flight_and_undoes_it(catalog: Any) -> None:
    """A reserve that timed out at the caller may still be committing when the saga compensates: the release
    must wait for it and give back what it took, not leave a tombstone beside a held reservation."""
    await catalog.create(id="12", stock=5)
    tenant, env = catalog.scope.tenant_id, "live"
    async with catalog.engine.connect() as connection:
        in_flight = await connection.begin()
        # What ReserveStock writes, left uncommitted.
        await connection.execute(text(
            "INSERT INTO player_counts (tenant_id, environment, item_id, player_id, count) "
            "VALUES (:t, :e, '12', 'p1', 1)"), {"t": tenant, "e": env})
        await connection.execute(text(
            "UPDATE items SET stock = stock - 1 WHERE tenant_id = :t AND environment = :e AND id = '12'"),
            {"t": tenant, "e": env})
        await connection.execute(text(
            "INSERT INTO reservations (tenant_id, environment, saga_id, item_id, player_id, point_type, price, "
            "stock_counted, state, snapshot) VALUES (:t, :e, 'slow', '12', 'p1', 'coins', 500, true, 'held', '{}')"),
            {"t": tenant, "e": env})
        release = asyncio.create_task(catalog.release("slow"))
        await asyncio.sleep(0.5)
        assert not release.done()  # waiting on the reservation's row
        await in_flight.commit()
    assert await release is True
    assert await catalog.stock_of("12") == 5
    assert (await catalog.get("12", catalog.player("p1"))).player_redeemed_count == 0
