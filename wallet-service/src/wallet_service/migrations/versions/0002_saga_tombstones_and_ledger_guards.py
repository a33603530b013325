"""Saga tombstones, and guards that keep the ledger honest.

- saga_tombstones: a refund that found no debit marks the saga, so a late debit of it is refused.
- ledger_entries is append-only in the database itself: a trigger refuses UPDATE and DELETE.
- every ledger row belongs to an account, every account to a defined point type.
- an index for a player's entries of one point type, newest first.

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
    op.create_table(
        "saga_tombstones",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(16), primary_key=True),
        sa.Column("saga_id", sa.String(200), primary_key=True),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "saga_id", name="pk_saga_tombstones"),
    )
    op.create_foreign_key(
        "fk_accounts_point_type", "accounts", "point_types",
        ["tenant_id", "environment", "point_type"], ["tenant_id", "environment", "code"],
    )
    op.create_foreign_key(
        "fk_ledger_entries_account", "ledger_entries", "accounts",
        ["tenant_id", "environment", "player_id", "point_type"],
        ["tenant_id", "environment", "player_id", "point_type"],
    )
    op.create_index("ix_ledger_account_newest", "ledger_entries",
                    ["tenant_id", "environment", "player_id", "point_type", "id"])
    op.execute(
        """
        CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER ledger_entries_append_only
        BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()
        """
    )
    op.execute(
        """
        CREATE TRIGGER ledger_entries_no_truncate
        BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER ledger_entries_no_truncate ON ledger_entries")
    op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
    op.execute("DROP FUNCTION ledger_entries_append_only()")
    op.drop_index("ix_ledger_account_newest", table_name="ledger_entries")
    op.drop_constraint("fk_ledger_entries_account", "ledger_entries", type_="foreignkey")
    op.drop_constraint("fk_accounts_point_type", "accounts", type_="foreignkey")
    op.drop_table("saga_tombstones")
