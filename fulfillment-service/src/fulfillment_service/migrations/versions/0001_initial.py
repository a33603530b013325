"""Jobs, code pools, the results outbox and processed job events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("redemption_id", sa.String(128), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("job_event_id", sa.String(128), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("result_outcome", sa.String(32)),
        sa.Column("result_data", sa.Text, nullable=False, server_default=""),
        sa.Column("result_event_id", sa.String(128)),
        sa.Column("result_sequence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "redemption_id", name="pk_jobs"),
        sa.CheckConstraint("state IN ('pending', 'running', 'waiting', 'succeeded', 'failed')",
                           name="ck_jobs_state_known"),
        sa.CheckConstraint("attempts >= 0", name="ck_jobs_attempts_not_negative"),
    )
    op.create_index("ix_jobs_listing", "jobs", ["tenant_id", "environment", "created_at", "redemption_id"])

    op.create_table(
        "code_pool",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("code_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("pin_encrypted", sa.LargeBinary),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("assigned_to", sa.String(128)),
        sa.Column("assigned_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_code_pool"),
        sa.UniqueConstraint("tenant_id", "environment", "item_id", "code_hash", name="uq_code_pool_code"),
        sa.UniqueConstraint("tenant_id", "environment", "assigned_to", name="uq_code_pool_assigned_to"),
        sa.CheckConstraint("(assigned_to IS NULL) = (assigned_at IS NULL)",
                           name="ck_code_pool_assignment_complete"),
    )
    op.create_index("ix_code_pool_available", "code_pool", ["tenant_id", "environment", "item_id", "id"],
                    postgresql_where=sa.text("assigned_to IS NULL"))

    op.create_table(
        "outbox",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("event_id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["created_at"],
                    postgresql_where=sa.text("published_at IS NULL"))

    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("event_id", name="pk_processed_events"),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("outbox")
    op.drop_table("code_pool")
    op.drop_table("jobs")
