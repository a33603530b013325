"""Domain events for the tenants' systems: what each owning service publishes through its own outbox onto the
REWARDS_EVENTS stream (subjects `rewards.events.<type>`), documented in docs/events.md.

An event is one JSON object, the same on the stream, in the events service's log and in a webhook body:

    {"id": "...", "type": "redemption.completed", "version": 1, "time": "2026-12-03T19:02:44.123456Z",
     "tenant": "acme", "environment": "live", "data": {...}}

The id is deterministic: a hash of the type, the scope and the key of the fact (the redemption id, the ledger
entry), so a retry, a recovery or a second replica that re-creates the event makes the same id, which the outbox
(unique event_id), JetStream (Nats-Msg-Id) and every consumer drop as a duplicate. The same id is computed in SQL
(`sql_event_id`) by the hot path's statements, which build the whole envelope themselves (`sql_envelope`), so an
event on the redeem path costs a CTE of the statement that already runs, never a round trip. Codes and PINs are
never in an event: payloads are built from named columns only, never from a fulfillment document.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from service_kit.scope import Scope

EVENTS_STREAM = "REWARDS_EVENTS"
EVENTS_SUBJECT_PREFIX = "rewards.events"
EVENTS_SUBJECTS = f"{EVENTS_SUBJECT_PREFIX}.>"
# The stream keeps every event for a week whoever has read it (retention by limits, not a work queue: the events
# service's log and any later consumer each read all of them). The events service keeps its own log for 30 days.
EVENTS_MAX_AGE_SECONDS = 7 * 24 * 3600.0

# The types, each with the version of its payload (docs/events.md).
REDEMPTION_CREATED = "redemption.created"
REDEMPTION_COMPLETED = "redemption.completed"
REDEMPTION_CANCELED = "redemption.canceled"
REDEMPTION_FAILED = "redemption.failed"
FULFILLMENT_SHIPPED = "fulfillment.shipped"
FULFILLMENT_DELIVERED = "fulfillment.delivered"
FULFILLMENT_WAITING_FOR_OPERATOR = "fulfillment.waiting_for_operator"
POINTS_GRANTED = "points.granted"
POINTS_ADJUSTED = "points.adjusted"
# The levels of what there is to sell: an item's counted stock and an item's code pool, each told once per
# crossing of its threshold (catalog-service, fulfillment-service).
ITEM_STOCK_LOW = "item.stock_low"
ITEM_OUT_OF_STOCK = "item.out_of_stock"
CODE_POOL_LOW = "code_pool.low"
CODE_POOL_EXHAUSTED = "code_pool.exhausted"
# Written by the events service itself into the tenant's log (never published): a webhook endpoint it disabled.
WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint.disabled"
VERSIONS: dict[str, int] = {
    REDEMPTION_CREATED: 1, REDEMPTION_COMPLETED: 1, REDEMPTION_CANCELED: 1, REDEMPTION_FAILED: 1,
    FULFILLMENT_SHIPPED: 1, FULFILLMENT_DELIVERED: 1, FULFILLMENT_WAITING_FOR_OPERATOR: 1,
    POINTS_GRANTED: 1, POINTS_ADJUSTED: 1, ITEM_STOCK_LOW: 1, ITEM_OUT_OF_STOCK: 1, CODE_POOL_LOW: 1,
    CODE_POOL_EXHAUSTED: 1, WEBHOOK_ENDPOINT_DISABLED: 1,
}
# Keys a payload may never carry, whatever its type (checked by build(); the SQL payloads name their columns).
FORBIDDEN_KEYS = frozenset({"code", "pin", "sealed_code", "sealed_pin", "fulfillment"})


def subject(event_type: str) -> str:
    if event_type not in VERSIONS:
        raise ValueError(f"unknown event type {event_type!r}")
    return f"{EVENTS_SUBJECT_PREFIX}.{event_type}"


def event_id(event_type: str, scope: Scope, key: str) -> str:
    """The deterministic id of the event of `event_type` about `key` in `scope` (same as sql_event_id)."""
    name = f"rewards-event/{event_type}/{scope.tenant_id}/{scope.environment}/{key}"
    return str(uuid.UUID(hashlib.md5(name.encode()).hexdigest()))  # an id, not a secret: md5 as SQL has it


def _time(at: datetime | None) -> str:
    at = (at or datetime.now(UTC)).astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build(event_type: str, scope: Scope, key: str, data: Mapping[str, Any], *,
          at: datetime | None = None) -> tuple[str, str, bytes]:
    """(event id, subject, payload) of one event, for an outbox row written by a SQLAlchemy session."""
    leaked = FORBIDDEN_KEYS.intersection(data)
    if leaked:
        raise ValueError(f"an event never carries {sorted(leaked)}")
    eid = event_id(event_type, scope, key)
    envelope = {"id": eid, "type": event_type, "version": VERSIONS[event_type], "time": _time(at),
                "tenant": scope.tenant_id, "environment": scope.environment, "data": dict(data)}
    return eid, subject(event_type), json.dumps(envelope, separators=(",", ":")).encode()


def parse(payload: bytes) -> dict[str, Any]:
    """An event's envelope, checked: ValueError when it is not one."""
    event = json.loads(payload)
    if not isinstance(event, dict):
        raise ValueError("an event is a JSON object")  # noqa: TRY004 - a bad message, not a bad call
    for field, kind in (("id", str), ("type", str), ("version", int), ("time", str), ("tenant", str),
                        ("environment", str), ("data", dict)):
        if not isinstance(event.get(field), kind):
            raise ValueError(f"an event's {field} must be a {kind.__name__}")  # noqa: TRY004
    return event


# --- the same, in SQL (the hot path's CTEs) ---------------------------------------------------------------

def sql_event_id(event_type: str, tenant: str, environment: str, key: str) -> str:
    """SQL for the deterministic id (event_id's): tenant, environment and key are SQL expressions."""
    return (f"md5(concat_ws('/', 'rewards-event', '{event_type}', {tenant}, {environment}, {key}))"
            "::uuid::text")


def sql_envelope(event_type: str, tenant: str, environment: str, key: str, data: str) -> str:
    """SQL for the payload (bytea) of an event: `data` a jsonb expression of named columns."""
    return (f"convert_to(jsonb_build_object('id', {sql_event_id(event_type, tenant, environment, key)}, "
            f"'type', '{event_type}', 'version', {VERSIONS[event_type]}, "
            """'time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), """
            f"'tenant', {tenant}, 'environment', {environment}, 'data', {data})::text, 'UTF8')")


def sql_outbox_insert(event_type: str, source: str, *, tenant: str = "tenant_id",
                      environment: str = "environment", key: str = "id", data: str,
                      trace_context: str = "NULL") -> str:
    """An INSERT of the event about each row of `source` (a CTE name, or a table with its WHERE) into the
    service's event_outbox; a row already there (same id) is left alone."""
    return (f"INSERT INTO {EVENT_OUTBOX} (event_id, subject, payload, trace_context) "
            f"SELECT {sql_event_id(event_type, tenant, environment, key)}, '{subject(event_type)}', "
            f"{sql_envelope(event_type, tenant, environment, key, data)}, {trace_context} FROM {source} "
            "ON CONFLICT (event_id) DO NOTHING")


# --- the outbox table of the events, in each publishing service -------------------------------------------
# Its own table beside the service's jobs or results outbox: those rows are counted and looked up by the saga's
# machinery (the inline completion marks its redemption's job, the reconciler looks for a job still waiting),
# which an event must never be mistaken for. Drained by the service's one relay (OutboxRelay's `also`).

EVENT_OUTBOX = "event_outbox"


def event_outbox_table(metadata: Any) -> Any:
    """The table, in a service's SQLAlchemy metadata (its migration: create_event_outbox)."""
    from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, LargeBinary, String, Table, func, text
    from sqlalchemy.dialects.postgresql import JSONB

    return Table(
        EVENT_OUTBOX, metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("trace_context", JSONB(none_as_null=True), nullable=True),
        Index("ix_event_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_event_outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )


def create_event_outbox(op: Any) -> None:
    """The migration's upgrade (Alembic `op`), the same table as event_outbox_table."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    op.create_table(
        EVENT_OUTBOX,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trace_context", postgresql.JSONB, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_event_outbox"),
        sa.UniqueConstraint("event_id", name="uq_event_outbox_event_id"),
    )
    op.create_index("ix_event_outbox_unpublished", EVENT_OUTBOX, ["id"],
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("ix_event_outbox_published_at", EVENT_OUTBOX, ["published_at"],
                    postgresql_where=sa.text("published_at IS NOT NULL"))


def event_outbox_statements() -> Any:
    """The relay's statements over the table (service_kit.outbox_relay.RelayStatements)."""
    from service_kit.outbox_relay import RelayStatements

    return RelayStatements(
        claim=f"SELECT event_id, subject, payload, trace_context FROM {EVENT_OUTBOX} WHERE published_at IS NULL "
              "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        mark_published=f"UPDATE {EVENT_OUTBOX} SET published_at = now() WHERE event_id = ANY($1::varchar[])",
        backlog="SELECT count(*) AS backlog, extract(epoch FROM now() - min(created_at)) AS oldest "
                f"FROM {EVENT_OUTBOX} WHERE published_at IS NULL",
        # Published rows are kept a day (a look back for an operator), then deleted a thousand at a time.
        prune=f"DELETE FROM {EVENT_OUTBOX} WHERE id IN (SELECT id FROM {EVENT_OUTBOX} "
              "WHERE published_at < now() - interval '1 day' LIMIT 1000)")
