"""Prometheus metrics every process shares: the RPC RED metrics the kit's server interceptor records, the hot
path's database pool read at scrape time, and the small HTTP server that answers `GET /metrics` on METRICS_PORT.

Names and labels follow the platform's metrics contract (README, "Operating it"); labels stay bounded: the service,
the full gRPC method name, the status name, never an id from a request.

The hot path stays cheap: the interceptor holds one `RpcMetrics` per method, with the labelled children of the
histogram and the gauge taken once and the counter's child per status code taken on first use, so a call costs two
gauge moves, a counter increment and a histogram observation (no label lookup). Measured here (100k calls, CPU
time): 2.8 us per RPC, against 7.7 us calling .labels() on every call, next to the 1.3-1.9 ms an RPC costs. The
pool is not touched per checkout beyond two integers: `PoolCollector` reads sizes from each live `PgPool` when
Prometheus scrapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import grpc
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from service_kit.pgpool import PgPool

log = logging.getLogger("service_kit.metrics")

# One `*_created` series per child doubles what a scrape carries for a timestamp nobody alerts on.
disable_created_metrics()

# Seconds: from a cached read (~1 ms) to a saga that waits on its deadline (10 s).
BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
CONTENT_TYPE = CONTENT_TYPE_LATEST

RPC_REQUESTS = Counter("rewards_rpc_requests_total", "gRPC calls served, by final status code.",
                       ["service", "method", "code"])
RPC_DURATION = Histogram("rewards_rpc_duration_seconds", "Time to serve a gRPC call, refusals included.",
                         ["service", "method"], buckets=BUCKETS)
RPC_IN_FLIGHT = Gauge("rewards_rpc_in_flight", "gRPC calls being served now.", ["service", "method"])

_process_service = "unknown"


def set_process_service(name: str) -> None:
    """The `service` label of the pool metrics: the process's service (serve() sets it)."""
    global _process_service
    _process_service = name


def exposition() -> bytes:
    """Every registered metric in Prometheus' text format (CONTENT_TYPE)."""
    return generate_latest(REGISTRY)


class RpcMetrics:
    """The RED metrics of one method of one service, with their labelled children cached."""

    __slots__ = ("_codes", "_duration", "_in_flight", "_method", "_service")

    def __init__(self, service: str, method: str) -> None:
        self._service = service
        self._method = method
        self._duration = RPC_DURATION.labels(service, method)
        self._in_flight = RPC_IN_FLIGHT.labels(service, method)
        self._codes: dict[grpc.StatusCode, Any] = {}

    def started(self) -> None:
        self._in_flight.inc()

    def finished(self, context: grpc.aio.ServicerContext, seconds: float) -> grpc.StatusCode:
        """Call from the handler's `finally`: the code is the one the call was aborted with; none set means OK,
        unless an exception is leaving the handler (cancelled: the caller went away or its deadline passed).
        Returns that code (for the call's span)."""
        code = context.code()
        if code is None:
            raised = sys.exc_info()[1]
            code = (grpc.StatusCode.OK if raised is None else
                    grpc.StatusCode.CANCELLED if isinstance(raised, asyncio.CancelledError) else
                    grpc.StatusCode.UNKNOWN)
        elif not isinstance(code, grpc.StatusCode):   # set_code() given something else: keep the label bounded
            code = grpc.StatusCode.UNKNOWN
        counter = self._codes.get(code)
        if counter is None:
            counter = self._codes[code] = RPC_REQUESTS.labels(self._service, self._method, code.name)
        counter.inc()
        self._duration.observe(seconds)
        self._in_flight.dec()
        return code


class RpcRecorder:
    """The RpcMetrics of each method of one service, made on a method's first call."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._methods: dict[str, RpcMetrics] = {}

    def of(self, method: str) -> RpcMetrics:
        found = self._methods.get(method)
        if found is None:
            found = self._methods[method] = RpcMetrics(self.service, method)
        return found


# --- the database pool, read at scrape time -----------------------------------------------------------------

_pools: weakref.WeakSet[PgPool] = weakref.WeakSet()


def watch_pool(pool: PgPool) -> None:
    """Report this pool's connections until it is garbage (PgPool calls it)."""
    _pools.add(pool)


class PoolCollector(Collector):
    """rewards_db_pool_connections{service,state} (in_use, idle, max) and the checkout counters of every live
    PgPool, summed per service. Runs only when Prometheus scrapes."""

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterator[Metric]:
        totals: dict[str, list[int]] = {}
        for pool in list(_pools):
            if pool.closed:
                continue
            in_use, idle, size, waits, timeouts = pool.usage()
            row = totals.setdefault(_process_service, [0, 0, 0, 0, 0])
            for i, value in enumerate((in_use, idle, size, waits, timeouts)):
                row[i] += value
        connections, waits, timeouts = self._families()
        for service, (in_use, idle, size, waited, timed_out) in totals.items():
            connections.add_metric([service, "in_use"], in_use)
            connections.add_metric([service, "idle"], idle)
            connections.add_metric([service, "max"], size)
            waits.add_metric([service], waited)
            timeouts.add_metric([service], timed_out)
        yield from (connections, waits, timeouts)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, CounterMetricFamily, CounterMetricFamily]:
        return (
            GaugeMetricFamily("rewards_db_pool_connections",
                              "Connections of the hot path's pool: in_use, idle, and max (its size).",
                              labels=["service", "state"]),
            CounterMetricFamily("rewards_db_pool_checkout_waits",
                                "Checkouts that found no free connection and waited.", labels=["service"]),
            CounterMetricFamily("rewards_db_pool_checkout_timeouts",
                                "Checkouts that found no connection within the pool's checkout bound "
                                "(answered UNAVAILABLE).", labels=["service"]),
        )


REGISTRY.register(PoolCollector())


# --- GET /metrics -------------------------------------------------------------------------------------------

_READ_TIMEOUT_SECONDS = 5.0


class MetricsServer:
    """`GET /metrics` over plain HTTP/1.1 on the event loop: no thread, no framework, one answer per connection.
    A scrape is rare (every 15-30 s) and small, so serving it on the loop costs less than a thread that would
    contend for the GIL, and stopping is closing a socket."""

    def __init__(self, server: asyncio.Server) -> None:
        self._server = server

    @classmethod
    async def start(cls, host: str, port: int) -> MetricsServer:
        server = await asyncio.start_server(_answer, host, port, reuse_address=True)
        return cls(server)

    @property
    def port(self) -> int:
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2.0)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            return
        parts = head.split(b"\r\n", 1)[0].split()
        method = parts[0] if parts else b""
        path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
        if method not in (b"GET", b"HEAD"):
            status, body, media = b"405 Method Not Allowed", b"GET only\n", b"text/plain"
        elif path != b"/metrics":
            status, body, media = b"404 Not Found", b"metrics are at /metrics\n", b"text/plain"
        else:
            status, body, media = b"200 OK", exposition(), CONTENT_TYPE.encode()
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: " + media + b"\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
                     + (body if method != b"HEAD" else b""))
        await writer.drain()
    except ConnectionError:
        pass
    except Exception:
        log.exception("metrics scrape failed")
    finally:
        writer.close()
