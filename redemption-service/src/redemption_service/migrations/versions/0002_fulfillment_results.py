"""Fulfillment results: the processed result events, the newest result applied to each redemption, when its job
was last (re)published, and which redemption each outbox row belongs to.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("redemptions", sa.Column("result_sequence", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("redemptions", sa.Column("result_applied_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("redemptions", sa.Column("job_published_at", sa.DateTime(timezone=True), nullable=True))
    # Redemptions confirmed before this revision: their job went out around their last change. At worst the
    # reconciler asks fulfillment once more, which it answers idempotently.
    op.execute("UPDATE redemptions SET job_published_at = updated_at WHERE status NOT IN ('SUBMITTED', 'FAILED')")
    op.create_index("ix_redemptions_open_jobs", "redemptions", ["job_published_at"],
                    postgresql_where=sa.text("status = 'OPEN'"))

    op.add_column("outbox", sa.Column("redemption_id", sa.String(36), nullable=True))
    op.create_index("ix_outbox_unpublished_redemption", "outbox", ["redemption_id"],
                    postgresql_where=sa.text("published_at IS NULL"))

    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("redemption_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished_redemption", table_name="outbox")
    op.drop_column("outbox", "redemption_id")
    op.drop_index("ix_redemptions_open_jobs", table_name="redemptions")
    op.drop_column("redemptions", "job_published_at")
    op.drop_column("redemptions", "result_applied_at")
    op.drop_column("redemptions", "result_sequence")
