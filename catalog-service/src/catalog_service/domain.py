"""The catalog's vocabulary (items, variants, prices, targeting) and its rules: what a valid item is, who may see
an item, and which checks a redemption must pass, in the order seed 002 documents.

Limits mirror the column sizes, so bad input is refused as VALIDATION_ERROR before it reaches the database.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from service_kit import page_tokens
from service_kit.contract import MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from service_kit.validation import optional_text, require_text

MAX_ID = 64
MAX_PLAYER_ID = 128
MAX_SAGA_ID = 200
MAX_IDEMPOTENCY_KEY = MAX_IDEMPOTENCY_KEY_LENGTH   # the gateway's bound too
MAX_NAME = 200
MAX_DESCRIPTION = 10_000
MAX_URL = 2_000
MAX_MESSAGE = 2_000
MAX_REASON = 500
MAX_POINT_TYPE = 32
MAX_SEGMENT = 64
MAX_SEGMENTS = 100
MAX_COUNTRIES = 250
MAX_PRICES = 20
MAX_VARIANTS = 50
MAX_CURRENCY = 8
MAX_CONFIG_BYTES = 16_384
# Larger than any real price or stock, far below int64: sums of two never overflow the BIGINT columns.
MAX_AMOUNT = 10**15
MAX_STOCK = 10**12
MAX_INT32 = 2**31 - 1

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_POINT_TYPE = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class ItemStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"


class FulfillmentStrategy(enum.StrEnum):
    CODE_POOL = "code_pool"
    WEBHOOK = "webhook"
    PHYSICAL = "physical"
    BONUS = "bonus"
    FREE_ROUNDS = "free_rounds"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Price:
    point_type: str
    amount: int  # minor units of the point type


@dataclass(frozen=True, slots=True)
class Variant:
    id: str
    name: str = ""
    rounds: int = 0                  # free-rounds tiers: the number of rounds; 0 otherwise
    prices: tuple[Price, ...] = ()   # empty: the item's prices


@dataclass(frozen=True, slots=True)
class Targeting:
    private: bool = False
    segments: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    min_level: int = 0


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    name: str
    status: ItemStatus
    prices: tuple[Price, ...]
    fulfillment_strategy: FulfillmentStrategy
    description: str = ""
    image_url: str = ""
    available_from: datetime | None = None
    available_until: datetime | None = None
    variants: tuple[Variant, ...] = ()
    stock: int | None = None         # None: unlimited
    per_player_limit: int = 0        # 0: no limit
    targeting: Targeting = field(default_factory=Targeting)
    fulfillment_config: dict[str, Any] = field(default_factory=dict)
    shipping_address_required: bool = False
    customer_info_required: bool = False
    redemption_message: str = ""
    face_value: int = 0
    face_currency: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Counted stock below this is low (the item.stock_low event, the low gauge); None: LOW_STOCK_THRESHOLD.
    low_stock_threshold: int | None = None


@dataclass(frozen=True, slots=True)
class Player:
    player_id: str
    segments: tuple[str, ...] = ()
    country: str = ""
    level: int = 0


@dataclass(frozen=True, slots=True)
class Offer:
    """What a redemption of an item would be: the variant chosen (None when the item has none) and its price."""

    variant: Variant | None
    price: Price


@dataclass(frozen=True, slots=True)
class Reservation:
    saga_id: str
    item: Item
    variant: Variant | None
    price: Price
    already_reserved: bool


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    reason: str                      # the ErrorCode it would fail with; empty when eligible
    item: Item | None
    offer: Offer | None
    remaining_allowance: int         # -1: unlimited


@dataclass(frozen=True, slots=True)
class PriceLock:
    """What a quote priced for a player, honoured by the reservation that names it until it expires, whatever the
    item's price has become. The reservation's own statement claims it (repository.RESERVE_QUOTED), so two sagas
    racing with one lock cannot both hold it; a release gives it back (repository.RELEASE)."""

    id: str
    player_id: str
    item_id: str
    variant_id: str
    point_type: str
    price: int
    expires_at: datetime
    saga_id: str | None
    expired: bool


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: list[Item]
    next_page_token: str


# --- input validation ---------------------------------------------------------------------------------------

def invalid(message: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR, message)


def require_id(value: str, name: str = "item_id") -> str:
    if not value:
        raise invalid(f"{name} is required")
    if not _ID.match(value):
        raise invalid(f"{name} must be 1-{MAX_ID} characters of letters, digits, '.', '_', ':' and '-'")
    return value


def new_id() -> str:
    return uuid.uuid4().hex


def require_player(player: Player) -> Player:
    require_text(player.player_id, "player.player_id", MAX_PLAYER_ID)
    return player


def require_saga_id(saga_id: str) -> str:
    return require_text(saga_id, "saga_id", MAX_SAGA_ID)


def page_size_of(requested: int) -> int:
    if requested < 0:
        raise invalid("page_size must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def require_stock_delta(delta: int) -> int:
    if delta == 0:
        raise invalid("delta must not be zero")
    if abs(delta) > MAX_STOCK:
        raise invalid(f"delta must be at most {MAX_STOCK} in absolute value")
    return delta


def _prices(prices: tuple[Price, ...], name: str, required: bool) -> tuple[Price, ...]:
    if required and not prices:
        raise invalid(f"{name} must hold at least one price")
    if len(prices) > MAX_PRICES:
        raise invalid(f"{name} may hold at most {MAX_PRICES} prices")
    seen: set[str] = set()
    for i, price in enumerate(prices):
        if not _POINT_TYPE.match(price.point_type):
            raise invalid(f"{name}[{i}].point_type must be 1-{MAX_POINT_TYPE} letters, digits, '_', '.' or '-'")
        if price.point_type in seen:
            raise invalid(f"{name} holds point type {price.point_type!r} twice: one price per point type")
        seen.add(price.point_type)
        if price.amount <= 0:
            raise invalid(f"{name}[{i}].amount must be a positive number of minor units")
        if price.amount > MAX_AMOUNT:
            raise invalid(f"{name}[{i}].amount must be at most {MAX_AMOUNT}")
    return prices


def _variants(variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    if len(variants) > MAX_VARIANTS:
        raise invalid(f"an item may have at most {MAX_VARIANTS} variants")
    ids: set[str] = set()
    rounds: set[int] = set()
    checked = []
    for i, variant in enumerate(variants):
        vid = require_id(variant.id, f"variants[{i}].id") if variant.id else new_id()
        if vid in ids:
            raise invalid(f"variants hold id {vid!r} twice")
        ids.add(vid)
        optional_text(variant.name, f"variants[{i}].name", MAX_NAME)
        if not 0 <= variant.rounds <= MAX_INT32:
            raise invalid(f"variants[{i}].rounds must not be negative")
        if variant.rounds:
            # A player picks a tier by its rounds (seed 001): two tiers with the same rounds would be ambiguous.
            if variant.rounds in rounds:
                raise invalid(f"variants hold rounds {variant.rounds} twice")
            rounds.add(variant.rounds)
        _prices(variant.prices, f"variants[{i}].prices", required=False)
        checked.append(replace(variant, id=vid))
    return tuple(checked)


def _targeting(targeting: Targeting) -> Targeting:
    if len(targeting.segments) > MAX_SEGMENTS:
        raise invalid(f"targeting.segments may hold at most {MAX_SEGMENTS} segments")
    for segment in targeting.segments:
        require_text(segment, "targeting.segments[]", MAX_SEGMENT)
    if len(targeting.countries) > MAX_COUNTRIES:
        raise invalid(f"targeting.countries may hold at most {MAX_COUNTRIES} countries")
    countries = tuple(dict.fromkeys(c.strip().upper() for c in targeting.countries))
    for country in countries:
        if not _COUNTRY.match(country):
            raise invalid(f"targeting.countries: {country!r} is not an ISO 3166-1 alpha-2 code")
    if not 0 <= targeting.min_level <= MAX_INT32:
        raise invalid("targeting.min_level must not be negative")
    return replace(targeting, segments=tuple(dict.fromkeys(targeting.segments)), countries=countries)


def validate_item(item: Item) -> Item:
    """The item as it will be stored, or a VALIDATION_ERROR naming the first thing wrong with it."""
    item_id = require_id(item.id) if item.id else new_id()
    require_text(item.name, "name", MAX_NAME)
    optional_text(item.description, "description", MAX_DESCRIPTION)
    optional_text(item.image_url, "image_url", MAX_URL)
    optional_text(item.redemption_message, "redemption_message", MAX_MESSAGE)
    optional_text(item.face_currency, "face_currency", MAX_CURRENCY)
    if item.available_from and item.available_until and item.available_until <= item.available_from:
        raise invalid("available_until must be after available_from")
    prices = _prices(item.prices, "prices", required=True)
    variants = _variants(item.variants)
    if item.stock is not None and item.stock < 0:
        raise invalid("stock must not be negative")
    if item.stock is not None and item.stock > MAX_STOCK:
        raise invalid(f"stock must be at most {MAX_STOCK}")
    if item.low_stock_threshold is not None and not 0 <= item.low_stock_threshold <= MAX_STOCK:
        raise invalid(f"low_stock_threshold must be 0..{MAX_STOCK} (unset: the service's default)")
    if not 0 <= item.per_player_limit <= MAX_INT32:
        raise invalid("per_player_limit must not be negative (0: no limit)")
    if not 0 <= item.face_value <= MAX_AMOUNT:
        raise invalid(f"face_value must be 0..{MAX_AMOUNT}")
    if len(json.dumps(item.fulfillment_config)) > MAX_CONFIG_BYTES:
        raise invalid(f"fulfillment_config must be at most {MAX_CONFIG_BYTES} bytes of JSON")
    # Goods are shipped: a physical item always asks for the address, whatever the operator sent.
    shipping = item.shipping_address_required or item.fulfillment_strategy is FulfillmentStrategy.PHYSICAL
    return replace(item, id=item_id, prices=prices, variants=variants, targeting=_targeting(item.targeting),
                   shipping_address_required=shipping)


# Item fields an update may name; "stock" changes through AdjustStock, ids and timestamps never.
UPDATABLE_FIELDS = (
    "name", "description", "image_url", "status", "available_from", "available_until", "prices", "variants",
    "per_player_limit", "targeting", "fulfillment_strategy", "fulfillment_config", "shipping_address_required",
    "customer_info_required", "redemption_message", "face_value", "face_currency", "low_stock_threshold",
)


def apply_update(current: Item, patch: Item, mask: list[str], patch_unlimited: bool) -> Item:
    """current with the fields named in mask taken from patch (every updatable field when mask is empty).

    "unlimited_stock" may be named: true makes the stock unlimited; false makes an unlimited item counted,
    starting at patch.stock. It is not part of an empty mask, which leaves stock alone."""
    names = list(dict.fromkeys(mask)) if mask else list(UPDATABLE_FIELDS)
    changes: dict[str, Any] = {}
    for name in names:
        if name == "unlimited_stock":
            if patch_unlimited:
                changes["stock"] = None
            elif current.stock is None:
                changes["stock"] = patch.stock if patch.stock is not None else 0
        elif name in ("stock",):
            raise invalid("stock changes through AdjustStock, not UpdateItem")
        elif name not in UPDATABLE_FIELDS:
            raise invalid(f"update_mask names {name!r}, which is not an updatable field of Item "
                          f"(one of: {', '.join(UPDATABLE_FIELDS)}, unlimited_stock)")
        else:
            changes[name] = getattr(patch, name)
    return replace(current, **changes)


# --- who may redeem what ------------------------------------------------------------------------------------

def is_available(item: Item, now: datetime) -> bool:
    return (item.status is ItemStatus.ACTIVE
            and (item.available_from is None or item.available_from <= now)
            and (item.available_until is None or now < item.available_until))


def targets(targeting: Targeting, player: Player) -> bool:
    """Every rule the item carries, whether or not it is marked `private` (that flag only says "targeted" to
    the clients that show it: an admin who set a country list meant it). A rule the caller gave no data for (no
    country, no level, no segments) is not met: unknown is not eligible."""
    if targeting.segments and not set(targeting.segments) & set(player.segments):
        return False
    if targeting.countries and player.country.upper() not in targeting.countries:
        return False
    return player.level >= targeting.min_level


def visible_to(item: Item, player: Player, now: datetime) -> bool:
    """What a player is shown: an item they may redeem now, by status, window and targeting."""
    return is_available(item, now) and targets(item.targeting, player)


def _select_variant(item: Item, variant_id: str, rounds: int) -> Variant | None:
    if variant_id:
        for variant in item.variants:
            if variant.id == variant_id:
                return variant
        raise DomainError(ErrorCode.INVALID_ROUNDS_SELECTION, f"item {item.id} has no variant {variant_id!r}")
    if rounds:
        for variant in item.variants:
            if variant.rounds == rounds:
                return variant
        offered = sorted(v.rounds for v in item.variants if v.rounds)
        raise DomainError(ErrorCode.INVALID_ROUNDS_SELECTION,
                          f"item {item.id} offers no {rounds} rounds tier (tiers: {offered or 'none'})")
    if len(item.variants) == 1:
        return item.variants[0]
    if item.variants:
        raise DomainError(ErrorCode.INVALID_ROUNDS_SELECTION,
                          f"item {item.id} has {len(item.variants)} variants: choose one by variant_id or rounds")
    return None


def limit_refusal(item: Item) -> DomainError:
    # A limit of one is "you already have it" (seed 003's REDEMPTION_ALREADY_EXISTS).
    if item.per_player_limit == 1:
        return DomainError(ErrorCode.REDEMPTION_ALREADY_EXISTS, f"player already redeemed item {item.id}")
    return DomainError(ErrorCode.LIMIT_REACHED,
                       f"player reached the limit of {item.per_player_limit} for item {item.id}")


def choose_offer(item: Item, *, player: Player, redeemed_count: int, now: datetime, variant_id: str = "",
                 rounds: int = 0, point_type: str = "", has_shipping_address: bool = False,
                 has_customer_info: bool = False, skip_required_fields: bool = False) -> Offer:
    """Every check of a redemption, in seed 002's order; the first that fails raises its code."""
    if not is_available(item, now):
        raise DomainError(ErrorCode.ITEM_UNAVAILABLE, f"item {item.id} is not available now ({item.status})")
    if point_type and point_type not in {p.point_type for p in item.prices} | {
            p.point_type for v in item.variants for p in v.prices}:
        raise DomainError(ErrorCode.INVALID_POINT_TYPE, f"item {item.id} is not sold for {point_type!r}")
    variant = _select_variant(item, variant_id, rounds)
    prices = variant.prices if variant is not None and variant.prices else item.prices
    if point_type:
        price = next((p for p in prices if p.point_type == point_type), None)
        if price is None:
            raise DomainError(ErrorCode.INVALID_POINT_TYPE,
                              f"variant {variant.id if variant else ''} of item {item.id} is not sold for "
                              f"{point_type!r}")
    else:
        price = prices[0]
    if item.per_player_limit and redeemed_count >= item.per_player_limit:
        raise limit_refusal(item)
    if not targets(item.targeting, player):
        raise DomainError(ErrorCode.ITEM_NOT_ELIGIBLE, f"player is not eligible for item {item.id}")
    if not skip_required_fields:
        if item.shipping_address_required and not has_shipping_address:
            raise DomainError(ErrorCode.SHIPPING_ADDRESS_REQUIRED, f"item {item.id} needs a shipping address")
        if item.customer_info_required and not has_customer_info:
            raise DomainError(ErrorCode.CUSTOMER_INFO_REQUIRED, f"item {item.id} needs the customer's details")
    if item.stock is not None and item.stock < 1:
        raise DomainError(ErrorCode.OUT_OF_STOCK, f"item {item.id} is out of stock")
    return Offer(variant, price)


def remaining_allowance(item: Item, redeemed_count: int) -> int:
    return -1 if not item.per_player_limit else max(item.per_player_limit - redeemed_count, 0)


# --- page tokens: the last id served (service_kit.page_tokens), for one player's listing -------------------

def encode_page_token(last_id: str, player_id: str) -> str:
    return page_tokens.encode([last_id], query=(player_id,))


def decode_page_token(token: str, player_id: str) -> str | None:
    """The id after which the next page starts, or None for the first page."""
    [last_id] = page_tokens.decode(token, (str,), query=(player_id,)) or [None]
    if last_id is not None and not _ID.match(last_id):
        raise invalid("page_token is not a token this service issued")
    return last_id


# --- the snapshot a reservation keeps (JSON) ----------------------------------------------------------------

def _price_json(p: Price) -> dict[str, Any]:
    return {"point_type": p.point_type, "amount": p.amount}


def _variant_json(v: Variant) -> dict[str, Any]:
    return {"id": v.id, "name": v.name, "rounds": v.rounds, "prices": [_price_json(p) for p in v.prices]}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _prices_from(raw: list[dict[str, Any]]) -> tuple[Price, ...]:
    return tuple(Price(p["point_type"], int(p["amount"])) for p in raw)


def _variant_from(raw: dict[str, Any]) -> Variant:
    return Variant(raw["id"], raw["name"], int(raw["rounds"]), _prices_from(raw["prices"]))


def snapshot_json(item: Item, offer: Offer) -> dict[str, Any]:
    t = item.targeting
    return {
        "item": {
            "id": item.id, "name": item.name, "status": item.status.value,
            "prices": [_price_json(p) for p in item.prices],
            "fulfillment_strategy": item.fulfillment_strategy.value, "description": item.description,
            "image_url": item.image_url, "available_from": _time(item.available_from),
            "available_until": _time(item.available_until), "variants": [_variant_json(v) for v in item.variants],
            "stock": item.stock, "per_player_limit": item.per_player_limit,
            "targeting": {"private": t.private, "segments": list(t.segments), "countries": list(t.countries),
                          "min_level": t.min_level},
            "fulfillment_config": item.fulfillment_config,
            "shipping_address_required": item.shipping_address_required,
            "customer_info_required": item.customer_info_required,
            "redemption_message": item.redemption_message, "face_value": item.face_value,
            "face_currency": item.face_currency, "created_at": _time(item.created_at),
            "updated_at": _time(item.updated_at), "low_stock_threshold": item.low_stock_threshold,
        },
        "variant": _variant_json(offer.variant) if offer.variant else None,
        "price": _price_json(offer.price),
    }


def snapshot_from_json(raw: dict[str, Any]) -> tuple[Item, Offer]:
    i = raw["item"]
    t = i["targeting"]
    item = Item(
        id=i["id"], name=i["name"], status=ItemStatus(i["status"]), prices=_prices_from(i["prices"]),
        fulfillment_strategy=FulfillmentStrategy(i["fulfillment_strategy"]), description=i["description"],
        image_url=i["image_url"], available_from=_parse_time(i["available_from"]),
        available_until=_parse_time(i["available_until"]),
        variants=tuple(_variant_from(v) for v in i["variants"]), stock=i["stock"],
        per_player_limit=i["per_player_limit"],
        targeting=Targeting(t["private"], tuple(t["segments"]), tuple(t["countries"]), t["min_level"]),
        fulfillment_config=i["fulfillment_config"], shipping_address_required=i["shipping_address_required"],
        customer_info_required=i["customer_info_required"], redemption_message=i["redemption_message"],
        face_value=i["face_value"], face_currency=i["face_currency"], created_at=_parse_time(i["created_at"]),
        updated_at=_parse_time(i["updated_at"]), low_stock_threshold=i.get("low_stock_threshold"),
    )
    variant = _variant_from(raw["variant"]) if raw["variant"] else None
    p = raw["price"]
    return item, Offer(variant, Price(p["point_type"], int(p["amount"])))


# --- price locks and the sandbox ----------------------------------------------------------------------------

MAX_LOCK_SECONDS = 86_400
MAX_LOCK_ID_LENGTH = 64


def lock_seconds_of(seconds: int) -> int:
    """A quote's lock lasts at least a second and at most a day."""
    return max(1, min(seconds, MAX_LOCK_SECONDS))


def require_lock_id_length(lock_id: str) -> str:
    if len(lock_id) > MAX_LOCK_ID_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"price_lock_id is longer than {MAX_LOCK_ID_LENGTH} characters")
    return lock_id


def is_lock_id(value: str) -> bool:
    """Lock ids are UUIDs: anything else (a typo, a NUL byte PostgreSQL would refuse) is unknown, without a read."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def usable_price_lock(lock: PriceLock | None, lock_id: str, *, saga_id: str, player_id: str, item_id: str,
                      variant_id: str, point_type: str) -> PriceLock:
    """The lock a reservation of this saga may pay with, or the refusal that says why not. A lock this saga
    already holds is answered as it is (a retried reservation: its stored snapshot answers)."""
    if lock is None:
        raise DomainError(ErrorCode.QUOTE_NOT_FOUND, f"no quote {lock_id!r}")
    if lock.player_id != player_id:
        raise DomainError(ErrorCode.QUOTE_NOT_YOURS, "this quote was given to another player")
    if lock.saga_id == saga_id:
        return lock
    if lock.item_id != item_id:
        raise DomainError(ErrorCode.QUOTE_MISMATCH, f"this quote is for item {lock.item_id!r}, not {item_id!r}")
    if variant_id and variant_id != lock.variant_id:
        raise DomainError(ErrorCode.QUOTE_MISMATCH, f"this quote is for variant {lock.variant_id!r}")
    if point_type and point_type != lock.point_type:
        raise DomainError(ErrorCode.QUOTE_MISMATCH, f"this quote is in {lock.point_type!r}")
    if lock.saga_id is not None:
        raise DomainError(ErrorCode.QUOTE_ALREADY_USED, "this quote was used by another redemption")
    if lock.expired:
        raise DomainError(ErrorCode.QUOTE_EXPIRED,
                          f"this quote expired at {lock.expires_at.astimezone(UTC).isoformat()}; ask for a new one")
    return lock


# An item's forced fulfilment outcome (redemption-service's and fulfillment-service's sandbox.py) is for the sandbox.
SANDBOX_OUTCOME_KEY = "sandbox_outcome"


def require_sandbox_outcome_in_sandbox(environment: str, item: Item) -> None:
    if environment != "sandbox" and SANDBOX_OUTCOME_KEY in item.fulfillment_config:
        raise DomainError(ErrorCode.SANDBOX_ONLY,
                          "fulfillment_config.sandbox_outcome (a forced outcome) is for the sandbox only")
