"""Forced outcomes of sandbox jobs (redemption-service's sandbox.py puts them in the job's config under
`sandbox_outcome`): what a client developer asked the fulfilment to do, carried out on the real path. Only in the
sandbox environment; a live job's key is ignored (redemption-service strips it, and refuses the request).

- `pending:N`: the job is put back on JetStream until N seconds after it was published, then fulfilled as usual;
- `provider_slow`: the same, PROVIDER_SLOW_SECONDS;
- `fail`: the job fails (SANDBOX_FULFILLMENT_FAILED): redemption-service refunds and cancels the redemption;
- `pool_empty`: the job fails as a code pool with no code left does (OUT_OF_CODES), refunded the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillment_service import repository
from fulfillment_service.fulfilment import ReceivedJob
from fulfillment_service.results import record_failure
from fulfillment_service.vault import Vault

log = logging.getLogger(__name__)

CONFIG_KEY = "sandbox_outcome"
PROVIDER_SLOW_SECONDS = 5.0
MAX_PENDING_SECONDS = 60.0
FAILURES = {"fail": ("SANDBOX_FULFILLMENT_FAILED", "the sandbox outcome `fail` failed this fulfilment"),
            "pool_empty": ("OUT_OF_CODES", "no code left for this item (sandbox outcome `pool_empty`)")}
FORCED = Counter("rewards_sandbox_outcomes_total", "Sandbox jobs whose outcome a client forced", ["outcome"])


@dataclass(frozen=True, slots=True)
class Forced:
    name: str            # fail, pool_empty, provider_slow, pending
    wait_seconds: float  # pending, provider_slow: from the job's publication


def forced_outcome(received: ReceivedJob) -> Forced | None:
    """The outcome a sandbox job was given; None for a live job, a job without one, or one not understood."""
    if received.scope.environment != "sandbox":
        return None
    value = received.job.config.fields.get(CONFIG_KEY)
    text = value.string_value if value is not None else ""
    if text in FAILURES:
        return Forced(text, 0.0)
    if text == "provider_slow":
        return Forced(text, PROVIDER_SLOW_SECONDS)
    if text.startswith("pending:") and text[len("pending:"):].isdigit():
        return Forced("pending", min(float(text[len("pending:"):]), MAX_PENDING_SECONDS))
    return None


def seconds_left(forced: Forced, published_at: datetime) -> float:
    """How much longer a waiting outcome holds the job back."""
    return max(0.0, forced.wait_seconds - (datetime.now(UTC) - published_at).total_seconds())


async def fail_as_forced(session: AsyncSession, vault: Vault, received: ReceivedJob, forced: Forced) -> bool:
    """Records the forced failure as the job's result (redemption-service refunds and cancels on it). False for a
    redelivery or a job that already has its outcome: its recorded result stands."""
    job, scope = received.job, received.scope
    if not await repository.mark_event_processed(session, received.event_id):
        return False
    if not await repository.open_job(session, scope, job.redemption_id, job.item_id, job.strategy,
                                     received.event_id, received.payload):
        return False
    code, message = FAILURES[forced.name]
    await record_failure(session, vault, scope, job.redemption_id, code, message, f"sandbox outcome {forced.name}")
    FORCED.labels(forced.name).inc()
    log.info("sandbox outcome forced", extra={"redemption_id": job.redemption_id, "outcome": forced.name})
    return True
