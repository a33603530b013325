"""catalog-service tables. Stock and per-player counts change only in conditional statements; the database itself
refuses a negative one. Ids use the "C" collation so that their order (the order of ListItems pages) is bytewise
and does not depend on the server's locale."""

from __future__ import annotations

from service_kit.db import NAMING_CONVENTION
from service_kit.domain_events import event_outbox_table
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id(name: str, **kw) -> Column:  # type: ignore[no-untyped-def, type-arg]
    return Column(name, String(64, collation="C"), **kw)


items = Table(
    "items",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    _id("id", primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("image_url", Text, nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("available_from", DateTime(timezone=True)),
    Column("available_until", DateTime(timezone=True)),
    Column("stock", BigInteger),  # NULL: unlimited
    Column("per_player_limit", Integer, nullable=False, server_default="0"),
    Column("targeting_private", Boolean, nullable=False, server_default="false"),
    Column("target_segments", ARRAY(String(64)), nullable=False, server_default="{}"),
    Column("target_countries", ARRAY(String(2)), nullable=False, server_default="{}"),
    Column("target_min_level", Integer, nullable=False, server_default="0"),
    Column("fulfillment_strategy", String(16), nullable=False),
    Column("fulfillment_config", JSONB, nullable=False, server_default="{}"),
    Column("shipping_address_required", Boolean, nullable=False, server_default="false"),
    Column("customer_info_required", Boolean, nullable=False, server_default="false"),
    Column("redemption_message", Text, nullable=False, server_default=""),
    Column("face_value", BigInteger, nullable=False, server_default="0"),
    Column("face_currency", String(8), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Bumped by every change of the definition (fields, prices, variants, status, stock adjustments), in the
    # statement that makes it: what a cached definition is checked against (definitions.py).
    Column("revision", BigInteger, nullable=False, server_default="1"),
    # Counted stock below this is low (item.stock_low, the low gauge); NULL: LOW_STOCK_THRESHOLD (migration 0006).
    Column("low_stock_threshold", BigInteger),
    CheckConstraint("low_stock_threshold >= 0", name="low_stock_threshold_not_negative"),
    CheckConstraint("status IN ('draft', 'active', 'inactive', 'deleted')", name="status_known"),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("per_player_limit >= 0", name="limit_not_negative"),
    CheckConstraint("target_min_level >= 0", name="min_level_not_negative"),
    CheckConstraint("face_value >= 0", name="face_value_not_negative"),
    CheckConstraint("available_until IS NULL OR available_from IS NULL OR available_until > available_from",
                    name="window_ordered"),
    CheckConstraint("fulfillment_strategy IN ('code_pool', 'webhook', 'physical', 'bonus', 'free_rounds', 'manual')",
                    name="strategy_known"),
    CheckConstraint("fulfillment_strategy <> 'physical' OR shipping_address_required", name="physical_ships"),
)

# The item's own prices (the first, by position, is its default point type).
item_prices = Table(
    "item_prices",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    _id("item_id", primary_key=True),
    Column("point_type", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    ForeignKeyConstraint(["tenant_id", "environment", "item_id"],
                         ["items.tenant_id", "items.environment", "items.id"],
                         name="fk_item_prices_item", ondelete="CASCADE"),
)

item_variants = Table(
    "item_variants",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    _id("item_id", primary_key=True),
    _id("id", primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False, server_default=""),
    Column("rounds", Integer, nullable=False, server_default="0"),
    CheckConstraint("rounds >= 0", name="rounds_not_negative"),
    ForeignKeyConstraint(["tenant_id", "environment", "item_id"],
                         ["items.tenant_id", "items.environment", "items.id"],
                         name="fk_item_variants_item", ondelete="CASCADE"),
)

# A variant's own prices; a variant without any is sold at the item's prices.
variant_prices = Table(
    "variant_prices",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    _id("item_id", primary_key=True),
    _id("variant_id", primary_key=True),
    Column("point_type", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    ForeignKeyConstraint(["tenant_id", "environment", "item_id", "variant_id"],
                         ["item_variants.tenant_id", "item_variants.environment", "item_variants.item_id",
                          "item_variants.id"],
                         name="fk_variant_prices_variant", ondelete="CASCADE"),
)

# How many of an item a player holds (reserved and not released): what per_player_limit is checked against.
player_counts = Table(
    "player_counts",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    _id("item_id", primary_key=True),
    Column("player_id", String(128), primary_key=True),
    Column("count", Integer, nullable=False),
    CheckConstraint("count >= 0", name="count_not_negative"),
)

# One row per saga. 'held' rows took one unit of stock (when stock_counted) and one of the player's count;
# 'released' rows gave them back. A release of a saga never seen leaves a released row with no item (a
# tombstone), so a reserve of that saga arriving late is refused instead of holding stock forever.
reservations = Table(
    "reservations",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("saga_id", String(200), primary_key=True),
    _id("item_id"),
    _id("variant_id"),
    Column("player_id", String(128)),
    Column("point_type", String(32)),
    Column("price", BigInteger),
    Column("stock_counted", Boolean, nullable=False, server_default="false"),
    Column("state", String(16), nullable=False),
    # The item's definition (its stock left out: a retry answers today's), variant and price as reserved: what
    # a retry answers.
    Column("snapshot", JSONB),
    Column("release_reason", String(500), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("released_at", DateTime(timezone=True)),
    CheckConstraint("state IN ('held', 'released')", name="state_known"),
    CheckConstraint("state = 'released' OR (item_id IS NOT NULL AND player_id IS NOT NULL AND snapshot IS NOT NULL)",
                    name="held_is_complete"),
    # The held units of a player and item: what the invariant check counts against player_counts (migration 0004).
    Index("ix_reservations_held", "tenant_id", "environment", "item_id", "player_id",
          postgresql_where=text("state = 'held'")),
)

# Operator stock adjustments, one per idempotency key: a retried adjustment applies once.
stock_adjustments = Table(
    "stock_adjustments",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    _id("item_id", nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("stock_after", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("delta <> 0", name="delta_not_zero"),
)

# Price locks: the price and variant a quote gave a player for an item, until expires_at (domain.PriceLock). The
# saga that reserved with one holds it (saga_id); its release gives it back. Rows a day past their end are swept
# by the statement that writes new ones.
price_locks = Table(
    "price_locks",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("player_id", String(128), nullable=False),
    _id("item_id", nullable=False),
    _id("variant_id", nullable=False, server_default=""),
    Column("point_type", String(32), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("saga_id", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("price >= 0", name="price_not_negative"),
    Index("ix_price_locks_saga", "tenant_id", "environment", "saga_id", postgresql_where=text("saga_id IS NOT NULL")),
    Index("ix_price_locks_expires_at", "expires_at"),
)

# The tenants' domain events (item.stock_low, item.out_of_stock) waiting to be published by the relay
# (events.py), written by the statement that moves the stock (service_kit.domain_events; migration 0006).
event_outbox = event_outbox_table(metadata)
