"""The catalog's events for the tenants (service_kit.domain_events, docs/events.md): an item's counted stock
going below its low-stock threshold (`item.stock_low`) and reaching 0 (`item.out_of_stock`), each told once per
crossing, by the change that crosses it.

A reservation writes them in its own statement (stock.py's _RESERVE: a CTE over the row it decremented, never a
round trip of its own), an operator's adjustment in its transaction. The threshold is the item's own, or the
LOW_STOCK_THRESHOLD setting when it has none. The id is made from the item and the change (the reservation's saga,
the adjustment's idempotency key): a retried reservation takes nothing and writes nothing, and a release that
brings the stock back above the threshold followed by another crossing is another change, so another event.
Unlimited stock never crosses anything. The relay (server.py) publishes them onto the events stream; it is woken
only by a change that wrote one."""

from __future__ import annotations

from service_kit import domain_events
from service_kit.db import note_outbox_write, wake_after_outbox_commits
from service_kit.domain_events import event_outbox_statements
from service_kit.messaging import JetStreamLink
from service_kit.outbox_relay import OutboxRelay
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog_service.models import event_outbox

REDEMPTION = "redemption"
ADJUSTMENT = "adjustment"


def crossings(before: int, after: int, threshold: int) -> list[str]:
    """The events a move of counted stock from `before` to `after` makes."""
    told = []
    if before >= threshold > after:
        told.append(domain_events.ITEM_STOCK_LOW)
    if before > 0 and after == 0:
        told.append(domain_events.ITEM_OUT_OF_STOCK)
    return told


def reservation_events(source: str, saga: str) -> str:
    """The CTEs (`stock_low`, `out_of_stock`, each RETURNING event_id) writing the events of a reservation that
    took one unit: `source` a CTE of the decremented row (tenant_id, environment, id, stock, threshold), `saga` the
    SQL of the saga id. One unit taken: low when the stock left is one below the threshold, out when it is 0."""
    key = f"id || '/' || {saga}"
    data = (f"jsonb_build_object('item_id', id, 'stock', stock, 'threshold', threshold, "
            f"'cause', '{REDEMPTION}', 'cause_id', {saga})")
    low = domain_events.sql_outbox_insert(domain_events.ITEM_STOCK_LOW, f"{source} WHERE stock = threshold - 1",
                                          key=key, data=data)
    out = domain_events.sql_outbox_insert(domain_events.ITEM_OUT_OF_STOCK, f"{source} WHERE stock = 0",
                                          key=key, data=data)
    return f"stock_low AS ({low} RETURNING event_id), out_of_stock AS ({out} RETURNING event_id)"


async def add_adjustment_events(session: AsyncSession, scope: Scope, *, item_id: str, before: int, after: int,
                                threshold: int, idempotency_key: str) -> None:
    """The events of an operator's adjustment, in its transaction (its commit wakes the relay)."""
    for event_type in crossings(before, after, threshold):
        event_id, subject, payload = domain_events.build(
            event_type, scope, f"{item_id}/{ADJUSTMENT}/{idempotency_key}",
            {"item_id": item_id, "stock": after, "threshold": threshold, "cause": ADJUSTMENT,
             "cause_id": idempotency_key})
        await session.execute(insert(event_outbox).values(event_id=event_id, subject=subject, payload=payload,
                                                          trace_context=outbox_context())
                              .on_conflict_do_nothing(index_elements=["event_id"]))
        note_outbox_write(session)


def events_relay(pool: PgPool, sessions: async_sessionmaker, link: JetStreamLink, interval: float) -> OutboxRelay:
    """The kit's relay over the event outbox, woken by each commit that wrote an event (an adjustment's through
    its session, a reservation's by the caller when its statement says it wrote one)."""
    relay = OutboxRelay(pool, link, event_outbox_statements(), interval=interval)
    wake_after_outbox_commits(sessions, relay.wake)
    return relay
