"""Fixtures over the real PostgreSQL and NATS of local_runner's pytest plugin: the events service's gRPC server
and its durable consumer, in-process, on a new database, and a NATS client that plays the publishing services."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
import pytest
from events_service.consumer import EventLogConsumer
from events_service.db import migrate
from events_service.event_log import SecretVault
from events_service.grpc_api import EventsApi, WebhookSettings
from nats.js import JetStreamContext
from rewards.events.v1 import events_pb2_grpc
from service_kit.domain_events import EVENTS_STREAM
from service_kit.grpc_server import ServingInterceptor, cancel_until_done
from service_kit.messaging import JetStreamLink, connect, ensure_streams
from service_kit.pgpool import PgPool
from service_kit.sealing import new_key

_ids = itertools.count(1)


@pytest.fixture
def database_url(new_database: Callable[[str], str]) -> str:
    url = new_database("events")
    migrate(url)
    return url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[PgPool]:
    pool = await PgPool.open(database_url, size=4)
    yield pool
    await pool.close()


@dataclass
class EventsService:
    stub: events_pb2_grpc.EventsServiceStub
    js: JetStreamContext
    consumer: EventLogConsumer


async def clear_events_stream(js: JetStreamContext) -> None:
    for info in await js.consumers_info(EVENTS_STREAM):
        await js.delete_consumer(EVENTS_STREAM, info.name)
    await js.purge_stream(EVENTS_STREAM)


@pytest.fixture
async def service(pool: PgPool, nats_server) -> AsyncIterator[EventsService]:  # type: ignore[no-untyped-def]
    nc = await connect(nats_server.url, "events-tests")
    js = nc.jetstream(timeout=5)
    await ensure_streams(js)
    await clear_events_stream(js)
    link = JetStreamLink(nats_server.url, "events-service-test", max_backoff=0.5)
    consumer = EventLogConsumer(pool, link, consumer_name=f"events-log-{next(_ids)}", fetch_batch=64,
                                ack_wait=2.0, max_deliveries=3)
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    api = EventsApi(pool, WebhookSettings(SecretVault.from_setting(new_key())))
    events_pb2_grpc.add_EventsServiceServicer_to_server(api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    task = asyncio.create_task(consumer.run())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield EventsService(events_pb2_grpc.EventsServiceStub(channel), js, consumer)
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel_until_done([task]), 5)
        await channel.close()
        await server.stop(0)
        await link.close()
        await clear_events_stream(js)
        await nc.close()
