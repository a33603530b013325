"""The per-step journal goes: recovery never read it (it compensates every compensable step of a stale saga, each
harmless where its step never landed), and writing it cost a round trip per step of every redemption. The saga's
record is its `sagas` row, written by the accept and the pivot.

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
    op.drop_table("saga_steps")


def downgrade() -> None:
    op.create_table(
        "saga_steps",
        sa.Column("saga_id", sa.String(36), sa.ForeignKey("sagas.id", name="fk_saga_steps_saga_id"), primary_key=True),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("state IN ('started', 'done', 'compensated')", name="ck_saga_steps_state_known"),
    )
