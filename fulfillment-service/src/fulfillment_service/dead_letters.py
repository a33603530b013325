"""The dead-letter path of fulfillment jobs.

The last delivery of a job normally fails it itself (job_consumer), so its redemption is refunded. When that code
never ran (the process died on every delivery: a poison job), JetStream stops delivering the job and publishes a
max-deliveries advisory, which the FULFILLMENT_DEAD_LETTERS stream keeps. This durable consumer reads each one: it
takes the advisory's stream sequence, fetches the job from the jobs stream (a work queue keeps a message that
reached its max deliveries), fails it the way the last delivery would (give_up_job: a FAILED result, so
redemption-service refunds; nothing when the job already has an outcome), deletes the job from the jobs stream, and
acks only after the commit. Each step is idempotent, so a crash anywhere is repeated safely.

At start, the dead letters already waiting are settled before any job is taken (`settle_waiting`): a job that kills
the process on every delivery would otherwise kill it again on the next copy of the job before its dead letter is
read, and the crash loop would never end."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from service_kit.messaging import (
    DEAD_LETTERS_STREAM,
    JOBS_STREAM,
    DurableConsumer,
    JetStreamLink,
    keep_cancellation,
    max_deliveries_subject,
)
from sqlalchemy.ext.asyncio import async_sessionmaker

from fulfillment_service.fulfilment import MalformedJob, give_up_job, read_job
from fulfillment_service.metrics import DEAD_LETTERS, SERVICE
from fulfillment_service.vault import Vault

log = logging.getLogger("fulfillment_service.dead_letters")

MAX_DELIVER_ADVISORY = "io.nats.jetstream.advisory.v1.max_deliver"
# How long the start waits for one more waiting dead letter before it lets the job consumer begin.
SETTLE_FETCH_SECONDS = 0.5
# A dead letter we could not settle (database away, NATS request failed) is tried again after this.
RETRY_DELAY_SECONDS = 2.0


class MalformedAdvisory(ValueError):
    """A message on the dead-letters stream that is no max-deliveries advisory of the jobs stream."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    consumer: str
    stream_seq: int
    deliveries: int


def read_dead_letter(data: bytes) -> DeadLetter:
    """The advisory: {"type": "io.nats.jetstream.advisory.v1.max_deliver", "stream", "consumer", "stream_seq",
    "deliveries", ...}."""
    try:
        advisory = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedAdvisory(f"not JSON: {exc}") from None
    if not isinstance(advisory, dict) or advisory.get("type") != MAX_DELIVER_ADVISORY:
        raise MalformedAdvisory("not a max-deliveries advisory")
    if advisory.get("stream") != JOBS_STREAM:
        raise MalformedAdvisory(f"about stream {advisory.get('stream')!r}, not {JOBS_STREAM}")
    seq = advisory.get("stream_seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise MalformedAdvisory("stream_seq is not a positive integer")
    deliveries = advisory.get("deliveries")
    return DeadLetter(consumer=str(advisory.get("consumer") or ""), stream_seq=seq,
                      deliveries=deliveries if isinstance(deliveries, int) and not isinstance(deliveries, bool) else 0)


def consumer_config(name: str, ack_wait: float) -> ConsumerConfig:
    # No max_deliver: a dead letter is the last word on its job, it is tried until it is settled.
    return ConsumerConfig(
        name=name, durable_name=name, filter_subject=max_deliveries_subject(JOBS_STREAM),
        ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=ack_wait, max_ack_pending=100,
    )


class DeadLetters:
    def __init__(self, sessions: async_sessionmaker, broker: JetStreamLink, vault: Vault, *, consumer_name: str,
                 ack_wait: float, fetch_batch: int) -> None:
        self.sessions = sessions
        self.broker = broker
        self.vault = vault
        self.config = consumer_config(consumer_name, ack_wait)
        self.fetch_batch = fetch_batch

    async def run(self) -> None:
        await DurableConsumer(self.broker.jetstream, DEAD_LETTERS_STREAM, self.config, self.take,
                              batch=self.fetch_batch, what="dead letter",
                              stream_replicas=self.broker.stream_replicas).run()

    async def settle_waiting(self) -> int:
        """Settles the dead letters waiting now, one at a time, until none is left; returns how many. A failure
        here only delays them to `run`."""
        settled = 0
        try:
            js = await self.broker.jetstream()
            info = await js.add_consumer(DEAD_LETTERS_STREAM, self.config)
            if not info.num_pending:
                return 0
            sub = await js.pull_subscribe_bind(durable=self.config.durable_name, stream=DEAD_LETTERS_STREAM)
            try:
                while True:
                    try:
                        messages = await sub.fetch(1, timeout=SETTLE_FETCH_SECONDS)
                    except (nats.errors.TimeoutError, TimeoutError):
                        keep_cancellation()
                        break
                    for msg in messages:
                        await self.take(msg)
                        settled += 1
            finally:
                await sub.unsubscribe()
        except (nats.errors.Error, OSError) as exc:
            keep_cancellation()
            log.warning("waiting dead letters not settled at start; the consumer will",
                        extra={"error": repr(exc)})
        if settled:
            log.warning("dead letters settled before taking jobs", extra={"count": settled})
        return settled

    async def take(self, msg: Msg) -> None:
        try:
            letter = read_dead_letter(msg.data)
        except MalformedAdvisory as exc:
            log.error("malformed dead letter dropped", extra={"reason": str(exc)})
            await msg.term()
            return
        about = {"stream_seq": letter.stream_seq, "consumer": letter.consumer, "deliveries": letter.deliveries}
        try:
            js = await self.broker.jetstream()
            try:
                stored = await js.get_msg(JOBS_STREAM, letter.stream_seq)
            except NotFoundError:
                # Deleted after an earlier give-up whose ack was lost, or expired: nothing left here to fail
                # (redemption-service's reconciler asks again for a job that never got a result).
                log.warning("dead-lettered job no longer in the jobs stream", extra=about)
                DEAD_LETTERS.labels(SERVICE, "job_gone").inc()
                await msg.ack()
                return
            try:
                received = read_job(stored.data or b"", (stored.headers or {}).get("Nats-Msg-Id"))
            except MalformedJob as exc:
                log.error("dead-lettered job is malformed; dropped", extra={**about, "reason": str(exc)})
                DEAD_LETTERS.labels(SERVICE, "malformed").inc()
            else:
                async with self.sessions.begin() as session:
                    failed = await give_up_job(session, self.vault, received,
                                               f"dead-lettered after {letter.deliveries} deliveries")
                DEAD_LETTERS.labels(SERVICE, "job_failed" if failed else "already_settled").inc()
                if failed:
                    log.error("job failed by the dead-letter path; its redemption is refunded",
                              extra={**about, "redemption_id": received.job.redemption_id})
                else:
                    log.info("dead-lettered job already had an outcome",
                             extra={**about, "redemption_id": received.job.redemption_id})
            await self._forget_job(letter.stream_seq)
        except Exception:
            keep_cancellation()
            log.exception("dead letter not settled; tried again", extra=about)
            try:
                await msg.nak(delay=RETRY_DELAY_SECONDS)
            except (nats.errors.Error, OSError):
                pass  # it comes back after ack_wait anyway
            return
        await msg.ack()

    async def _forget_job(self, stream_seq: int) -> None:
        """The job is settled: it no longer waits in the jobs stream (a work queue keeps it otherwise)."""
        js = await self.broker.jetstream()
        try:
            await js.delete_msg(JOBS_STREAM, stream_seq)
        except NotFoundError:
            pass
