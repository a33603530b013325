"""The event log's use cases: an event, or a fetch of them, appended (the consumer's), a page of a scope's log
(ListEvents), and the retention's purge. The rules are domain.py's, the statements repository.py's (one round
trip each)."""

from __future__ import annotations

from typing import Any

from service_kit.pgpool import PgPool, Transaction
from service_kit.scope import Scope

from events_service import repository
from events_service.domain import RETRY_FOR_SECONDS, Appended, Page, PageQuery


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
