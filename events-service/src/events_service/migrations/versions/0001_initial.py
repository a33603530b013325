"""The event log: one row per event (unique on its id), per tenant and environment, in the order received.
Append-only: a trigger refuses UPDATE (the retention purge is the only DELETE).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_scope_seq", "events", ["tenant_id", "environment", "seq"])
    op.create_index("ix_events_scope_type_seq", "events", ["tenant_id", "environment", "type", "seq"])
    op.create_index("ix_events_received_at", "events", ["received_at"])
    op.execute("""
        CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the event log is append-only';
        END $$""")
    op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE ON events "
               "FOR EACH ROW EXECUTE FUNCTION events_append_only()")


def downgrade() -> None:
    op.execute("DROP TRIGGER events_append_only ON events")
    op.execute("DROP FUNCTION events_append_only()")
    op.drop_table("events")
