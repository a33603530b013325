"""Stock levels: an item's own low-stock threshold (NULL: the LOW_STOCK_THRESHOLD setting), and the outbox of the
tenants' events the stock's crossings make (item.stock_low, item.out_of_stock; docs/events.md), written by the
statement that moves the stock and drained by the service's relay.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from service_kit.domain_events import EVENT_OUTBOX, create_event_outbox

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("low_stock_threshold", sa.BigInteger(), nullable=True))
    op.create_check_constraint("ck_items_low_stock_threshold_not_negative", "items", "low_stock_threshold >= 0")
    create_event_outbox(op)


def downgrade() -> None:
    op.drop_table(EVENT_OUTBOX)
    op.drop_constraint("ck_items_low_stock_threshold_not_negative", "items", type_="check")
    op.drop_column("items", "low_stock_threshold")
