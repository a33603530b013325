"""The tenants' domain events (points granted, adjusted) get their own outbox table,
written by the statement that makes each change and drained by the service's one relay (docs/events.md).

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from service_kit.domain_events import EVENT_OUTBOX, create_event_outbox

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_outbox(op)


def downgrade() -> None:
    op.drop_table(EVENT_OUTBOX)
