"""The events of one redemption, in log order (GET /v1/events?redemptionId=, the console's story of a
redemption): an index on the redemption id the payload carries, only over the events that carry one.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_events_scope_redemption_seq ON events "
               "(tenant_id, environment, (data->>'redemption_id'), seq) WHERE data ? 'redemption_id'")


def downgrade() -> None:
    op.drop_index("ix_events_scope_redemption_seq", table_name="events")
