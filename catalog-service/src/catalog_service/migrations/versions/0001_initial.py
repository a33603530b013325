"""Items, their prices and variants, per-player counts, reservations and stock adjustments.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str, **kw) -> sa.Column:  # type: ignore[no-untyped-def, type-arg]
    return sa.Column(name, sa.String(64, collation="C"), **kw)


def _scope() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("tenant_id", sa.String(64), primary_key=True),
            sa.Column("environment", sa.String(16), primary_key=True)]


def upgrade() -> None:
    op.create_table(
        "items",
        *_scope(),
        _id("id", primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("image_url", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("available_from", sa.DateTime(timezone=True)),
        sa.Column("available_until", sa.DateTime(timezone=True)),
        sa.Column("stock", sa.BigInteger),
        sa.Column("per_player_limit", sa.Integer, nullable=False, server_default="0"),
        sa.Column("targeting_private", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("target_segments", ARRAY(sa.String(64)), nullable=False, server_default="{}"),
        sa.Column("target_countries", ARRAY(sa.String(2)), nullable=False, server_default="{}"),
        sa.Column("target_min_level", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fulfillment_strategy", sa.String(16), nullable=False),
        sa.Column("fulfillment_config", JSONB, nullable=False, server_default="{}"),
        sa.Column("shipping_address_required", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("customer_info_required", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("redemption_message", sa.Text, nullable=False, server_default=""),
        sa.Column("face_value", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("face_currency", sa.String(8), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "id", name="pk_items"),
        sa.CheckConstraint("status IN ('draft', 'active', 'inactive', 'deleted')", name="ck_items_status_known"),
        sa.CheckConstraint("stock >= 0", name="ck_items_stock_not_negative"),
        sa.CheckConstraint("per_player_limit >= 0", name="ck_items_limit_not_negative"),
        sa.CheckConstraint("target_min_level >= 0", name="ck_items_min_level_not_negative"),
        sa.CheckConstraint("face_value >= 0", name="ck_items_face_value_not_negative"),
        sa.CheckConstraint(
            "available_until IS NULL OR available_from IS NULL OR available_until > available_from",
            name="ck_items_window_ordered"),
        sa.CheckConstraint(
            "fulfillment_strategy IN ('code_pool', 'webhook', 'physical', 'bonus', 'free_rounds', 'manual')",
            name="ck_items_strategy_known"),
        sa.CheckConstraint("fulfillment_strategy <> 'physical' OR shipping_address_required",
                           name="ck_items_physical_ships"),
    )
    op.create_table(
        "item_prices",
        *_scope(),
        _id("item_id", primary_key=True),
        sa.Column("point_type", sa.String(32), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "item_id", "point_type", name="pk_item_prices"),
        sa.CheckConstraint("amount > 0", name="ck_item_prices_amount_positive"),
        sa.ForeignKeyConstraint(["tenant_id", "environment", "item_id"],
                                ["items.tenant_id", "items.environment", "items.id"],
                                name="fk_item_prices_item", ondelete="CASCADE"),
    )
    op.create_table(
        "item_variants",
        *_scope(),
        _id("item_id", primary_key=True),
        _id("id", primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("rounds", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "item_id", "id", name="pk_item_variants"),
        sa.CheckConstraint("rounds >= 0", name="ck_item_variants_rounds_not_negative"),
        sa.ForeignKeyConstraint(["tenant_id", "environment", "item_id"],
                                ["items.tenant_id", "items.environment", "items.id"],
                                name="fk_item_variants_item", ondelete="CASCADE"),
    )
    op.create_table(
        "variant_prices",
        *_scope(),
        _id("item_id", primary_key=True),
        _id("variant_id", primary_key=True),
        sa.Column("point_type", sa.String(32), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "item_id", "variant_id", "point_type",
                                name="pk_variant_prices"),
        sa.CheckConstraint("amount > 0", name="ck_variant_prices_amount_positive"),
        sa.ForeignKeyConstraint(["tenant_id", "environment", "item_id", "variant_id"],
                                ["item_variants.tenant_id", "item_variants.environment", "item_variants.item_id",
                                 "item_variants.id"],
                                name="fk_variant_prices_variant", ondelete="CASCADE"),
    )
    op.create_table(
        "player_counts",
        *_scope(),
        _id("item_id", primary_key=True),
        sa.Column("player_id", sa.String(128), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "item_id", "player_id", name="pk_player_counts"),
        sa.CheckConstraint("count >= 0", name="ck_player_counts_count_not_negative"),
    )
    op.create_table(
        "reservations",
        *_scope(),
        sa.Column("saga_id", sa.String(200), primary_key=True),
        _id("item_id"),
        _id("variant_id"),
        sa.Column("player_id", sa.String(128)),
        sa.Column("point_type", sa.String(32)),
        sa.Column("price", sa.BigInteger),
        sa.Column("stock_counted", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("snapshot", JSONB),
        sa.Column("release_reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "saga_id", name="pk_reservations"),
        sa.CheckConstraint("state IN ('held', 'released')", name="ck_reservations_state_known"),
        sa.CheckConstraint(
            "state = 'released' OR (item_id IS NOT NULL AND player_id IS NOT NULL AND snapshot IS NOT NULL)",
            name="ck_reservations_held_is_complete"),
    )
    op.create_table(
        "stock_adjustments",
        *_scope(),
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        _id("item_id", nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("stock_after", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "idempotency_key", name="pk_stock_adjustments"),
        sa.CheckConstraint("delta <> 0", name="ck_stock_adjustments_delta_not_zero"),
    )


def downgrade() -> None:
    for table in ("stock_adjustments", "reservations", "player_counts", "variant_prices", "item_variants",
                  "item_prices", "items"):
        op.drop_table(table)
