"""Issue 15 item 4, the catalog's side: an item's counted stock crossing its low-stock threshold (its own, else
LOW_STOCK_THRESHOLD) or reaching 0 is told once per crossing (item.stock_low, item.out_of_stock), by the statement
of the reservation that crossed it (still one round trip) or by the adjustment, with an id made from the item and
that change; a retry writes nothing more, unlimited stock never tells anything, and the low gauge counts with the
same thresholds."""

from __future__ import annotations

from typing import Any

from catalog_service.invariants import sample_stock_levels
from rewards.catalog.v1 import catalog_pb2
from service_kit import domain_events
from service_kit.errors import ErrorCode
from service_kit.scope import Scope
from sqlalchemy import text

LOW, OUT = domain_events.ITEM_STOCK_LOW, domain_events.ITEM_OUT_OF_STOCK


async def _events(catalog: Any, item_id: str) -> list[dict[str, Any]]:
    """The events in the outbox about the item, oldest first."""
    async with catalog.engine.connect() as connection:
        payloads = (await connection.execute(text("SELECT payload FROM event_outbox ORDER BY id"))).scalars()
        events = [domain_events.parse(p) for p in payloads]
    return [e for e in events if e["tenant"] == catalog.scope.tenant_id and e["data"]["item_id"] == item_id]


def _scope(catalog: Any) -> Scope:
    return Scope.from_proto(catalog.scope)


async def test_a_reservation_crossing_the_threshold_tells_it_once_in_its_one_statement(catalog: Any) -> None:
    woken: list[int] = []
    catalog.api.events_written = lambda: woken.append(1)
    item = await catalog.create(stock=5, low_stock_threshold=3)
    assert item.HasField("low_stock_threshold") and item.low_stock_threshold == 3
    player = catalog.player("p1")
    for saga in ("saga-1", "saga-2"):       # 5 -> 4 -> 3: at the threshold is not below it
        await catalog.reserve(saga, item.id, player)
    assert await _events(catalog, item.id) == [] and woken == []
    with catalog.pool.counting() as trips:
        crossed = await catalog.reserve("saga-3", item.id, player)          # 3 -> 2
    assert crossed.item.stock == 2 and trips.count == 1, trips.statements
    await catalog.reserve("saga-4", item.id, player)                        # 2 -> 1: still low, nothing new
    assert (await catalog.reserve("saga-3", item.id, player)).already_reserved   # a retry
    events = await _events(catalog, item.id)
    assert [e["type"] for e in events] == [LOW] and woken == [1]
    low = events[0]
    assert low["id"] == domain_events.event_id(LOW, _scope(catalog), f"{item.id}/saga-3")
    assert low["version"] == 1 and low["environment"] == "live"
    assert low["data"] == {"item_id": item.id, "stock": 2, "threshold": 3, "cause": "redemption",
                           "cause_id": "saga-3"}

    # Back above the threshold, then below again: another crossing, another event.
    assert await catalog.release("saga-4") and await catalog.release("saga-3")   # 1 -> 3
    await catalog.reserve("saga-5", item.id, player)                             # 3 -> 2
    assert [e["data"]["cause_id"] for e in await _events(catalog, item.id)] == ["saga-3", "saga-5"]


async def test_the_last_unit_tells_out_of_stock_and_a_threshold_of_one_both(catalog: Any) -> None:
    none_low = await catalog.create(stock=1, low_stock_threshold=0)   # 0: never low, still out
    await catalog.reserve("saga-a", none_low.id, catalog.player("p1"))
    [out] = await _events(catalog, none_low.id)
    assert out["type"] == OUT and out["data"]["stock"] == 0
    assert out["id"] == domain_events.event_id(OUT, _scope(catalog), f"{none_low.id}/saga-a")

    one = await catalog.create(stock=1, low_stock_threshold=1)
    await catalog.reserve("saga-b", one.id, catalog.player("p1"))
    assert sorted(e["type"] for e in await _events(catalog, one.id)) == [OUT, LOW]


async def test_unlimited_stock_tells_nothing(catalog: Any) -> None:
    item = await catalog.create(low_stock_threshold=5)
    for n in range(3):
        await catalog.reserve(f"saga-{n}", item.id, catalog.player(f"p{n}"))
    assert await _events(catalog, item.id) == []


async def test_an_item_without_its_own_threshold_follows_the_setting_and_its_own_overrides_it(
        catalog: Any) -> None:
    catalog.api.low_stock_threshold = 10
    default = await catalog.create(stock=11)
    own = await catalog.create(stock=11, low_stock_threshold=2)
    assert not default.HasField("low_stock_threshold")
    for n in range(2):   # 11 -> 10 -> 9: the setting's threshold crossed, not the item's own
        await catalog.reserve(f"d-{n}", default.id, catalog.player(f"p{n}"))
        await catalog.reserve(f"o-{n}", own.id, catalog.player(f"p{n}"))
    [low] = await _events(catalog, default.id)
    assert low["data"]["threshold"] == 10 and low["data"]["cause_id"] == "d-1"
    assert await _events(catalog, own.id) == []

    # The operator sets one (and clears it again: the setting again).
    updated = (await catalog.call("UpdateItem", item=catalog_pb2.Item(id=default.id, low_stock_threshold=3),
                                  update_mask=["low_stock_threshold"])).item
    assert updated.low_stock_threshold == 3
    cleared = (await catalog.call("UpdateItem", item=catalog_pb2.Item(id=default.id),
                                  update_mask=["low_stock_threshold"])).item
    assert not cleared.HasField("low_stock_threshold")
    await catalog.refused(catalog.call("CreateItem", item=catalog_pb2.Item(
        name="x", status=catalog_pb2.ITEM_STATUS_ACTIVE, prices=[catalog_pb2.Price(point_type="coins", amount=1)],
        fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_MANUAL, stock=1, low_stock_threshold=-1)),
        ErrorCode.VALIDATION_ERROR, "low_stock_threshold")


async def test_an_adjustment_that_crosses_tells_it_once(catalog: Any) -> None:
    item = await catalog.create(stock=5, low_stock_threshold=3)

    async def adjust(delta: int, key: str) -> Any:
        return (await catalog.call("AdjustStock", item_id=item.id, delta=delta, idempotency_key=key)).item

    assert (await adjust(-1, "k1")).stock == 4          # not crossing
    assert (await adjust(-4, "k2")).stock == 0          # 4 -> 0: low and out
    assert (await adjust(-4, "k2")).stock == 0          # the replay applies and tells nothing again
    assert (await adjust(+2, "k3")).stock == 2          # up: nothing
    events = await _events(catalog, item.id)
    assert sorted(e["type"] for e in events) == [OUT, LOW]
    assert {e["id"] for e in events} == {domain_events.event_id(t, _scope(catalog), f"{item.id}/adjustment/k2")
                                         for t in (LOW, OUT)}
    assert all(e["data"]["cause"] == "adjustment" and e["data"]["cause_id"] == "k2" and e["data"]["stock"] == 0
               for e in events)


async def test_the_low_gauge_counts_with_each_items_own_threshold(catalog: Any) -> None:
    out_before, low_before = await sample_stock_levels(catalog.pool, low_threshold=10)
    await catalog.create(stock=5, low_stock_threshold=3)    # low by the setting, not by its own threshold
    await catalog.create(stock=50, low_stock_threshold=60)  # low by its own only
    assert await sample_stock_levels(catalog.pool, low_threshold=10) == (out_before, low_before + 1)
