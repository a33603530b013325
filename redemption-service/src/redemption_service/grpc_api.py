"""The RedemptionService servicer: proto <-> domain, nothing else. Each request is read into domain values (the
readers below: what a message's presence means, enum names), one call of the use cases (redemptions.Redemptions),
the answer made proto. DomainErrors become rich statuses in the kit's server interceptor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2, redemption_pb2_grpc
from service_kit.scope import Scope

from redemption_service.codes import MASKED, Codes, Viewer, ViewerKind, viewer_of
from redemption_service.domain import QuoteQuery, RedeemCommand, Redemption, RedemptionQuery, ReviewRules, Status
from redemption_service.redemptions import Forwarded, Redemptions
from redemption_service.repository import ReviewRuleSet

_VIEWERS = {ViewerKind.PLAYER: redemption_pb2.VIEWER_PLAYER, ViewerKind.BACKEND: redemption_pb2.VIEWER_BACKEND}

_DELIVERY = {
    "": redemption_pb2.DELIVERY_STATUS_UNSPECIFIED,
    "PENDING": redemption_pb2.DELIVERY_STATUS_PENDING,
    "SHIPPED": redemption_pb2.DELIVERY_STATUS_SHIPPED,
    "DELIVERED": redemption_pb2.DELIVERY_STATUS_DELIVERED,
}


# --- the requests read into domain values ----------------------------------------------------------------------


def redeem_call(request: redemption_pb2.RedeemRequest) -> tuple[RedeemCommand, Viewer, Forwarded]:
    """Redeem's arguments, refused in the order the request is checked: the scope, the command's fields, then the
    viewer. The address, customer info and player go on to the saga as the request carried them (no copy)."""
    scope = Scope.from_proto(request.scope)
    shipping = _present(request, "shipping_address")
    customer = _present(request, "customer_info")
    command = RedeemCommand(
        scope=scope, player_id=request.player.player_id, item_id=request.item_id,
        idempotency_key=request.idempotency_key, variant_id=request.variant_id, rounds=request.rounds,
        point_type=request.point_type, shipping_address=shipping, customer_info=customer, comment=request.comment,
        trigger_source=request.trigger_source, trigger_details=_present(request, "trigger_details"),
        wait_for_fulfillment_ms=request.wait_for_fulfillment_ms, quote_id=request.quote_id,
        sandbox_outcome=request.sandbox_outcome)
    viewer = viewer_of(request.viewer, request.viewer_id, command.player_id)
    forwarded = Forwarded(request.player, request.shipping_address if shipping is not None else None,
                          request.customer_info if customer is not None else None)
    return command, viewer, forwarded


def quote_call(request: redemption_pb2.QuoteRedemptionRequest) -> tuple[QuoteQuery, Forwarded]:
    query = QuoteQuery(scope=Scope.from_proto(request.scope), player_id=request.player.player_id,
                       item_id=request.item_id, variant_id=request.variant_id, rounds=request.rounds,
                       point_type=request.point_type)
    return query, Forwarded(request.player)


def list_call(request: redemption_pb2.ListRedemptionsRequest) -> tuple[RedemptionQuery, Viewer]:
    viewer = viewer_of(request.viewer, request.viewer_id, request.player_id)
    scope = Scope.from_proto(request.scope)
    status = None
    if request.status != redemption_pb2.REDEMPTION_STATUS_UNSPECIFIED:
        status = Status(redemption_pb2.RedemptionStatus.Name(request.status).removeprefix("REDEMPTION_STATUS_"))
    query = RedemptionQuery(scope=scope, player_id=request.player_id, status=status, page_size=request.page_size,
                            page_token=request.page_token, token_query=(request.player_id, request.status))
    return query, viewer


def review_rules(rules: redemption_pb2.ReviewRules) -> ReviewRules:
    return ReviewRules(max_redemptions_per_hour=rules.max_redemptions_per_hour, cost_over=rules.cost_over,
                       player_younger_than_days=rules.player_younger_than_days, always_review=rules.always_review)


def _present(request: Any, field: str) -> dict[str, Any] | None:
    """A message field as a dict, or None when unset or empty (an empty address is no address)."""
    if not request.HasField(field):
        return None
    value = MessageToDict(getattr(request, field), preserving_proto_field_name=True)
    return value or None


class RedemptionApi(redemption_pb2_grpc.RedemptionServiceServicer):
    def __init__(self, redemptions: Redemptions) -> None:
        self.redemptions = redemptions

    def _proto(self, redemption: Redemption, viewer: Viewer = MASKED) -> redemption_pb2.Redemption:
        return redemption_to_proto(redemption, self.redemptions.codes, viewer)

    async def Redeem(self, request, context):  # type: ignore[no-untyped-def]
        command, viewer, forwarded = redeem_call(request)
        redemption, replayed = await self.redemptions.redeem(command, viewer, forwarded)
        return redemption_pb2.RedeemResponse(redemption=self._proto(redemption, viewer), replayed=replayed)

    async def QuoteRedemption(self, request, context):  # type: ignore[no-untyped-def]
        quote = await self.redemptions.quote(*quote_call(request))
        response = redemption_pb2.QuoteRedemptionResponse(
            eligible=quote.eligible, reason=quote.reason, item_id=quote.item_id, variant_id=quote.variant_id,
            point_type=quote.point_type, cost=quote.cost, point_scale=quote.point_scale, balance=quote.balance,
            stock_left=quote.stock_left, remaining_allowance=quote.remaining_allowance,
            shipping_address_required=quote.shipping_address_required,
            customer_info_required=quote.customer_info_required, quote_id=quote.quote_id)
        if quote.quote_expires_at is not None:
            response.quote_expires_at.FromDatetime(quote.quote_expires_at)
        return response

    async def GetRedemption(self, request, context):  # type: ignore[no-untyped-def]
        viewer = viewer_of(request.viewer, request.viewer_id, request.player_id)
        redemption = await self.redemptions.get(Scope.from_proto(request.scope), request.redemption_id,
                                                request.player_id, viewer)
        return redemption_pb2.GetRedemptionResponse(redemption=self._proto(redemption, viewer))

    async def ListRedemptions(self, request, context):  # type: ignore[no-untyped-def]
        query, viewer = list_call(request)
        page = await self.redemptions.list(query, viewer)
        return redemption_pb2.ListRedemptionsResponse(
            redemptions=[self._proto(r, viewer) for r in page.redemptions], next_page_token=page.next_page_token)

    async def CancelRedemption(self, request, context):  # type: ignore[no-untyped-def]
        # Masked: a cancel answers a redemption that is not completed, and reveals nothing.
        redemption = await self.redemptions.cancel(Scope.from_proto(request.scope), request.redemption_id,
                                                   request.player_id, request.reason)
        return redemption_pb2.CancelRedemptionResponse(redemption=self._proto(redemption))

    async def SetReviewRules(self, request, context):  # type: ignore[no-untyped-def]
        stored = await self.redemptions.set_review_rules(Scope.from_proto(request.scope), request.item_id,
                                                         review_rules(request.rules))
        return redemption_pb2.SetReviewRulesResponse(rule_set=_rule_set(stored))

    async def ListReviewRules(self, request, context):  # type: ignore[no-untyped-def]
        rule_sets = await self.redemptions.list_review_rules(Scope.from_proto(request.scope))
        return redemption_pb2.ListReviewRulesResponse(rule_sets=[_rule_set(r) for r in rule_sets])

    async def ApproveRedemption(self, request, context):  # type: ignore[no-untyped-def]
        redemption = await self.redemptions.approve(Scope.from_proto(request.scope), request.redemption_id,
                                                    request.note)
        return redemption_pb2.ApproveRedemptionResponse(redemption=self._proto(redemption))

    async def RejectRedemption(self, request, context):  # type: ignore[no-untyped-def]
        redemption = await self.redemptions.reject(Scope.from_proto(request.scope), request.redemption_id,
                                                   request.reason)
        return redemption_pb2.RejectRedemptionResponse(redemption=self._proto(redemption))

    async def ListCodeReveals(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.redemptions.code_reveals(Scope.from_proto(request.scope), request.redemption_id,
                                                   request.page_size, request.page_token)
        return redemption_pb2.ListCodeRevealsResponse(
            reveals=[redemption_pb2.CodeReveal(
                id=r.id, redemption_id=r.redemption_id, viewer=_VIEWERS[ViewerKind(r.viewer)], viewer_id=r.viewer_id,
                action=r.action, revealed_at=_timestamp(r.revealed_at)) for r in page.reveals],
            next_page_token=page.next_page_token)


def redemption_to_proto(r: Redemption, codes: Codes, viewer: Viewer = MASKED) -> redemption_pb2.Redemption:
    """The redemption as this viewer sees it: its code and PIN unsealed for the player and the back end (the read
    recorded the reveal), masked for anyone else."""
    message = redemption_pb2.Redemption(
        id=r.id, number=r.number, scope=Scope(r.tenant_id, r.environment).to_proto(), player_id=r.player_id,
        item_id=r.item_id, variant_id=r.variant_id, rounds=r.rounds, item_name=r.item_name,
        item_image_url=r.item_image_url, point_type=r.point_type, cost=r.cost, point_scale=r.point_scale,
        face_value=r.face_value, face_currency=r.face_currency, fulfillment_strategy=r.fulfillment_strategy,
        redemption_message=r.redemption_message,
        status=redemption_pb2.RedemptionStatus.Value(f"REDEMPTION_STATUS_{r.status.value}"),
        delivery_status=_DELIVERY[r.delivery_status.value], failure_code=r.failure_code,
        failure_message=r.failure_message, debit_transaction_id=r.debit_transaction_id or 0,
        balance_after=r.balance_after or 0, comment=r.comment, trigger_source=r.trigger_source,
        created_at=_timestamp(r.created_at), updated_at=_timestamp(r.updated_at), review_reason=r.review_reason,
        review_decision=r.review_decision, review_note=r.review_note)
    if r.fulfillment:
        fulfillment = codes.shown(r.fulfillment, viewer)
        data = fulfillment.pop("data", None)
        message.fulfillment.CopyFrom(redemption_pb2.Fulfillment(**fulfillment))
        if data:
            message.fulfillment.data.CopyFrom(_struct(data))
    if r.shipping_address:
        message.shipping_address.CopyFrom(common_pb2.ShippingAddress(**r.shipping_address))
    if r.customer_info:
        message.customer_info.CopyFrom(common_pb2.CustomerInfo(**r.customer_info))
    if r.trigger_details:
        message.trigger_details.CopyFrom(_struct(r.trigger_details))
    if r.completed_at:
        message.completed_at.CopyFrom(_timestamp(r.completed_at))
    if r.canceled_at:
        message.canceled_at.CopyFrom(_timestamp(r.canceled_at))
    if r.held_at:
        message.held_at.CopyFrom(_timestamp(r.held_at))
    if r.reviewed_at:
        message.reviewed_at.CopyFrom(_timestamp(r.reviewed_at))
    return message


def _rule_set(stored: ReviewRuleSet) -> redemption_pb2.ReviewRuleSet:
    r = stored.rules
    message = redemption_pb2.ReviewRuleSet(item_id=stored.item_id, rules=redemption_pb2.ReviewRules(
        max_redemptions_per_hour=r.max_redemptions_per_hour, cost_over=r.cost_over,
        player_younger_than_days=r.player_younger_than_days, always_review=r.always_review))
    if stored.updated_at is not None:
        message.updated_at.CopyFrom(_timestamp(stored.updated_at))
    return message


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _struct(value: dict[str, Any]) -> Struct:
    struct = Struct()
    struct.update(value)
    return struct
