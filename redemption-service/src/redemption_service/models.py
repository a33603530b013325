"""redemption-service tables. A redemption's saga shares its id; the outbox row of its pivot is written in the
same transaction as its OPEN status."""

from __future__ import annotations

from service_kit.db import NAMING_CONVENTION
from service_kit.domain_events import event_outbox_table
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(naming_convention=NAMING_CONVENTION)

STATUSES = ("SUBMITTED", "OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED", "CANCELED",
            "FAILED", "AWAITING_APPROVAL")

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", BigInteger, Identity(), nullable=False, unique=True),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("player_id", String(128), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("item_id", String(128), nullable=False),
    Column("variant_id", String(128), nullable=False, server_default=""),
    Column("rounds", Integer, nullable=False, server_default="0"),
    Column("point_type", String(32), nullable=False, server_default=""),
    Column("cost", BigInteger, nullable=False, server_default="0"),
    Column("point_scale", Integer, nullable=False, server_default="0"),
    Column("item_name", String(300), nullable=False, server_default=""),
    Column("item_image_url", String(2000), nullable=False, server_default=""),
    Column("face_value", BigInteger, nullable=False, server_default="0"),
    Column("face_currency", String(8), nullable=False, server_default=""),
    Column("fulfillment_strategy", String(32), nullable=False, server_default=""),
    Column("fulfillment_config", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("redemption_message", Text, nullable=False, server_default=""),
    Column("status", String(24), nullable=False),
    Column("delivery_status", String(16), nullable=False, server_default=""),
    Column("failure_code", String(64), nullable=False, server_default=""),
    Column("failure_message", Text, nullable=False, server_default=""),
    Column("fulfillment", JSONB(none_as_null=True), nullable=True),
    Column("debit_transaction_id", BigInteger, nullable=True),
    Column("balance_after", BigInteger, nullable=True),
    Column("shipping_address", JSONB(none_as_null=True), nullable=True),
    Column("customer_info", JSONB(none_as_null=True), nullable=True),
    Column("comment", Text, nullable=False, server_default=""),
    Column("trigger_source", String(64), nullable=False, server_default="MANUAL"),
    Column("trigger_details", JSONB(none_as_null=True), nullable=True),
    Column("cancel_reason", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("cancel_requested_at", DateTime(timezone=True), nullable=True),
    Column("canceled_at", DateTime(timezone=True), nullable=True),
    # The newest fulfillment result applied (its sequence) and when; an older result never overwrites it.
    Column("result_sequence", BigInteger, nullable=False, server_default="0"),
    Column("result_applied_at", DateTime(timezone=True), nullable=True),
    # The last time the fulfillment job was handed to the outbox or published: the reconciler's clock.
    Column("job_published_at", DateTime(timezone=True), nullable=True),
    # When fulfillment first answered for the job (any result, ACCEPTED included); the reconciler asks only
    # about OPEN redemptions whose job was never acknowledged.
    Column("job_acknowledged_at", DateTime(timezone=True), nullable=True),
    # Review holds (migration 0010): why the pivot held it (empty: never held), when, and the decision.
    Column("review_reason", String(32), nullable=False, server_default=""),
    Column("held_at", DateTime(timezone=True), nullable=True),
    Column("review_decision", String(16), nullable=False, server_default=""),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("review_note", Text, nullable=False, server_default=""),
    CheckConstraint("status IN ('" + "', '".join(STATUSES) + "')", name="status_known"),
    CheckConstraint("delivery_status IN ('', 'PENDING', 'SHIPPED', 'DELIVERED')", name="delivery_status_known"),
    CheckConstraint("cost >= 0", name="cost_not_negative"),
    Index("ix_redemptions_scope_newest", "tenant_id", "environment", "created_at", "number"),
    Index("ix_redemptions_player_newest", "tenant_id", "environment", "player_id", "created_at", "number"),
    Index("ix_redemptions_open_jobs", "job_published_at", postgresql_where=text("status = 'OPEN'")),
    # The holds' timeout finds the undecided ones, oldest first.
    Index("ix_redemptions_held", "held_at", postgresql_where=text("status = 'AWAITING_APPROVAL'")),
    # Rows from before codes were sealed (migration 0007): sealed at start, so this index is empty after.
    Index("ix_redemptions_plaintext_code", "id", postgresql_where=text("fulfillment ?| array['code', 'pin']")),
)

# Review rules (migration 0010): the tenant's (item_id '') and each item's. Read by the accept statement.
review_rules = Table(
    "review_rules",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("item_id", String(128), primary_key=True),
    Column("max_redemptions_per_hour", Integer, nullable=False, server_default="0"),
    Column("cost_over", BigInteger, nullable=False, server_default="0"),
    Column("player_younger_than_days", Integer, nullable=False, server_default="0"),
    Column("always_review", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The saga log. state: running (before the pivot), compensating, failed, confirmed (the pivot committed),
# canceling (a cancel's refund and release are under way), canceled.
sagas = Table(
    "sagas",
    metadata,
    Column("id", String(36), ForeignKey("redemptions.id"), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("step", String(32), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "state IN ('running', 'compensating', 'failed', 'confirmed', 'canceling', 'canceled')", name="state_known"),
    Index("ix_sagas_unfinished", "updated_at",
          postgresql_where=text("state IN ('running', 'compensating', 'canceling')")),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("player_id", String(128), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("redemption_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    # Set when the key's redemption FAILED with nothing charged: the next request with this key, player and body
    # claims the key again for a new attempt (migration 0006).
    Column("released_at", DateTime(timezone=True), nullable=True),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("redemption_id", String(36), nullable=True),
    # Not published before this: a code-pool job waits while Redeem fulfils it inline (migration 0004).
    Column("available_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The trace context and request id of the request that wrote the row: the event's NATS headers (0008).
    Column("trace_context", JSONB(none_as_null=True), nullable=True),
    Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    Index("ix_outbox_unpublished_redemption", "redemption_id", postgresql_where=text("published_at IS NULL")),
)

# The tenants' domain events waiting to be published (service_kit.domain_events; migration 0009).
event_outbox = event_outbox_table(metadata)

# Fulfillment results already applied, by event id: a redelivered or re-sent result changes nothing.
processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("redemption_id", String(36), nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every reveal of a code or PIN (who was shown which redemption's, when), append-only: a trigger refuses UPDATE,
# DELETE and TRUNCATE (migration 0007). Written by the statement that reads the redemption (repository).
code_reveals = Table(
    "code_reveals",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("redemption_id", String(36), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("viewer", String(16), nullable=False),
    Column("viewer_id", String(200), nullable=False, server_default=""),
    Column("action", String(16), nullable=False),
    Column("revealed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("viewer IN ('player', 'backend')", name="viewer_known"),
    CheckConstraint("action IN ('redeem', 'get', 'list')", name="action_known"),
    Index("ix_code_reveals_scope", "tenant_id", "environment", "id"),
    Index("ix_code_reveals_redemption", "tenant_id", "environment", "redemption_id", "id"),
)
