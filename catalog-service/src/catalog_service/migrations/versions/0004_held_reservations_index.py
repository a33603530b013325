"""ix_reservations_held: the held reservations of a player and item, for the invariant check (invariants.py).

The check compares each player's count with the reservations it counts; without this index each comparison would
read every reservation of the tenant. Partial (held only): released reservations, most of them in time, stay out.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reservations_held", "reservations", ["tenant_id", "environment", "item_id", "player_id"],
                    postgresql_where=text("state = 'held'"))


def downgrade() -> None:
    op.drop_index("ix_reservations_held", table_name="reservations")
