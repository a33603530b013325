"""The results outbox's relay: rows written in the fulfilment's own transaction (their statements are
repository.py's), then published by the kit's relay (service_kit.outbox_relay) with the event id as Nats-Msg-Id
and marked only after JetStream's PubAck. Payloads are sealed (they carry codes).

The relay is woken by every commit of this process that wrote an unpublished row: SQLAlchemy sessions through
the kit's wake-on-commit, PgPool transactions by calling `wake()` after their commit (a redeem waiting for a
result over NATS would otherwise wait for a poll). Its interval (RELAY_INTERVAL_SECONDS) is only the fallback for
rows it was not woken for: written by another replica, or left by a failed publish."""

from __future__ import annotations

from collections.abc import Callable

from service_kit.db import wake_after_outbox_commits
from service_kit.domain_events import event_outbox_statements
from service_kit.messaging import JetStreamLink
from service_kit.outbox_relay import OutboxRelay, RelayStatements
from service_kit.pgpool import PgPool
from sqlalchemy.ext.asyncio import async_sessionmaker

from fulfillment_service.vault import Vault

# The relay's statements (PgPool). The claim reads the partial index of unpublished rows.
CLAIM_UNPUBLISHED = """
SELECT event_id, subject, payload, trace_context FROM outbox
WHERE published_at IS NULL
ORDER BY created_at, event_id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
MARK_PUBLISHED = """
UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = ''
WHERE event_id = ANY($1::varchar[])
"""
NOTE_FAILED_PUBLISH = "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE event_id = $1"
BACKLOG = """
SELECT count(*) AS backlog, extract(epoch FROM now() - min(created_at)) AS oldest
FROM outbox WHERE published_at IS NULL
"""


def _opener(vault: Vault) -> Callable[[bytes], bytes]:
    """Opens a row's payload as it goes out. The pool levels' events are written by the code claim's statement
    in clear (SQL cannot seal, and an event never carries a code: repository.CLAIM_CODE); every other row is
    sealed, and a sealed payload is a Fernet token (urlsafe base64), which never starts as a JSON object does."""
    def open_payload(payload: bytes) -> bytes:
        return bytes(payload) if payload[:1] == b"{" else vault.unseal_bytes(payload)
    return open_payload


def results_relay(pool: PgPool, sessions: async_sessionmaker, broker: JetStreamLink, vault: Vault, *,
                  interval: float, batch: int = 100) -> OutboxRelay:
    """The kit's relay over this outbox: payloads unsealed as they go out; woken by every SQLAlchemy commit that
    wrote a row, and by PgPool writers calling its `wake()` after their commit. The same relay drains the
    tenants' events (event_outbox, sealed alike: repository.add_event; the pool levels' in clear: _opener)."""
    relay = OutboxRelay(pool, broker, RelayStatements(claim=CLAIM_UNPUBLISHED, mark_published=MARK_PUBLISHED,
                                                      backlog=BACKLOG, note_failure=NOTE_FAILED_PUBLISH),
                        interval=interval, batch=batch, open_payload=_opener(vault),
                        also=[event_outbox_statements()])
    wake_after_outbox_commits(sessions, relay.wake)
    return relay
