"""Forced outcomes for the sandbox: a redeem (RedeemRequest.sandbox_outcome, the gateway's Sandbox-Outcome header)
or an item (its fulfillment_config's `sandbox_outcome`) asks the fulfilment to end a given way, so that a client
developer can test against pending, failed-and-refunded, empty-pool and slow-provider redemptions on the real
path (the saga, the outbox, JetStream, fulfillment-service, the refund), and a review hold (`review`: the pivot
holds it AWAITING_APPROVAL with reason SANDBOX_REVIEW until an operator decides or the hold times out). Refused
in live with SANDBOX_ONLY.

The outcome travels in the redemption's fulfillment config snapshot under CONFIG_KEY, so the job the pivot writes
and any job the reconciler publishes again carry it; fulfillment-service carries it out (its sandbox.py). A job
with one is never fulfilled inline: the redeem answers its pending state, as a slow strategy's would.
"""

from __future__ import annotations

import re
from typing import Any

from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope

CONFIG_KEY = "sandbox_outcome"
MAX_PENDING_SECONDS = 60
_PENDING = re.compile(r"pending:(\d{1,2})")
REVIEW = "review"   # the pivot holds the redemption for review (redemption-service's own; never the fulfilment's)
NAMED = ("fail", "pool_empty", "provider_slow", REVIEW)


def checked_outcome(value: str, scope: Scope) -> str:
    """The outcome a redeem asked for ("" for none), or a refusal that changes nothing."""
    if not value:
        return ""
    if scope.environment != "sandbox":
        raise DomainError(ErrorCode.SANDBOX_ONLY, "a forced outcome (Sandbox-Outcome) is for the sandbox only")
    pending = _PENDING.fullmatch(value)
    if value in NAMED or (pending and 1 <= int(pending.group(1)) <= MAX_PENDING_SECONDS):
        return value
    raise DomainError(ErrorCode.VALIDATION_ERROR,
                      f"sandbox outcome must be one of {', '.join(NAMED)} or pending:N (N from 1 to "
                      f"{MAX_PENDING_SECONDS})")


def forced(config: dict[str, Any]) -> bool:
    """A fulfilment outcome is forced (`review` never is: RedeemOrder.fulfillment_config leaves it out)."""
    return bool(config.get(CONFIG_KEY))
