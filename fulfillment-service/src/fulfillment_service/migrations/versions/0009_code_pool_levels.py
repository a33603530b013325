"""Code pool levels: one row per item's pool (tenant, environment, item) with its own low threshold (NULL: the
LOW_POOL_THRESHOLD setting) and which redemption's claim told the pool low and exhausted (code_pool.low,
code_pool.exhausted; docs/events.md), so each crossing is told once; an upload that refills the pool clears them.
The pools that exist get their row now.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_pools",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("low_threshold", sa.BigInteger()),
        sa.Column("low_told_by", sa.String(128)),
        sa.Column("exhausted_told_by", sa.String(128)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "item_id", name="pk_code_pools"),
        sa.CheckConstraint("low_threshold >= 0", name="ck_code_pools_low_threshold_not_negative"),
    )
    op.execute("INSERT INTO code_pools (tenant_id, environment, item_id) "
               "SELECT DISTINCT tenant_id, environment, item_id FROM code_pool")


def downgrade() -> None:
    op.drop_table("code_pools")
