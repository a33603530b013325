"""A player's redemptions: redeem (the saga, behind an idempotency key), quote, read, list, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

from gateway.auth import CurrentPlayer
from gateway.code_reveals import player_viewer
from gateway.errors import PROBLEM_RESPONSES
from gateway.routes import REPLAYED_HEADER, Cursor, IdempotencyKey, Services, next_cursor
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

router = APIRouter(prefix="/v1/redemptions", tags=["redemptions"], responses=PROBLEM_RESPONSES)

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
                                           trigger_source=body.trigger_source)
    if body.shipping_address is not None:
        request.shipping_address.CopyFrom(body.shipping_address.to_proto())
    if body.customer_info is not None:
        request.customer_info.CopyFrom(body.customer_info.to_proto())
    if body.trigger_details is not None:
        request.trigger_details.CopyFrom(dict_to_struct(body.trigger_details))
    return request


@router.post("", response_model=Redemption, status_code=201,
             responses={200: {"description": "A replay of an Idempotency-Key: the first result "
                                             "(header Idempotent-Replayed: true)", "model": Redemption}})
async def create_redemption(body: NewRedemption, player: CurrentPlayer, services: Services, response: Response,
                            idempotency_key: IdempotencyKey = None) -> Redemption:
    request = redeem_request(body)
    request.scope.CopyFrom(player.scope.to_proto())
    request.player.CopyFrom(player.to_proto())
    request.idempotency_key = idempotency_key or ""
    request.viewer, request.viewer_id = player_viewer(player)
    reply = await services.redemption.redeem(request)
    if reply.replayed:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    return Redemption.from_proto(reply.redemption)


@router.post("/quote", response_model=Quote)
async def quote_redemption(body: QuoteRequest, player: CurrentPlayer, services: Services) -> Quote:
    """A dry run of a redemption: eligibility, cost, balance, stock and allowance left. Nothing changes."""
    reply = await services.redemption.quote(redemption_pb2.QuoteRedemptionRequest(
        scope=player.scope.to_proto(), player=player.to_proto(), item_id=body.offer, variant_id=body.variant_id,
        rounds=body.rounds, point_type=body.point_type))
    return Quote.from_proto(reply)


@router.get("", response_model=RedemptionList)
async def list_redemptions(player: CurrentPlayer, services: Services, limit: RedemptionsLimit = 20,
                           cursor: Cursor = None, status: StatusFilter = None) -> RedemptionList:
    viewer, viewer_id = player_viewer(player)
    reply = await services.redemption.list(redemption_pb2.ListRedemptionsRequest(
        scope=player.scope.to_proto(), player_id=player.player_id, status=status_filter(status), page_size=limit,
        page_token=cursor or "", viewer=viewer, viewer_id=viewer_id))
    return RedemptionList(redemptions=[Redemption.from_proto(r) for r in reply.redemptions],
                          next_cursor=next_cursor(reply.next_page_token))


@router.get("/{id}", response_model=Redemption)
async def get_redemption(redemption_id: RedemptionId, player: CurrentPlayer, services: Services) -> Redemption:
    viewer, viewer_id = player_viewer(player)
    reply = await services.redemption.get(redemption_pb2.GetRedemptionRequest(
        scope=player.scope.to_proto(), redemption_id=redemption_id, player_id=player.player_id, viewer=viewer,
        viewer_id=viewer_id))
    return Redemption.from_proto(reply.redemption)


@router.post("/{id}/cancel", response_model=Redemption)
async def cancel_redemption(redemption_id: RedemptionId, player: CurrentPlayer, services: Services,
                            body: CancelRequest | None = None) -> Redemption:
    """Refunds the points and releases the stock; harmless twice; refused once completed (or shipped)."""
    reply = await services.redemption.cancel(redemption_pb2.CancelRedemptionRequest(
        scope=player.scope.to_proto(), redemption_id=redemption_id, player_id=player.player_id,
        reason=(body.reason if body else "") or "canceled by the player"))
    return Redemption.from_proto(reply.redemption)
