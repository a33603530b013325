"""ix_code_pool_available carries expires_at (INCLUDE): the pool gauges sampled every 15 s (metrics.py) count a
pool's usable codes, and the claim skips expired ones, from the index alone instead of a heap visit per code.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
from sqlalchemy import text

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new index is built before the old one goes, so the claim always has one.
    op.create_index("ix_code_pool_available_v2", "code_pool", ["tenant_id", "environment", "item_id", "id"],
                    postgresql_where=text("assigned_to IS NULL"), postgresql_include=["expires_at"])
    op.drop_index("ix_code_pool_available", table_name="code_pool")
    op.execute("ALTER INDEX ix_code_pool_available_v2 RENAME TO ix_code_pool_available")


def downgrade() -> None:
    op.drop_index("ix_code_pool_available", table_name="code_pool")
    op.create_index("ix_code_pool_available", "code_pool", ["tenant_id", "environment", "item_id", "id"],
                    postgresql_where=text("assigned_to IS NULL"))
