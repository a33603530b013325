"""Idempotency keys: scoped by (tenant, environment, key); the request fingerprint tells a replay from a reuse."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid

from service_kit.contract import DEFAULT_TRIGGER_SOURCE, MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository
from redemption_service.domain import RedeemCommand

log = logging.getLogger(__name__)



def key_or_generated(key: str) -> str:
    """An empty key gets a fresh one: that request has no replay protection."""
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"idempotency_key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    return key or f"generated:{uuid.uuid4()}"


def request_fingerprint(command: RedeemCommand) -> str:
    """sha256 over the canonical fields of the body. The player is checked apart (another player is a conflict,
    not a reuse); wait_for_fulfillment_ms is how long to wait, not what to do, so it is left out. The address, the
    customer info and the trigger details are the request's messages as dicts (MessageToDict with the proto field
    names, None when unset or empty), as this hashed them when it read the message itself: a key stored before
    still matches its request (tests/unit/test_domain.py pins the digests)."""
    canonical = {
        "item_id": command.item_id,
        "variant_id": command.variant_id,
        "rounds": command.rounds,
        "point_type": command.point_type,
        "shipping_address": command.shipping_address,
        "customer_info": command.customer_info,
        "comment": command.comment,
        "trigger_source": command.trigger_source or DEFAULT_TRIGGER_SOURCE,
        "trigger_details": command.trigger_details,
    }
    if command.quote_id:   # only then: the fingerprints of keys stored before quotes existed stay the same
        canonical["quote_id"] = command.quote_id
    if command.sandbox_outcome:
        canonical["sandbox_outcome"] = command.sandbox_outcome
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


async def prune_expired_keys(sessions: async_sessionmaker) -> None:
    """One round: deletes expired keys (kept IDEMPOTENCY_TTL_HOURS), a batch at a time so no transaction grows
    long."""
    while True:
        async with sessions.begin() as session:
            pruned = await repository.prune_idempotency_keys(session)
        if pruned == 0:
            return
        log.info("idempotency keys pruned", extra={"count": pruned})
