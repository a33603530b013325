"""Jobs remember a shipment's delivery status and tracking number and a provider's reference; callbacks find
a job by redemption id alone.

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
    op.add_column("jobs", sa.Column("delivery_status", sa.String(16), nullable=False, server_default=""))
    op.add_column("jobs", sa.Column("tracking_number", sa.String(128), nullable=False, server_default=""))
    op.add_column("jobs", sa.Column("provider_reference", sa.String(256), nullable=False, server_default=""))
    op.create_check_constraint("ck_jobs_delivery_status_known", "jobs",
                               "delivery_status IN ('', 'pending', 'shipped', 'delivered')")
    op.create_index("ix_jobs_redemption_id", "jobs", ["redemption_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_redemption_id", "jobs")
    op.drop_constraint("ck_jobs_delivery_status_known", "jobs", type_="check")
    op.drop_column("jobs", "provider_reference")
    op.drop_column("jobs", "tracking_number")
    op.drop_column("jobs", "delivery_status")
