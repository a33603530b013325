"""A key whose redemption FAILED with nothing charged is released (`idempotency_keys.released_at`): a retry with
the same key, player and body is processed afresh instead of replaying the failure. The failed attempt keeps its
redemptions row; the key then names the newest attempt. redemptions has no unique index on its key, so several
attempts of one key may stand side by side.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotency_keys", "released_at")
