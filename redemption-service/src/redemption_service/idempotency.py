"""Idempotency keys: scoped by (tenant, environment, key); the request fingerprint tells a replay from a reuse."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid

from google.protobuf.json_format import MessageToDict
from rewards.redemption.v1 import redemption_pb2
from service_kit.contract import DEFAULT_TRIGGER_SOURCE, MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from sqlalchemy.ext.asyncio import async_sessionmaker

from redemption_service import repository

log = logging.getLogger(__name__)



def key_or_generated(key: str) -> str:
    """An empty key gets a fresh one: that request has no replay protection."""
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"idempotency_key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    return key or f"generated:{uuid.uuid4()}"


def request_fingerprint(request: redemption_pb2.RedeemRequest) -> str:
    """sha256 over the canonical fields of the body. The player is checked apart (another player is a conflict,
    not a reuse); wait_for_fulfillment_ms is how long to wait, not what to do, so it is left out."""

    def as_dict(field: str) -> dict | None:
        return MessageToDict(getattr(request, field), preserving_proto_field_name=True) \
            if request.HasField(field) else None

    canonical = {
        "item_id": request.item_id,
        "variant_id": request.variant_id,
        "rounds": request.rounds,
        "point_type": request.point_type,
        "shipping_address": as_dict("shipping_address") or None,
        "customer_info": as_dict("customer_info") or None,
        "comment": request.comment,
        "trigger_source": request.trigger_source or DEFAULT_TRIGGER_SOURCE,
        "trigger_details": as_dict("trigger_details") or None,
    }
    if request.quote_id:   # only then: the fingerprints of keys stored before quotes existed stay the same
        canonical["quote_id"] = request.quote_id
    if request.sandbox_outcome:
        canonical["sandbox_outcome"] = request.sandbox_outcome
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
