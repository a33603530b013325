"""The rate limit's shared token buckets: one row per client credential (its digest), the tokens it had at `at`
(the database's clock, so every gateway replica refills it alike). Each replica adds what it admitted in batches
(gateway/rate_limit.py); rows of clients idle long enough to be full again are deleted.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("client", postgresql.BYTEA, primary_key=True),
        sa.Column("tokens", sa.Float(precision=53), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    # The prune reads the rows not refilled for a while first.
    op.create_index("ix_rate_limit_buckets_at", "rate_limit_buckets", ["at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_buckets_at", "rate_limit_buckets")
    op.drop_table("rate_limit_buckets")
