"""NATS JetStream: the connection, and the streams every service declares idempotently at start.

Two streams: jobs (redemption -> fulfillment) and results (fulfillment -> redemption), a third that keeps the
server's max-deliveries advisories of the jobs (the dead letters, read by fulfillment-service), and the tenants'
domain events (`rewards.events.>`, JSON, kept by limits: service_kit.domain_events). Each subject has one
durable pull consumer. Events are protobuf; the event id travels as Nats-Msg-Id, which JetStream uses to
drop duplicates inside its window and consumers use to stay idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from opentelemetry import context as otel_context
from opentelemetry import trace

from service_kit import tracing
from service_kit.domain_events import EVENTS_MAX_AGE_SECONDS, EVENTS_STREAM, EVENTS_SUBJECTS
from service_kit.logs import request_id_var

log = logging.getLogger("service_kit.messaging")

JOBS_STREAM = "FULFILLMENT_JOBS"
JOBS_SUBJECT = "rewards.fulfillment.requested"
RESULTS_STREAM = "FULFILLMENT_RESULTS"
RESULTS_SUBJECT = "rewards.fulfillment.result"
DUPLICATE_WINDOW_SECONDS = 120.0
# The dead letters of the jobs stream: the server's advisory, for any consumer of FULFILLMENT_JOBS, that a job reached
# its max deliveries. Kept in a stream so that a job whose last delivery never ran its give-up code (the process died
# on every delivery) is still failed, and so refunded, by fulfillment-service. The job itself stays in the jobs stream
# (a work queue keeps a message that reached its max deliveries); the advisory carries its stream sequence.
DEAD_LETTERS_STREAM = "FULFILLMENT_DEAD_LETTERS"


def max_deliveries_subject(stream: str, consumer: str = "*") -> str:
    """The subject of the server's max-deliveries advisories for `consumer` (default: every consumer) of `stream`."""
    return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}"


STREAMS = {
    JOBS_STREAM: [JOBS_SUBJECT],
    RESULTS_STREAM: [RESULTS_SUBJECT],
    DEAD_LETTERS_STREAM: [max_deliveries_subject(JOBS_STREAM)],
    # The tenants' domain events (service_kit.domain_events, docs/events.md), published by each owner's outbox.
    EVENTS_STREAM: [EVENTS_SUBJECTS],
}
# Streams kept by limits rather than as a work queue: every consumer reads every message (the events service's
# log now, a second reader later), and a message stays until it is this old, read or not.
LIMITS_STREAMS = {EVENTS_STREAM: EVENTS_MAX_AGE_SECONDS}


def server_urls(url: str) -> list[str]:
    """The servers of NATS_URL: one URL, or several comma-separated (the nodes of a cluster; the client moves to
    another when its server goes away, and learns the rest of the cluster from the one it reaches)."""
    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise ValueError("NATS_URL names no server")
    return urls


async def connect(url: str, name: str) -> Client:
    async def on_error(exc: Exception) -> None:
        log.warning("nats error", extra={"error": repr(exc)})

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def on_reconnect() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        servers=server_urls(url),
        name=name,
        connect_timeout=5,
        reconnect_time_wait=1,
        max_reconnect_attempts=-1,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Creates or updates the streams, each kept on `replicas` servers of a cluster (1 for a single server; 3 for
    a three-node cluster: every write on a majority before its ack, so one node lost loses nothing and stops
    nothing); safe to call from every service at every start. Every service must give the same `replicas`
    (NATS_STREAM_REPLICAS), or each start would move the streams to its own count."""
    for name, subjects in STREAMS.items():
        config = StreamConfig(
            name=name,
            subjects=subjects,
            retention=RetentionPolicy.LIMITS if name in LIMITS_STREAMS else RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            max_age=LIMITS_STREAMS.get(name, 7 * 24 * 3600.0),
            num_replicas=replicas,
        )
        try:
            info = await js.stream_info(name)
            await js.update_stream(config)
            if (info.config.num_replicas or 1) != replicas:
                log.info("stream replicas changed", extra={
                    "stream": name, "replicas_before": info.config.num_replicas or 1, "replicas": replicas})
        except NotFoundError:
            await js.add_stream(config)
            log.info("stream created", extra={"stream": name, "replicas": replicas})


def keep_cancellation() -> None:
    """Call where a TimeoutError (or any error) is caught in a loop. On Python 3.11, asyncio.wait_for (used by
    nats-py's fetch and request) can turn a cancellation that lands as it times out into TimeoutError; a loop
    that swallows it would never stop, and the service would hang on SIGTERM."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


# How long an idle consumer waits for the next message, and after how many empty fetches in a row it asks the
# server whether messages are waiting: a pull subscription can stop receiving after a server restart (nats-py),
# and the cure is to subscribe again. A message is handed over the moment it arrives whatever the wait, so a
# longer wait costs no latency; it is what an idle consumer costs (one pull request per wait, and one consumer
# info request per check): at 2 s, the three consumers of a platform cost NATS ~2 ms of CPU per second at rest.
# A cancellation that Python 3.11's wait_for swallowed inside nats-py would only be seen at the next timeout
# (keep_cancellation), so the kit's serve() cancels its background tasks again until they end. A deaf
# subscription is found within 10 s.
FETCH_WAIT_SECONDS = 10.0
STALL_CHECK_EVERY = 1
# nats-py's fetch(n) holds the messages it has until n arrived or the wait is over: waiting for a batch would add
# up to FETCH_WAIT_SECONDS to every message of a quiet stream (and the fast fulfillment answer has two hops).
# So an idle consumer waits for ONE message, returned as it arrives; a busy one takes batches of what is already
# there, waiting only this long for the server to say so.
DRAIN_WAIT_SECONDS = 0.02


class DurableConsumer:
    """A durable pull consumer that keeps receiving: declares the streams and the consumer (idempotent), fetches
    in batches, hands each message to `take` (which acks), and subscribes again after an error, after a NATS
    restart that left the subscription deaf, or after a NATS that lost its store.

    `prepare_batch`, when given, is awaited with the messages of each fetch of more than one before they are taken
    one by one: it may do the batch's work at once (events-service appends a fetch's events in one statement) and
    leave each `take` only its message's outcome to settle (count, log, ack). It must not raise for a message's
    fault; each message is still taken in its own context (span, request id, INFO line)."""

    def __init__(self, jetstream: Callable[[], Awaitable[JetStreamContext]], stream: str, config: ConsumerConfig,
                 take: Callable[[Msg], Awaitable[None]], *, batch: int, what: str, stream_replicas: int = 1,
                 prepare_batch: Callable[[list[Msg]], Awaitable[None]] | None = None) -> None:
        self.jetstream = jetstream
        self.stream_replicas = stream_replicas
        self.stream = stream
        self.config = config
        self.take = take
        self.prepare_batch = prepare_batch
        self.batch = batch
        self.what = what

    async def run(self) -> None:
        sub: JetStreamContext.PullSubscription | None = None
        empty_fetches = 0
        busy = False
        while True:
            keep_cancellation()
            try:
                if sub is None:
                    sub = await self._subscribe()
                    empty_fetches = 0
                try:
                    if busy:
                        messages = await sub.fetch(self.batch, timeout=DRAIN_WAIT_SECONDS)
                    else:
                        messages = await sub.fetch(1, timeout=FETCH_WAIT_SECONDS)
                except (nats.errors.TimeoutError, TimeoutError):
                    keep_cancellation()
                    messages = []
                busy = bool(messages)
                if not messages:
                    empty_fetches += 1
                    if empty_fetches % STALL_CHECK_EVERY == 0 and await self._messages_waiting():
                        log.warning(f"{self.what}s waiting but none delivered; subscribing again")
                        sub = await self._drop(sub)
                    continue
                empty_fetches = 0
                if self.prepare_batch is not None and len(messages) > 1:
                    await self._prepare(self.prepare_batch, messages)
                for msg in messages:
                    await self._take(msg)
            except (nats.errors.Error, OSError) as exc:
                keep_cancellation()
                log.warning(f"{self.what} fetch failed; subscribing again", extra={"error": repr(exc)})
                sub = await self._drop(sub)
                await asyncio.sleep(1.0)

    async def _take(self, msg: Msg) -> None:
        """Hands one message to `take` as the request that published it: its request id bound for the logs and,
        while tracing is on, a consumer span joining the trace its headers name; then one INFO line."""
        headers = msg.headers or {}
        token = request_id_var.set(headers.get(tracing.REQUEST_ID_HEADER) or uuid.uuid4().hex)
        started = time.perf_counter()
        outcome = "taken"
        attached = None
        span = None
        if tracing.enabled():
            span, attached = tracing.start_consumer_span(
                f"{msg.subject} receive", headers,
                {"messaging.system": "nats", "messaging.destination.name": msg.subject,
                 "messaging.message.id": headers.get("Nats-Msg-Id", "")})
        try:
            await self.take(msg)
        except BaseException as exc:
            outcome = "failed" if isinstance(exc, Exception) else "cancelled"
            if span is not None and isinstance(exc, Exception):
                span.record_exception(exc)
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            log.info(f"{self.what} {outcome}", extra={
                "subject": msg.subject, "event_id": headers.get("Nats-Msg-Id", ""),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
            if span is not None:
                span.end()
            if attached is not None:
                otel_context.detach(attached)
            request_id_var.reset(token)

    async def _prepare(self, prepare_batch: Callable[[list[Msg]], Awaitable[None]], messages: list[Msg]) -> None:
        """Hands a fetch to `prepare_batch` under a request id of its own and, while tracing is on, one CONSUMER
        span linked to the context of each message (OpenTelemetry's batch processing: the batch's statements are
        its children, each message keeps its own span from _take); then one INFO line."""
        token = request_id_var.set(uuid.uuid4().hex)
        started = time.perf_counter()
        outcome = "prepared"
        span = attached = None
        if tracing.enabled():
            links = [trace.Link(context) for msg in messages
                     if (context := trace.get_current_span(tracing.extract(msg.headers or {})).get_span_context())
                     .is_valid]
            span = tracing.tracer("service_kit.messaging").start_span(
                f"{self.stream} process", kind=trace.SpanKind.CONSUMER, links=links,
                attributes={"messaging.system": "nats", "messaging.operation.type": "process",
                            "messaging.batch.message_count": len(messages)})
            attached = otel_context.attach(trace.set_span_in_context(span))
        try:
            await prepare_batch(messages)
        except BaseException as exc:
            outcome = "batch failed" if isinstance(exc, Exception) else "batch cancelled"
            if span is not None and isinstance(exc, Exception):
                span.record_exception(exc)
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            log.info(f"{self.what}s {outcome}", extra={
                "messages": len(messages), "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
            if span is not None:
                span.end()
            if attached is not None:
                otel_context.detach(attached)
            request_id_var.reset(token)

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        js = await self.jetstream()
        # A NATS that lost its store (a crash with the data folder gone) has no streams left: declare them again
        # before the consumer, or we would subscribe again forever to nothing. Both are idempotent. (The consumer
        # is kept on as many servers as its stream: its config leaves num_replicas unset.)
        await ensure_streams(js, self.stream_replicas)
        # Creates the durable consumer, or updates it to this config: safe at every start, from every replica.
        await js.add_consumer(self.stream, self.config)
        return await js.pull_subscribe_bind(durable=self.config.durable_name, stream=self.stream)

    async def _drop(self, sub: JetStreamContext.PullSubscription | None) -> None:
        if sub is not None:
            try:
                await sub.unsubscribe()
            except (nats.errors.Error, OSError):
                pass

    async def _messages_waiting(self) -> bool:
        js = await self.jetstream()
        info = await js.consumer_info(self.stream, self.config.durable_name)
        return bool(info.num_pending)


JETSTREAM_TIMEOUT_SECONDS = 5.0


class JetStreamLink:
    """The NATS connection of a service, made lazily and retried with jittered backoff: an unreachable NATS delays
    the consumers and relays that ask for it, never the gRPC server beside them. connect() already reconnects
    forever once connected; the backoff here covers the first connection and declaring the streams."""

    def __init__(self, url: str, name: str, *, max_backoff: float = 10.0, stream_replicas: int = 1) -> None:
        self.url = url
        self.name = name
        self.stream_replicas = stream_replicas
        self.max_backoff = max_backoff
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, once connected and the streams are declared; waits (retrying) until then."""
        async with self._lock:
            if self._js is None:
                self._js = await self._connect_with_backoff()
        return self._js

    async def _connect_with_backoff(self) -> JetStreamContext:
        delay = 0.25
        while True:
            try:
                if self._nc is None or self._nc.is_closed:
                    self._nc = await connect(self.url, self.name)
                js = self._nc.jetstream(timeout=JETSTREAM_TIMEOUT_SECONDS)
                await ensure_streams(js, self.stream_replicas)
                log.info("nats ready", extra={"url": self.url, "stream_replicas": self.stream_replicas})
                return js
            except Exception as exc:  # any failure to reach NATS is retried; cancellation still propagates
                keep_cancellation()
                log.warning("nats not ready; retrying", extra={"error": repr(exc), "retry_in": round(delay, 2)})
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self.max_backoff)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            try:
                await asyncio.wait_for(self._nc.close(), timeout=5)
            except Exception as exc:  # shutting down: note it and go on
                log.warning("nats close failed", extra={"error": repr(exc)})
