"""The event log's statements (SQL text on the kit's PgPool, one round trip each).

Appends are serialized by a transaction-scoped advisory lock taken in the same statement, before the row's seq is
drawn: seq order is then commit order, so a reader that saw seq n never finds a smaller one committed later (the
cursor skips nothing, with any number of replicas consuming). An event already in the log (same id: a
redelivery, a relay that published twice) is dropped by the unique id."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service_kit import domain_events
from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool, Transaction
from service_kit.scope import Scope
from service_kit.validation import optional_text

# Any constant works: every appending transaction takes the same one.
APPEND_LOCK = 7_041_512_015

# The same statement queues the event's webhook deliveries, one per enabled endpoint of its scope that takes its
# type (webhooks.py): stored together or not at all, so no event is ever missed by an endpoint. $8: how long a
# delivery is retried.
_APPEND = f"""
    WITH serialized AS (SELECT pg_advisory_xact_lock({APPEND_LOCK})),
    appended AS (
        INSERT INTO events (event_id, tenant_id, environment, type, version, occurred_at, data)
        SELECT $1, $2, $3, $4, $5, $6, $7::jsonb FROM serialized
        ON CONFLICT (event_id) DO NOTHING
        RETURNING seq, event_id, tenant_id, environment, type),
    queued AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_seq, event_id, retry_until)
        SELECT w.id, a.seq, a.event_id, now() + make_interval(secs => $8)
        FROM appended a JOIN webhook_endpoints w ON w.tenant_id = a.tenant_id AND w.environment = a.environment
        WHERE w.enabled AND (cardinality(w.event_types) = 0 OR a.type = ANY(w.event_types))
        ON CONFLICT (endpoint_id, event_id) DO NOTHING
        RETURNING 1)
    SELECT seq, (SELECT count(*) FROM queued) AS queued FROM appended"""
# Three days, as Standard Webhooks' senders retry (the service's WEBHOOK_RETRY_FOR_SECONDS).
RETRY_FOR_SECONDS = 3 * 24 * 3600.0

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_TYPES = 20
_CURSOR = re.compile(r"[0-9]{1,19}")
_ENVIRONMENTS = ("live", "sandbox")

# One statement per shape, so each is prepared once; both read an index in seq order (ix_events_scope_seq,
# ix_events_scope_type_seq). The limit is one more than the page: the last row only tells that there is more.
_PAGE = """
    SELECT seq, event_id, tenant_id, environment, type, version, occurred_at, data FROM events
    WHERE tenant_id = $1 AND environment = $2 AND seq > $3
    ORDER BY seq LIMIT $4"""
_PAGE_OF_TYPES = """
    SELECT seq, event_id, tenant_id, environment, type, version, occurred_at, data FROM events
    WHERE tenant_id = $1 AND environment = $2 AND seq > $3 AND type = ANY($5::varchar[])
    ORDER BY seq LIMIT $4"""

# The events of one redemption (ix_events_scope_redemption_seq), of some types or ($5 NULL) all.
_PAGE_OF_REDEMPTION = """
    SELECT seq, event_id, tenant_id, environment, type, version, occurred_at, data FROM events
    WHERE tenant_id = $1 AND environment = $2 AND seq > $3 AND data ? 'redemption_id'
      AND data->>'redemption_id' = $6 AND ($5::varchar[] IS NULL OR type = ANY($5::varchar[]))
    ORDER BY seq LIMIT $4"""
MAX_REDEMPTION_ID = 64

_PURGE = """
    DELETE FROM events WHERE seq IN (
        SELECT seq FROM events WHERE received_at < now() - make_interval(secs => $1) ORDER BY received_at LIMIT $2)"""

_PURGE_DELIVERIES = """
    DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < now() - make_interval(secs => $1)
        ORDER BY finished_at LIMIT $2)"""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    seq: int
    id: str
    type: str
    version: int
    time: datetime
    tenant_id: str
    environment: str
    data: dict[str, Any]

    @property
    def cursor(self) -> str:
        return str(self.seq)


@dataclass(frozen=True, slots=True)
class Page:
    events: list[LoggedEvent]
    next_cursor: str
    has_more: bool


class MalformedEvent(ValueError):
    """A message that is not an event of ours: it is terminated, never redelivered."""


def read_event(payload: bytes) -> dict[str, Any]:
    """The envelope of a message (service_kit.domain_events), checked for what the log stores."""
    try:
        event = domain_events.parse(payload)
        occurred_at = datetime.fromisoformat(event["time"])
    except (ValueError, TypeError) as exc:
        raise MalformedEvent(str(exc)) from exc
    if occurred_at.tzinfo is None:
        raise MalformedEvent("an event's time must name its zone")
    if len(event["id"]) > 36 or not event["tenant"] or len(event["tenant"]) > 64 or len(event["type"]) > 64:
        raise MalformedEvent("an event's id, tenant or type is out of bounds")
    if event["environment"] not in _ENVIRONMENTS:
        raise MalformedEvent(f"unknown environment {event['environment']!r}")
    return {**event, "time": occurred_at}


@dataclass(frozen=True, slots=True)
class Appended:
    seq: int
    deliveries: int     # webhook deliveries queued with it


async def append(pool: PgPool | Transaction, event: dict[str, Any],
                 retry_for_seconds: float = RETRY_FOR_SECONDS) -> Appended | None:
    """Appends one event (as read_event gives it), with its webhook deliveries; None when it was in the log
    already."""
    row = await pool.fetchrow(_APPEND, event["id"], event["tenant"], event["environment"], event["type"],
                              event["version"], event["time"], event["data"], retry_for_seconds)
    return None if row is None else Appended(row["seq"], row["queued"])


def parse_cursor(after: str) -> int:
    if not after:
        return 0
    if not _CURSOR.fullmatch(after) or int(after) > 2**63 - 1:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "after is not a cursor this log gave")
    return int(after)


def check_types(types: list[str]) -> list[str]:
    if len(types) > MAX_TYPES:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"at most {MAX_TYPES} types")
    unknown = sorted(set(types) - set(domain_events.VERSIONS))
    if unknown:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"unknown event types {unknown}; known: {sorted(domain_events.VERSIONS)}")
    return sorted(set(types))


async def page(pool: PgPool, scope: Scope, *, after: str, types: list[str], limit: int,
               redemption_id: str = "") -> Page:
    """The scope's events after the cursor, oldest first; with redemption_id, only that redemption's. limit:
    1..MAX_LIMIT (0: DEFAULT_LIMIT)."""
    if limit < 0 or limit > MAX_LIMIT:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"limit must be between 1 and {MAX_LIMIT}")
    limit = limit or DEFAULT_LIMIT
    since = parse_cursor(after)
    wanted = check_types(list(types))
    optional_text(redemption_id, "redemption_id", MAX_REDEMPTION_ID)
    if redemption_id:
        rows = await pool.fetch(_PAGE_OF_REDEMPTION, scope.tenant_id, scope.environment, since, limit + 1,
                                wanted or None, redemption_id)
    elif wanted:
        rows = await pool.fetch(_PAGE_OF_TYPES, scope.tenant_id, scope.environment, since, limit + 1, wanted)
    else:
        rows = await pool.fetch(_PAGE, scope.tenant_id, scope.environment, since, limit + 1)
    found = [LoggedEvent(row["seq"], row["event_id"], row["type"], row["version"], row["occurred_at"],
                         row["tenant_id"], row["environment"], row["data"]) for row in rows[:limit]]
    return Page(found, found[-1].cursor if found else after, len(rows) > limit)


async def purge(pool: PgPool, older_than_seconds: float, batch: int = 5000) -> int:
    """Deletes events received longer ago than the retention, a batch at a time, and the webhook deliveries
    (with their attempts) finished as long ago; how many events went."""
    while True:
        status = await pool.execute(_PURGE_DELIVERIES, older_than_seconds, batch)
        if int(status.rsplit(" ", 1)[-1]) < batch:
            break
    total = 0
    while True:
        status = await pool.execute(_PURGE, older_than_seconds, batch)
        deleted = int(status.rsplit(" ", 1)[-1])
        total += deleted
        if deleted < batch:
            return total


def data_json(event: LoggedEvent) -> str:
    return json.dumps(event.data, separators=(",", ":"), sort_keys=True)
