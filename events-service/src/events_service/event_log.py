"""The events service's use cases (what it keeps: the tenants' event log and their webhook endpoints). The rules
are domain.py's, the statements repository.py's (one round trip each).

The log: an event, or a fetch of them, appended (the consumer's), a page of a scope's log (ListEvents), and the
retention's purge.

The endpoints (docs/events.md, "Webhooks"): what an operator creates, changes, rotates and deletes through the
gateway's admin API, and the sealing of their secrets.

A secret is Standard Webhooks' `whsec_` + base64 of 32 random bytes, shown once (in the answer that made it).
After a rotation the previous secret signs beside the new one until `previous_secret_until`, both signatures in
`webhook-signature`, space-separated, so a receiver that still holds the old one keeps verifying. Every change is
one conditional statement on the scope's row: a refused one (a bad URL, an unknown type) changes nothing.

Secrets are sealed at rest (`SecretVault`: the kit's Fernet key ring, setting WEBHOOK_SECRET_KEYS): the columns
`secret` and `previous_secret` hold Fernet tokens, unsealed only by the delivery loop to sign. A row written before
sealing holds a `whsec_` value in clear: it is used as it is, and sealed at the next start (reseal.py).

An endpoint's URL may not name a host that is a literal non-public IP address (domain.check_url; the delivery loop
checks the addresses a name resolves to: addresses.py), unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool, Transaction
from service_kit.scope import Scope
from service_kit.sealing import KeyRing

from events_service import repository
from events_service.domain import (
    NO_ENDPOINT,
    RETRY_FOR_SECONDS,
    SECRET_PREFIX,
    TOO_MANY_ENDPOINTS,
    Appended,
    Attempt,
    Endpoint,
    Page,
    PageQuery,
    check_attempts_page,
    check_description,
    check_event_types,
    check_id,
    check_overlap,
    check_update_mask,
    check_url,
    found,
    new_secret,
)

SECRET_KEYS_SETTING = "WEBHOOK_SECRET_KEYS"


# ---- the log --------------------------------------------------------------------------------------------------

async def append(pool: PgPool | Transaction, event: dict[str, Any],
                 retry_for_seconds: float = RETRY_FOR_SECONDS) -> Appended | None:
    """Appends one event (as domain.read_event gives it), with its webhook deliveries; None when it was in the log
    already."""
    return await repository.append(pool, event, retry_for_seconds)


async def append_batch(pool: PgPool, events: list[dict[str, Any]],
                       retry_for_seconds: float = RETRY_FOR_SECONDS) -> dict[str, Appended]:
    """Appends events in one statement (one commit), each with its webhook deliveries: those appended, by id (an id
    given twice is appended once, for its first event; one in the log already is absent)."""
    return await repository.append_batch(pool, events, retry_for_seconds)


async def page(pool: PgPool, scope: Scope, *, after: str, types: list[str], limit: int,
               redemption_id: str = "") -> Page:
    """The scope's events after the cursor, oldest first; with redemption_id, only that redemption's. limit:
    1..MAX_LIMIT (0: DEFAULT_LIMIT)."""
    query = PageQuery.of(after=after, types=types, limit=limit, redemption_id=redemption_id)
    return query.page(await repository.page(pool, scope, query), after)


async def purge(pool: PgPool, older_than_seconds: float, batch: int = 5000) -> int:
    """Deletes events received longer ago than the retention, a batch at a time, and the webhook deliveries
    (with their attempts) finished as long ago; how many events went."""
    while await repository.purge_deliveries(pool, older_than_seconds, batch) >= batch:
        pass
    total = 0
    while True:
        deleted = await repository.purge_events(pool, older_than_seconds, batch)
        total += deleted
        if deleted < batch:
            return total


# ---- the webhook endpoints ------------------------------------------------------------------------------------

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


async def create(pool: PgPool, scope: Scope, vault: SecretVault, *, url: str, event_types: Sequence[str],
                 description: str, allow_http: bool, allow_private: bool) -> tuple[Endpoint, str]:
    """(the endpoint, its secret: the only time it is shown; what is stored is sealed)."""
    url = check_url(url, allow_http=allow_http, allow_private=allow_private)
    types = check_event_types(event_types)
    description = check_description(description)
    secret = new_secret()
    endpoint = await repository.create_endpoint(pool, scope, str(uuid.uuid4()), url=url, event_types=types,
                                                description=description, sealed_secret=vault.seal(secret))
    if endpoint is None:
        raise DomainError(ErrorCode.VALIDATION_ERROR, TOO_MANY_ENDPOINTS)
    return endpoint, secret


async def list_all(pool: PgPool, scope: Scope) -> list[Endpoint]:
    return await repository.list_endpoints(pool, scope)


async def get(pool: PgPool, scope: Scope, endpoint_id: str) -> Endpoint:
    return found(await repository.get_endpoint(pool, scope, check_id(endpoint_id)))


async def update(pool: PgPool, scope: Scope, endpoint_id: str, *, mask: Sequence[str], url: str,
                 event_types: Sequence[str], description: str, enabled: bool, allow_http: bool,
                 allow_private: bool) -> Endpoint:
    fields = check_update_mask(mask)
    endpoint_id = check_id(endpoint_id)
    return found(await repository.update_endpoint(
        pool, scope, endpoint_id,
        url=check_url(url, allow_http=allow_http, allow_private=allow_private) if "url" in fields else None,
        event_types=check_event_types(event_types) if "event_types" in fields else None,
        description=check_description(description) if "description" in fields else None,
        enabled=enabled if "enabled" in fields else None))


async def rotate_secret(pool: PgPool, scope: Scope, vault: SecretVault, endpoint_id: str,
                        overlap_seconds: float) -> tuple[Endpoint, str]:
    overlap = check_overlap(overlap_seconds)
    secret = new_secret()
    endpoint = await repository.rotate_secret(pool, scope, check_id(endpoint_id), vault.seal(secret), overlap)
    return found(endpoint), secret


async def delete(pool: PgPool, scope: Scope, endpoint_id: str) -> None:
    if not await repository.delete_endpoint(pool, scope, check_id(endpoint_id)):
        raise DomainError(ErrorCode.NOT_FOUND, NO_ENDPOINT)


async def attempts(pool: PgPool, scope: Scope, endpoint_id: str, *, page_size: int,
                   page_token: str) -> tuple[list[Attempt], str]:
    """(the endpoint's attempts, newest first; the next page's token, empty at the end)."""
    size, before_id = check_attempts_page(page_size, page_token)
    endpoint = await get(pool, scope, endpoint_id)
    rows = await repository.attempts(pool, scope, endpoint.id, before_id=before_id, limit=size + 1)
    page = rows[:size]
    return page, (str(page[-1].id) if len(rows) > size else "")


async def resend(pool: PgPool, scope: Scope, endpoint_id: str, event_id: str, retry_for_seconds: float) -> None:
    resent = await repository.resend(pool, scope, check_id(endpoint_id), event_id[:36], retry_for_seconds)
    resent.check()
