"""Point types, players, accounts and the ledger.

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
        "point_types",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(16), primary_key=True),
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scale", sa.Integer, nullable=False),
        sa.CheckConstraint("scale >= 0 AND scale <= 6", name="ck_point_types_scale_range"),
    )
    op.create_table(
        "players",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(16), primary_key=True),
        sa.Column("player_id", sa.String(128), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="ck_players_status_known"),
    )
    op.create_table(
        "accounts",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(16), primary_key=True),
        sa.Column("player_id", sa.String(128), primary_key=True),
        sa.Column("point_type", sa.String(32), primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("balance >= 0", name="ck_accounts_balance_not_negative"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "environment", "player_id"],
            ["players.tenant_id", "players.environment", "players.player_id"],
            name="fk_accounts_tenant_id",
        ),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("player_id", sa.String(128), nullable=False),
        sa.Column("point_type", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('grant', 'debit', 'refund', 'adjustment')", name="ck_ledger_entries_kind_known"),
        sa.CheckConstraint("amount <> 0", name="ck_ledger_entries_amount_not_zero"),
        sa.CheckConstraint("balance_after >= 0", name="ck_ledger_entries_balance_after_not_negative"),
        sa.UniqueConstraint("tenant_id", "environment", "kind", "reference", name="uq_ledger_movement"),
    )
    op.create_index("ix_ledger_player_newest", "ledger_entries", ["tenant_id", "environment", "player_id", "id"])


def downgrade() -> None:
    op.drop_table("ledger_entries")
    op.drop_table("accounts")
    op.drop_table("players")
    op.drop_table("point_types")
