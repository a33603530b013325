"""The in-memory item definitions: stock left out, a late older read never replaces a newer one, bounded."""

from __future__ import annotations

import json
from dataclasses import replace

from catalog_service.definitions import ItemDefinitions
from catalog_service.domain import FulfillmentStrategy, Item, ItemStatus, Offer, Price
from service_kit.scope import Scope

SCOPE = Scope("acme", "live")


def item(item_id: str = "12", *, stock: int | None = 5, amount: int = 500) -> Item:
    return Item(item_id, "Gift card", ItemStatus.ACTIVE, (Price("coins", amount),), FulfillmentStrategy.CODE_POOL,
                stock=stock)


def test_a_definition_leaves_the_stock_out_but_knows_whether_it_is_counted() -> None:
    definitions = ItemDefinitions()
    counted = definitions.remember(SCOPE, item(stock=5), 1)
    assert counted.item.stock is None and counted.stock_counted
    assert not definitions.remember(SCOPE, item("13", stock=None), 1).stock_counted
    assert definitions.get(SCOPE, "12") is counted
    assert definitions.get(Scope("acme", "sandbox"), "12") is None


def test_an_older_read_arriving_late_does_not_replace_a_newer_one() -> None:
    definitions = ItemDefinitions()
    newer = definitions.remember(SCOPE, item(amount=700), 3)
    assert definitions.remember(SCOPE, item(amount=500), 2) is newer
    assert definitions.get(SCOPE, "12").item.prices[0].amount == 700   # type: ignore[union-attr]
    assert definitions.remember(SCOPE, item(amount=900), 4).item.prices[0].amount == 900
    definitions.forget(SCOPE, "12")
    assert definitions.get(SCOPE, "12") is None


def test_the_least_recently_used_definition_leaves_first() -> None:
    definitions = ItemDefinitions(capacity=2)
    definitions.remember(SCOPE, item("a"), 1)
    definitions.remember(SCOPE, item("b"), 1)
    assert definitions.get(SCOPE, "a") is not None   # a is now the most recently used
    definitions.remember(SCOPE, item("c"), 1)
    assert definitions.get(SCOPE, "b") is None
    assert definitions.get(SCOPE, "a") is not None and definitions.get(SCOPE, "c") is not None


def test_the_snapshot_is_the_definition_and_the_offer() -> None:
    definition = ItemDefinitions().remember(SCOPE, item(), 1)
    offer = Offer(None, Price("coins", 500))
    text = definition.snapshot(offer)
    assert definition.snapshot(replace(offer)) is text   # built once per offer
    raw = json.loads(text)
    assert raw["item"]["id"] == "12" and raw["item"]["stock"] is None and raw["price"]["amount"] == 500
