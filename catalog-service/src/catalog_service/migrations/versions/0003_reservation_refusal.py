"""reservation_not_taken(): raises, so that the reservation's one statement undoes itself when it took nothing.

The reservation writes three rows in one statement (the saga's reservation, the player's count, a unit of stock),
each only when the one before it succeeded. When a later one takes nothing (the limit is reached, the stock is
gone, the definition changed), the rows written before it must go: raising inside the statement rolls all of it
back, so the statement runs on its own (autocommit, one round trip) instead of inside BEGIN .. COMMIT (three).
The error's SQLSTATE is ours (RW001), so it can never be mistaken for another failure.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION reservation_not_taken() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RAISE EXCEPTION 'reservation not taken' USING ERRCODE = 'RW001';
        END $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION reservation_not_taken()")
