"""The event log's and the webhooks' values and rules: what an event must be to be logged, a page of the log and
its cursor, what an endpoint may be made of (its URL, types, description) and changed by, where a webhook may go,
the refusals and their words, and what a delivery sends (its body, its signatures, when it is tried again). Pure:
no database, network or proto; the use cases (event_log.py) and the delivery loop (delivery.py) carry them
out, the statements are repository.py's."""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import re
import secrets
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from service_kit import domain_events
from service_kit.errors import DomainError, ErrorCode
from service_kit.validation import optional_text
from standardwebhooks import Webhook

# --- the event log ----------------------------------------------------------------------------------------------

# Three days, as Standard Webhooks' senders retry (the service's WEBHOOK_RETRY_FOR_SECONDS).
RETRY_FOR_SECONDS = 3 * 24 * 3600.0

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_TYPES = 20
MAX_REDEMPTION_ID = 64
_CURSOR = re.compile(r"[0-9]{1,19}")
_ENVIRONMENTS = ("live", "sandbox")


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


@dataclass(frozen=True, slots=True)
class Appended:
    seq: int
    deliveries: int     # webhook deliveries queued with it


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


def parse_cursor(after: str) -> int:
    if not after:
        return 0
    if not _CURSOR.fullmatch(after) or int(after) > 2**63 - 1:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "after is not a cursor this log gave")
    return int(after)


def check_types(types: list[str]) -> list[str]:
    if len(types) > MAX_TYPES:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"at most {MAX_TYPES} types")
    return check_event_types(types)


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What ListEvents asks for, checked: the scope's events after `since`, of `types` (empty: all), of one
    redemption (""), at most `limit`."""

    since: int
    types: list[str]
    limit: int
    redemption_id: str

    @classmethod
    def of(cls, *, after: str, types: list[str], limit: int, redemption_id: str) -> PageQuery:
        """limit: 1..MAX_LIMIT (0: DEFAULT_LIMIT)."""
        if limit < 0 or limit > MAX_LIMIT:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"limit must be between 1 and {MAX_LIMIT}")
        limit = limit or DEFAULT_LIMIT
        since = parse_cursor(after)
        wanted = check_types(list(types))
        optional_text(redemption_id, "redemption_id", MAX_REDEMPTION_ID)
        return cls(since, wanted, limit, redemption_id)

    def page(self, found: list[LoggedEvent], after: str) -> Page:
        """The page of the rows read (up to limit + 1: the last only tells that there is more)."""
        events = found[:self.limit]
        return Page(events, events[-1].cursor if events else after, len(found) > self.limit)


def data_json(event: LoggedEvent) -> str:
    return json.dumps(event.data, separators=(",", ":"), sort_keys=True)


# --- webhook endpoints ------------------------------------------------------------------------------------------

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION = 200
MAX_ENDPOINTS = 20          # per tenant and environment
MAX_ATTEMPTS_PAGE = 500
DEFAULT_ATTEMPTS_PAGE = 50
MAX_OVERLAP_SECONDS = 7 * 24 * 3600
UPDATABLE = frozenset({"url", "event_types", "description", "enabled"})
NO_ENDPOINT = "no webhook endpoint has this id"
TOO_MANY_ENDPOINTS = f"at most {MAX_ENDPOINTS} webhook endpoints per environment"


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


@dataclass(frozen=True, slots=True)
class Resent:
    """What a resend found: the endpoint (None: not in this scope) enabled or not, the event (None: not in this
    environment's log)."""

    endpoint_enabled: bool | None
    event_seq: int | None

    def check(self) -> None:
        if self.endpoint_enabled is None:
            raise DomainError(ErrorCode.NOT_FOUND, NO_ENDPOINT)
        if self.event_seq is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no event of this environment's log has this id")
        if not self.endpoint_enabled:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "the endpoint is disabled: enable it first")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


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
    literal = literal_address(parts.hostname)
    why = why_not_public(literal) if literal is not None and not allow_private else None
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


def check_id(endpoint_id: str) -> str:
    try:
        return str(uuid.UUID(endpoint_id))
    except ValueError:
        raise DomainError(ErrorCode.NOT_FOUND, NO_ENDPOINT) from None


def found(endpoint: Endpoint | None) -> Endpoint:
    if endpoint is None:
        raise DomainError(ErrorCode.NOT_FOUND, NO_ENDPOINT)
    return endpoint


def check_update_mask(mask: Sequence[str]) -> set[str]:
    fields = set(mask)
    if not fields or fields - UPDATABLE:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"update_mask names what changes, among {sorted(UPDATABLE)}; got {sorted(fields)}")
    return fields


def check_overlap(overlap_seconds: float) -> float:
    if overlap_seconds < 0 or overlap_seconds > MAX_OVERLAP_SECONDS:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "the overlap is between 0 and 7 days")
    return float(overlap_seconds)


def check_attempts_page(page_size: int, page_token: str) -> tuple[int, int]:
    """(the page's size, the last attempt id of the previous page: 0 from the newest)."""
    if page_size < 0 or page_size > MAX_ATTEMPTS_PAGE:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"page_size must be between 1 and {MAX_ATTEMPTS_PAGE}")
    size = page_size or DEFAULT_ATTEMPTS_PAGE
    if page_token and (not page_token.isdigit() or len(page_token) > 19):
        raise DomainError(ErrorCode.VALIDATION_ERROR, "page_token is not one this service gave")
    return size, int(page_token or 0)


# --- where a webhook may go (addresses.py: the check made as a delivery connects) -------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


def literal_address(host: str) -> IPAddress | None:
    """The address a host names when it is an IP literal, also in the forms the C resolver accepts for IPv4
    (`127.1`, `2130706433`, `0x7f.0.0.1`); None for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefABCDEFxX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def why_not_public(address: IPAddress) -> str | None:
    """What kind of address this is when a webhook may not go there (for the error text), None when public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return why_not_public(embedded)
    if address.is_unspecified or (isinstance(address, ipaddress.IPv4Address) and address.packed[0] == 0):
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


# --- what a delivery sends --------------------------------------------------------------------------------------

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
