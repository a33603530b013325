"""events-service tables: the log of every tenant's events, append-only (a trigger refuses UPDATE; only the
retention purge deletes, migration 0001), and the tenants' webhooks: endpoints, deliveries, attempts (0002)."""

from __future__ import annotations

from service_kit.db import NAMING_CONVENTION
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# seq is the cursor: inserts are serialized (an advisory lock in the inserting transaction: event_log.py), so seq
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
    # the events of one redemption (migration 0004)
    Index("ix_events_scope_redemption_seq", "tenant_id", "environment", text("(data->>'redemption_id')"), "seq",
          postgresql_where=text("data ? 'redemption_id'")),
)

# A tenant's endpoint in one environment. The secret signs (Standard Webhooks, `whsec_` + base64), stored sealed
# (a Fernet token, WEBHOOK_SECRET_KEYS; migration 0003); after a rotation the previous one signs too until
# previous_secret_until. failing_since: the first failure of the run of
# failures that has not been broken by a success (an endpoint failing past WEBHOOK_DISABLE_AFTER_SECONDS is
# disabled).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("event_types", ARRAY(String(64)), nullable=False, server_default="{}"),
    Column("secret", String(255), nullable=False),
    Column("previous_secret", String(255), nullable=True),
    Column("previous_secret_until", DateTime(timezone=True), nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("disabled_reason", String(200), nullable=False, server_default=""),
    Column("failing_since", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_webhook_endpoints_scope", "tenant_id", "environment", "created_at"),
)

# One event to one endpoint: written by the append that stores the event (event_log.py), so none is lost; pending
# until an attempt is answered 2xx (delivered) or retry_until passes (failed). A resend makes it pending again.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("endpoint_id", String(36), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retry_until", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("endpoint_id", "event_id"),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    Index("ix_webhook_deliveries_finished_at", "finished_at", postgresql_where=text("status <> 'pending'")),
)

# Every POST of a delivery: the answer's status (0: none, `error` says why), how long it took.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("delivery_id", BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("endpoint_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status_code", Integer, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(500), nullable=False, server_default=""),
    Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
    Index("ix_webhook_attempts_delivery", "delivery_id"),
)
