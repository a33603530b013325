"""When an outbox row may be published. A code-pool job is fulfilled inline by Redeem (a direct call to
fulfillment-service); its row waits a grace period, so the relay sends it only when the inline call failed or its
process died before marking the row as done.

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
    op.add_column("outbox", sa.Column("available_at", sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.func.now()))


def downgrade() -> None:
    op.drop_column("outbox", "available_at")
