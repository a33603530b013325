"""The kit's metrics, scraped over HTTP as Prometheus would: serve() exposes METRICS_PORT, the interceptor counts
each call with its final status code and times it, and the hot path's pool reports its connections, the
checkouts that waited and those that timed out."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2
from local_runner.infra import Postgres, free_port
from prometheus_client.parser import text_string_to_metric_families
from service_kit.errors import DomainError, ErrorCode
from service_kit.grpc_client import open_channel
from service_kit.grpc_server import serve
from service_kit.pgpool import PgPool

SERVICE = "kit.test.Probe"
CHECK = f"/{SERVICE}/Check"
Request, Response = health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse


async def check(request: Request, context: grpc.aio.ServicerContext) -> Response:
    """Answers SERVING, refuses "refuse" (OUT_OF_STOCK), aborts "abort" itself, and sleeps on "slow"."""
    if request.service == "refuse":
        raise DomainError(ErrorCode.OUT_OF_STOCK, "no stock left")
    if request.service == "abort":
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")
    if request.service == "slow":
        await asyncio.sleep(5)
    return Response(status=Response.SERVING)


@dataclass
class Running:
    service: str
    check: grpc.aio.UnaryUnaryMultiCallable
    metrics_url: str

    async def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample of the scrape, by (sample name, labels)."""
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(self.metrics_url)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(answer.text) for s in family.samples}

    def key(self, name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
        return name, frozenset({"service": self.service, **labels}.items())


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    """A service run by the kit's own serve(), as every service runs, with METRICS_PORT on a free port."""
    name = f"kit-test-{uuid.uuid4().hex[:8]}"
    port, metrics_port = free_port(), free_port()
    ready = asyncio.Event()

    def add_services(server: grpc.aio.Server) -> list[str]:
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {
            "Check": grpc.unary_unary_rpc_method_handler(check, request_deserializer=Request.FromString,
                                                         response_serializer=Response.SerializeToString)})])
        return [SERVICE]

    task = asyncio.create_task(serve(name=name, host="127.0.0.1", port=port, add_services=add_services,
                                     grace_seconds=0.5, ready=ready, metrics_port=metrics_port))
    await asyncio.wait([task, asyncio.create_task(ready.wait())], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert ready.is_set(), task.exception() if task.done() else "serve() did not get ready"
    channel = open_channel(f"127.0.0.1:{port}")
    try:
        rpc = channel.unary_unary(CHECK, request_serializer=Request.SerializeToString,
                                  response_deserializer=Response.FromString)
        yield Running(name, rpc, f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        await channel.close()
        os.kill(os.getpid(), signal.SIGTERM)   # serve()'s own stop: its handler is on this loop
        await asyncio.wait_for(task, 10)


async def test_a_served_call_is_counted_with_its_code_and_timed(running: Running) -> None:
    await running.check(Request(), timeout=2)

    samples = await running.samples()
    assert samples[running.key("rewards_rpc_requests_total", method=CHECK, code="OK")] == 1
    assert samples[running.key("rewards_rpc_duration_seconds_count", method=CHECK)] == 1
    assert samples[running.key("rewards_rpc_duration_seconds_bucket", method=CHECK, le="10.0")] == 1
    assert 0 < samples[running.key("rewards_rpc_duration_seconds_sum", method=CHECK)] < 2
    assert samples[running.key("rewards_rpc_in_flight", method=CHECK)] == 0


async def test_a_refused_call_is_counted_with_the_code_the_caller_got(running: Running) -> None:
    for service in ("refuse", "abort"):
        with pytest.raises(grpc.aio.AioRpcError):
            await running.check(Request(service=service), timeout=2)
    await running.check(Request(), timeout=2)

    samples = await running.samples()
    assert samples[running.key("rewards_rpc_requests_total", method=CHECK, code="FAILED_PRECONDITION")] == 1
    assert samples[running.key("rewards_rpc_requests_total", method=CHECK, code="PERMISSION_DENIED")] == 1
    assert samples[running.key("rewards_rpc_requests_total", method=CHECK, code="OK")] == 1
    assert samples[running.key("rewards_rpc_duration_seconds_count", method=CHECK)] == 3


async def test_a_call_whose_caller_gave_up_is_counted_cancelled_and_leaves_no_call_in_flight(
        running: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await running.check(Request(service="slow"), timeout=0.2)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    cancelled = running.key("rewards_rpc_requests_total", method=CHECK, code="CANCELLED")
    for _ in range(50):   # the server sees the deadline a moment after the client does
        samples = await running.samples()
        if samples.get(cancelled) == 1:
            break
        await asyncio.sleep(0.05)
    assert samples.get(cancelled) == 1
    assert samples[running.key("rewards_rpc_in_flight", method=CHECK)] == 0


async def test_the_metrics_port_answers_only_get_metrics(running: Running) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(running.metrics_url.replace("/metrics", "/other"))).status_code == 404
        assert (await client.post(running.metrics_url)).status_code == 405


async def test_the_pool_reports_its_connections_and_the_checkouts_that_waited_or_timed_out(
        postgres: Postgres, running: Running) -> None:
    # serve() named this process's service; the pool is reported under it, summed over its live pools.
    before = await running.samples()
    pool = await PgPool.open(postgres.ensure_database("kit_metrics"), size=1, checkout_timeout_seconds=0.3)
    try:
        holding = asyncio.create_task(pool.execute("SELECT pg_sleep(1)"))
        await asyncio.sleep(0.1)
        with pytest.raises(DomainError) as refused:   # waits for the only connection, and gives up
            await pool.fetchval("SELECT 1")
        assert refused.value.code is ErrorCode.UNAVAILABLE
        during = await running.samples()
        await holding

        def grew(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
            key = running.key(name, **labels)
            return samples.get(key, 0) - before.get(key, 0)

        assert grew(during, "rewards_db_pool_connections", state="max") == 1
        assert grew(during, "rewards_db_pool_connections", state="in_use") == 1
        assert grew(during, "rewards_db_pool_checkout_waits_total") == 1
        assert grew(during, "rewards_db_pool_checkout_timeouts_total") == 1
        after = await running.samples()
        assert grew(after, "rewards_db_pool_connections", state="in_use") == 0
        assert grew(after, "rewards_db_pool_connections", state="idle") == 1
    finally:
        await pool.close()
