"""The webhook delivery loop (docs/events.md, "Webhooks"): every replica claims due deliveries, POSTs each event
signed (domain.signed_headers) with a timeout, records the attempt, and schedules the next one.

At least once: a claim is a lease, not a transaction held across the POST. The claiming statement moves the
delivery's next_attempt_at past the lease (FOR UPDATE SKIP LOCKED, so two replicas never claim one delivery), and
only the statement that records the answer ends it. A replica killed after the POST and before the record sends
the event again when the lease ends (same webhook-id: the receiver drops the repeat). The failpoints
`events.after_claim` and `events.after_delivery` kill the process at those two places (tests-e2e/reliability).

A 2xx delivers. A 410 disables the endpoint at once. Any other answer, or none, is retried after
domain.retry_delay until the delivery's retry_until (three days), then the delivery failed. An endpoint whose
failures have not been broken by one success for WEBHOOK_DISABLE_AFTER_SECONDS is disabled. Disabling writes a
`webhook.endpoint.disabled` event into the tenant's log, in the transaction that disables it.

The secrets a delivery is signed with are unsealed here, for the attempt only (event_log.SecretVault); one that no
key of WEBHOOK_SECRET_KEYS opens fails the attempt unsent. The connection goes only to public addresses, checked as
it is made (addresses.py), unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES: a refused one fails the attempt unsent too."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client import Counter, Gauge, Histogram
from service_kit import domain_events
from service_kit.failpoints import failpoint
from service_kit.periodic import Woken
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.sealing import SealError

from events_service import addresses, domain, event_log

log = logging.getLogger("events_service.delivery")

ATTEMPTS = Counter("rewards_webhook_attempts_total",
                   "Webhook delivery attempts, by outcome (delivered: a 2xx; failed: any other answer or none; "
                   "gone: a 410, which disables the endpoint; refused: not sent, the receiver's address is not "
                   "public or its secret cannot be unsealed).", ["outcome"])
DELIVERIES = Counter("rewards_webhook_deliveries_total",
                     "Webhook deliveries finished, by outcome (delivered, failed: retried for the whole window).",
                     ["outcome"])
ATTEMPT_SECONDS = Histogram("rewards_webhook_attempt_seconds", "How long a webhook POST took, answered or not.",
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DISABLED = Counter("rewards_webhook_endpoints_disabled_total",
                   "Webhook endpoints disabled by the delivery loop, by reason (gone: a 410; failing).", ["reason"])
# What the loop owes: the pending deliveries of enabled endpoints (a disabled endpoint's wait for it to be enabled).
PENDING = Gauge("rewards_webhook_pending_deliveries",
                "Webhook deliveries to enabled endpoints not yet delivered nor given up.")
OLDEST_PENDING = Gauge("rewards_webhook_oldest_pending_seconds",
                       "Age of the oldest pending webhook delivery to an enabled endpoint (a receiver failing for "
                       "hours makes it grow, up to the retry window).")
OVERDUE = Gauge("rewards_webhook_overdue_seconds",
                "How long the most overdue due webhook delivery has waited past its time without an attempt: near "
                "0 while the delivery loop keeps up.")

BACKLOG_REPORT_SECONDS = 15.0
MAX_ERROR = 500

# $1 batch, $2 lease seconds. Only deliveries of enabled endpoints are due: a disabled one keeps its pending
# deliveries for when it is enabled again (until their retry window ends).
_CLAIM = """
    WITH claimed AS (
        UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2), attempts = attempts + 1
        WHERE d.id IN (
            SELECT d2.id FROM webhook_deliveries d2 JOIN webhook_endpoints w ON w.id = d2.endpoint_id
            WHERE d2.status = 'pending' AND d2.next_attempt_at <= now() AND w.enabled
            ORDER BY d2.next_attempt_at LIMIT $1 FOR UPDATE OF d2 SKIP LOCKED)
        RETURNING d.id, d.endpoint_id, d.event_seq, d.attempts, d.retry_until)
    SELECT c.id, c.endpoint_id, c.attempts, c.retry_until, w.url, w.secret,
           CASE WHEN w.previous_secret_until > now() THEN w.previous_secret END AS previous_secret,
           e.seq, e.event_id, e.tenant_id, e.environment, e.type, e.version, e.occurred_at, e.data
    FROM claimed c JOIN webhook_endpoints w ON w.id = c.endpoint_id JOIN events e ON e.seq = c.event_seq
    ORDER BY c.event_seq"""

# $1 delivery, $2 attempt number, $3 status code, $4 latency ms, $5 error.
_DELIVERED = """
    WITH attempt AS (
        INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempt, status_code, latency_ms, error)
        SELECT id, endpoint_id, event_id, $2, $3, $4, $5 FROM webhook_deliveries WHERE id = $1
        RETURNING endpoint_id),
    delivered AS (
        UPDATE webhook_deliveries SET status = 'delivered', finished_at = now() WHERE id = $1 AND status = 'pending')
    UPDATE webhook_endpoints SET failing_since = NULL
    WHERE id = (SELECT endpoint_id FROM attempt) AND failing_since IS NOT NULL"""

# $6: seconds until the next attempt. A delivery whose next attempt would fall past its retry window fails.
# Answers the endpoint's run of failures so far (seconds) to decide on disabling it.
_FAILED = """
    WITH attempt AS (
        INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempt, status_code, latency_ms, error)
        SELECT id, endpoint_id, event_id, $2, $3, $4, $5 FROM webhook_deliveries WHERE id = $1
        RETURNING endpoint_id),
    rescheduled AS (
        UPDATE webhook_deliveries SET
            next_attempt_at = now() + make_interval(secs => $6),
            status = CASE WHEN now() + make_interval(secs => $6) > retry_until THEN 'failed' ELSE 'pending' END,
            finished_at = CASE WHEN now() + make_interval(secs => $6) > retry_until THEN now() END
        WHERE id = $1 AND status = 'pending'
        RETURNING status),
    failing AS (
        UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
        WHERE id = (SELECT endpoint_id FROM attempt)
        RETURNING failing_since)
    SELECT (SELECT status FROM rescheduled) AS status,
           extract(epoch FROM now() - (SELECT failing_since FROM failing))::float8 AS failing_for"""

_DISABLE = """
    UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now()
    WHERE id = $1 AND enabled
    RETURNING id, tenant_id, environment, url"""

_BACKLOG = """
    SELECT count(*) AS pending, extract(epoch FROM now() - min(d.created_at))::float8 AS oldest,
           extract(epoch FROM now() - min(d.next_attempt_at) FILTER (WHERE d.next_attempt_at <= now()))::float8
               AS overdue
    FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
    WHERE d.status = 'pending' AND w.enabled"""


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int      # 0: none
    latency_ms: int
    error: str
    refused: bool = False  # not sent at all (a receiver's address that is not public, a secret no key opens)

    @property
    def delivered(self) -> bool:
        return 200 <= self.status_code < 300


class WebhookDelivery:
    def __init__(self, pool: PgPool, vault: event_log.SecretVault, *, timeout: float, interval: float, batch: int,
                 retry_base: float, retry_cap: float, disable_after: float, retry_for: float,
                 allow_private: bool = False, lease: float | None = None) -> None:
        self.pool = pool
        self.vault = vault
        self.allow_private = allow_private
        self.timeout = timeout
        self.interval = interval
        self.batch = batch
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.disable_after = disable_after
        self.retry_for = retry_for
        # An attempt in flight holds its delivery this long: past it, the attempt is taken for lost (its replica
        # died) and the event is sent again.
        self.lease = lease if lease is not None else 2 * timeout + 5.0
        self._last_report = 0.0
        self._client: httpx.AsyncClient | None = None
        self._loop = Woken("webhook_delivery", self._round, interval_seconds=self.interval, batch=batch)

    def wake(self) -> None:
        """Deliveries were queued: look for them now rather than at the next interval."""
        self._loop.wake()

    async def run(self) -> None:
        transport = addresses.ReceiverTransport(allow_private=self.allow_private)
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(self.timeout),
                                     follow_redirects=False, headers={"user-agent": "rewards-webhooks/1"}) as client:
            self._client = client
            await self._loop.run()

    async def _round(self) -> int:
        assert self._client is not None
        sent = await self.deliver_due(self._client)
        if time.monotonic() - self._last_report >= BACKLOG_REPORT_SECONDS:
            self._last_report = time.monotonic()
            await self.report_backlog()
        return sent

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """One round: claims up to `batch` due deliveries and makes one attempt of each, concurrently."""
        rows = await self.pool.fetch(_CLAIM, self.batch, self.lease)
        if rows:
            failpoint("events.after_claim")   # claimed (leased), nothing sent: each goes when its lease ends
            await asyncio.gather(*(self.attempt(client, row) for row in rows))
        return len(rows)

    async def attempt(self, client: httpx.AsyncClient, row: Any) -> None:
        event = {"id": row["event_id"], "type": row["type"], "version": row["version"], "time": row["occurred_at"],
                 "tenant": row["tenant_id"], "environment": row["environment"], "data": row["data"],
                 "seq": row["seq"]}
        payload = domain.body(event)
        try:
            signing = [self.vault.open(row["secret"])] + (
                [self.vault.open(row["previous_secret"])] if row["previous_secret"] else [])
        except SealError as exc:
            log.error("a webhook secret cannot be unsealed", extra={"endpoint_id": row["endpoint_id"]})
            answer = Answer(0, 0, f"not sent: {exc}", refused=True)
        else:
            headers = domain.signed_headers(row["event_id"], payload, signing, datetime.now(UTC))
            answer = await self.post(client, row["url"], payload, headers)
        extra = {"event_id": row["event_id"], "endpoint_id": row["endpoint_id"], "attempt": row["attempts"],
                 "status_code": answer.status_code, "latency_ms": answer.latency_ms}
        if answer.delivered:
            failpoint("events.after_delivery")   # the receiver has it, the attempt is not recorded: sent again
            ATTEMPTS.labels("delivered").inc()
            DELIVERIES.labels("delivered").inc()
            await self.pool.execute(_DELIVERED, row["id"], row["attempts"], answer.status_code, answer.latency_ms,
                                    "")
            log.info("webhook delivered", extra=extra)
            return
        gone = answer.status_code == 410
        ATTEMPTS.labels("gone" if gone else "refused" if answer.refused else "failed").inc()
        delay = domain.retry_delay(row["attempts"], base=self.retry_base, cap=self.retry_cap)
        outcome = await self.pool.fetchrow(_FAILED, row["id"], row["attempts"], answer.status_code,
                                           answer.latency_ms, answer.error[:MAX_ERROR], delay)
        log.warning("webhook attempt failed", extra={**extra, "error": answer.error, "retry_in_seconds": delay})
        if outcome is not None and outcome["status"] == "failed":
            DELIVERIES.labels("failed").inc()
            log.error("webhook delivery given up after its retry window", extra=extra)
        if gone:
            await self.disable(row["endpoint_id"], "gone", "the endpoint answered 410 Gone")
        elif outcome is not None and (outcome["failing_for"] or 0.0) >= self.disable_after:
            await self.disable(row["endpoint_id"], "failing",
                               f"every attempt failed for {int(outcome['failing_for'])} s")

    async def post(self, client: httpx.AsyncClient, url: str, payload: str, headers: dict[str, str]) -> Answer:
        """One POST. Only the status is read, never the body (a receiver cannot make the service hold a large
        answer), and the whole exchange is bounded by the timeout (httpx's own bounds each read, not the sum: a
        receiver dripping its headers would hold the attempt)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                async with client.stream("POST", url, content=payload.encode(), headers=headers) as response:
                    status = response.status_code
        except (httpx.HTTPError, TimeoutError) as exc:
            elapsed = time.perf_counter() - started
            if addresses.refused_by_guard(exc):
                return Answer(0, int(elapsed * 1000), str(exc)[:MAX_ERROR], refused=True)
            ATTEMPT_SECONDS.observe(elapsed)
            what = f"{type(exc).__name__}: {exc}" if str(exc) else f"{type(exc).__name__} after {self.timeout} s"
            return Answer(0, int(elapsed * 1000), what[:MAX_ERROR])
        elapsed = time.perf_counter() - started
        ATTEMPT_SECONDS.observe(elapsed)
        return Answer(status, int(elapsed * 1000), "" if 200 <= status < 300 else f"HTTP {status}")

    async def disable(self, endpoint_id: str, reason: str, why: str) -> None:
        """Disables the endpoint and tells the tenant in its log, in one transaction (once: an endpoint disabled
        already is left alone)."""
        async with self.pool.transaction() as tx:
            row = await tx.fetchrow(_DISABLE, endpoint_id, why)
            if row is None:
                return
            scope = Scope(row["tenant_id"], row["environment"])
            event_type = domain_events.WEBHOOK_ENDPOINT_DISABLED
            event = {"id": domain_events.event_id(event_type, scope, f"{endpoint_id}/{uuid.uuid4()}"),
                     "type": event_type, "version": domain_events.VERSIONS[event_type], "time": datetime.now(UTC),
                     "tenant": scope.tenant_id, "environment": scope.environment,
                     "data": {"endpoint_id": endpoint_id, "url": row["url"], "reason": reason, "detail": why}}
            appended = await event_log.append(tx, event, self.retry_for)
        DISABLED.labels(reason).inc()
        log.warning("webhook endpoint disabled", extra={"endpoint_id": endpoint_id, "reason": reason, "detail": why,
                                                        "tenant": scope.tenant_id, "event_id": event["id"]})
        if appended and appended.deliveries:
            self.wake()

    async def report_backlog(self) -> None:
        row = await self.pool.fetchrow(_BACKLOG)
        if row is not None:
            PENDING.set(row["pending"])
            OLDEST_PENDING.set(row["oldest"] or 0.0)
            OVERDUE.set(row["overdue"] or 0.0)
