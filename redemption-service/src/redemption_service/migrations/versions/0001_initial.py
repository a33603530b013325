"""Redemptions, the saga log, idempotency keys and the outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = ("SUBMITTED", "OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED", "CANCELED",
            "FAILED")


def upgrade() -> None:
    op.create_table(
        "redemptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("player_id", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("variant_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("rounds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("point_type", sa.String(32), nullable=False, server_default=""),
        sa.Column("cost", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("point_scale", sa.Integer, nullable=False, server_default="0"),
        sa.Column("item_name", sa.String(300), nullable=False, server_default=""),
        sa.Column("item_image_url", sa.String(2000), nullable=False, server_default=""),
        sa.Column("face_value", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("face_currency", sa.String(8), nullable=False, server_default=""),
        sa.Column("fulfillment_strategy", sa.String(32), nullable=False, server_default=""),
        sa.Column("fulfillment_config", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("redemption_message", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("delivery_status", sa.String(16), nullable=False, server_default=""),
        sa.Column("failure_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("failure_message", sa.Text, nullable=False, server_default=""),
        sa.Column("fulfillment", JSONB, nullable=True),
        sa.Column("debit_transaction_id", sa.BigInteger, nullable=True),
        sa.Column("balance_after", sa.BigInteger, nullable=True),
        sa.Column("shipping_address", JSONB, nullable=True),
        sa.Column("customer_info", JSONB, nullable=True),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("trigger_source", sa.String(64), nullable=False, server_default="MANUAL"),
        sa.Column("trigger_details", JSONB, nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("number", name="uq_redemptions_number"),
        sa.CheckConstraint("status IN ('" + "', '".join(STATUSES) + "')", name="ck_redemptions_status_known"),
        sa.CheckConstraint("delivery_status IN ('', 'PENDING', 'SHIPPED', 'DELIVERED')",
                           name="ck_redemptions_delivery_status_known"),
        sa.CheckConstraint("cost >= 0", name="ck_redemptions_cost_not_negative"),
    )
    op.create_index("ix_redemptions_scope_newest", "redemptions",
                    ["tenant_id", "environment", "created_at", "number"])
    op.create_index("ix_redemptions_player_newest", "redemptions",
                    ["tenant_id", "environment", "player_id", "created_at", "number"])

    op.create_table(
        "sagas",
        sa.Column("id", sa.String(36), sa.ForeignKey("redemptions.id", name="fk_sagas_id"), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "state IN ('running', 'compensating', 'failed', 'confirmed', 'canceling', 'canceled')",
            name="ck_sagas_state_known"),
    )
    op.create_index("ix_sagas_unfinished", "sagas", ["updated_at"],
                    postgresql_where=sa.text("state IN ('running', 'compensating', 'canceling')"))

    op.create_table(
        "saga_steps",
        sa.Column("saga_id", sa.String(36), sa.ForeignKey("sagas.id", name="fk_saga_steps_saga_id"),
                  primary_key=True),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("state IN ('started', 'done', 'compensated')", name="ck_saga_steps_state_known"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("player_id", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("redemption_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
    op.drop_table("saga_steps")
    op.drop_table("sagas")
    op.drop_table("redemptions")
