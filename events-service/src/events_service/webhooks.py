"""The tenants' webhook endpoints (docs/events.md, "Webhooks"): what an operator creates, changes, rotates and
deletes through the gateway's admin API, and what a delivery is signed and scheduled with.

A secret is Standard Webhooks' `whsec_` + base64 of 32 random bytes, shown once (in the answer that made it).
After a rotation the previous secret signs beside the new one until `previous_secret_until`, both signatures in
`webhook-signature`, space-separated, so a receiver that still holds the old one keeps verifying. Every change is
one conditional statement on the scope's row: a refused one (a bad URL, an unknown type) changes nothing.

Secrets are sealed at rest (`SecretVault`: the kit's Fernet key ring, setting WEBHOOK_SECRET_KEYS): the columns
`secret` and `previous_secret` hold Fernet tokens, unsealed only by the delivery loop to sign. A row written before
sealing holds a `whsec_` value in clear: it is used as it is, and sealed at the next start (reseal.py).

An endpoint's URL may not name a host that is a literal non-public IP address (addresses.py; the delivery loop
checks the addresses a name resolves to), unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES."""

from __future__ import annotations

import base64
import json
import random
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from service_kit import domain_events
from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.sealing import KeyRing
from standardwebhooks import Webhook

from events_service import addresses

SECRET_PREFIX = "whsec_"
SECRET_KEYS_SETTING = "WEBHOOK_SECRET_KEYS"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION = 200
MAX_ENDPOINTS = 20          # per tenant and environment
MAX_ATTEMPTS_PAGE = 500
DEFAULT_ATTEMPTS_PAGE = 50
UPDATABLE = frozenset({"url", "event_types", "description", "enabled"})

_COLUMNS = ("id, url, event_types, description, enabled, disabled_reason, created_at, updated_at, "
            "CASE WHEN previous_secret_until > now() THEN previous_secret_until END AS previous_secret_until, "
            "failing_since")

_CREATE = f"""
    INSERT INTO webhook_endpoints (id, tenant_id, environment, url, event_types, description, secret)
    SELECT $1, $2::varchar, $3::varchar, $4, $5::varchar[], $6, $7
    WHERE (SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $2::varchar AND environment = $3::varchar)
          < {MAX_ENDPOINTS}
    RETURNING {_COLUMNS}"""
_LIST = f"""
    SELECT {_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND environment = $2 ORDER BY created_at, id"""
_GET = f"""
    SELECT {_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND environment = $2 AND id = $3"""
# $4..$7: the new values, each NULL to keep the row's (event_types: $5 NULL keeps, '{}' means every type).
# Enabling again clears the reason and the run of failures.
_UPDATE = f"""
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
_ROTATE = f"""
    UPDATE webhook_endpoints SET previous_secret = secret, secret = $4,
        previous_secret_until = now() + make_interval(secs => $5), updated_at = now()
    WHERE tenant_id = $1 AND environment = $2 AND id = $3
    RETURNING {_COLUMNS}"""
_DELETE = "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND environment = $2 AND id = $3 RETURNING id"
# Newest first; $4 the last id of the previous page (0: from the newest).
_ATTEMPTS = """
    SELECT a.id, a.event_id, a.attempt, a.attempted_at, a.status_code, a.latency_ms, a.error
    FROM webhook_attempts a JOIN webhook_endpoints e ON e.id = a.endpoint_id
    WHERE e.tenant_id = $1 AND e.environment = $2 AND a.endpoint_id = $3 AND ($4::bigint = 0 OR a.id < $4::bigint)
    ORDER BY a.id DESC LIMIT $5"""
# A resend: the delivery of that event to that endpoint is pending again, due now, with a fresh retry window
# and its backoff from the start (its attempts are numbered from 1 again).
_RESEND = """
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


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str
    created_at: datetime
    updated_at: datetime
    previous_secret_until: datetime | None
    failing_since: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    event_id: str
    attempt: int
    attempted_at: datetime
    status_code: int
    latency_ms: int
    error: str


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row["id"], row["url"], list(row["event_types"]), row["description"], row["enabled"],
                    row["disabled_reason"], row["created_at"], row["updated_at"], row["previous_secret_until"],
                    row["failing_since"])


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretVault:
    """Seals the endpoints' signing secrets for storage, and opens what is stored (a Fernet token; or a `whsec_`
    value from before sealing, which is used as it is until it is sealed at the next start)."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    @classmethod
    def from_setting(cls, value: str) -> SecretVault:
        return cls(KeyRing.from_setting(value, SECRET_KEYS_SETTING))

    @staticmethod
    def in_clear(stored: str) -> bool:
        return stored.startswith(SECRET_PREFIX)

    def seal(self, secret: str) -> str:
        return self.ring.seal_text(secret)

    def open(self, stored: str) -> str:
        """The secret; service_kit.sealing.SealError (naming the setting, not the value) when no key opens it."""
        return stored if self.in_clear(stored) else self.ring.unseal(stored)

    def reseal(self, stored: str) -> str:
        """What to store instead: sealed under the newest key (a value in clear sealed)."""
        return self.seal(stored) if self.in_clear(stored) else self.ring.reseal(stored).decode("ascii")


def check_url(url: str, *, allow_http: bool, allow_private: bool) -> str:
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"url is required, at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as exc:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"url is not a URL: {exc}") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"url must start with {' or '.join(s + '://' for s in schemes)}")
    if not parts.hostname:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "url names no host")
    if parts.username or parts.password:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "url may not carry a user or password")
    if parts.fragment:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "url may not carry a fragment")
    literal = addresses.literal_address(parts.hostname)
    why = addresses.why_not_public(literal) if literal is not None and not allow_private else None
    if why is not None:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"url's host {parts.hostname} is {why}: webhooks go to public addresses only")
    return url


def check_event_types(types: Sequence[str]) -> list[str]:
    unknown = sorted(set(types) - set(domain_events.VERSIONS))
    if unknown:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"unknown event types {unknown}; known: {sorted(domain_events.VERSIONS)}")
    return sorted(set(types))


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"description: at most {MAX_DESCRIPTION} characters")
    return description


def _check_id(endpoint_id: str) -> str:
    try:
        return str(uuid.UUID(endpoint_id))
    except ValueError:
        raise DomainError(ErrorCode.NOT_FOUND, "no webhook endpoint has this id") from None


def _found(row: Any) -> Any:
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no webhook endpoint has this id")
    return row


async def create(pool: PgPool, scope: Scope, vault: SecretVault, *, url: str, event_types: Sequence[str],
                 description: str, allow_http: bool, allow_private: bool) -> tuple[Endpoint, str]:
    """(the endpoint, its secret: the only time it is shown; what is stored is sealed)."""
    url = check_url(url, allow_http=allow_http, allow_private=allow_private)
    types = check_event_types(event_types)
    description = check_description(description)
    secret = new_secret()
    row = await pool.fetchrow(_CREATE, str(uuid.uuid4()), scope.tenant_id, scope.environment, url, types,
                              description, vault.seal(secret))
    if row is None:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"at most {MAX_ENDPOINTS} webhook endpoints per environment")
    return _endpoint(row), secret


async def list_all(pool: PgPool, scope: Scope) -> list[Endpoint]:
    return [_endpoint(r) for r in await pool.fetch(_LIST, scope.tenant_id, scope.environment)]


async def get(pool: PgPool, scope: Scope, endpoint_id: str) -> Endpoint:
    row = await pool.fetchrow(_GET, scope.tenant_id, scope.environment, _check_id(endpoint_id))
    return _endpoint(_found(row))


async def update(pool: PgPool, scope: Scope, endpoint_id: str, *, mask: Sequence[str], url: str,
                 event_types: Sequence[str], description: str, enabled: bool, allow_http: bool,
                 allow_private: bool) -> Endpoint:
    fields = set(mask)
    if not fields or fields - UPDATABLE:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"update_mask names what changes, among {sorted(UPDATABLE)}; got {sorted(fields)}")
    endpoint_id = _check_id(endpoint_id)
    row = await pool.fetchrow(
        _UPDATE, scope.tenant_id, scope.environment, endpoint_id,
        check_url(url, allow_http=allow_http, allow_private=allow_private) if "url" in fields else None,
        check_event_types(event_types) if "event_types" in fields else None,
        check_description(description) if "description" in fields else None,
        enabled if "enabled" in fields else None)
    return _endpoint(_found(row))


async def rotate_secret(pool: PgPool, scope: Scope, vault: SecretVault, endpoint_id: str,
                        overlap_seconds: float) -> tuple[Endpoint, str]:
    if overlap_seconds < 0 or overlap_seconds > 7 * 24 * 3600:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "the overlap is between 0 and 7 days")
    secret = new_secret()
    row = await pool.fetchrow(_ROTATE, scope.tenant_id, scope.environment, _check_id(endpoint_id),
                              vault.seal(secret), float(overlap_seconds))
    return _endpoint(_found(row)), secret


async def delete(pool: PgPool, scope: Scope, endpoint_id: str) -> None:
    _found(await pool.fetchval(_DELETE, scope.tenant_id, scope.environment, _check_id(endpoint_id)))


async def attempts(pool: PgPool, scope: Scope, endpoint_id: str, *, page_size: int,
                   page_token: str) -> tuple[list[Attempt], str]:
    """(the endpoint's attempts, newest first; the next page's token, empty at the end)."""
    if page_size < 0 or page_size > MAX_ATTEMPTS_PAGE:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"page_size must be between 1 and {MAX_ATTEMPTS_PAGE}")
    size = page_size or DEFAULT_ATTEMPTS_PAGE
    if page_token and (not page_token.isdigit() or len(page_token) > 19):
        raise DomainError(ErrorCode.VALIDATION_ERROR, "page_token is not one this service gave")
    endpoint = await get(pool, scope, endpoint_id)
    rows = await pool.fetch(_ATTEMPTS, scope.tenant_id, scope.environment, endpoint.id, int(page_token or 0),
                            size + 1)
    found = [Attempt(r["id"], r["event_id"], r["attempt"], r["attempted_at"], r["status_code"], r["latency_ms"],
                     r["error"]) for r in rows[:size]]
    return found, (str(found[-1].id) if len(rows) > size else "")


async def resend(pool: PgPool, scope: Scope, endpoint_id: str, event_id: str, retry_for_seconds: float) -> None:
    row = await pool.fetchrow(_RESEND, scope.tenant_id, scope.environment, _check_id(endpoint_id),
                              event_id[:36], retry_for_seconds)
    assert row is not None
    if row["enabled"] is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no webhook endpoint has this id")
    if row["seq"] is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no event of this environment's log has this id")
    if not row["enabled"]:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "the endpoint is disabled: enable it first")


# ---- what a delivery sends ------------------------------------------------------------------------------------

def body(event: dict[str, Any]) -> str:
    """The JSON of one event, the shape of an item of GET /v1/events (never a code or PIN: events carry none)."""
    at: datetime = event["time"].astimezone(UTC)
    return json.dumps({"id": event["id"], "type": event["type"], "version": event["version"],
                       "time": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "tenant": event["tenant"],
                       "environment": event["environment"], "data": event["data"], "cursor": str(event["seq"])},
                      separators=(",", ":"))


def signed_headers(event_id: str, payload: str, signing_secrets: Sequence[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks' headers: the event id (the same on every attempt and resend), the time of this
    attempt, and a `v1,` signature per secret, space-separated (the current one first)."""
    signature = " ".join(Webhook(s).sign(event_id, at, payload) for s in signing_secrets)
    return {"webhook-id": event_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


def retry_delay(failed_attempts: int, *, base: float, cap: float,
                rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt after `failed_attempts` failures in a row: base·2^(n-1), at most cap,
    with "equal jitter" (between half and all of it), so receivers coming back are not hit by every sender at
    once."""
    delay = min(cap, base * 2.0 ** min(failed_attempts - 1, 62))
    return delay / 2 + rand() * delay / 2
