"""Operators' routes: items and stock, point types, players and their points, every player's redemptions (codes
and PINs masked), review holds (their rules, the holds, approve and reject), the audit of code reveals. The tenant and environment come from the admin credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from rewards.catalog.v1 import catalog_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.scope import Scope

from gateway.auth import AdminCaller
from gateway.code_reveals import CodeReveal, CodeRevealList, admin_viewer
from gateway.openapi import BACKEND, problems, replayed, security
from gateway.repository import Credential
from gateway.routes import REPLAYED_HEADER, Cursor, Limit, RequiredIdempotencyKey, Services, next_cursor
from gateway.routes.redemptions import RedemptionId, StatusFilter, status_filter
from gateway.schemas import (
    PLAYER_STATUS_NAMES,
    PLAYER_STATUS_VALUES,
    Adjustment,
    AdminItem,
    AdminItemList,
    Balance,
    CancelRequest,
    Grant,
    ItemChanges,
    NewItem,
    PlayerState,
    PlayerStatusChange,
    PointsMovement,
    PointType,
    PointTypeDefinition,
    PointTypeList,
    Redemption,
    RedemptionList,
    ReviewDecision,
    ReviewRuleList,
    ReviewRules,
    ReviewRuleSet,
    StockAdjustment,
    Transaction,
)
from gateway.schemas.common import set_timestamp

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ADMIN = security(BACKEND)
_FORBIDDEN = "FORBIDDEN: not an admin credential"

ItemId = Annotated[str, Path(alias="id", min_length=1, max_length=128)]
PlayerId = Annotated[str, Path(alias="playerId", min_length=1, max_length=128)]
PointTypeCode = Annotated[str, Path(alias="code", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]


def scope_of(caller: Credential) -> Scope:
    return Scope(caller.tenant_id, caller.environment)


# ---- items ---------------------------------------------------------------------------------------------------

@router.post("/items", response_model=AdminItem, status_code=201, operation_id="adminCreateItem", openapi_extra=ADMIN,
             responses=problems(401, 413, 422, 503, s403=_FORBIDDEN, s409="ALREADY_EXISTS: an item has this id"))
async def create_item(body: NewItem, caller: AdminCaller, services: Services) -> AdminItem:
    item, _ = body.to_proto(body.id)
    reply = await services.catalog.create_item(catalog_pb2.CreateItemRequest(scope=scope_of(caller).to_proto(),
                                                                             item=item))
    return AdminItem.from_proto(reply.item)


@router.get("/items", response_model=AdminItemList, operation_id="adminListItems", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN))
async def list_items(caller: AdminCaller, services: Services, limit: Limit = 20,
                     cursor: Cursor = None) -> AdminItemList:
    reply = await services.catalog.list_items(catalog_pb2.ListItemsRequest(
        scope=scope_of(caller).to_proto(), page_size=limit, page_token=cursor or ""))
    return AdminItemList(items=[AdminItem.from_proto(i) for i in reply.items],
                         next_cursor=next_cursor(reply.next_page_token))


@router.get("/items/{id}", response_model=AdminItem, operation_id="adminGetItem", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN, s404="ITEM_NOT_FOUND"))
async def get_item(item_id: ItemId, caller: AdminCaller, services: Services) -> AdminItem:
    reply = await services.catalog.get_item(catalog_pb2.GetItemRequest(scope=scope_of(caller).to_proto(),
                                                                       item_id=item_id))
    return AdminItem.from_proto(reply.item)


@router.patch("/items/{id}", response_model=AdminItem, operation_id="adminUpdateItem", openapi_extra=ADMIN,
              responses=problems(401, 413, 422, 503, s403=_FORBIDDEN, s404="ITEM_NOT_FOUND"))
async def update_item(item_id: ItemId, body: ItemChanges, caller: AdminCaller, services: Services) -> AdminItem:
    item, mask = body.to_proto(item_id, only_sent=True)
    reply = await services.catalog.update_item(catalog_pb2.UpdateItemRequest(
        scope=scope_of(caller).to_proto(), item=item, update_mask=mask))
    return AdminItem.from_proto(reply.item)


@router.delete("/items/{id}", response_model=AdminItem, operation_id="adminArchiveItem", openapi_extra=ADMIN,
               responses=problems(401, 422, 503, s403=_FORBIDDEN, s404="ITEM_NOT_FOUND"))
async def archive_item(item_id: ItemId, caller: AdminCaller, services: Services) -> AdminItem:
    """Archives the item (status DELETED): players no longer see it; past redemptions keep their snapshot."""
    reply = await services.catalog.archive_item(catalog_pb2.ArchiveItemRequest(scope=scope_of(caller).to_proto(),
                                                                               item_id=item_id))
    return AdminItem.from_proto(reply.item)


@router.post("/items/{id}/stock", response_model=AdminItem, operation_id="adminAdjustStock", openapi_extra=ADMIN,
             responses=problems(401, 413, 422, 503, s403=_FORBIDDEN, s404="ITEM_NOT_FOUND",
                                s409="OUT_OF_STOCK (a removal below zero), IDEMPOTENCY_KEY_CONFLICT"))
async def adjust_stock(item_id: ItemId, body: StockAdjustment, caller: AdminCaller, services: Services,
                       idempotency_key: RequiredIdempotencyKey) -> AdminItem:
    reply = await services.catalog.adjust_stock(catalog_pb2.AdjustStockRequest(
        scope=scope_of(caller).to_proto(), item_id=item_id, delta=body.delta, idempotency_key=idempotency_key,
        reason=body.reason))
    return AdminItem.from_proto(reply.item)


# ---- point types ---------------------------------------------------------------------------------------------

@router.put("/point-types/{code}", response_model=PointType, operation_id="adminDefinePointType", openapi_extra=ADMIN,
            responses=problems(401, 413, 422, 503, s403=_FORBIDDEN))
async def define_point_type(code: PointTypeCode, body: PointTypeDefinition, caller: AdminCaller,
                            services: Services) -> PointType:
    reply = await services.wallet.define_point_type(wallet_pb2.DefinePointTypeRequest(
        scope=scope_of(caller).to_proto(),
        point_type=wallet_pb2.PointType(code=code, name=body.name, scale=body.scale,
                                        lifetime_seconds=body.lifetime_seconds)))
    return PointType.from_proto(reply.point_type)


@router.get("/point-types", response_model=PointTypeList, operation_id="adminListPointTypes", openapi_extra=ADMIN,
            responses=problems(401, 503, s403=_FORBIDDEN))
async def list_point_types(caller: AdminCaller, services: Services) -> PointTypeList:
    reply = await services.wallet.list_point_types(wallet_pb2.ListPointTypesRequest(scope=scope_of(caller).to_proto()))
    return PointTypeList(point_types=[PointType.from_proto(p) for p in reply.point_types])


# ---- players -------------------------------------------------------------------------------------------------

@router.get("/players/{playerId}", response_model=PlayerState, operation_id="adminGetPlayer", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN, s404="PLAYER_NOT_FOUND"))
async def get_player(player_id: PlayerId, caller: AdminCaller, services: Services) -> PlayerState:
    reply = await services.wallet.get_player(wallet_pb2.GetPlayerRequest(scope=scope_of(caller).to_proto(),
                                                                         player_id=player_id))
    return PlayerState(player_id=reply.player_id, status=PLAYER_STATUS_NAMES.get(reply.status, "UNSPECIFIED"),
                       balances=[Balance.from_proto(a) for a in reply.accounts])


@router.put("/players/{playerId}", response_model=PlayerState, operation_id="adminSetPlayerStatus", openapi_extra=ADMIN,
            responses=problems(401, 413, 422, 503, s403=_FORBIDDEN))
async def set_player_status(player_id: PlayerId, body: PlayerStatusChange, caller: AdminCaller,
                            services: Services) -> PlayerState:
    reply = await services.wallet.upsert_player(wallet_pb2.UpsertPlayerRequest(
        scope=scope_of(caller).to_proto(), player_id=player_id, status=PLAYER_STATUS_VALUES[body.status]))
    return PlayerState(player_id=reply.player_id, status=PLAYER_STATUS_NAMES.get(reply.status, "UNSPECIFIED"))


def _movement(entry: wallet_pb2.LedgerEntry, replayed: bool, response: Response) -> PointsMovement:
    if replayed:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    return PointsMovement(transaction=Transaction.from_proto(entry), replayed=replayed)


_MOVEMENT_DOC = {
    200: replayed(PointsMovement, "A replay of an Idempotency-Key: the first result (Idempotent-Replayed: true)"),
    **problems(401, 413, 422, 503, s403=_FORBIDDEN,
               s409="IDEMPOTENCY_KEY_CONFLICT, IDEMPOTENCY_KEY_IN_PROGRESS (Retry-After)"),
}


@router.post("/players/{playerId}/grants", response_model=PointsMovement, status_code=201,
             operation_id="adminGrantPoints", openapi_extra=ADMIN, responses=_MOVEMENT_DOC)
async def grant_points(player_id: PlayerId, body: Grant, caller: AdminCaller, services: Services,
                       idempotency_key: RequiredIdempotencyKey, response: Response) -> PointsMovement:
    request = wallet_pb2.GrantPointsRequest(
        scope=scope_of(caller).to_proto(), player_id=player_id, point_type=body.point_type, amount=body.amount,
        idempotency_key=idempotency_key, description=body.description)
    if body.expires_at is not None:
        set_timestamp(request.expires_at, body.expires_at)
    reply = await services.wallet.grant_points(request)
    return _movement(reply.entry, reply.replayed, response)


@router.post("/players/{playerId}/adjustments", response_model=PointsMovement, status_code=201,
             operation_id="adminAdjustPoints", openapi_extra=ADMIN, responses=_MOVEMENT_DOC)
async def adjust_points(player_id: PlayerId, body: Adjustment, caller: AdminCaller, services: Services,
                        idempotency_key: RequiredIdempotencyKey, response: Response) -> PointsMovement:
    reply = await services.wallet.adjust_points(wallet_pb2.AdjustPointsRequest(
        scope=scope_of(caller).to_proto(), player_id=player_id, point_type=body.point_type, amount=body.amount,
        idempotency_key=idempotency_key, description=body.description))
    return _movement(reply.entry, reply.replayed, response)


# ---- redemptions ---------------------------------------------------------------------------------------------

@router.get("/redemptions", response_model=RedemptionList, operation_id="adminListRedemptions", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN))
async def list_redemptions(
    caller: AdminCaller, services: Services, limit: Limit = 20, cursor: Cursor = None,
    status: StatusFilter = None,
    player_id: Annotated[str | None, Query(alias="playerId", max_length=128)] = None,
) -> RedemptionList:
    viewer, viewer_id = admin_viewer(caller)
    reply = await services.redemption.list(redemption_pb2.ListRedemptionsRequest(
        scope=scope_of(caller).to_proto(), player_id=player_id or "", status=status_filter(status),
        page_size=limit, page_token=cursor or "", viewer=viewer, viewer_id=viewer_id))
    return RedemptionList(redemptions=[Redemption.from_proto(r) for r in reply.redemptions],
                          next_cursor=next_cursor(reply.next_page_token))


@router.get("/redemptions/{id}", response_model=Redemption, operation_id="adminGetRedemption", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN, s404="REDEMPTION_NOT_FOUND"))
async def get_redemption(redemption_id: RedemptionId, caller: AdminCaller, services: Services) -> Redemption:
    viewer, viewer_id = admin_viewer(caller)
    reply = await services.redemption.get(redemption_pb2.GetRedemptionRequest(
        scope=scope_of(caller).to_proto(), redemption_id=redemption_id, viewer=viewer, viewer_id=viewer_id))
    return Redemption.from_proto(reply.redemption)


@router.post("/redemptions/{id}/cancel", response_model=Redemption, operation_id="adminCancelRedemption",
             openapi_extra=ADMIN, responses=problems(
                 401, 413, 422, 503, s403=_FORBIDDEN, s404="REDEMPTION_NOT_FOUND",
                 s409="REDEMPTION_NOT_CANCELLABLE: completed, shipped, or being delivered (then Retry-After)"))
async def cancel_redemption(redemption_id: RedemptionId, caller: AdminCaller, services: Services,
                            body: CancelRequest | None = None) -> Redemption:
    reply = await services.redemption.cancel(redemption_pb2.CancelRedemptionRequest(
        scope=scope_of(caller).to_proto(), redemption_id=redemption_id,
        reason=(body.reason if body else "") or "canceled by an operator"))
    return Redemption.from_proto(reply.redemption)


# ---- review holds --------------------------------------------------------------------------------------------

_NOT_HELD = "REDEMPTION_NOT_HELD: not held for review, or decided the other way"


@router.get("/review-rules", response_model=ReviewRuleList, operation_id="adminListReviewRules",
            openapi_extra=ADMIN, responses=problems(401, 503, s403=_FORBIDDEN))
async def list_review_rules(caller: AdminCaller, services: Services) -> ReviewRuleList:
    """The tenant's review rules (offerId null) and each item's."""
    reply = await services.redemption.list_review_rules(redemption_pb2.ListReviewRulesRequest(
        scope=scope_of(caller).to_proto()))
    return ReviewRuleList(rule_sets=[ReviewRuleSet.from_proto(r) for r in reply.rule_sets])


@router.put("/review-rules", response_model=ReviewRuleSet, operation_id="adminSetReviewRules", openapi_extra=ADMIN,
            responses=problems(401, 413, 422, 503, s403=_FORBIDDEN))
async def set_review_rules(body: ReviewRules, caller: AdminCaller, services: Services) -> ReviewRuleSet:
    """The tenant's rules, for every item (an item's own rules apply as well); every rule 0 or false: removed."""
    reply = await services.redemption.set_review_rules(redemption_pb2.SetReviewRulesRequest(
        scope=scope_of(caller).to_proto(), rules=body.to_proto()))
    return ReviewRuleSet.from_proto(reply.rule_set)


@router.put("/review-rules/items/{id}", response_model=ReviewRuleSet, operation_id="adminSetItemReviewRules",
            openapi_extra=ADMIN, responses=problems(401, 413, 422, 503, s403=_FORBIDDEN))
async def set_item_review_rules(item_id: ItemId, body: ReviewRules, caller: AdminCaller,
                                services: Services) -> ReviewRuleSet:
    """One item's rules (`alwaysReview`: the item is always reviewed), on top of the tenant's."""
    reply = await services.redemption.set_review_rules(redemption_pb2.SetReviewRulesRequest(
        scope=scope_of(caller).to_proto(), item_id=item_id, rules=body.to_proto()))
    return ReviewRuleSet.from_proto(reply.rule_set)


@router.get("/reviews", response_model=RedemptionList, operation_id="adminListReviews", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN))
async def list_reviews(caller: AdminCaller, services: Services, limit: Limit = 20,
                       cursor: Cursor = None) -> RedemptionList:
    """The redemptions held for review (AWAITING_APPROVAL), newest first, each with its `review.reason`."""
    viewer, viewer_id = admin_viewer(caller)
    reply = await services.redemption.list(redemption_pb2.ListRedemptionsRequest(
        scope=scope_of(caller).to_proto(), status=redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL,
        page_size=limit, page_token=cursor or "", viewer=viewer, viewer_id=viewer_id))
    return RedemptionList(redemptions=[Redemption.from_proto(r) for r in reply.redemptions],
                          next_cursor=next_cursor(reply.next_page_token))


@router.post("/reviews/{id}/approve", response_model=Redemption, operation_id="adminApproveRedemption",
             openapi_extra=ADMIN, responses=problems(401, 413, 422, 503, s403=_FORBIDDEN,
                                                     s404="REDEMPTION_NOT_FOUND", s409=_NOT_HELD))
async def approve_redemption(redemption_id: RedemptionId, caller: AdminCaller, services: Services,
                             body: ReviewDecision | None = None) -> Redemption:
    """Fulfilment goes on (OPEN, the job sent). Approving again answers the redemption as it is."""
    reply = await services.redemption.approve(redemption_pb2.ApproveRedemptionRequest(
        scope=scope_of(caller).to_proto(), redemption_id=redemption_id, note=body.note if body else ""))
    return Redemption.from_proto(reply.redemption)


@router.post("/reviews/{id}/reject", response_model=Redemption, operation_id="adminRejectRedemption",
             openapi_extra=ADMIN, responses=problems(401, 413, 422, 503, s403=_FORBIDDEN,
                                                     s404="REDEMPTION_NOT_FOUND", s409=_NOT_HELD))
async def reject_redemption(redemption_id: RedemptionId, caller: AdminCaller, services: Services,
                            body: ReviewDecision | None = None) -> Redemption:
    """Refunds the points and releases the stock: CANCELED with failure REVIEW_REJECTED. Rejecting again answers
    the redemption as it is."""
    reply = await services.redemption.reject(redemption_pb2.RejectRedemptionRequest(
        scope=scope_of(caller).to_proto(), redemption_id=redemption_id, reason=body.note if body else ""))
    return Redemption.from_proto(reply.redemption)


# ---- the audit of code reveals -------------------------------------------------------------------------------

RevealsLimit = Annotated[int, Query(ge=1, le=500, description="page size")]


@router.get("/code-reveals", response_model=CodeRevealList, operation_id="adminListCodeReveals", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN))
async def list_code_reveals(
    caller: AdminCaller, services: Services, limit: RevealsLimit = 50, cursor: Cursor = None,
    redemption_id: Annotated[str | None, Query(alias="redemptionId", min_length=1, max_length=64)] = None,
) -> CodeRevealList:
    """Every time a voucher code and PIN were shown in clear (to the redeeming player or the tenant's back end):
    who, when, which redemption, by which call; newest first. Append-only: nothing can change or remove a row."""
    reply = await services.redemption.list_code_reveals(redemption_pb2.ListCodeRevealsRequest(
        scope=scope_of(caller).to_proto(), redemption_id=redemption_id or "", page_size=limit,
        page_token=cursor or ""))
    return CodeRevealList(reveals=[CodeReveal.from_proto(r) for r in reply.reveals],
                          next_cursor=next_cursor(reply.next_page_token))
