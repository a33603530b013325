"""Every statement of the catalog's hot paths reads its tables through an index (service_kit.query_plans): a
reservation (new and replayed), a release (and one before its reservation: the tombstone), an eligibility check,
an item, and a listing page and the next, with and without a player, as the service issues them."""

from __future__ import annotations

import uuid
from typing import Any

from rewards.catalog.v1 import catalog_pb2
from service_kit.query_plans import captured_statements, tables_read_without_index


async def test_the_hot_statements_use_indexes(catalog: Any) -> None:
    # Variants with their own prices, so that every table an item is read from is read.
    item = await catalog.create(stock=50, per_player_limit=5, variants=[
        catalog_pb2.Variant(id="small", name="Small", prices=[catalog_pb2.Price(point_type="coins", amount=300)]),
        catalog_pb2.Variant(id="large", name="Large")])
    for _ in range(4):
        await catalog.create()
    player = catalog.player("p1", country="SE", level=3)
    with captured_statements(catalog.engine) as statements:
        saga = str(uuid.uuid4())
        reserved = await catalog.reserve(saga, item.id, player, variant_id="small")
        replayed = await catalog.reserve(saga, item.id, player, variant_id="small")
        released = await catalog.release(saga)
        tombstoned = await catalog.release(str(uuid.uuid4()))   # a release before its reservation
        eligibility = await catalog.check(item.id, player, variant_id="large")
        fetched = await catalog.get(item.id, player)
        first = await catalog.call("ListItems", page_size=2)
        second = await catalog.call("ListItems", page_size=2, page_token=first.next_page_token)
        visible = await catalog.call("ListItems", page_size=2, player=player)
    # The paths ran as intended, so the statements captured are theirs.
    assert not reserved.already_reserved and replayed.already_reserved
    assert released and not tombstoned and eligibility.eligible and fetched.item.id == item.id
    assert len(first.items) == len(second.items) == len(visible.items) == 2 and second.next_page_token
    assert len(statements) >= 30, [s.sql for s in statements]
    assert await tables_read_without_index(catalog.engine, statements) == []
