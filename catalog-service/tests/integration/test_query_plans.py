"""Every statement of the catalog's hot paths reads its tables through an index (service_kit.query_plans and
PgPool.tables_read_without_index): a reservation (new, deciding afresh, and replayed), a refused one, a release (and
one before its reservation: the tombstone), an eligibility check, an item, and a listing page and the next, with
and without a player, as the service issues them; the operators' writes too (SQLAlchemy)."""

from __future__ import annotations

import uuid
from typing import Any

from rewards.catalog.v1 import catalog_pb2
from service_kit.errors import ErrorCode
from service_kit.query_plans import captured_statements, tables_read_without_index


async def test_the_hot_statements_use_indexes(catalog: Any) -> None:
    # Variants with their own prices, so that every table an item is read from is read.
    item = await catalog.create(stock=50, per_player_limit=5, variants=[
        catalog_pb2.Variant(id="small", name="Small", prices=[catalog_pb2.Price(point_type="coins", amount=300)]),
        catalog_pb2.Variant(id="large", name="Large")])
    for _ in range(4):
        await catalog.create()
    player = catalog.player("p1", country="SE", level=3)
    with captured_statements(catalog.engine) as statements, catalog.pool.counting() as trips:
        saga = str(uuid.uuid4())
        reserved = await catalog.reserve(saga, item.id, player, variant_id="small")   # decides on fresh reads
        again = await catalog.reserve(str(uuid.uuid4()), item.id, player, variant_id="small")  # on the cache
        replayed = await catalog.reserve(saga, item.id, player, variant_id="small")
        await catalog.refused(catalog.reserve(str(uuid.uuid4()), item.id, player, variant_id="huge"),
                              ErrorCode.INVALID_ROUNDS_SELECTION)
        released = await catalog.release(saga)
        tombstoned = await catalog.release(str(uuid.uuid4()))   # a release before its reservation
        eligibility = await catalog.check(item.id, player, variant_id="large")
        fetched = await catalog.get(item.id, player)
        first = await catalog.call("ListItems", page_size=2)
        second = await catalog.call("ListItems", page_size=2, page_token=first.next_page_token)
        visible = await catalog.call("ListItems", page_size=2, player=player)
        adjusted = await catalog.call("AdjustStock", item_id=item.id, delta=5, idempotency_key="k1")
        await catalog.call("UpdateItem", item=catalog_pb2.Item(id=item.id, name="Renamed"), update_mask=["name"])
    # The paths ran as intended, so the statements captured are theirs.
    assert not reserved.already_reserved and not again.already_reserved and replayed.already_reserved
    assert released and not tombstoned and eligibility.eligible and fetched.item.id == item.id
    assert len(first.items) == len(second.items) == len(visible.items) == 2 and second.next_page_token
    assert adjusted.item.stock == 54   # 50, two reserved, one released, 5 added
    # Every distinct hot statement was issued: the item read, the reserve, the replay, the release, both lists.
    distinct = {sql for sql, _ in trips.calls if sql not in ("BEGIN", "COMMIT")}
    assert len(distinct) >= 6, distinct
    assert len(statements) >= 8, [s.sql for s in statements]    # the operators' writes
    assert await catalog.pool.tables_read_without_index(trips.calls) == []
    assert await _joins_filtering_a_range(catalog.pool, trips.calls) == []
    # An executemany (the new prices' INSERT ... VALUES) reads no table and has no single set of parameters to plan.
    planned = [s for s in statements if not isinstance(s.parameters, list)]
    assert await tables_read_without_index(catalog.engine, planned) == []


async def _joins_filtering_a_range(pool: Any, calls: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """The statements whose plan joins and then filters: an index read by a prefix of its key (every count of a
    tenant, say) and the row wanted picked out afterwards. A lookup by the whole key is an Index Cond instead."""

    def filtered(plan: dict[str, Any]) -> bool:
        return "Join Filter" in plan or any(filtered(child) for child in plan.get("Plans", ()))

    found = []
    async with pool._pool.acquire() as conn:
        for sql in dict.fromkeys(sql for sql, _ in calls if sql.lstrip().upper().startswith(("SELECT", "WITH"))):
            args = next(args for s, args in calls if s == sql)
            plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
            if filtered(plan[0]["Plan"]):
                found.append(sql)
    return found
