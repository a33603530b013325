"""The round trips of the hot path, as budgets that fail when someone adds a query (DESIGN.md, "The hot path"):
counted on the PgPool (BEGIN and COMMIT included) through the real servicer, while the SQLAlchemy engine, kept for
the operators' writes, must send nothing at all."""

from __future__ import annotations

import uuid
from typing import Any

from rewards.catalog.v1 import catalog_pb2
from service_kit.errors import ErrorCode
from service_kit.query_plans import captured_statements
from sqlalchemy import text

RESERVE = 1        # the reservation's one statement, in autocommit (it undoes itself when it takes nothing)
COLD_RESERVE = 2   # the first reservation of an item this process has not read: its definition first
RELEASE = 1        # one statement, in autocommit
READ = 1           # GetItem, ListItems, CheckEligibility: one statement each


async def test_a_code_pool_reservation_takes_one_round_trip_and_a_release_one(catalog: Any) -> None:
    item = await catalog.create(stock=100, per_player_limit=3,
                                fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_CODE_POOL)
    player = catalog.player("p1")
    with captured_statements(catalog.engine) as engine_statements:
        with catalog.pool.counting() as cold:
            first = await catalog.reserve(str(uuid.uuid4()), item.id, player)
        with catalog.pool.counting() as trips:
            reserved = await catalog.reserve("saga-1", item.id, player)
        with catalog.pool.counting() as releasing:
            assert await catalog.release("saga-1")
    assert not first.already_reserved and not reserved.already_reserved and reserved.item.stock == 98
    assert cold.count <= COLD_RESERVE, cold.statements
    assert trips.count <= RESERVE, trips.statements
    assert "BEGIN" not in trips.statements and "COMMIT" not in trips.statements, trips.statements
    assert releasing.count <= RELEASE, releasing.statements
    assert engine_statements == [], [s.sql for s in engine_statements]


async def test_a_quote_leaves_the_definition_for_the_reservation_that_follows(catalog: Any) -> None:
    item = await catalog.create(stock=10)
    player = catalog.player("p1")
    with captured_statements(catalog.engine) as engine_statements, catalog.pool.counting() as trips:
        assert (await catalog.check(item.id, player)).eligible
        assert not (await catalog.reserve("saga-1", item.id, player)).already_reserved
    assert trips.count <= READ + RESERVE, trips.statements
    assert engine_statements == []


async def test_a_changed_definition_is_never_sold_from_the_cache(catalog: Any) -> None:
    """The price read into this process's cache changes under it (as another replica's UpdateItem would change it):
    the reservation's write takes nothing at the old revision, and the reservation is made at the new price."""
    item = await catalog.create(stock=10, prices=[catalog_pb2.Price(point_type="coins", amount=500)])
    player = catalog.player("p1")
    assert (await catalog.reserve("saga-1", item.id, player)).price.amount == 500
    async with catalog.engine.begin() as connection:
        await connection.execute(text(
            "UPDATE item_prices SET amount = 700 WHERE tenant_id = :t AND item_id = :i"),
            {"t": catalog.scope.tenant_id, "i": item.id})
        await connection.execute(text(
            "UPDATE items SET revision = revision + 1 WHERE tenant_id = :t AND id = :i"),
            {"t": catalog.scope.tenant_id, "i": item.id})
    reserved = await catalog.reserve("saga-2", item.id, player)
    assert reserved.price.amount == 700 and reserved.item.prices[0].amount == 700
    assert reserved.item.stock == 8


async def test_refusals_keep_their_order_when_decided_on_the_cache(catalog: Any) -> None:
    """A limit reached is refused as such, before targeting, although the cache cannot know the count."""
    item = await catalog.create(stock=10, per_player_limit=1,
                                targeting=catalog_pb2.Targeting(private=True, segments=["vip"]))
    vip = catalog.player("p1", segments=["vip"])
    await catalog.reserve("saga-1", item.id, vip)
    await catalog.refused(catalog.reserve("saga-2", item.id, catalog.player("p1", segments=["new"])),
                          ErrorCode.REDEMPTION_ALREADY_EXISTS)
    await catalog.refused(catalog.reserve("saga-3", item.id, catalog.player("p2", segments=["new"])),
                          ErrorCode.ITEM_NOT_ELIGIBLE)
    assert await catalog.stock_of(item.id) == 9


async def test_the_read_routes_take_one_round_trip_each(catalog: Any) -> None:
    for n in range(12):
        await catalog.create(id=f"item-{n:02d}", variants=[
            catalog_pb2.Variant(id="a", rounds=10, prices=[catalog_pb2.Price(point_type="coins", amount=100)]),
            catalog_pb2.Variant(id="b", rounds=20)])
    player = catalog.player("p1", country="SE", level=2)
    with captured_statements(catalog.engine) as engine_statements:
        with catalog.pool.counting() as listing:
            page = await catalog.call("ListItems", page_size=10, player=player)
        with catalog.pool.counting() as operators:
            everything = await catalog.call("ListItems", page_size=50)
        with catalog.pool.counting() as getting:
            fetched = await catalog.get("item-03", player)
        with catalog.pool.counting() as checking:
            eligibility = await catalog.check("item-03", player, rounds=10)
    assert len(page.items) == 10 and page.next_page_token and len(everything.items) == 12
    assert [v.id for v in page.items[0].variants] == ["a", "b"] and page.items[0].variants[0].prices[0].amount == 100
    assert fetched.item.id == "item-03" and eligibility.eligible and eligibility.price.amount == 100
    for trips in (listing, operators, getting, checking):
        assert trips.count <= READ, trips.statements
    assert engine_statements == []
