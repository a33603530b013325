"""The consumer under load: the events of one fetch appended in one statement, with the guarantees of one at a
time. Events are published while the consumer is stopped, so that it finds them waiting and fetches them in
batches: each id kept once (duplicates inside a batch, across batches, already in the log), in the order
published, each with its webhook deliveries; a malformed message terminated and the others kept; with the
database away every message of the batch delivered again and given up after MAX_DELIVERIES, as alone; an event
PostgreSQL refuses failing alone."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from events_service import domain, event_log, repository
from events_service.consumer import EventLogConsumer
from local_runner.pytest_plugin import wait_until
from nats.js import JetStreamContext
from prometheus_client import REGISTRY
from service_kit import domain_events
from service_kit.domain_events import EVENTS_STREAM
from service_kit.grpc_server import cancel_until_done
from service_kit.messaging import JetStreamLink, connect, ensure_streams
from service_kit.pgpool import PgPool
from service_kit.scope import Scope

_names = itertools.count(1)


async def clear_events_stream(js: JetStreamContext) -> None:
    for info in await js.consumers_info(EVENTS_STREAM):
        await js.delete_consumer(EVENTS_STREAM, info.name)
    await js.purge_stream(EVENTS_STREAM)


def taken(outcome: str) -> float:
    return REGISTRY.get_sample_value("rewards_events_taken_total", {"outcome": outcome}) or 0.0


def redelivered(consumer: EventLogConsumer) -> float:
    return REGISTRY.get_sample_value("rewards_consumer_redeliveries_total", {
        "service": "events-service", "consumer": consumer.config.durable_name or ""}) or 0.0


@dataclass
class Stopped:
    """The stream with no consumer running until start(): what is published waits for it. Keys are the test's own
    (JetStream's duplicate window outlives a purge: another test's event of the same id would be dropped)."""

    js: JetStreamContext
    nats_url: str
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    links: list[JetStreamLink] = field(default_factory=list)
    woken: int = 0

    async def publish(self, event_type: str, key: str, *, environment: str = "live", msg_id: str | None = None,
                      **data: object) -> str:
        event_id, subject, payload = self.event(event_type, key, environment, **data)
        await self.js.publish(subject, payload, timeout=5, headers={"Nats-Msg-Id": msg_id or event_id})
        return event_id

    def event(self, event_type: str, key: str, environment: str = "live", **data: object) -> tuple[str, str, bytes]:
        key = f"{self.prefix}-{key}"
        return domain_events.build(event_type, Scope("acme", environment), key, {"redemption_id": key, **data})

    def start(self, pool: PgPool, *, max_deliveries: int = 3) -> EventLogConsumer:
        link = JetStreamLink(self.nats_url, "events-service-test", max_backoff=0.5)

        def wake() -> None:
            self.woken += 1

        consumer = EventLogConsumer(pool, link, consumer_name=f"events-batch-{next(_names)}", fetch_batch=64,
                                    ack_wait=30.0, max_deliveries=max_deliveries, on_deliveries=wake)
        self.links.append(link)
        self.tasks.append(asyncio.create_task(consumer.run()))
        return consumer

    async def until_settled(self, consumer: EventLogConsumer, timeout: float = 15.0) -> None:
        """Every message of the stream acked or terminated by the consumer."""
        async def settled() -> bool:
            try:
                info = await self.js.consumer_info(EVENTS_STREAM, consumer.config.durable_name)
            except Exception:   # not made yet
                return False
            return info.num_pending == 0 and info.num_ack_pending == 0
        await wait_until(settled, timeout=timeout, what="every message settled")


@pytest.fixture
async def stopped(nats_server) -> AsyncIterator[Stopped]:  # type: ignore[no-untyped-def]
    nc = await connect(nats_server.url, "events-batch-tests")
    js = nc.jetstream(timeout=5)
    await ensure_streams(js)
    await clear_events_stream(js)
    stream = Stopped(js, nats_server.url)
    try:
        yield stream
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel_until_done(stream.tasks), 5)
        for link in stream.links:
            await link.close()
        await clear_events_stream(js)
        await nc.close()


async def logged(pool: PgPool) -> list[str]:
    return [r["event_id"] for r in await pool.fetch("SELECT event_id FROM events ORDER BY seq")]


def appends(calls: list[tuple[str, tuple[object, ...]]]) -> list[str]:
    return [sql for sql, _ in calls if sql in (repository.APPEND, repository.APPEND_BATCH)]


async def test_a_fetch_is_appended_in_one_statement_each_id_once_in_order_with_its_deliveries(
        stopped: Stopped, pool: PgPool) -> None:
    await pool.execute("""
        INSERT INTO webhook_endpoints (id, tenant_id, environment, url, event_types, secret, enabled) VALUES
            ('e-all', 'acme', 'live', 'https://a.example/h', '{}', 's', true),
            ('e-completed', 'acme', 'live', 'https://b.example/h', '{redemption.completed}', 's', true),
            ('e-disabled', 'acme', 'live', 'https://c.example/h', '{}', 's', false),
            ('e-sandbox', 'acme', 'sandbox', 'https://d.example/h', '{}', 's', true)""")
    # Already in the log (an earlier batch, another replica): a duplicate, no second delivery.
    _, _, payload = stopped.event("redemption.created", "r0")
    assert await event_log.append(pool, domain.read_event(payload), 60.0) is not None
    old = await stopped.publish("redemption.created", "r0")
    published = []
    for n in range(1, 16):
        published.append(await stopped.publish("redemption.created", f"r{n}", status="OPEN"))
        published.append(await stopped.publish("redemption.completed", f"r{n}", status="COMPLETED"))
        if n % 5 == 0:   # the same event again inside the batch (past JetStream's duplicate window)
            await stopped.publish("redemption.completed", f"r{n}", msg_id=f"again-{uuid.uuid4()}")
    sandbox = await stopped.publish("redemption.created", "s1", environment="sandbox")
    before = {outcome: taken(outcome) for outcome in ("appended", "duplicate", "malformed", "failed")}

    with pool.counting() as trips:
        consumer = stopped.start(pool)
        await stopped.until_settled(consumer)
    assert await logged(pool) == [old, *published, sandbox]
    statements = appends(trips.calls)
    # Idle, the consumer takes one message; then the rest, waiting, in batches: not one statement per event.
    assert repository.APPEND_BATCH in statements and len(statements) <= 4, statements
    assert {o: taken(o) - before[o] for o in before} == {"appended": 31, "duplicate": 4, "malformed": 0,
                                                         "failed": 0}
    deliveries = {(r["endpoint_id"], r["event_id"]) for r in await pool.fetch(
        "SELECT endpoint_id, event_id FROM webhook_deliveries")}
    expected = {("e-all", old)} | {("e-all", e) for e in published} | {("e-sandbox", sandbox)} \
        | {("e-completed", e) for e in published[1::2]}
    assert deliveries == expected
    assert stopped.woken >= 1
    assert await pool.tables_read_without_index([c for c in trips.calls if c[0] in statements]) == []

    # The same events delivered again (a redelivery, a relay that published twice): nothing changes.
    for n in range(1, 16):
        await stopped.publish("redemption.completed", f"r{n}", msg_id=f"later-{uuid.uuid4()}")
    await stopped.until_settled(consumer)
    assert await logged(pool) == [old, *published, sandbox]
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == len(expected)
    assert taken("duplicate") - before["duplicate"] == 4 + 15 and taken("appended") - before["appended"] == 31


async def test_a_malformed_message_in_a_batch_is_terminated_and_the_others_are_kept(
        stopped: Stopped, pool: PgPool) -> None:
    kept = [await stopped.publish("points.granted", f"g{n}", amount=n) for n in range(1, 4)]
    await stopped.js.publish("rewards.events.redemption.created", b"not json", timeout=5,
                             headers={"Nats-Msg-Id": "junk-1"})
    kept.append(await stopped.publish("points.granted", "g4", amount=4))
    await stopped.js.publish("rewards.events.redemption.created", b'{"id": "x"}', timeout=5,
                             headers={"Nats-Msg-Id": "junk-2"})
    kept.append(await stopped.publish("points.granted", "g5", amount=5))
    malformed = taken("malformed")
    with pool.counting() as trips:
        consumer = stopped.start(pool)
        await stopped.until_settled(consumer)
    assert await logged(pool) == kept and taken("malformed") - malformed == 2
    assert repository.APPEND_BATCH in appends(trips.calls) and redelivered(consumer) == 0


@dataclass
class Outage:
    """A role of its own for the consumer's pool, so that the database can go away for it alone: no connection
    allowed (53300, too many connections: UNAVAILABLE), the ones it holds cut."""

    admin: PgPool
    role: str

    async def begin(self) -> None:
        await self.admin.execute(f"ALTER ROLE {self.role} CONNECTION LIMIT 0")
        await self.admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                                 self.role)

    async def end(self) -> None:
        await self.admin.execute(f"ALTER ROLE {self.role} CONNECTION LIMIT -1")


@pytest.fixture
async def outage(pool: PgPool, database_url: str) -> AsyncIterator[tuple[Outage, Callable[[], PgPool]]]:
    role = f"events_outage_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE ROLE {role} LOGIN")
    await pool.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    await pool.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    opened: list[PgPool] = []

    def role_pool() -> PgPool:
        return opened[0]

    opened.append(await PgPool.open(database_url.replace("postgres@", f"{role}@", 1), size=2,
                                    checkout_timeout_seconds=1.0))
    try:
        yield Outage(pool, role), role_pool
    finally:
        await pool.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")
        for p in opened:
            await p.close()
        await pool.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        await pool.execute(f"DROP OWNED BY {role}")
        await pool.execute(f"DROP ROLE {role}")


async def test_with_the_database_away_a_batch_is_delivered_again_and_appended_once_it_is_back(
        stopped: Stopped, pool: PgPool, outage: tuple[Outage, Callable[[], PgPool]]) -> None:
    away, role_pool = outage
    published = [await stopped.publish("redemption.created", f"r{n}") for n in range(12)]
    failed = taken("failed")
    await away.begin()
    with role_pool().counting() as trips:
        consumer = stopped.start(role_pool(), max_deliveries=3)

        async def each_failed_once() -> bool:
            return taken("failed") - failed >= len(published)
        await wait_until(each_failed_once, timeout=10, what="every event of the batch failed")
        assert await logged(pool) == []
        await away.end()
        await stopped.until_settled(consumer)
    assert await logged(pool) == published and redelivered(consumer) >= len(published)
    assert repository.APPEND_BATCH in appends(trips.calls)


async def test_with_the_database_away_every_event_of_a_batch_is_given_up_after_max_deliveries(
        stopped: Stopped, pool: PgPool, outage: tuple[Outage, Callable[[], PgPool]],
        caplog: pytest.LogCaptureFixture) -> None:
    away, role_pool = outage
    published = [await stopped.publish("redemption.created", f"r{n}") for n in range(6)]
    await away.begin()
    failed = taken("failed")
    consumer = stopped.start(role_pool(), max_deliveries=2)
    await stopped.until_settled(consumer)   # the first delivery naked (2 s), the second terminated
    assert taken("failed") - failed == 2 * len(published)
    gave_up = [r for r in caplog.records if r.getMessage().startswith("event gave up")]
    assert sorted(getattr(r, "event_id") for r in gave_up) == sorted(published)   # noqa: B009
    await away.end()
    assert await logged(pool) == []


async def test_an_event_postgresql_refuses_fails_alone_and_the_rest_of_its_batch_is_kept(
        stopped: Stopped, pool: PgPool) -> None:
    kept = [await stopped.publish("points.granted", f"g{n}", amount=n) for n in range(3)]
    refused = await stopped.publish("points.granted", "nul", note="\u0000")   # jsonb refuses \u0000
    kept += [await stopped.publish("points.granted", f"g{n}", amount=n) for n in range(3, 6)]
    failed = taken("failed")
    with pool.counting() as trips:
        consumer = stopped.start(pool, max_deliveries=2)
        await stopped.until_settled(consumer)
    assert await logged(pool) == kept and refused not in kept
    assert taken("failed") - failed == 2   # its two deliveries, then given up
    statements = appends(trips.calls)
    # The batch refused, each of its events appended alone.
    assert repository.APPEND_BATCH in statements and statements.count(repository.APPEND) >= 6, statements
