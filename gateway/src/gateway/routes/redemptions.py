"""A player's redemptions: redeem (the saga, behind an idempotency key), quote, read, list, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

from gateway.auth import CurrentPlayer
from gateway.code_reveals import player_viewer
from gateway.openapi import PLAYER_OR_BACKEND, headers, problems, replayed, security
from gateway.routes import (
    REPLAYED_HEADER,
    Cursor,
    IdempotencyKey,
    SandboxOutcome,
    Services,
    next_cursor,
    stamp_redeem,
)
from gateway.schemas import (
    REDEMPTION_STATUS_VALUES,
    CancelRequest,
    NewRedemption,
    Quote,
    QuoteRequest,
    Redemption,
    RedemptionList,
    dict_to_struct,
)

router = APIRouter(prefix="/v1/redemptions", tags=["redemptions"])
PLAYER = security(PLAYER_OR_BACKEND)

REDEEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "The redemption (status COMPLETED with the code of a code-pool item, else OPEN or "
                         "AWAITING_VENDOR until its fulfillment finishes)", "headers": headers()},
    200: replayed(Redemption, "A replay of an Idempotency-Key: the first result (header Idempotent-Replayed: true)"),
    **problems(401, 413, 503,
               s403="ITEM_NOT_ELIGIBLE (targeting), PLAYER_INACTIVE, QUOTE_NOT_YOURS, SANDBOX_ONLY (a Sandbox-Outcome "
                    "in live)",
               s404="ITEM_NOT_FOUND, PLAYER_NOT_FOUND, QUOTE_NOT_FOUND",
               s409="OUT_OF_STOCK, OUT_OF_CODES, LIMIT_REACHED, REDEMPTION_ALREADY_EXISTS (a limit of one), "
                    "QUOTE_ALREADY_USED (another redemption holds the quote), "
                    "IDEMPOTENCY_KEY_CONFLICT (the key is another player's), IDEMPOTENCY_KEY_IN_PROGRESS (the first "
                    "request with this key is still running: Retry-After)",
               s422="INSUFFICIENT_POINTS, OFFER_UNAVAILABLE, INVALID_POINT_TYPE, INVALID_ROUNDS_SELECTION, "
                    "GAME_NOT_AVAILABLE, SHIPPING_ADDRESS_REQUIRED, CUSTOMER_INFO_REQUIRED, IDEMPOTENCY_KEY_REUSED "
                    "(the same key with another body), QUOTE_EXPIRED, QUOTE_MISMATCH (the quote is for another "
                    "offer, variant or point type)"),
}

RedemptionId = Annotated[str, Path(alias="id", min_length=1, max_length=128,
                                   description="the string id, or the integer number")]
RedemptionsLimit = Annotated[int, Query(ge=1, le=100, description="page size")]
StatusFilter = Annotated[str | None, Query(max_length=32, description="one lifecycle status")]


def status_filter(status: str | None) -> int:
    if not status:
        return redemption_pb2.REDEMPTION_STATUS_UNSPECIFIED
    value = REDEMPTION_STATUS_VALUES.get(status.upper())
    if value is None:
        raise DomainError(ErrorCode.VALIDATION_ERROR,
                          f"status must be one of {', '.join(REDEMPTION_STATUS_VALUES)}")
    return value


def redeem_request(body: NewRedemption) -> redemption_pb2.RedeemRequest:
    request = redemption_pb2.RedeemRequest(item_id=body.offer, variant_id=body.variant_id, rounds=body.rounds,
                                           point_type=body.point_type, comment=body.comment,
                                           trigger_source=body.trigger_source, quote_id=body.quote_id or "")
    if body.shipping_address is not None:
        request.shipping_address.CopyFrom(body.shipping_address.to_proto())
    if body.customer_info is not None:
        request.customer_info.CopyFrom(body.customer_info.to_proto())
    if body.trigger_details is not None:
        request.trigger_details.CopyFrom(dict_to_struct(body.trigger_details))
    return request


@router.post("", response_model=Redemption, status_code=201, operation_id="createRedemption", openapi_extra=PLAYER,
             responses=REDEEM_RESPONSES)
async def create_redemption(body: NewRedemption, player: CurrentPlayer, services: Services, response: Response,
                            idempotency_key: IdempotencyKey = None,
                            sandbox_outcome: SandboxOutcome = None) -> Redemption:
    request = stamp_redeem(redeem_request(body), player, idempotency_key, sandbox_outcome)
    request.viewer, request.viewer_id = player_viewer(player)
    reply = await services.redemption.redeem(request)
    if reply.replayed:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    return Redemption.from_proto(reply.redemption)


@router.post("/quote", response_model=Quote, operation_id="quoteRedemption", openapi_extra=PLAYER,
             responses=problems(401, 413, 422, 503, s404="ITEM_NOT_FOUND"))
async def quote_redemption(body: QuoteRequest, player: CurrentPlayer, services: Services) -> Quote:
    """A dry run of a redemption: eligibility, cost, balance, stock and allowance left; and, when the offer accepts
    the player, a `quoteId` that locks this price and variant for a redemption of this player until `expiresAt`."""
    reply = await services.redemption.quote(redemption_pb2.QuoteRedemptionRequest(
        scope=player.scope.to_proto(), player=player.to_proto(), item_id=body.offer, variant_id=body.variant_id,
        rounds=body.rounds, point_type=body.point_type))
    return Quote.from_proto(reply)


@router.get("", response_model=RedemptionList, operation_id="listRedemptions", openapi_extra=PLAYER,
            responses=problems(401, 422, 503))
async def list_redemptions(player: CurrentPlayer, services: Services, limit: RedemptionsLimit = 20,
                           cursor: Cursor = None, status: StatusFilter = None) -> RedemptionList:
    viewer, viewer_id = player_viewer(player)
    reply = await services.redemption.list(redemption_pb2.ListRedemptionsRequest(
        scope=player.scope.to_proto(), player_id=player.player_id, status=status_filter(status), page_size=limit,
        page_token=cursor or "", viewer=viewer, viewer_id=viewer_id))
    return RedemptionList(redemptions=[Redemption.from_proto(r) for r in reply.redemptions],
                          next_cursor=next_cursor(reply.next_page_token))


@router.get("/{id}", response_model=Redemption, operation_id="getRedemption", openapi_extra=PLAYER,
            responses=problems(401, 422, 503, s404="REDEMPTION_NOT_FOUND"))
async def get_redemption(redemption_id: RedemptionId, player: CurrentPlayer, services: Services) -> Redemption:
    viewer, viewer_id = player_viewer(player)
    reply = await services.redemption.get(redemption_pb2.GetRedemptionRequest(
        scope=player.scope.to_proto(), redemption_id=redemption_id, player_id=player.player_id, viewer=viewer,
        viewer_id=viewer_id))
    return Redemption.from_proto(reply.redemption)


@router.post("/{id}/cancel", response_model=Redemption, operation_id="cancelRedemption", openapi_extra=PLAYER,
             responses=problems(401, 413, 422, 503, s404="REDEMPTION_NOT_FOUND",
                                s409="REDEMPTION_NOT_CANCELLABLE: completed, shipped, or being delivered "
                                     "(then Retry-After)"))
async def cancel_redemption(redemption_id: RedemptionId, player: CurrentPlayer, services: Services,
                            body: CancelRequest | None = None) -> Redemption:
    """Refunds the points and releases the stock; harmless twice; refused once completed (or shipped)."""
    reply = await services.redemption.cancel(redemption_pb2.CancelRedemptionRequest(
        scope=player.scope.to_proto(), redemption_id=redemption_id, player_id=player.player_id,
        reason=(body.reason if body else "") or "canceled by the player"))
    return Redemption.from_proto(reply.redemption)
