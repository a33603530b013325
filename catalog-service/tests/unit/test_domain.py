"""The catalog's rules without a database: item validation, updates, visibility and page tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from catalog_service.domain import (
    FulfillmentStrategy,
    Item,
    ItemStatus,
    Player,
    Price,
    Targeting,
    Variant,
    apply_update,
    choose_offer,
    decode_page_token,
    encode_page_token,
    validate_item,
    visible_to,
)
from service_kit.errors import DomainError, ErrorCode

NOW = datetime(2026, 3, 22, 12, tzinfo=UTC)


def item(**fields) -> Item:  # type: ignore[no-untyped-def]
    base = {"id": "12", "name": "Voucher", "status": ItemStatus.ACTIVE, "prices": (Price("coins", 100),),
            "fulfillment_strategy": FulfillmentStrategy.CODE_POOL}
    return Item(**{**base, **fields})


def test_validation_fills_ids_normalises_countries_and_ships_physical_goods() -> None:
    valid = validate_item(item(id="", variants=(Variant(""),), fulfillment_strategy=FulfillmentStrategy.PHYSICAL,
                               targeting=Targeting(True, ("vip", "vip"), (" se", "SE", "fi"))))
    assert len(valid.id) == 32 and len(valid.variants[0].id) == 32
    assert valid.targeting.countries == ("SE", "FI") and valid.targeting.segments == ("vip",)
    assert valid.shipping_address_required


def test_update_takes_named_fields_only_and_keeps_stock_out_of_an_empty_mask() -> None:
    current = item(stock=4, description="old")
    patch = item(name="New", description="new", stock=99)
    assert apply_update(current, patch, ["name"], False) == item(name="New", stock=4, description="old")
    assert apply_update(current, patch, [], False).stock == 4
    assert apply_update(current, patch, ["unlimited_stock"], True).stock is None
    with pytest.raises(DomainError) as refused:
        apply_update(current, patch, ["id"], False)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR


def test_visibility_follows_status_window_and_targeting() -> None:
    player = Player("p", ("vip",), "se", 3)
    assert visible_to(item(), player, NOW)
    assert not visible_to(item(status=ItemStatus.DRAFT), player, NOW)
    assert not visible_to(item(available_until=NOW), player, NOW)  # the end is exclusive
    assert visible_to(item(available_from=NOW), player, NOW)
    assert not visible_to(item(available_from=NOW + timedelta(seconds=1)), player, NOW)
    assert visible_to(item(targeting=Targeting(True, ("vip",), ("SE",), 3)), player, NOW)
    assert not visible_to(item(targeting=Targeting(True, min_level=4)), player, NOW)


def test_every_targeting_rule_applies_whether_or_not_the_item_is_private() -> None:
    french, german = Player("fr", country="FR", level=9), Player("de", country="de", level=9)
    for private in (False, True):
        germany_only = item(targeting=Targeting(private, countries=("DE",)))
        assert not visible_to(germany_only, french, NOW) and visible_to(germany_only, german, NOW)
        assert not visible_to(germany_only, Player("unknown"), NOW)  # no country given: not eligible
        assert not visible_to(item(targeting=Targeting(private, min_level=10)), german, NOW)
        assert not visible_to(item(targeting=Targeting(private, segments=("vip",))), german, NOW)
        with pytest.raises(DomainError) as refused:
            choose_offer(germany_only, player=french, redeemed_count=0, now=NOW)
        assert refused.value.code is ErrorCode.ITEM_NOT_ELIGIBLE
    assert visible_to(item(targeting=Targeting(True)), french, NOW)  # private with no rule: everyone


def test_the_first_price_is_the_default_and_a_sole_variant_is_chosen() -> None:
    offer = choose_offer(item(prices=(Price("gems", 5), Price("coins", 100)), variants=(Variant("v", rounds=20),)),
                         player=Player("p"), redeemed_count=0, now=NOW)
    assert offer.price == Price("gems", 5) and offer.variant is not None and offer.variant.id == "v"


@pytest.mark.parametrize("item_id", ["12", "507f1f77bcf86cd799439011", "a:b.c-d_e"])
def test_page_tokens_round_trip(item_id: str) -> None:
    assert decode_page_token(encode_page_token(item_id, "p1"), "p1") == item_id
    assert decode_page_token("", "p1") is None


@pytest.mark.parametrize("token", ["%%%", encode_page_token("has space", "p1"), encode_page_token("12", "p2")])
def test_foreign_page_tokens_are_refused(token: str) -> None:
    with pytest.raises(DomainError) as refused:
        decode_page_token(token, "p1")
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
