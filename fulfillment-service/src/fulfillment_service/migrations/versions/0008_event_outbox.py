"""The tenants' domain events (a shipment shipped or delivered, a job waiting for an operator) get their own outbox table,
written by the statement that makes each change and drained by the service's one relay (docs/events.md).

Revision ID: 0008
Revises: 0007
"""

from alembic import op
from service_kit.domain_events import EVENT_OUTBOX, create_event_outbox

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_outbox(op)


def downgrade() -> None:
    op.drop_table(EVENT_OUTBOX)
