"""Each outbox row keeps the W3C trace context (traceparent, tracestate) and the request id of the request that
wrote it, so the event goes out with them as NATS headers and the fulfillment consumer's span joins the
redemption's trace (service_kit.tracing). NULL: nothing to carry (tracing off and no request id, or a row written
before this migration).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("trace_context", postgresql.JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "trace_context")
