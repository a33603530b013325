"""The tenants' points events: a grant and an adjustment each write one event in the transaction of their ledger
entry (a replay writes none), with an id made from the idempotency key, published by the service's relay onto the
events stream; a refused adjustment writes nothing."""

from __future__ import annotations

from typing import Any

from service_kit import domain_events
from service_kit.db import session_maker
from service_kit.domain_events import EVENTS_STREAM
from service_kit.errors import ErrorCode
from service_kit.messaging import JetStreamLink
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import AsyncEngine
from wallet_service.events import events_relay


async def test_grants_and_adjustments_are_told_once_each(w: Any, engine: AsyncEngine, nats_server) -> None:  # type: ignore[no-untyped-def]
    await w.define("gems")
    await w.grant("p1", 100, key="grant-1")
    await w.grant("p1", 100, key="grant-1")            # a replay
    await w.adjust("p1", -30, key="fix-1")
    error = await w.refused(w.adjust("p1", -1000, key="fix-2"))
    assert error.code == ErrorCode.INSUFFICIENT_BALANCE

    rows = await w.rows("SELECT event_id, payload FROM event_outbox "
                        "WHERE convert_from(payload, 'UTF8')::jsonb->>'tenant' = :tenant ORDER BY id")
    events = [domain_events.parse(bytes(payload)) for _, payload in rows]
    assert [e["type"] for e in events] == ["points.granted", "points.adjusted"]
    scope = Scope(w.scope.tenant_id, "live")
    granted, adjusted = events
    assert granted["id"] == domain_events.event_id("points.granted", scope, "grant-1") == rows[0][0]
    assert (granted["data"]["amount"], granted["data"]["balance_after"], granted["data"]["player_id"]) == \
        (100, 100, "p1")
    assert (adjusted["data"]["amount"], adjusted["data"]["balance_after"]) == (-30, 70)

    link = JetStreamLink(nats_server.url, "wallet-test")
    try:
        await link.jetstream()
        relay = events_relay(w.pool, session_maker(engine), link, interval=5.0)
        assert await relay.publish_pending() >= 2
        js = await link.jetstream()
        last = await js.get_last_msg(EVENTS_STREAM, "rewards.events.points.adjusted")
        assert last.headers["Nats-Msg-Id"] == adjusted["id"]
        assert domain_events.parse(last.data)["data"]["idempotency_key"] == "fix-1"
    finally:
        await link.close()
