"""Fixtures over the real PostgreSQL and NATS of local_runner's pytest plugin."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
import httpx
import nats.errors
import pytest
from cryptography.fernet import Fernet
from fulfillment_service import repository
from fulfillment_service.grpc_api import FulfillmentApi
from fulfillment_service.job_consumer import JobConsumer
from fulfillment_service.outbox import results_relay
from fulfillment_service.provider_calls import ProviderClient
from fulfillment_service.provider_jobs import ProviderDelivery
from fulfillment_service.server import MIGRATIONS
from fulfillment_service.vault import Vault
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from service_kit.db import create_engine, session_maker, upgrade_database
from service_kit.grpc_server import ServingInterceptor, cancel_until_done
from service_kit.messaging import JOBS_SUBJECT, RESULTS_STREAM, STREAMS, JetStreamLink, connect, ensure_streams
from service_kit.outbox_relay import OutboxRelay
from service_kit.pgpool import PgPool
from sqlalchemy.ext.asyncio import async_sessionmaker

_ids = itertools.count(1)
# LOW_POOL_THRESHOLD of the service under test: its servicer's and its connections' (repository.pool_settings).
LOW_POOL_THRESHOLD = 3
SIGNING_SECRET = "test-signing-secret-0123456789"
PROVIDER_TIMEOUT = 0.5


@pytest.fixture
def vault() -> Vault:
    return Vault(Fernet.generate_key().decode())


@pytest.fixture
def database_url(new_database: Callable[[str], str]) -> str:
    url = new_database("fulfillment")
    upgrade_database(MIGRATIONS, url)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker]:
    engine = create_engine(database_url, pool_size=4)
    yield session_maker(engine)
    await engine.dispose()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[PgPool]:
    """The service's hot-path pool (server.py opens it beside the engine)."""
    pool = await PgPool.open(database_url, size=4, settings=repository.pool_settings(LOW_POOL_THRESHOLD))
    yield pool
    await pool.close()


@dataclass
class Bus:
    """The test's own NATS client: publishes jobs and reads results through a durable consumer of its own."""

    nc: Client
    js: JetStreamContext

    async def publish_job(self, job: fulfillment_pb2.FulfillmentJob, msg_id: str | None = None) -> None:
        await self.publish_raw(job.SerializeToString(), msg_id or job.event_id)

    async def publish_raw(self, payload: bytes, msg_id: str) -> None:
        await self.js.publish(JOBS_SUBJECT, payload, timeout=5, headers={"Nats-Msg-Id": msg_id})

    async def results(self, wait: float = 1.0) -> list[tuple[str, fulfillment_pb2.FulfillmentResult]]:
        """Every result currently on the stream (acked, so each is returned once), with its Nats-Msg-Id."""
        sub = await self.js.pull_subscribe_bind(durable="test-results", stream=RESULTS_STREAM)
        found = []
        try:
            while True:
                try:
                    msgs = await sub.fetch(50, timeout=wait)
                except (nats.errors.TimeoutError, TimeoutError):
                    break
                for m in msgs:
                    found.append(((m.headers or {}).get("Nats-Msg-Id", ""),
                                  fulfillment_pb2.FulfillmentResult.FromString(m.data)))
                    await m.ack_sync()
        finally:
            await sub.unsubscribe()
        return found


@pytest.fixture
async def bus(nats_server) -> AsyncIterator[Bus]:  # type: ignore[no-untyped-def]
    nc = await connect(nats_server.url, "fulfillment-tests")
    js = nc.jetstream(timeout=5)
    await ensure_streams(js)
    await clear_streams(js)  # no consumer or message of an earlier test survives into this one
    await js.add_consumer(RESULTS_STREAM, ConsumerConfig(durable_name="test-results", ack_wait=30))
    try:
        yield Bus(nc, js)
    finally:
        # Nor into the next suite on this session's NATS: the streams are work queues, where a consumer left
        # behind would keep another service's tests from creating theirs.
        await clear_streams(js)
        await nc.close()


async def clear_streams(js: JetStreamContext) -> None:
    for stream in STREAMS:
        for info in await js.consumers_info(stream):
            await js.delete_consumer(stream, info.name)
        await js.purge_stream(stream)


@dataclass
class Service:
    stub: fulfillment_pb2_grpc.FulfillmentServiceStub
    broker: JetStreamLink
    consumer: JobConsumer
    relay: OutboxRelay
    api: FulfillmentApi


@pytest.fixture
async def service(sessions: async_sessionmaker, pool: PgPool, vault: Vault, bus: Bus,  # type: ignore[no-untyped-def]
                  nats_server) -> AsyncIterator[Service]:
    broker = JetStreamLink(nats_server.url, "fulfillment-service-test", max_backoff=0.5)
    http = httpx.AsyncClient()
    # Short waits: two calls per delivery, a second between deliveries, three deliveries.
    client = ProviderClient(http, SIGNING_SECRET, timeout=PROVIDER_TIMEOUT, max_attempts=2, min_wait=0.01,
                            max_wait=0.3)
    provider = ProviderDelivery(sessions, vault, client, bonus_engine_url="")
    relay = results_relay(pool, sessions, broker, vault, interval=0.05)
    consumer = JobConsumer(sessions, pool, broker, vault, provider,
                           consumer_name=f"fulfillment-worker-{next(_ids)}", ack_wait=1.0, max_deliveries=3,
                           fetch_batch=16, outbox_written=relay.wake)
    api = FulfillmentApi(sessions, pool, vault, provider, callback_secret=SIGNING_SECRET,
                         low_pool_threshold=LOW_POOL_THRESHOLD,
                         stuck_after_seconds=300)
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    fulfillment_pb2_grpc.add_FulfillmentServiceServicer_to_server(api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    tasks = [asyncio.create_task(consumer.run()), asyncio.create_task(relay.run())]
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Service(fulfillment_pb2_grpc.FulfillmentServiceStub(channel), broker, consumer, relay, api)
    finally:
        # A task that ignores cancellation would hang the service on SIGTERM: stopped as the service's stop does
        # (cancelled again until it ends: a fetch's wait_for may swallow one cancellation), in a bounded wait.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel_until_done(tasks), 5)
        stuck = [t for t in tasks if not t.done()]
        results = [t.exception() if not t.cancelled() else None for t in tasks if t.done()]
        await channel.close()
        await server.stop(None)
        await broker.close()
        await http.aclose()
    assert not stuck, f"background tasks ignored cancellation: {stuck!r}"
    crashed = [r for r in results if r is not None]
    assert not crashed, f"a background task crashed: {crashed!r}"
