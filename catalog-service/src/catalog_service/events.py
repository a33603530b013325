"""The catalog's events for the tenants (service_kit.domain_events, docs/events.md): an item's counted stock
going below its low-stock threshold (`item.stock_low`) and reaching 0 (`item.out_of_stock`), each told once per
crossing, by the change that crosses it.

A reservation writes them in its own statement (repository.py's RESERVE: a CTE over the row it decremented, never
a round trip of its own), an operator's adjustment in its transaction (repository.add_adjustment_events); this
module holds what they mean (`crossings`) and the relay. The threshold is the item's own, or the
LOW_STOCK_THRESHOLD setting when it has none. The id is made from the item and the change (the reservation's saga,
the adjustment's idempotency key): a retried reservation takes nothing and writes nothing, and a release that
brings the stock back above the threshold followed by another crossing is another change, so another event.
Unlimited stock never crosses anything. The relay (server.py) publishes them onto the events stream; it is woken
only by a change that wrote one."""

from __future__ import annotations

from service_kit import domain_events
from service_kit.db import wake_after_outbox_commits
from service_kit.domain_events import event_outbox_statements
from service_kit.messaging import JetStreamLink
from service_kit.outbox_relay import OutboxRelay
from service_kit.pgpool import PgPool
from sqlalchemy.ext.asyncio import async_sessionmaker

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


def events_relay(pool: PgPool, sessions: async_sessionmaker, link: JetStreamLink, interval: float) -> OutboxRelay:
    """The kit's relay over the event outbox, woken by each commit that wrote an event (an adjustment's through
    its session, a reservation's by the caller when its statement says it wrote one)."""
    relay = OutboxRelay(pool, link, event_outbox_statements(), interval=interval)
    wake_after_outbox_commits(sessions, relay.wake)
    return relay
