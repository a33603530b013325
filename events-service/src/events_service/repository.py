"""Every statement of the calls (SQL text on the kit's PgPool, one round trip each), rows made into domain values
(domain.py). The background loops keep theirs: the webhook delivery loop's are delivery.py's, the secrets'
re-sealing's reseal.py's. Nothing here decides: the use cases (event_log.py) do.

Appends are serialized by a transaction-scoped advisory lock taken in the same statement, before the row's seq is
drawn: seq order is then commit order, so a reader that saw seq n never finds a smaller one committed later (the
cursor skips nothing, with any number of replicas consuming). An event already in the log (same id: a
redelivery, a relay that published twice) is dropped by the unique id."""

from __future__ import annotations

from typing import Any

from service_kit.pgpool import PgPool, Transaction
from service_kit.scope import Scope

from events_service.domain import MAX_ENDPOINTS, Appended, Attempt, Endpoint, LoggedEvent, PageQuery, Resent

# --- the event log ----------------------------------------------------------------------------------------------

# Any constant works: every appending transaction takes the same one.
APPEND_LOCK = 7_041_512_015

# The same statement queues the event's webhook deliveries, one per enabled endpoint of its scope that takes its
# type (event_log.py): stored together or not at all, so no event is ever missed by an endpoint. $8: how long a
# delivery is retried.
APPEND = f"""
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

# A batch of events (a fetch of the consumer) in one statement, so one round trip and one commit: the same lock,
# the same rows and the same deliveries as APPEND for each event, in the batch's order (seq follows it). Each
# array holds one field of every event ($1..$7, ids distinct: append_batch keeps an id's first event); $8 as in
# APPEND. Returns a row per event appended (one already in the log returns none), with its deliveries' count.
APPEND_BATCH = f"""
    WITH serialized AS (SELECT pg_advisory_xact_lock({APPEND_LOCK})),
    batch AS (
        SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::integer[],
                             $6::timestamptz[], $7::jsonb[])
            WITH ORDINALITY AS b(event_id, tenant_id, environment, type, version, occurred_at, data, n)),
    appended AS (
        INSERT INTO events (event_id, tenant_id, environment, type, version, occurred_at, data)
        SELECT b.event_id, b.tenant_id, b.environment, b.type, b.version, b.occurred_at, b.data
        FROM serialized, batch b ORDER BY b.n
        ON CONFLICT (event_id) DO NOTHING
        RETURNING seq, event_id, tenant_id, environment, type),
    queued AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_seq, event_id, retry_until)
        SELECT w.id, a.seq, a.event_id, now() + make_interval(secs => $8)
        FROM appended a JOIN webhook_endpoints w ON w.tenant_id = a.tenant_id AND w.environment = a.environment
        WHERE w.enabled AND (cardinality(w.event_types) = 0 OR a.type = ANY(w.event_types))
        ON CONFLICT (endpoint_id, event_id) DO NOTHING
        RETURNING event_id)
    SELECT a.seq, a.event_id, count(q.event_id) AS queued
    FROM appended a LEFT JOIN queued q ON q.event_id = a.event_id
    GROUP BY a.seq, a.event_id"""


# One statement per shape, so each is prepared once; both read an index in seq order (ix_events_scope_seq,
# ix_events_scope_type_seq). The limit is one more than the page: the last row only tells that there is more.
PAGE = """
    SELECT seq, event_id, tenant_id, environment, type, version, occurred_at, data FROM events
    WHERE tenant_id = $1 AND environment = $2 AND seq > $3
    ORDER BY seq LIMIT $4"""
PAGE_OF_TYPES = """
    SELECT seq, event_id, tenant_id, environment, type, version, occurred_at, data FROM events
    WHERE tenant_id = $1 AND environment = $2 AND seq > $3 AND type = ANY($5::varchar[])
    ORDER BY seq LIMIT $4"""

# The events of one redemption (ix_events_scope_redemption_seq), of some types or ($5 NULL) all.
PAGE_OF_REDEMPTION = """
    SELECT seq, event_id, tenant_id, environment, type, version, occurred_at, data FROM events
    WHERE tenant_id = $1 AND environment = $2 AND seq > $3 AND data ? 'redemption_id'
      AND data->>'redemption_id' = $6 AND ($5::varchar[] IS NULL OR type = ANY($5::varchar[]))
    ORDER BY seq LIMIT $4"""


PURGE = """
    DELETE FROM events WHERE seq IN (
        SELECT seq FROM events WHERE received_at < now() - make_interval(secs => $1) ORDER BY received_at LIMIT $2)"""

PURGE_DELIVERIES = """
    DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < now() - make_interval(secs => $1)
        ORDER BY finished_at LIMIT $2)"""



async def append(pool: PgPool | Transaction, event: dict[str, Any], retry_for_seconds: float) -> Appended | None:
    """Appends one event (as domain.read_event gives it), with its webhook deliveries; None when it was in the log
    already."""
    row = await pool.fetchrow(APPEND, event["id"], event["tenant"], event["environment"], event["type"],
                              event["version"], event["time"], event["data"], retry_for_seconds)
    return None if row is None else Appended(row["seq"], row["queued"])


async def append_batch(pool: PgPool, events: list[dict[str, Any]], retry_for_seconds: float) -> dict[str, Appended]:
    """Appends events (as domain.read_event gives them) in one statement, each with its webhook deliveries; those
    appended by their id (an id given twice: its first event only; one in the log already: absent)."""
    by_id: dict[str, dict[str, Any]] = {}
    for event in events:
        by_id.setdefault(event["id"], event)
    first = list(by_id.values())
    rows = await pool.fetch(APPEND_BATCH, [e["id"] for e in first], [e["tenant"] for e in first],
                            [e["environment"] for e in first], [e["type"] for e in first],
                            [e["version"] for e in first], [e["time"] for e in first], [e["data"] for e in first],
                            retry_for_seconds)
    return {row["event_id"]: Appended(row["seq"], row["queued"]) for row in rows}


async def page(pool: PgPool, scope: Scope, query: PageQuery) -> list[LoggedEvent]:
    """The scope's events after the query's cursor, oldest first: up to one more than its limit."""
    if query.redemption_id:
        rows = await pool.fetch(PAGE_OF_REDEMPTION, scope.tenant_id, scope.environment, query.since,
                                query.limit + 1, query.types or None, query.redemption_id)
    elif query.types:
        rows = await pool.fetch(PAGE_OF_TYPES, scope.tenant_id, scope.environment, query.since, query.limit + 1,
                                query.types)
    else:
        rows = await pool.fetch(PAGE, scope.tenant_id, scope.environment, query.since, query.limit + 1)
    return [LoggedEvent(row["seq"], row["event_id"], row["type"], row["version"], row["occurred_at"],
                        row["tenant_id"], row["environment"], row["data"]) for row in rows]


def _deleted(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


async def purge_deliveries(pool: PgPool, older_than_seconds: float, batch: int) -> int:
    """One batch of the webhook deliveries (with their attempts) finished longer ago; how many went."""
    return _deleted(await pool.execute(PURGE_DELIVERIES, older_than_seconds, batch))


async def purge_events(pool: PgPool, older_than_seconds: float, batch: int) -> int:
    """One batch of the events received longer ago; how many went."""
    return _deleted(await pool.execute(PURGE, older_than_seconds, batch))


# --- webhook endpoints ------------------------------------------------------------------------------------------

_COLUMNS = ("id, url, event_types, description, enabled, disabled_reason, created_at, updated_at, "
            "CASE WHEN previous_secret_until > now() THEN previous_secret_until END AS previous_secret_until, "
            "failing_since")

CREATE = f"""
    INSERT INTO webhook_endpoints (id, tenant_id, environment, url, event_types, description, secret)
    SELECT $1, $2::varchar, $3::varchar, $4, $5::varchar[], $6, $7
    WHERE (SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $2::varchar AND environment = $3::varchar)
          < {MAX_ENDPOINTS}
    RETURNING {_COLUMNS}"""
LIST = f"""
    SELECT {_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND environment = $2 ORDER BY created_at, id"""
GET = f"""
    SELECT {_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND environment = $2 AND id = $3"""
# $4..$7: the new values, each NULL to keep the row's (event_types: $5 NULL keeps, '{}' means every type).
# Enabling again clears the reason and the run of failures.
UPDATE = f"""
    UPDATE webhook_endpoints SET
        url = coalesce($4, url),
        event_types = coalesce($5::varchar[], event_types),
        description = coalesce($6, description),
        enabled = coalesce($7, enabled),
        disabled_reason = CASE WHEN $7 IS NULL THEN disabled_reason WHEN $7 THEN ''
                               WHEN enabled THEN 'disabled by an operator' ELSE disabled_reason END,
        failing_since = CASE WHEN $7 AND NOT enabled THEN NULL ELSE failing_since END,
        updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND id = $3
    RETURNING {_COLUMNS}"""
ROTATE = f"""
    UPDATE webhook_endpoints SET previous_secret = secret, secret = $4,
        previous_secret_until = now() + make_interval(secs => $5), updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND id = $3
    RETURNING {_COLUMNS}"""
DELETE = "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND environment = $2 AND id = $3 RETURNING id"
# Newest first; $4 the last id of the previous page (0: from the newest).
ATTEMPTS = """
    SELECT a.id, a.event_id, a.attempt, a.attempted_at, a.status_code, a.latency_ms, a.error
    FROM webhook_attempts a JOIN webhook_endpoints e ON e.id = a.endpoint_id
    WHERE e.tenant_id = $1 AND e.environment = $2 AND a.endpoint_id = $3 AND ($4::bigint = 0 OR a.id < $4::bigint)
    ORDER BY a.id DESC LIMIT $5"""
# A resend: the delivery of that event to that endpoint is pending again, due now, with a fresh retry window
# and its backoff from the start (its attempts are numbered from 1 again).
RESEND = """
    WITH endpoint AS (
        SELECT id, enabled FROM webhook_endpoints WHERE tenant_id = $1 AND environment = $2 AND id = $3),
    event AS (
        SELECT seq, event_id FROM events WHERE tenant_id = $1 AND environment = $2 AND event_id = $4),
    queued AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_seq, event_id, retry_until)
        SELECT endpoint.id, event.seq, event.event_id, now() + make_interval(secs => $5)
        FROM endpoint, event WHERE endpoint.enabled
        ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', next_attempt_at = now(),
            retry_until = EXCLUDED.retry_until, finished_at = NULL, attempts = 0
        RETURNING id)
    SELECT (SELECT enabled FROM endpoint) AS enabled, (SELECT seq FROM event) AS seq,
           (SELECT count(*) FROM queued) AS queued"""



def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row["id"], row["url"], list(row["event_types"]), row["description"], row["enabled"],
                    row["disabled_reason"], row["created_at"], row["updated_at"], row["previous_secret_until"],
                    row["failing_since"])


def _endpoint_if(row: Any) -> Endpoint | None:
    return None if row is None else _endpoint(row)


async def create_endpoint(pool: PgPool, scope: Scope, endpoint_id: str, *, url: str, event_types: list[str],
                          description: str, sealed_secret: str) -> Endpoint | None:
    """None (nothing written) when the scope has MAX_ENDPOINTS already."""
    return _endpoint_if(await pool.fetchrow(CREATE, endpoint_id, scope.tenant_id, scope.environment, url, event_types,
                                         description, sealed_secret))


async def list_endpoints(pool: PgPool, scope: Scope) -> list[Endpoint]:
    return [_endpoint(r) for r in await pool.fetch(LIST, scope.tenant_id, scope.environment)]


async def get_endpoint(pool: PgPool, scope: Scope, endpoint_id: str) -> Endpoint | None:
    return _endpoint_if(await pool.fetchrow(GET, scope.tenant_id, scope.environment, endpoint_id))


async def update_endpoint(pool: PgPool, scope: Scope, endpoint_id: str, *, url: str | None,
                          event_types: list[str] | None, description: str | None,
                          enabled: bool | None) -> Endpoint | None:
    """Each value None keeps the row's. None when the scope has no such endpoint."""
    return _endpoint_if(await pool.fetchrow(UPDATE, scope.tenant_id, scope.environment, endpoint_id, url, event_types,
                                         description, enabled))


async def rotate_secret(pool: PgPool, scope: Scope, endpoint_id: str, sealed_secret: str,
                        overlap_seconds: float) -> Endpoint | None:
    return _endpoint_if(await pool.fetchrow(ROTATE, scope.tenant_id, scope.environment, endpoint_id, sealed_secret,
                                         overlap_seconds))


async def delete_endpoint(pool: PgPool, scope: Scope, endpoint_id: str) -> bool:
    return await pool.fetchval(DELETE, scope.tenant_id, scope.environment, endpoint_id) is not None


async def attempts(pool: PgPool, scope: Scope, endpoint_id: str, *, before_id: int, limit: int) -> list[Attempt]:
    """The endpoint's attempts older than `before_id` (0: from the newest), newest first."""
    rows = await pool.fetch(ATTEMPTS, scope.tenant_id, scope.environment, endpoint_id, before_id, limit)
    return [Attempt(r["id"], r["event_id"], r["attempt"], r["attempted_at"], r["status_code"], r["latency_ms"],
                    r["error"]) for r in rows]


async def resend(pool: PgPool, scope: Scope, endpoint_id: str, event_id: str, retry_for_seconds: float) -> Resent:
    row = await pool.fetchrow(RESEND, scope.tenant_id, scope.environment, endpoint_id, event_id, retry_for_seconds)
    assert row is not None
    return Resent(row["enabled"], row["seq"])
