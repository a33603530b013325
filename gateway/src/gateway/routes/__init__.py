"""The HTTP routes, one module per area. Each maps a request to one service call and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Query, Request
from rewards.redemption.v1 import redemption_pb2
from service_kit.contract import MAX_IDEMPOTENCY_KEY_LENGTH

from gateway.upstream import Upstreams

if TYPE_CHECKING:
    from gateway.auth import Player


async def upstreams(request: Request) -> Upstreams:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hop that cost more than this whole route.
    return request.app.state.upstreams  # type: ignore[no-any-return]


Services = Annotated[Upstreams, Depends(upstreams)]
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Cursor = Annotated[str | None, Query(max_length=1000, description="nextCursor of the previous page")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)]
RequiredIdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)]
REPLAYED_HEADER = "Idempotent-Replayed"
# Sandbox only (403 SANDBOX_ONLY in live): force the fulfilment's outcome, on every API's redeem route.
SandboxOutcome = Annotated[str | None, Header(
    alias="Sandbox-Outcome", min_length=1, max_length=32,
    description="sandbox only (403 SANDBOX_ONLY in live): force the outcome of this redemption's fulfilment: "
                "`pending:N` (pending for N seconds, 1 to 60, then fulfilled), `provider_slow` (the same, 5 s), "
                "`fail` (the fulfilment fails: refunded, CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` "
                "(CANCELED with OUT_OF_CODES, refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, "
                "until an operator approves or rejects it)")]


def next_cursor(token: str) -> str | None:
    return token or None


def stamp_redeem(request: redemption_pb2.RedeemRequest, player: Player, idempotency_key: str | None,
                 sandbox_outcome: str | None) -> redemption_pb2.RedeemRequest:
    """What every API's redeem route puts on the request the same way, whatever its body: the scope and the player
    its credential named, the Idempotency-Key (or the API's own key field) and the sandbox's forced outcome."""
    request.scope.CopyFrom(player.scope.to_proto())
    request.player.CopyFrom(player.to_proto())
    request.idempotency_key = idempotency_key or ""
    request.sandbox_outcome = sandbox_outcome or ""
    return request
