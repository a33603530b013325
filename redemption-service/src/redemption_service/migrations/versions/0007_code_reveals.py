"""Codes and PINs are sealed in `redemptions.fulfillment` (`sealed_code`, `sealed_pin`; see codes.py), and every
reveal of one is recorded in `code_reveals`, append-only in the database itself: a trigger refuses UPDATE, DELETE
and TRUNCATE, as the wallet's ledger does.

Rows written before hold `code`/`pin` in clear; sealing needs CODE_ENCRYPTION_KEYS, which a migration does not
have, so the service seals them at start (reseal.seal_codes_in_clear), finding them through the partial index
`ix_redemptions_plaintext_code` (empty once they are sealed).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_reveals",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("redemption_id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("viewer", sa.String(16), nullable=False),
        sa.Column("viewer_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("viewer IN ('player', 'backend')", name="ck_code_reveals_viewer_known"),
        sa.CheckConstraint("action IN ('redeem', 'get', 'list')", name="ck_code_reveals_action_known"),
        sa.PrimaryKeyConstraint("id", name="pk_code_reveals"),
    )
    op.create_index("ix_code_reveals_scope", "code_reveals", ["tenant_id", "environment", "id"])
    op.create_index("ix_code_reveals_redemption", "code_reveals", ["tenant_id", "environment", "redemption_id", "id"])
    op.execute("""
        CREATE FUNCTION code_reveals_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'code_reveals is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END;
        $$""")
    op.execute("""
        CREATE TRIGGER code_reveals_append_only
        BEFORE UPDATE OR DELETE ON code_reveals
        FOR EACH ROW EXECUTE FUNCTION code_reveals_append_only()""")
    op.execute("""
        CREATE TRIGGER code_reveals_no_truncate
        BEFORE TRUNCATE ON code_reveals
        FOR EACH STATEMENT EXECUTE FUNCTION code_reveals_append_only()""")
    op.create_index("ix_redemptions_plaintext_code", "redemptions", ["id"],
                    postgresql_where=sa.text("fulfillment ?| array['code', 'pin']"))


def downgrade() -> None:
    op.drop_index("ix_redemptions_plaintext_code", table_name="redemptions")
    op.execute("DROP TRIGGER code_reveals_no_truncate ON code_reveals")
    op.execute("DROP TRIGGER code_reveals_append_only ON code_reveals")
    op.execute("DROP FUNCTION code_reveals_append_only()")
    op.drop_table("code_reveals")
