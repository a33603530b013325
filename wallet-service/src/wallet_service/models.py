"""wallet-service tables. Balances are integers in minor units; the database itself refuses a negative one."""

from __future__ import annotations

from service_kit.db import NAMING_CONVENTION
from service_kit.domain_events import event_outbox_table
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
)

metadata = MetaData(naming_convention=NAMING_CONVENTION)

point_types = Table(
    "point_types",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("scale", Integer, nullable=False),
    # A grant that names no expiry makes a lot that expires this many seconds later; 0: never (migration 0005).
    Column("lifetime_seconds", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("scale >= 0 AND scale <= 6", name="scale_range"),
    CheckConstraint("lifetime_seconds >= 0", name="lifetime_not_negative"),
)

players = Table(
    "players",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("player_id", String(128), primary_key=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('active', 'suspended')", name="status_known"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("player_id", String(128), primary_key=True),
    Column("point_type", String(32), primary_key=True),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    ForeignKeyConstraint(
        ["tenant_id", "environment", "player_id"],
        ["players.tenant_id", "players.environment", "players.player_id"],
    ),
    ForeignKeyConstraint(
        ["tenant_id", "environment", "point_type"],
        ["point_types.tenant_id", "point_types.environment", "point_types.code"],
        name="fk_accounts_point_type",
    ),
)

# Append-only: rows are inserted, never updated or deleted (a trigger refuses both, migration 0002). A movement
# is unique per (scope, kind, reference), which is what makes grants and adjustments (by idempotency key) and
# debits and refunds (by saga id) idempotent. Every row belongs to an account: balance == SUM(amount).
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("player_id", String(128), nullable=False),
    Column("point_type", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("reference", String(200), nullable=False),
    Column("description", String(500), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('grant', 'debit', 'refund', 'adjustment', 'expire')", name="kind_known"),
    CheckConstraint("amount <> 0", name="amount_not_zero"),
    CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    UniqueConstraint("tenant_id", "environment", "kind", "reference", name="uq_ledger_movement"),
    ForeignKeyConstraint(
        ["tenant_id", "environment", "player_id", "point_type"],
        ["accounts.tenant_id", "accounts.environment", "accounts.player_id", "accounts.point_type"],
        name="fk_ledger_entries_account",
    ),
    Index("ix_ledger_player_newest", "tenant_id", "environment", "player_id", "id"),
    Index("ix_ledger_account_newest", "tenant_id", "environment", "player_id", "point_type", "id"),
)

# The points of an account, in lots (migration 0005): a grant or a positive adjustment makes one, with the grant's
# expiry (NULL: never), or adds to the account's lot of that same expiry (one lot per account and expiry). A debit or a negative adjustment takes from the spendable lots that expire first (lot_takes
# says which gave how much); a refund gives the points back to those lots; the sweep moves a lapsed lot's
# remaining points to `expired`, beside an `expire` ledger entry. Per account: balance == SUM(remaining). Every
# writer of an account's lots locks the account's row first.
point_lots = Table(
    "point_lots",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("player_id", String(128), nullable=False),
    Column("point_type", String(32), nullable=False),
    Column("granted", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("expired", BigInteger, nullable=False, server_default="0"),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("source_kind", String(16), nullable=False),          # of its first credit: grant, adjustment, migration
    Column("source_reference", String(200), nullable=False),    # the first credit's idempotency key
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("granted > 0", name="granted_positive"),
    CheckConstraint("remaining >= 0 AND remaining <= granted", name="remaining_in_range"),
    CheckConstraint("expired >= 0 AND expired <= granted", name="expired_in_range"),
    ForeignKeyConstraint(
        ["tenant_id", "environment", "player_id", "point_type"],
        ["accounts.tenant_id", "accounts.environment", "accounts.player_id", "accounts.point_type"],
        name="fk_point_lots_account",
    ),
    Index("uq_point_lots_expiry", "tenant_id", "environment", "player_id", "point_type", "expires_at", unique=True,
          postgresql_nulls_not_distinct=True),
    Index("ix_point_lots_spendable", "tenant_id", "environment", "player_id", "point_type", "expires_at", "id",
          postgresql_where=text("remaining > 0")),
    Index("ix_point_lots_lapsing", "expires_at", postgresql_where=text("remaining > 0 AND expires_at IS NOT NULL")),
)

# What each debit (by saga id) and negative adjustment (by idempotency key) took from which lot: a refund gives
# exactly these amounts back to these lots. Written once, beside the movement's ledger entry.
lot_takes = Table(
    "lot_takes",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("reference", String(200), primary_key=True),
    Column("lot_id", BigInteger, primary_key=True),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("kind IN ('debit', 'adjustment')", name="kind_known"),
    ForeignKeyConstraint(["lot_id"], ["point_lots.id"], name="fk_lot_takes_lot"),
    Index("ix_lot_takes_lot", "lot_id"),
)

# A saga given up before its debit landed: RefundPoints found no debit and left this mark, so a debit of the
# same saga arriving late (a timed-out call that was still in flight) is refused instead of charging a player
# whose redemption was already compensated. Not a movement of points, hence not in the ledger.
saga_tombstones = Table(
    "saga_tombstones",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("saga_id", String(200), primary_key=True),
    Column("reason", String(500), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per saga that reached the wallet, written by whichever of its debit ('debited', in the statement that
# takes the points) and its refund ('given_up', beside the tombstone) settles it first. The two meet on this
# primary key, which sees rows committed after a statement began and waits for rows still in flight: one
# statement per debit, no advisory lock (migration 0003).
saga_outcomes = Table(
    "saga_outcomes",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("saga_id", String(200), primary_key=True),
    Column("outcome", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("outcome IN ('debited', 'given_up')", name="outcome_known"),
)

# The tenants' domain events (points granted, adjusted) waiting to be published by the relay (server.py), written
# in the transaction of their ledger entry (service_kit.domain_events; migration 0004).
event_outbox = event_outbox_table(metadata)
