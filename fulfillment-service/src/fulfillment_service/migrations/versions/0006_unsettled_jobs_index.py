"""ix_jobs_unsettled: the jobs without an outcome yet (pending, running, waiting), by strategy and state, for the
gauges sampled every 15 s (metrics.py): they count these through the index instead of reading every job ever made.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
from sqlalchemy import text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_unsettled", "jobs", ["strategy", "state"],
                    postgresql_where=text("state IN ('pending', 'running', 'waiting')"))


def downgrade() -> None:
    op.drop_index("ix_jobs_unsettled", table_name="jobs")
