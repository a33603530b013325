"""The wallet's events for the tenants (service_kit.domain_events, docs/events.md): points granted, points
adjusted. Each is written to this service's event outbox in the transaction of its ledger entry
(repository.add_event), with an id made from the movement's idempotency key (a replayed grant writes nothing, and
an event re-created would be the same), and published onto the events stream by the relay, the one this service
runs (server.py)."""

from __future__ import annotations

from service_kit.db import wake_after_outbox_commits
from service_kit.domain_events import event_outbox_statements
from service_kit.messaging import JetStreamLink
from service_kit.outbox_relay import OutboxRelay
from service_kit.pgpool import PgPool
from sqlalchemy.ext.asyncio import async_sessionmaker


def events_relay(pool: PgPool, sessions: async_sessionmaker, link: JetStreamLink, interval: float) -> OutboxRelay:
    """The kit's relay over the event outbox, woken by each commit that wrote an event."""
    relay = OutboxRelay(pool, link, event_outbox_statements(), interval=interval)
    wake_after_outbox_commits(sessions, relay.wake)
    return relay
