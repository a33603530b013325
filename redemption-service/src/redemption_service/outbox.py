"""The outbox: the fulfillment job is written in the pivot's statement (and again by the reconciler, with a new
event id, when no result came), then published to JetStream by the kit's relay and marked. The event id is the
Nats-Msg-Id, so a row published twice is dropped by JetStream (inside its window) and by fulfillment-service
(always); fulfillment-service is also idempotent on the redemption id, so a re-published job is harmless."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.db import note_outbox_write, wake_after_outbox_commits
from service_kit.domain_events import event_outbox_statements
from service_kit.messaging import JOBS_SUBJECT, JetStreamLink
from service_kit.outbox_relay import OutboxRelay, RelayStatements
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.tracing import outbox_context
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from redemption_service.domain import Redemption
from redemption_service.models import outbox


def fulfillment_job(redemption: Redemption, requested_at: datetime) -> fulfillment_pb2.FulfillmentJob:
    """The job of a confirmed redemption, with a new event id (the reconciler asks again under a new one)."""
    r = redemption
    return new_fulfillment_job(
        redemption_id=r.id, scope=Scope(r.tenant_id, r.environment), player_id=r.player_id, item_id=r.item_id,
        variant_id=r.variant_id, rounds=r.rounds, strategy=r.fulfillment_strategy, point_type=r.point_type,
        cost=r.cost, face_value=r.face_value, face_currency=r.face_currency, config=r.fulfillment_config,
        shipping_address=common_pb2.ShippingAddress(**r.shipping_address) if r.shipping_address else None,
        customer_info=common_pb2.CustomerInfo(**r.customer_info) if r.customer_info else None,
        requested_at=requested_at)


def new_fulfillment_job(*, redemption_id: str, scope: Scope, player_id: str, item_id: str, variant_id: str,
                        rounds: int, strategy: str, point_type: str, cost: int, face_value: int, face_currency: str,
                        config: dict[str, Any], shipping_address: common_pb2.ShippingAddress | None,
                        customer_info: common_pb2.CustomerInfo | None,
                        requested_at: datetime) -> fulfillment_pb2.FulfillmentJob:
    job = fulfillment_pb2.FulfillmentJob(
        event_id=str(uuid.uuid4()), redemption_id=redemption_id, scope=scope.to_proto(), player_id=player_id,
        item_id=item_id, variant_id=variant_id, rounds=rounds, strategy=strategy, point_type=point_type, cost=cost,
        face_value=face_value, face_currency=face_currency)
    job.config.update(config)
    if shipping_address is not None:
        job.shipping_address.CopyFrom(shipping_address)
    if customer_info is not None:
        job.customer_info.CopyFrom(customer_info)
    job.requested_at.FromDatetime(requested_at)
    return job


async def add_fulfillment_job(session: AsyncSession, job: fulfillment_pb2.FulfillmentJob) -> None:
    await session.execute(insert(outbox).values(event_id=job.event_id, subject=JOBS_SUBJECT,
                                                payload=job.SerializeToString(), redemption_id=job.redemption_id,
                                                trace_context=outbox_context()))
    note_outbox_write(session)


# The relay's statements (PgPool). Only rows whose time has come: a code-pool job waits its grace period while
# Redeem fulfils it inline. Marking a round also starts the reconciler's clock of each job's redemption, when the
# job is really out rather than when it was queued.
CLAIM_DUE = """
SELECT event_id, subject, payload, trace_context FROM outbox
WHERE published_at IS NULL AND available_at <= now()
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
MARK_PUBLISHED = """
WITH published AS (
    UPDATE outbox SET published_at = now() WHERE event_id = ANY($1::varchar[]) RETURNING redemption_id)
UPDATE redemptions SET job_published_at = now() WHERE id IN (SELECT redemption_id FROM published)
"""
BACKLOG = """
SELECT count(*) AS backlog, extract(epoch FROM now() - min(created_at)) AS oldest
FROM outbox WHERE published_at IS NULL
"""


def jobs_relay(pool: PgPool, sessions: async_sessionmaker, link: JetStreamLink, poll_seconds: float) -> OutboxRelay:
    """The kit's relay over this outbox: woken by every SQLAlchemy commit that wrote a job (the reconciler) and by
    Redeem through its `wake()` (a pivot whose job may go out now), and every poll_seconds for the rest: rows
    another instance wrote, and jobs whose inline call a crash cut short (after their grace). The same relay
    drains the tenants' events (event_outbox, written by repository.py's statements): those of a code-pool redeem
    (created, completed) go out with the next round, woken or not, so the redeem path pays no relay round of its own."""
    relay = OutboxRelay(pool, link, RelayStatements(claim=CLAIM_DUE, mark_published=MARK_PUBLISHED, backlog=BACKLOG),
                        interval=poll_seconds, also=[event_outbox_statements()])
    wake_after_outbox_commits(sessions, relay.wake)
    return relay
