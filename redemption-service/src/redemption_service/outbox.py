"""The outbox: the fulfillment job is written in the pivot's transaction (and again by the reconciler, with a new
event id, when no result came), then published to JetStream by the relay and marked. The event id is the
Nats-Msg-Id, so a row published twice is dropped by JetStream (inside its window) and by fulfillment-service
(always); fulfillment-service is also idempotent on the redemption id, so a re-published job is harmless."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.db import note_outbox_write, wake_after_outbox_commits
from service_kit.messaging import JOBS_SUBJECT
from service_kit.scope import Scope
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from redemption_service.domain import Redemption
from service_kit.messaging import JetStreamLink
from redemption_service.models import outbox, redemptions

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 3.0


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
                                                payload=job.SerializeToString(), redemption_id=job.redemption_id))
    note_outbox_write(session)


async def publish_pending(sessions: async_sessionmaker, link: JetStreamLink, batch: int = 100) -> int:
    """Publishes the oldest unpublished events and marks them; stops at the first failure (kept for the next
    round). Rows are locked SKIP LOCKED so two instances never publish the same batch concurrently."""
    js = await link.jetstream()
    published: list[int] = []
    async with sessions.begin() as session:
        rows = (await session.execute(
            select(outbox.c.id, outbox.c.event_id, outbox.c.subject, outbox.c.payload)
            .where(outbox.c.published_at.is_(None), outbox.c.available_at <= func.now())
            .order_by(outbox.c.id).limit(batch)
            .with_for_update(skip_locked=True))).all()
        for row in rows:
            try:
                await js.publish(row.subject, row.payload, timeout=PUBLISH_TIMEOUT_SECONDS,
                                 headers={"Nats-Msg-Id": row.event_id})
            except Exception as exc:  # noqa: BLE001 - any publish failure is retried next round
                log.warning("publish failed", extra={"event_id": row.event_id, "error": repr(exc)})
                break
            published.append(row.id)
        if published:
            await session.execute(update(outbox).where(outbox.c.id.in_(published))
                                  .values(published_at=func.now()))
            # The reconciler's clock starts when the job is really out, not when it was queued.
            await session.execute(
                update(redemptions)
                .where(redemptions.c.id.in_(select(outbox.c.redemption_id).where(outbox.c.id.in_(published))))
                .values(job_published_at=func.now()))
    return len(published)


async def relay_outbox(sessions: async_sessionmaker, link: JetStreamLink, poll_seconds: float,
                       jobs_written: asyncio.Event) -> None:
    """Publishes at once after each commit that wrote a job (a reconciler's re-publish through a session, or
    whoever sets `jobs_written`: a pivot whose inline fulfilment failed), and every poll_seconds for the rest:
    rows another instance wrote, and jobs whose inline fulfilment was cut short by a crash (after their grace)."""
    wake_after_outbox_commits(sessions, jobs_written.set)
    while True:
        try:
            if await publish_pending(sessions, link):
                continue
        except Exception:
            log.exception("outbox relay round failed")
        try:
            await asyncio.wait_for(jobs_written.wait(), poll_seconds)
        except TimeoutError:
            pass
        jobs_written.clear()
