"""The gateway's Prometheus metrics: `GET /metrics` (every metric of the process, no auth, not in the OpenAPI
document, like /healthz) and the RED metrics of every other request, by route template, method, status and
dialect.

Recorded by the outermost layer (gateway.edge), so they count the status the client gets (a crash answered 500
included). Labels stay bounded: the route is the matched route's template (`/v1/redemptions/{id}`), never the raw
path, and "unmatched" when no route matched; a method outside the standard ones is "other". The labelled children
are cached per label set, so a request costs a dict lookup, two gauge moves, a counter increment and a histogram
observation (a few microseconds; GET /healthz costs ~220 us of gateway CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram
from service_kit import metrics as kit_metrics
from starlette.types import Scope, Send

if TYPE_CHECKING:
    from gateway.dialects.base import Dialect

METRICS_PATH = "/metrics"

HTTP_REQUESTS = Counter("rewards_http_requests_total", "HTTP requests answered, by route template and status.",
                        ["route", "method", "status", "dialect"])
HTTP_DURATION = Histogram("rewards_http_request_duration_seconds",
                          "Time from a request's arrival to the end of its answer.",
                          ["route", "method", "dialect"], buckets=kit_metrics.BUCKETS)
HTTP_IN_FLIGHT = Gauge("rewards_http_in_flight", "HTTP requests being answered now.")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def dialect_label(dialect: Dialect | None) -> str:
    """The dialect label of a request: the name of the API it was sent to (gateway.dialects.dialect_for), "none"
    when no API's prefix has its path (a probe, a web page)."""
    return dialect.name if dialect is not None else "none"


class RequestMetrics:
    """The RED metrics of the requests, recorded by gateway.edge.EdgeMiddleware, with the labelled children cached
    per label set."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str, str, str], Any] = {}
        self._durations: dict[tuple[str, str, str], Any] = {}

    @staticmethod
    def started() -> None:
        HTTP_IN_FLIGHT.inc()

    def finished(self, template: str | None, method: str, status: int, dialect: Dialect | None,
                 seconds: float) -> None:
        HTTP_IN_FLIGHT.dec()
        template = template or UNMATCHED
        method = method if method in _METHODS else "other"
        dialect_name = dialect_label(dialect)
        key = (template, method, str(status), dialect_name)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = HTTP_REQUESTS.labels(*key)
        counter.inc()
        duration_key = (template, method, dialect_name)
        duration = self._durations.get(duration_key)
        if duration is None:
            duration = self._durations[duration_key] = HTTP_DURATION.labels(*duration_key)
        duration.observe(seconds)


async def expose(scope: Scope, send: Send) -> None:
    """`GET /metrics`: every metric of the process in Prometheus' text format."""
    body = kit_metrics.exposition()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", kit_metrics.CONTENT_TYPE.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
