"""Operators' calls: creating, reading, updating, archiving items, adjusting stock, listing in pages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from catalog_service.domain import decode_page_token
from google.protobuf import struct_pb2, timestamp_pb2
from rewards.catalog.v1 import catalog_pb2
from rewards.common.v1 import common_pb2
from service_kit.errors import ErrorCode

Price = catalog_pb2.Price


def ts(delta: timedelta) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + delta)
    return stamp


async def test_item_round_trips_every_field(catalog: Any) -> None:
    config = struct_pb2.Struct()
    config.update({"game_id": "book-of-dead", "provider": {"url": "https://bonus.example"}})
    created = await catalog.create(
        id="507f1f77bcf86cd799439011", name="Free spins", description="Spins on Book of Dead",
        image_url="https://img.example/spins.png", status=catalog_pb2.ITEM_STATUS_DRAFT,
        available_from=ts(timedelta(days=-1)), available_until=ts(timedelta(days=30)),
        prices=[Price(point_type="coins", amount=15050), Price(point_type="gems", amount=20)],
        variants=[catalog_pb2.Variant(id="r20", name="20 rounds", rounds=20),
                  catalog_pb2.Variant(id="r50", name="50 rounds", rounds=50,
                                      prices=[Price(point_type="coins", amount=30000)])],
        stock=25, per_player_limit=3,
        targeting=catalog_pb2.Targeting(private=True, segments=["vip"], countries=["se", "FI"], min_level=5),
        fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_FREE_ROUNDS, fulfillment_config=config,
        customer_info_required=True, redemption_message="Enjoy!", face_value=1000, face_currency="EUR")
    fetched = (await catalog.get("507f1f77bcf86cd799439011")).item
    assert fetched == created
    assert fetched.id == "507f1f77bcf86cd799439011" and fetched.status == catalog_pb2.ITEM_STATUS_DRAFT
    assert [(p.point_type, p.amount) for p in fetched.prices] == [("coins", 15050), ("gems", 20)]
    assert [(v.id, v.rounds, len(v.prices)) for v in fetched.variants] == [("r20", 20, 0), ("r50", 50, 1)]
    assert fetched.stock == 25 and not fetched.unlimited_stock and fetched.per_player_limit == 3
    assert list(fetched.targeting.countries) == ["SE", "FI"] and fetched.targeting.min_level == 5
    assert fetched.fulfillment_config["provider"]["url"] == "https://bonus.example"
    assert fetched.customer_info_required and not fetched.shipping_address_required
    assert fetched.face_value == 1000 and fetched.created_at.seconds > 0


@pytest.mark.parametrize("item_id", ["12", "507f1f77bcf86cd799439011", "3f2b8c1e-9a4d-4c6b-8e2f-1a2b3c4d5e6f",
                                     "sku:gift.card_10-EUR"])
async def test_operator_chosen_ids_are_kept(catalog: Any, item_id: str) -> None:
    assert (await catalog.create(id=item_id)).id == item_id
    assert (await catalog.get(item_id)).item.id == item_id


async def test_empty_id_is_generated_and_duplicates_are_refused(catalog: Any) -> None:
    generated = await catalog.create()
    assert len(generated.id) == 32 and int(generated.id, 16) >= 0
    await catalog.create(id="12")
    await catalog.refused(catalog.create(id="12", name="Another"), ErrorCode.ALREADY_EXISTS, "'12'")
    assert (await catalog.get("12")).item.name == "Gift card"


async def test_physical_items_always_require_a_shipping_address(catalog: Any) -> None:
    item = await catalog.create(fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_PHYSICAL)
    assert item.shipping_address_required
    updated = await catalog.call("UpdateItem", item=catalog_pb2.Item(id=item.id, shipping_address_required=False),
                                 update_mask=["shipping_address_required"])
    assert updated.item.shipping_address_required


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"name": ""}, "name is required"),
    ({"name": "x" * 201}, "name must be at most 200"),
    ({"description": "x" * 10_001}, "description must be at most"),
    ({"image_url": "x" * 2_001}, "image_url must be at most"),
    ({"prices": []}, "prices must hold at least one price"),
    ({"prices": [Price(point_type="coins", amount=0)]}, "amount must be a positive"),
    ({"prices": [Price(point_type="coins", amount=-5)]}, "amount must be a positive"),
    ({"prices": [Price(point_type="coins", amount=5), Price(point_type="coins", amount=6)]}, "twice"),
    ({"prices": [Price(point_type="co ins", amount=5)]}, "point_type must be"),
    ({"available_from": ts(timedelta(days=2)), "available_until": ts(timedelta(days=1))},
     "available_until must be after available_from"),
    ({"stock": -1}, "stock must not be negative"),
    ({"per_player_limit": -1}, "per_player_limit must not be negative"),
    ({"fulfillment_strategy": catalog_pb2.FULFILLMENT_STRATEGY_UNSPECIFIED}, "fulfillment_strategy must be"),
    ({"fulfillment_strategy": 42}, "fulfillment_strategy must be"),
    ({"status": 9}, "status must be"),
    ({"status": catalog_pb2.ITEM_STATUS_DELETED}, "cannot be created deleted"),
    ({"id": "has space"}, "item_id must be 1-64 characters"),
    ({"id": "ü"}, "item_id must be"),
    ({"id": "x" * 65}, "item_id must be"),
    ({"variants": [catalog_pb2.Variant(id="a", rounds=20), catalog_pb2.Variant(id="b", rounds=20)]},
     "rounds 20 twice"),
    ({"variants": [catalog_pb2.Variant(id="a"), catalog_pb2.Variant(id="a")]}, "id 'a' twice"),
    ({"variants": [catalog_pb2.Variant(id="a", rounds=-1)]}, "rounds must not be negative"),
    ({"variants": [catalog_pb2.Variant(id="a", prices=[Price(point_type="coins", amount=0)])]},
     "variants[0].prices[0].amount"),
    ({"targeting": catalog_pb2.Targeting(private=True, countries=["Sweden"])}, "ISO 3166-1"),
    ({"targeting": catalog_pb2.Targeting(private=True, min_level=-2)}, "min_level must not be negative"),
    ({"face_value": -1}, "face_value"),
]


@pytest.mark.parametrize(("fields", "message"), INVALID)
async def test_bad_items_are_refused_and_nothing_is_stored(catalog: Any, fields: dict[str, Any],
                                                           message: str) -> None:
    await catalog.refused(catalog.create(**fields), ErrorCode.VALIDATION_ERROR, message)
    assert len((await catalog.call("ListItems")).items) == 0


async def test_bad_scope_is_refused(catalog: Any) -> None:
    catalog.scope.tenant_id = "t" * 65
    await catalog.refused(catalog.create(), ErrorCode.VALIDATION_ERROR, "tenant_id")
    catalog.scope.tenant_id = ""
    await catalog.refused(catalog.create(), ErrorCode.VALIDATION_ERROR, "tenant_id is required")


async def test_update_replaces_only_the_masked_fields(catalog: Any) -> None:
    item = await catalog.create(id="12", stock=7, description="old")
    updated = (await catalog.call("UpdateItem", item=catalog_pb2.Item(id="12", name="New name", description="x"),
                                  update_mask=["name"])).item
    assert updated.name == "New name" and updated.description == "old" and updated.stock == 7
    assert updated.updated_at.ToDatetime() >= item.updated_at.ToDatetime()

    # An empty mask replaces every field but id, stock and timestamps.
    full = catalog_pb2.Item(id="12", name="Full", prices=[Price(point_type="gems", amount=3)], stock=999,
                            fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_WEBHOOK)
    replaced = (await catalog.call("UpdateItem", item=full)).item
    assert replaced.name == "Full" and replaced.description == "" and replaced.stock == 7
    assert [p.point_type for p in replaced.prices] == ["gems"]
    assert replaced.fulfillment_strategy == catalog_pb2.FULFILLMENT_STRATEGY_WEBHOOK
    assert replaced.created_at == item.created_at


async def test_update_refuses_bad_masks_and_values(catalog: Any) -> None:
    await catalog.create(id="12", stock=7)
    update = catalog.call
    await catalog.refused(update("UpdateItem", item=catalog_pb2.Item(id="12", stock=100), update_mask=["stock"]),
                          ErrorCode.VALIDATION_ERROR, "AdjustStock")
    await catalog.refused(update("UpdateItem", item=catalog_pb2.Item(id="12"), update_mask=["colour"]),
                          ErrorCode.VALIDATION_ERROR, "'colour'")
    await catalog.refused(update("UpdateItem", item=catalog_pb2.Item(id="12"), update_mask=["prices"]),
                          ErrorCode.VALIDATION_ERROR, "at least one price")
    await catalog.refused(update("UpdateItem", item=catalog_pb2.Item(id="nope"), update_mask=["name"]),
                          ErrorCode.ITEM_NOT_FOUND)
    assert (await catalog.get("12")).item.stock == 7


async def test_unlimited_stock_can_be_switched_by_naming_it(catalog: Any) -> None:
    await catalog.create(id="12", stock=7)
    unlimited = (await catalog.call("UpdateItem", item=catalog_pb2.Item(id="12", unlimited_stock=True),
                                    update_mask=["unlimited_stock"])).item
    assert unlimited.unlimited_stock
    counted = (await catalog.call("UpdateItem", item=catalog_pb2.Item(id="12", stock=3),
                                  update_mask=["unlimited_stock"])).item
    assert not counted.unlimited_stock and counted.stock == 3


async def test_archived_items_are_gone_for_everyone(catalog: Any) -> None:
    await catalog.create(id="12")
    archived = (await catalog.call("ArchiveItem", item_id="12")).item
    assert archived.status == catalog_pb2.ITEM_STATUS_DELETED
    again = (await catalog.call("ArchiveItem", item_id="12")).item
    assert again.updated_at == archived.updated_at
    await catalog.refused(catalog.get("12"), ErrorCode.ITEM_NOT_FOUND)
    await catalog.refused(catalog.get("12", catalog.player()), ErrorCode.ITEM_NOT_FOUND)
    assert len((await catalog.call("ListItems")).items) == 0
    await catalog.refused(catalog.call("ArchiveItem", item_id="13"), ErrorCode.ITEM_NOT_FOUND)


async def test_adjust_stock_applies_once_per_key(catalog: Any) -> None:
    await catalog.create(id="12", stock=5)

    async def adjust(delta: int, key: str):  # type: ignore[no-untyped-def]
        return await catalog.call("AdjustStock", item_id="12", delta=delta, idempotency_key=key, reason="restock")

    assert (await adjust(10, "k1")).item.stock == 15
    assert (await adjust(10, "k1")).item.stock == 15
    # Concurrent retries of one key: still once.
    results = await asyncio.gather(*(adjust(-3, "k2") for _ in range(8)))
    assert {r.item.stock for r in results} == {12}
    assert await catalog.stock_of("12") == 12
    await catalog.refused(adjust(11, "k1"), ErrorCode.IDEMPOTENCY_KEY_REUSED, "k1")
    await catalog.refused(adjust(-13, "k3"), ErrorCode.VALIDATION_ERROR, "below zero")
    await catalog.refused(adjust(0, "k4"), ErrorCode.VALIDATION_ERROR, "delta must not be zero")
    await catalog.refused(catalog.call("AdjustStock", item_id="12", delta=1), ErrorCode.VALIDATION_ERROR,
                          "idempotency_key is required")
    assert await catalog.stock_of("12") == 12
    # The refused key was not spent: it can be used for a valid adjustment.
    assert (await adjust(-12, "k3")).item.stock == 0

    await catalog.create(id="endless")
    await catalog.refused(catalog.call("AdjustStock", item_id="endless", delta=5, idempotency_key="k5"),
                          ErrorCode.VALIDATION_ERROR, "unlimited")
    await catalog.refused(catalog.call("AdjustStock", item_id="ghost", delta=5, idempotency_key="k6"),
                          ErrorCode.ITEM_NOT_FOUND)


async def test_list_pages_in_id_order(catalog: Any) -> None:
    ids = ["a1", "a2", "b1", "b2", "c1", "c2", "d1"]
    for item_id in reversed(ids):
        await catalog.create(id=item_id)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await catalog.call("ListItems", page_size=3, page_token=token)
        seen += [i.id for i in page.items]
        pages += 1
        token = page.next_page_token
        if not token:
            break
        assert decode_page_token(token, "") == seen[-1]   # the last id served; no player asked
    assert seen == ids and pages == 3
    exact = await catalog.call("ListItems", page_size=7)
    assert len(exact.items) == 7 and exact.next_page_token == ""
    await catalog.refused(catalog.call("ListItems", page_token="!!not-base64!!"), ErrorCode.VALIDATION_ERROR,
                          "page_token")
    first = await catalog.call("ListItems", page_size=3)
    await catalog.refused(catalog.call("ListItems", page_size=3, page_token=first.next_page_token,
                                       player=common_pb2.PlayerContext(player_id="someone-else")),
                          ErrorCode.VALIDATION_ERROR, "another query")
    await catalog.refused(catalog.call("ListItems", page_size=-1), ErrorCode.VALIDATION_ERROR, "page_size")


async def test_page_size_defaults_to_50_and_stops_at_200(catalog: Any) -> None:
    semaphore = asyncio.Semaphore(10)

    async def create(n: int) -> None:
        async with semaphore:
            await catalog.create(id=f"item-{n:03d}")

    await asyncio.gather(*(create(n) for n in range(205)))
    assert len((await catalog.call("ListItems")).items) == 50
    biggest = await catalog.call("ListItems", page_size=1000)
    assert len(biggest.items) == 200 and biggest.next_page_token
    rest = await catalog.call("ListItems", page_size=1000, page_token=biggest.next_page_token)
    assert [i.id for i in rest.items] == [f"item-{n:03d}" for n in range(200, 205)]
