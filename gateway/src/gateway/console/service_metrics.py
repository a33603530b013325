"""The console's health page reads the services' own Prometheus endpoints (CONSOLE_METRICS_URLS: `name=url` pairs,
comma-separated), each with a deadline, for the numbers an operator looks at first: the outbox's backlog and the
age of its oldest row, the durable consumers' pending messages, and the oldest unfinished saga. An endpoint that
does not answer in time, or answers something else, is shown as unreachable; the page never waits longer than
the deadline. Platform-wide numbers: they count every tenant's messages, and name none."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("gateway.console")

SCRAPE_TIMEOUT_SECONDS = 2.0
MAX_SCRAPE_BYTES = 4 * 1024 * 1024      # a service's whole /metrics is some tens of KiB

OUTBOX_BACKLOG = "rewards_outbox_backlog"
OUTBOX_OLDEST_AGE = "rewards_outbox_oldest_age_seconds"
CONSUMER_PENDING = "rewards_consumer_pending"
SAGA_OLDEST = "rewards_saga_oldest_unfinished_age_seconds"


def parse_targets(value: str) -> list[tuple[str, str]]:
    """CONSOLE_METRICS_URLS as (name, url) pairs; ValueError naming the entry that is not name=http(s)://..."""
    targets = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        name, sep, url = (part.strip() for part in entry.partition("="))
        parts = urlsplit(url)
        if not sep or not name or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{entry!r} is not name=http://host:port/metrics")
        targets.append((name, url))
    return targets


@dataclass
class ServiceNumbers:
    name: str
    reachable: bool = False
    problem: str = ""
    outbox_backlog: float | None = None
    outbox_oldest_age: float | None = None
    saga_oldest_age: float | None = None
    consumers: dict[str, float] = field(default_factory=dict)   # durable consumer -> messages pending


def numbers_of(name: str, text: str) -> ServiceNumbers:
    """The numbers of one /metrics text (summed over label sets: one process reports one service)."""
    found = ServiceNumbers(name, reachable=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == OUTBOX_BACKLOG:
                found.outbox_backlog = (found.outbox_backlog or 0) + sample.value
            elif sample.name == OUTBOX_OLDEST_AGE:
                found.outbox_oldest_age = max(found.outbox_oldest_age or 0, sample.value)
            elif sample.name == SAGA_OLDEST:
                found.saga_oldest_age = max(found.saga_oldest_age or 0, sample.value)
            elif sample.name == CONSUMER_PENDING:
                consumer = sample.labels.get("consumer", "")
                found.consumers[consumer] = found.consumers.get(consumer, 0) + sample.value
    return found


async def _scrape(client: httpx.AsyncClient, name: str, url: str) -> ServiceNumbers:
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
            async with client.stream("GET", url) as reply:
                if reply.status_code != 200:
                    raise ValueError(f"answered {reply.status_code}")
                body = bytearray()
                async for chunk in reply.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_SCRAPE_BYTES:
                        raise ValueError(f"answered more than {MAX_SCRAPE_BYTES} bytes")
        return numbers_of(name, body.decode("utf-8", errors="replace"))
    except TimeoutError:
        problem = f"no answer within {SCRAPE_TIMEOUT_SECONDS:g} s"
    except (httpx.HTTPError, ValueError) as exc:   # the parser raises ValueError on a text that is not metrics
        problem = str(exc) or type(exc).__name__
    log.warning("service metrics unreachable", extra={"service": name, "url": url, "problem": problem})
    return ServiceNumbers(name, problem=problem)


async def scrape_all(targets: list[tuple[str, str]]) -> list[ServiceNumbers]:
    """Every target at once; the whole takes at most SCRAPE_TIMEOUT_SECONDS (and a little)."""
    if not targets:
        return []
    async with httpx.AsyncClient(timeout=SCRAPE_TIMEOUT_SECONDS, follow_redirects=False) as client:
        return list(await asyncio.gather(*(_scrape(client, name, url) for name, url in targets)))
