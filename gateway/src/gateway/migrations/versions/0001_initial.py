"""Tenants, API clients, API keys and token signing keys.

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
        "tenants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    for table, secret_column in (("api_clients", "secret_hash"), ("api_keys", "key_hash")):
        id_column = "client_id" if table == "api_clients" else "key_id"
        extra = [sa.Column("secret_rotated_at", sa.DateTime(timezone=True))] if table == "api_clients" else []
        op.create_table(
            table,
            sa.Column(id_column, sa.String(64), primary_key=True),
            sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id", name=f"fk_{table}_tenant_id"),
                      nullable=False),
            sa.Column("environment", sa.String(16), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column(secret_column, sa.String(64), nullable=False),
            sa.Column("admin", sa.Boolean, nullable=False, server_default="false"),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
            *extra,
            sa.Column("revoked_at", sa.DateTime(timezone=True)),
            sa.CheckConstraint("environment IN ('live', 'sandbox')", name=f"ck_{table}_environment_known"),
        )
        op.create_index(f"ix_{table}_tenant", table, ["tenant_id", "environment"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('active', 'verifying', 'retired')", name="ck_signing_keys_status_known"),
        sa.CheckConstraint("status = 'retired' OR length(secret) >= 32", name="ck_signing_keys_secret_present"),
    )
    op.create_index("uq_signing_keys_one_active", "signing_keys", ["status"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_table("signing_keys")
    op.drop_table("api_keys")
    op.drop_table("api_clients")
    op.drop_table("tenants")
