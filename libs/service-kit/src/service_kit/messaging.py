"""NATS JetStream: the connection, and the streams every service declares idempotently at start.

Two streams: jobs (redemption -> fulfillment) and results (fulfillment -> redemption). Each subject has one
durable pull consumer. Events are protobuf; the event id travels as Nats-Msg-Id, which JetStream uses to
drop duplicates inside its window and consumers use to stay idempotent.
"""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

log = logging.getLogger("service_kit.messaging")

JOBS_STREAM = "FULFILLMENT_JOBS"
JOBS_SUBJECT = "rewards.fulfillment.requested"
RESULTS_STREAM = "FULFILLMENT_RESULTS"
RESULTS_SUBJECT = "rewards.fulfillment.result"
DUPLICATE_WINDOW_SECONDS = 120.0

STREAMS = {
    JOBS_STREAM: [JOBS_SUBJECT],
    RESULTS_STREAM: [RESULTS_SUBJECT],
}


async def connect(url: str, name: str) -> Client:
    async def on_error(exc: Exception) -> None:
        log.warning("nats error", extra={"error": repr(exc)})

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def on_reconnect() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        servers=[url],
        name=name,
        connect_timeout=5,
        reconnect_time_wait=1,
        max_reconnect_attempts=-1,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


async def ensure_streams(js: JetStreamContext) -> None:
    """Creates or updates the streams; safe to call from every service at every start."""
    for name, subjects in STREAMS.items():
        config = StreamConfig(
            name=name,
            subjects=subjects,
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            max_age=7 * 24 * 3600.0,
        )
        try:
            await js.stream_info(name)
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)
            log.info("stream created", extra={"stream": name})
