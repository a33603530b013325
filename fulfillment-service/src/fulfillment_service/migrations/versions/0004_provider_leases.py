"""A provider attempt is a lease: the job row names the attempt that may call the provider now and until when,
so two replicas never call it at once for one job, and a dead replica's lease runs out.

Jobs `running` under an older version get no lease: the next delivery takes them, as it did before.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lease_holder", sa.String(128)))
    op.add_column("jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True)))
    op.create_check_constraint("ck_jobs_lease_complete", "jobs",
                               "(lease_holder IS NULL) = (lease_expires_at IS NULL)")


def downgrade() -> None:
    op.drop_constraint("ck_jobs_lease_complete", "jobs", type_="check")
    op.drop_column("jobs", "lease_expires_at")
    op.drop_column("jobs", "lease_holder")
