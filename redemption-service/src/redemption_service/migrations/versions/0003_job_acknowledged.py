"""When fulfillment first acknowledged a redemption's job (any result, ACCEPTED included): the reconciler
re-publishes, and the backlog counts as overdue, only OPEN redemptions whose job was never acknowledged.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("redemptions", sa.Column("job_acknowledged_at", sa.DateTime(timezone=True), nullable=True))
    # A result applied before this revision acknowledged its job just the same.
    op.execute("UPDATE redemptions SET job_acknowledged_at = result_applied_at WHERE result_applied_at IS NOT NULL")


def downgrade() -> None:
    op.drop_column("redemptions", "job_acknowledged_at")
