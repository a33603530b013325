"""price_locks: the price and variant a quote locked for a player (catalog_service/price_locks.py).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_locks",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("player_id", sa.String(128), nullable=False),
        sa.Column("item_id", sa.String(64, collation="C"), nullable=False),
        sa.Column("variant_id", sa.String(64, collation="C"), nullable=False, server_default=""),
        sa.Column("point_type", sa.String(32), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saga_id", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("price >= 0", name="ck_price_locks_price_not_negative"),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "id", name="pk_price_locks"),
    )
    op.create_index("ix_price_locks_saga", "price_locks", ["tenant_id", "environment", "saga_id"],
                    postgresql_where=text("saga_id IS NOT NULL"))
    op.create_index("ix_price_locks_expires_at", "price_locks", ["expires_at"])


def downgrade() -> None:
    op.drop_table("price_locks")
