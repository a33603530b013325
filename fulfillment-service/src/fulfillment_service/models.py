"""fulfillment-service tables. Codes and PINs are stored only encrypted; a keyed hash de-duplicates them."""

from __future__ import annotations

from collections.abc import Iterable

from service_kit.db import NAMING_CONVENTION
from service_kit.domain_events import event_outbox_table
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from fulfillment_service.domain import UNSETTLED_STATES, DeliveryStatus, JobState

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def sql_list(values: Iterable[str]) -> str:
    """Values as the SQL literals of an IN list, for statements that name stored values: 'a', 'b'."""
    return ", ".join(f"'{v}'" for v in values)


# One row per redemption: its primary key is what makes a second delivery of the same job harmless.
jobs = Table(
    "jobs",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("redemption_id", String(128), primary_key=True),
    Column("item_id", String(128), nullable=False),
    Column("strategy", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("job_event_id", String(128), nullable=False),
    Column("payload", LargeBinary, nullable=False),          # the FulfillmentJob as received
    Column("result_outcome", String(32)),                    # ResultOutcome name of the latest result
    Column("result_data", Text, nullable=False, server_default=""),  # non-secret detail (failure code...)
    Column("result_event_id", String(128)),
    Column("result_sequence", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # A shipment (physical): '' when the job ships nothing, then pending, shipped, delivered. The address is
    # in the job as received (payload).
    Column("delivery_status", String(16), nullable=False, server_default=""),
    Column("tracking_number", String(128), nullable=False, server_default=""),
    Column("provider_reference", String(256), nullable=False, server_default=""),
    # The provider attempt that may call the provider now, and until when (provider_jobs: the lease). Both NULL
    # when no attempt runs.
    Column("lease_holder", String(128)),
    Column("lease_expires_at", DateTime(timezone=True)),
    CheckConstraint("(lease_holder IS NULL) = (lease_expires_at IS NULL)", name="lease_complete"),
    CheckConstraint(f"delivery_status IN ({sql_list(DeliveryStatus)})", name="delivery_status_known"),
    CheckConstraint(f"state IN ({sql_list(JobState)})", name="state_known"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    Index("ix_jobs_listing", "tenant_id", "environment", "created_at", "redemption_id"),
    Index("ix_jobs_redemption_id", "redemption_id"),  # provider callbacks name only the redemption
    # The jobs without an outcome, counted by the gauges (metrics.py; migration 0006).
    Index("ix_jobs_unsettled", "strategy", "state",
          postgresql_where=text(f"state IN ({sql_list(UNSETTLED_STATES)})")),
)

code_pool = Table(
    "code_pool",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("item_id", String(128), nullable=False),
    Column("code_encrypted", LargeBinary, nullable=False),
    Column("pin_encrypted", LargeBinary),
    Column("code_hash", String(64), nullable=False),        # HMAC-SHA256 of the code, hex
    Column("expires_at", DateTime(timezone=True)),
    Column("assigned_to", String(128)),                      # the redemption that got this code
    Column("assigned_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("tenant_id", "environment", "item_id", "code_hash", name="uq_code_pool_code"),
    UniqueConstraint("tenant_id", "environment", "assigned_to", name="uq_code_pool_assigned_to"),
    CheckConstraint("(assigned_to IS NULL) = (assigned_at IS NULL)", name="assignment_complete"),
    Index("ix_code_pool_available", "tenant_id", "environment", "item_id", "id",
          postgresql_where=text("assigned_to IS NULL"), postgresql_include=["expires_at"]),
)

# One row per item's pool (written by the first upload; migration 0009): its own low threshold (NULL: the
# LOW_POOL_THRESHOLD setting), and the redemptions whose claims told the pool low and exhausted (repository.py: each
# crossing told once; an upload that refills the pool clears them).
code_pools = Table(
    "code_pools",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("item_id", String(128), primary_key=True),
    Column("low_threshold", BigInteger),
    Column("low_told_by", String(128)),
    Column("exhausted_told_by", String(128)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("low_threshold >= 0", name="low_threshold_not_negative"),
)

# Results waiting to be published. The payload is a FulfillmentResult, encrypted (it may carry a code and PIN).
outbox = Table(
    "outbox",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    # The trace context and request id of the job or call that wrote the row: the event's NATS headers (0005).
    Column("trace_context", JSONB(none_as_null=True), nullable=True),
    Index("ix_outbox_unpublished", "created_at", postgresql_where=text("published_at IS NULL")),
)

# The tenants' domain events waiting to be published (service_kit.domain_events; migration 0008).
event_outbox = event_outbox_table(metadata)

# Job events already taken: a redelivery of the same event is acked without a second effect.
processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
