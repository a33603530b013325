"""Review holds: a redemption the pivot held for review (status AWAITING_APPROVAL, its reason, the decision), and
the review rules of each tenant and item that the accept statement reads.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BEFORE = ("SUBMITTED", "OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED", "CANCELED",
           "FAILED")
_AFTER = (*_BEFORE, "AWAITING_APPROVAL")


def _status_check(statuses: tuple[str, ...]) -> None:
    op.drop_constraint("ck_redemptions_status_known", "redemptions", type_="check")
    op.create_check_constraint("ck_redemptions_status_known", "redemptions",
                               "status IN ('" + "', '".join(statuses) + "')")


def upgrade() -> None:
    op.add_column("redemptions", sa.Column("review_reason", sa.String(32), nullable=False, server_default=""))
    op.add_column("redemptions", sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("redemptions", sa.Column("review_decision", sa.String(16), nullable=False, server_default=""))
    op.add_column("redemptions", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("redemptions", sa.Column("review_note", sa.Text(), nullable=False, server_default=""))
    _status_check(_AFTER)
    op.create_index("ix_redemptions_held", "redemptions", ["held_at"],
                    postgresql_where=sa.text("status = 'AWAITING_APPROVAL'"))
    op.create_table(
        "review_rules",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("max_redemptions_per_hour", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost_over", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("player_younger_than_days", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("always_review", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "item_id", name="pk_review_rules"),
    )


def downgrade() -> None:
    """A redemption still held cannot be kept in the old statuses: downgrade after every hold is decided (the
    constraint refuses the downgrade otherwise, changing nothing)."""
    op.drop_table("review_rules")
    op.drop_index("ix_redemptions_held", table_name="redemptions")
    _status_check(_BEFORE)
    for column in ("review_note", "reviewed_at", "review_decision", "held_at", "review_reason"):
        op.drop_column("redemptions", column)
