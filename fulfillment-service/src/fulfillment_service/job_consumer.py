"""The durable pull consumer of fulfillment jobs: fetch a batch, fulfil each job in one transaction, ack only
after the commit. An un-acked job comes back after the consumer's backoff, up to MAX_DELIVERIES times. A job
whose provider could not be reached in this delivery is nak'ed with the same backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from service_kit.failpoints import failpoint
from service_kit.messaging import JOBS_STREAM, JOBS_SUBJECT, DurableConsumer, JetStreamLink
from service_kit.messaging_metrics import note_delivery
from service_kit.pgpool import PgPool
from sqlalchemy.ext.asyncio import async_sessionmaker

from fulfillment_service import sandbox
from fulfillment_service.fulfilment import MalformedJob, ReceivedJob, Taken, fulfil_job, give_up_job, read_job
from fulfillment_service.metrics import DEAD_LETTERS, SERVICE
from fulfillment_service.provider_jobs import ProviderDelivery
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.jobs")



def redelivery_delay(ack_wait: float, delivery: int) -> float:
    """The wait before delivery number `delivery + 1`: the consumer's own backoff schedule."""
    return ack_wait * 2 ** max(0, delivery - 1)


def consumer_config(name: str, ack_wait: float, max_deliveries: int) -> ConsumerConfig:
    # Redeliveries wait longer each time; JetStream wants fewer backoff steps than deliveries.
    backoff = [redelivery_delay(ack_wait, i + 1) for i in range(max_deliveries - 1)] or None
    return ConsumerConfig(
        name=name, durable_name=name, filter_subject=JOBS_SUBJECT, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL, ack_wait=ack_wait, max_deliver=max_deliveries, backoff=backoff,
        max_ack_pending=1000,
    )


class JobConsumer:
    def __init__(self, sessions: async_sessionmaker, pool: PgPool, broker: JetStreamLink, vault: Vault,
                 provider: ProviderDelivery, *, consumer_name: str, ack_wait: float, max_deliveries: int,
                 fetch_batch: int, outbox_written: Callable[[], None]) -> None:
        self.sessions = sessions
        self.pool = pool
        self.outbox_written = outbox_written  # wakes the relay after a PgPool commit wrote a result
        self.broker = broker
        self.vault = vault
        self.provider = provider
        self.ack_wait = ack_wait
        self.config = consumer_config(consumer_name, ack_wait, max_deliveries)
        self.max_deliveries = max_deliveries
        self.fetch_batch = fetch_batch

    async def run(self) -> None:
        await DurableConsumer(self.broker.jetstream, JOBS_STREAM, self.config, self.take, batch=self.fetch_batch,
                              what="job", stream_replicas=self.broker.stream_replicas).run()

    async def take(self, msg: Msg) -> None:
        # A job that kills the process on every delivery: only the dead-letter path can refund it.
        failpoint("fulfillment.before_job")
        note_delivery(SERVICE, self.config.durable_name or "", msg)
        try:
            received = read_job(msg.data, (msg.headers or {}).get("Nats-Msg-Id"))
        except MalformedJob as exc:
            # No redemption to fulfil or refund: drop it for good, loudly.
            log.error("malformed job dropped", extra={"reason": str(exc), "stream_seq": msg.metadata.sequence.stream})
            await msg.term()
            return
        delivery = msg.metadata.num_delivered
        final = delivery >= self.max_deliveries
        forced = sandbox.forced_outcome(received)
        if forced is not None and await self._carry_out(msg, received, forced):
            return
        try:
            taken = await fulfil_job(self.sessions, self.pool, self.vault, received,
                                     bonus_engine_url=self.provider.bonus_engine_url,
                                     outbox_written=self.outbox_written)
            if taken is Taken.CALL_PROVIDER:
                async with self._still_working(msg):
                    done = await self.provider.deliver(received.scope, received.job, final=final,
                                                       retry_delay=redelivery_delay(self.ack_wait, delivery))
                if not done.settled:
                    # Not now: the provider was unreachable, or another replica's lease is live (then not
                    # before it ends, so the redelivery can take it over if its holder died).
                    await msg.nak(delay=max(redelivery_delay(self.ack_wait, delivery), done.retry_in))
                    return
        except Exception:  # any failure leaves the job un-acked for its next delivery
            log.exception("job not fulfilled", extra={"redemption_id": received.job.redemption_id,
                                                      "delivery": msg.metadata.num_delivered})
            if final:
                await self._give_up(msg, received)
            return
        if taken in (Taken.REDELIVERED, Taken.ALREADY_KNOWN):
            log.info("duplicate job acked", extra={"redemption_id": received.job.redemption_id,
                                                   "event_id": received.event_id, "kind": taken.value})
        # The effect is committed, the ack not sent: the redelivery must find the effect and add nothing.
        failpoint("fulfillment.after_commit")
        await msg.ack()

    async def _carry_out(self, msg: Msg, received: ReceivedJob, forced: sandbox.Forced) -> bool:
        """A sandbox job's forced outcome: True when it settled the message (held back, or failed as asked);
        False when the job goes on as usual (its wait is over)."""
        if forced.wait_seconds:
            left = sandbox.seconds_left(forced, msg.metadata.timestamp)
            if left <= 0:
                sandbox.FORCED.labels(forced.name).inc()
                return False
            await msg.nak(delay=left)
            return True
        async with self.sessions.begin() as session:
            await sandbox.fail_as_forced(session, self.vault, received, forced)
        self.outbox_written()
        await msg.ack()
        return True

    @contextlib.asynccontextmanager
    async def _still_working(self, msg: Msg) -> AsyncIterator[None]:
        """Tells JetStream the job is in hand while a provider call (with its retries) outlasts ACK_WAIT."""
        async def beat() -> None:
            while True:
                await asyncio.sleep(self.ack_wait / 2)
                with contextlib.suppress(nats.errors.Error, OSError):
                    await msg.in_progress()

        beating = asyncio.create_task(beat())
        try:
            yield
        finally:
            # Not awaited: awaiting it while this task is being cancelled could swallow that cancellation.
            beating.cancel()

    async def _give_up(self, msg: Msg, received: ReceivedJob) -> None:
        """JetStream will not deliver this job again: report it FAILED so the redemption is refunded."""
        try:
            async with self.sessions.begin() as session:
                await give_up_job(session, self.vault, received, "failed after every delivery attempt")
            DEAD_LETTERS.labels(SERVICE, "last_delivery_failed").inc()
        except Exception:
            # Left to redemption-service's reconciler, which re-publishes jobs that get no result.
            log.critical("job exhausted its deliveries and could not be failed",
                         extra={"redemption_id": received.job.redemption_id}, exc_info=True)
            return
        await msg.ack()
