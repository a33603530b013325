"""A tenant's optional brand id: the integer seed 001's clients put in their paths (/redeem/{version}/{brand_id}).

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
    op.add_column("tenants", sa.Column("brand_id", sa.Integer, nullable=True))
    # Unique: a brand id names exactly one tenant. NULLs (tenants without a brand) do not collide.
    op.create_unique_constraint("uq_tenants_brand_id", "tenants", ["brand_id"])
    op.create_check_constraint("ck_tenants_brand_id_not_negative", "tenants", "brand_id >= 0")


def downgrade() -> None:
    op.drop_constraint("ck_tenants_brand_id_not_negative", "tenants", type_="check")
    op.drop_constraint("uq_tenants_brand_id", "tenants", type_="unique")
    op.drop_column("tenants", "brand_id")
