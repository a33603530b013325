"""saga_outcomes: one row per saga, written by whichever of its debit and its refund settles it first.

The debit and the refund of a saga used to meet on a transaction-scoped advisory lock, which cost a BEGIN, the
lock and a COMMIT around every debit. They now meet on this table's primary key: the debit writes 'debited' in
the same statement that takes the points, a refund that finds no debit writes 'given_up' beside its tombstone.
A unique index sees rows committed after a statement's snapshot (and waits for ones still in flight), so the
second of the two always loses: a late debit of a given-up saga is refused, a refund racing its debit waits for
it and gives the points back.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saga_outcomes",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(16), primary_key=True),
        sa.Column("saga_id", sa.String(200), primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "saga_id", name="pk_saga_outcomes"),
        sa.CheckConstraint("outcome IN ('debited', 'given_up')", name="ck_saga_outcomes_outcome_known"),
    )
    # Sagas settled before this revision, so that a refund of an older debit finds it here.
    op.execute(
        """
        INSERT INTO saga_outcomes (tenant_id, environment, saga_id, outcome, created_at)
        SELECT tenant_id, environment, reference, 'debited', created_at FROM ledger_entries WHERE kind = 'debit'
        UNION ALL
        SELECT tenant_id, environment, saga_id, 'given_up', created_at FROM saga_tombstones
        """
    )


def downgrade() -> None:
    op.drop_table("saga_outcomes")
