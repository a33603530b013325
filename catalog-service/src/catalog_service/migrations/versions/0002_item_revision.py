"""items.revision: a number every change of an item's definition bumps (its fields, prices, variants, status).

A replica keeps item definitions in memory to spare a reservation the reads of the item, its prices and its
variants; the reservation's write names the revision it decided on, so a definition changed since can never
sell at a stale price (see catalog_service/definitions.py).

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
    op.add_column("items", sa.Column("revision", sa.BigInteger, nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("items", "revision")
