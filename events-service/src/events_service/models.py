"""events-service tables: the log of every tenant's events, append-only (a trigger refuses UPDATE; only the
retention purge deletes, migration 0001)."""

from __future__ import annotations

from service_kit.db import NAMING_CONVENTION
from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Integer, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# seq is the cursor: inserts are serialized (an advisory lock in the inserting transaction: log.py), so seq
# order is commit order, and a reader that saw seq n has seen every smaller one (nothing is skipped).
events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("type", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_events_scope_seq", "tenant_id", "environment", "seq"),
    Index("ix_events_scope_type_seq", "tenant_id", "environment", "type", "seq"),
    Index("ix_events_received_at", "received_at"),
)
