"""The wallet's events for the tenants (service_kit.domain_events, docs/events.md): points granted, points
adjusted. Each is written to this service's event outbox in the transaction of its ledger entry, with an id made
from the movement's idempotency key (a replayed grant writes nothing, and an event re-created would be the same),
and published onto the events stream by the relay, the one this service runs (server.py)."""

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

from wallet_service.domain import LedgerEntry
from wallet_service.models import event_outbox


async def add(session: AsyncSession, event_type: str, scope: Scope, entry: LedgerEntry) -> None:
    event_id, subject, payload = domain_events.build(event_type, scope, entry.reference, {
        "player_id": entry.player_id, "point_type": entry.point_type, "amount": entry.amount,
        "point_scale": entry.scale, "balance_after": entry.balance_after, "entry_id": entry.id,
        "idempotency_key": entry.reference, "description": entry.description,
        "created_at": entry.created_at.isoformat()}, at=entry.created_at)
    await session.execute(insert(event_outbox).values(event_id=event_id, subject=subject, payload=payload,
                                                      trace_context=outbox_context())
                          .on_conflict_do_nothing(index_elements=["event_id"]))
    note_outbox_write(session)


def events_relay(pool: PgPool, sessions: async_sessionmaker, link: JetStreamLink, interval: float) -> OutboxRelay:
    """The kit's relay over the event outbox, woken by each commit that wrote an event."""
    relay = OutboxRelay(pool, link, event_outbox_statements(), interval=interval)
    wake_after_outbox_commits(sessions, relay.wake)
    return relay
