"""A job may be voided: its redemption was canceled before delivery (or before the job arrived: a tombstone),
and nothing moves it any more.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("ck_jobs_state_known", "jobs", type_="check")
    op.create_check_constraint("ck_jobs_state_known", "jobs",
                               "state IN ('pending', 'running', 'waiting', 'succeeded', 'failed', 'voided')")


def downgrade() -> None:
    # A voided job had no outcome to keep: it reads as failed (its redemption was refunded).
    op.execute("UPDATE jobs SET state = 'failed' WHERE state = 'voided'")
    op.drop_constraint("ck_jobs_state_known", "jobs", type_="check")
    op.create_check_constraint("ck_jobs_state_known", "jobs",
                               "state IN ('pending', 'running', 'waiting', 'succeeded', 'failed')")
