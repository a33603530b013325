"""point_lots and lot_takes: points held in lots, each with its own expiry; a point type's default lifetime.

A grant (or a positive adjustment) makes a lot, or joins the account's lot of the same expiry; a debit (or a negative adjustment) takes from the lots that expire
first and records in lot_takes which lots gave how much, so that its refund gives the points back to the same
lots; the expiry sweep moves a lapsed lot's points out with an `expire` ledger entry, so that every balance still
equals the sum of its ledger and the sum of its lots.

Existing balances become one never-expiring lot per account. Its `granted` also counts the debits not refunded
yet, and those debits are recorded as taken from it, so that their refunds (after this revision) find their lot.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("point_types", sa.Column("lifetime_seconds", sa.BigInteger, nullable=False, server_default="0"))
    op.execute("ALTER TABLE point_types ADD CONSTRAINT ck_point_types_lifetime_not_negative"
               " CHECK (lifetime_seconds >= 0)")
    # Named by the models' convention from here on (0001's name had the table's prefix twice).
    op.drop_constraint("ck_ledger_entries_kind_known", "ledger_entries", type_="check")
    op.execute("ALTER TABLE ledger_entries ADD CONSTRAINT ck_ledger_entries_kind_known"
               " CHECK (kind IN ('grant', 'debit', 'refund', 'adjustment', 'expire'))")
    op.create_table(
        "point_lots",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("player_id", sa.String(128), nullable=False),
        sa.Column("point_type", sa.String(32), nullable=False),
        sa.Column("granted", sa.BigInteger, nullable=False),
        sa.Column("remaining", sa.BigInteger, nullable=False),
        sa.Column("expired", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_reference", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_point_lots"),
        sa.CheckConstraint("granted > 0", name=op.f("ck_point_lots_granted_positive")),
        sa.CheckConstraint("remaining >= 0 AND remaining <= granted", name=op.f("ck_point_lots_remaining_in_range")),
        sa.CheckConstraint("expired >= 0 AND expired <= granted", name=op.f("ck_point_lots_expired_in_range")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "environment", "player_id", "point_type"],
            ["accounts.tenant_id", "accounts.environment", "accounts.player_id", "accounts.point_type"],
            name=op.f("fk_point_lots_account")),
    )
    # One lot per account and expiry (NULL, never, included): a credit with an expiry the account already has
    # joins that lot, so a player granted points every day holds one never-expiring lot, not thousands.
    op.execute("CREATE UNIQUE INDEX uq_point_lots_expiry ON point_lots"
               " (tenant_id, environment, player_id, point_type, expires_at) NULLS NOT DISTINCT")
    # The lots a debit may take from, in the order it takes them; and the lapsed lots the sweep looks for.
    op.create_index("ix_point_lots_spendable", "point_lots",
                    ["tenant_id", "environment", "player_id", "point_type", "expires_at", "id"],
                    postgresql_where=sa.text("remaining > 0"))
    op.create_index("ix_point_lots_lapsing", "point_lots", ["expires_at"],
                    postgresql_where=sa.text("remaining > 0 AND expires_at IS NOT NULL"))
    op.create_table(
        "lot_takes",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("lot_id", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "kind", "reference", "lot_id", name="pk_lot_takes"),
        sa.CheckConstraint("amount > 0", name=op.f("ck_lot_takes_amount_positive")),
        sa.CheckConstraint("kind IN ('debit', 'adjustment')", name=op.f("ck_lot_takes_kind_known")),
        sa.ForeignKeyConstraint(["lot_id"], ["point_lots.id"], name=op.f("fk_lot_takes_lot")),
    )
    op.create_index("ix_lot_takes_lot", "lot_takes", ["lot_id"])
    op.execute(
        """
        WITH outstanding AS (
            SELECT d.tenant_id, d.environment, d.player_id, d.point_type, -SUM(d.amount) AS amount
              FROM ledger_entries d
             WHERE d.kind = 'debit' AND NOT EXISTS (
                   SELECT FROM ledger_entries r WHERE r.tenant_id = d.tenant_id AND r.environment = d.environment
                      AND r.kind = 'refund' AND r.reference = d.reference)
             GROUP BY d.tenant_id, d.environment, d.player_id, d.point_type
        )
        INSERT INTO point_lots (tenant_id, environment, player_id, point_type, granted, remaining, source_kind,
                                source_reference)
        SELECT a.tenant_id, a.environment, a.player_id, a.point_type, a.balance + COALESCE(o.amount, 0),
               a.balance, 'migration', '0005'
          FROM accounts a LEFT JOIN outstanding o USING (tenant_id, environment, player_id, point_type)
         WHERE a.balance + COALESCE(o.amount, 0) > 0
        """
    )
    op.execute(
        """
        INSERT INTO lot_takes (tenant_id, environment, kind, reference, lot_id, amount)
        SELECT d.tenant_id, d.environment, 'debit', d.reference, l.id, -d.amount
          FROM ledger_entries d
          JOIN point_lots l ON l.tenant_id = d.tenant_id AND l.environment = d.environment
                           AND l.player_id = d.player_id AND l.point_type = d.point_type
                           AND l.source_kind = 'migration'
         WHERE d.kind = 'debit' AND NOT EXISTS (
               SELECT FROM ledger_entries r WHERE r.tenant_id = d.tenant_id AND r.environment = d.environment
                  AND r.kind = 'refund' AND r.reference = d.reference)
        """
    )


def downgrade() -> None:
    op.drop_table("lot_takes")
    op.drop_table("point_lots")
    op.drop_constraint(op.f("ck_ledger_entries_kind_known"), "ledger_entries", type_="check")
    # The ledger is append-only: `expire` rows written meanwhile stay, so the old rule holds for new rows only.
    op.execute("ALTER TABLE ledger_entries ADD CONSTRAINT ck_ledger_entries_ck_ledger_entries_kind_known"
               " CHECK (kind IN ('grant', 'debit', 'refund', 'adjustment')) NOT VALID")
    op.drop_constraint(op.f("ck_point_types_lifetime_not_negative"), "point_types", type_="check")
    op.drop_column("point_types", "lifetime_seconds")
