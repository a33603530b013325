"""The canonical API's redemptions: a new one (with its shipping address or customer info), a quote, a cancel,
and a redemption as read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf import json_format
from pydantic import AliasChoices, ConfigDict, Field
from pydantic.alias_generators import to_camel
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2

from gateway import openapi
from gateway.errors import public_code
from gateway.schemas.common import ApiModel, FreeFormObject, display_amount, or_none, struct_to_dict, timestamp


class ShippingAddress(ApiModel):
    name: str = Field(default="", max_length=200)
    line1: str = Field(default="", max_length=300)
    line2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=120)
    postal_code: str = Field(default="", max_length=32)
    country: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=40)

    def to_proto(self) -> common_pb2.ShippingAddress:
        return common_pb2.ShippingAddress(**self.model_dump(by_alias=False))


class CustomerInfo(ApiModel):
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=320)

    def to_proto(self) -> common_pb2.CustomerInfo:
        return common_pb2.CustomerInfo(**self.model_dump(by_alias=False))


class _Selection(ApiModel):
    offer: str = Field(min_length=1, max_length=128, validation_alias=AliasChoices("offer", "itemId"),
                       description="the item id (itemId is accepted too)")
    variant_id: str = Field(default="", max_length=128)
    rounds: int = Field(default=0, ge=0, le=1_000_000)
    point_type: str = Field(default="", max_length=32)
    external_user_id: str | None = Field(default=None, alias="externalUserID", max_length=128,
                                         description="the player, when a back-end credential acts for one")


# Examples of the canonical API (seed 003's fields; the physical address is seed 000's, in our words).
NEW_REDEMPTION_EXAMPLES: list[dict[str, Any]] = [
    {"offer": "12"},
    {"offer": "12", "externalUserID": "user-42"},
    {"offer": "99", "shippingAddress": {"name": "Rahul Nema", "line1": "123 MG Road", "line2": "Near Metro",
                                        "city": "Bengaluru", "state": "Karnataka", "postalCode": "560001",
                                        "country": "IN", "phone": "+919999999999"}},
]
REDEMPTION_EXAMPLE: dict[str, Any] = {
    "id": "0b9f6c1e9d2a4f6e8c3b5a7d9e1f2a3b", "number": 834, "playerId": "user-42",
    "offer": {"id": "12", "name": "Amazon voucher", "imageUrl": None, "pointsPrice": 150, "pointType": "gems"},
    "variantId": None, "rounds": None, "status": "COMPLETED", "deliveryStatus": None, "pointsPrice": 150,
    "pointType": "gems", "scale": 0, "display": "150",
    "fulfillment": {"code": "AMZN-XXXX-YYYY", "pin": "1234", "financialRefId": None, "trackingNumber": None,
                    "providerReference": None, "data": None},
    "failure": None, "shippingAddress": None, "customerInfo": None, "comment": None, "triggerSource": None,
    "triggerDetails": None, "transactionId": 123456, "balanceAfter": 850, "redemptionMessage": None,
    "createdAt": "2026-03-22T16:00:00Z", "updatedAt": "2026-03-22T16:00:01Z", "completedAt": "2026-03-22T16:00:01Z",
    "canceledAt": None, "startAt": None, "endAt": None}


class NewRedemption(_Selection):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              json_schema_extra=openapi.examples(*NEW_REDEMPTION_EXAMPLES))

    shipping_address: ShippingAddress | None = None
    customer_info: CustomerInfo | None = None
    comment: str = Field(default="", max_length=2000)
    trigger_source: str = Field(default="", max_length=64)
    trigger_details: FreeFormObject | None = None
    quote_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="a quote's `quoteId`: pay the quoted price for the quoted variant and "
                                             "point type, even if the offer's price changed since (refused with "
                                             "QUOTE_EXPIRED, QUOTE_NOT_YOURS, QUOTE_ALREADY_USED, QUOTE_MISMATCH, "
                                             "QUOTE_NOT_FOUND)")


class QuoteRequest(_Selection):
    pass


class CancelRequest(ApiModel):
    reason: str = Field(default="", max_length=500)
    external_user_id: str | None = Field(default=None, alias="externalUserID", max_length=128)


class Offer(ApiModel):
    id: str
    name: str
    image_url: str | None
    points_price: int
    point_type: str


class FulfillmentResult(ApiModel):
    code: str | None
    pin: str | None
    financial_ref_id: int | None
    tracking_number: str | None
    provider_reference: str | None
    data: dict[str, Any] | None


class Failure(ApiModel):
    code: str
    message: str


REDEMPTION_STATUS_NAMES = {v: k.removeprefix("REDEMPTION_STATUS_")
                           for k, v in redemption_pb2.RedemptionStatus.items() if v}
REDEMPTION_STATUS_VALUES = {v: k for k, v in REDEMPTION_STATUS_NAMES.items()}
DELIVERY_STATUS_NAMES = {v: k.removeprefix("DELIVERY_STATUS_") for k, v in redemption_pb2.DeliveryStatus.items() if v}


class ReviewState(ApiModel):
    """A redemption held for review: why, since when, and the decision once made."""

    reason: str = Field(description="the rule that held it: ALWAYS_REVIEW, COST_OVER, MAX_PER_HOUR, NEW_PLAYER, "
                                    "SANDBOX_REVIEW")
    held_at: datetime | None
    decision: str | None = Field(description="approved, rejected, expired (no decision within the hold time); "
                                             "null: undecided")
    decided_at: datetime | None
    note: str | None = Field(description="the operator's note or rejection reason")

    @classmethod
    def from_proto(cls, r: redemption_pb2.Redemption) -> ReviewState | None:
        if not r.review_reason:
            return None
        return cls(reason=r.review_reason, held_at=timestamp(r, "held_at"), decision=or_none(r.review_decision),
                   decided_at=timestamp(r, "reviewed_at"), note=or_none(r.review_note))


class Redemption(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              json_schema_extra=openapi.examples(REDEMPTION_EXAMPLE))

    id: str
    number: int
    player_id: str
    offer: Offer
    variant_id: str | None
    rounds: int | None
    status: str = Field(description="SUBMITTED, OPEN, AWAITING_APPROVAL (paid, held for an operator's review), "
                                    "AWAITING_VENDOR, AWAITING_CUSTOMER, PURCHASED, COMPLETED, CANCELED or FAILED")
    delivery_status: str | None
    points_price: int
    point_type: str
    scale: int
    display: str = Field(description="pointsPrice as a decimal string")
    fulfillment: FulfillmentResult
    failure: Failure | None
    shipping_address: ShippingAddress | None
    customer_info: CustomerInfo | None
    comment: str | None
    trigger_source: str | None
    trigger_details: dict[str, Any] | None
    transaction_id: int | None
    balance_after: int | None
    redemption_message: str | None
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: datetime | None
    canceled_at: datetime | None
    start_at: datetime | None = None
    end_at: datetime | None = None
    review: ReviewState | None = Field(default=None, description="set when it was held for review")

    @classmethod
    def from_proto(cls, r: redemption_pb2.Redemption) -> Redemption:
        f = r.fulfillment
        charged = r.debit_transaction_id != 0
        return cls(
            id=r.id, number=r.number, player_id=r.player_id,
            offer=Offer(id=r.item_id, name=r.item_name, image_url=or_none(r.item_image_url), points_price=r.cost,
                        point_type=r.point_type),
            variant_id=or_none(r.variant_id), rounds=or_none(r.rounds),
            status=REDEMPTION_STATUS_NAMES.get(r.status, "SUBMITTED"),
            delivery_status=DELIVERY_STATUS_NAMES.get(r.delivery_status),
            points_price=r.cost, point_type=r.point_type, scale=r.point_scale,
            display=display_amount(r.cost, r.point_scale),
            fulfillment=FulfillmentResult(code=or_none(f.code), pin=or_none(f.pin),
                                          financial_ref_id=or_none(f.financial_ref_id),
                                          tracking_number=or_none(f.tracking_number),
                                          provider_reference=or_none(f.provider_reference),
                                          data=struct_to_dict(f, "data")),
            failure=Failure(code=public_code(r.failure_code), message=r.failure_message) if r.failure_code else None,
            shipping_address=(ShippingAddress(**json_format.MessageToDict(r.shipping_address,
                                                                          preserving_proto_field_name=True))
                              if r.HasField("shipping_address") else None),
            customer_info=(CustomerInfo(**json_format.MessageToDict(r.customer_info,
                                                                    preserving_proto_field_name=True))
                           if r.HasField("customer_info") else None),
            comment=or_none(r.comment), trigger_source=or_none(r.trigger_source),
            trigger_details=struct_to_dict(r, "trigger_details"),
            transaction_id=r.debit_transaction_id if charged else None,
            balance_after=r.balance_after if charged else None,
            redemption_message=or_none(r.redemption_message),
            created_at=timestamp(r, "created_at"), updated_at=timestamp(r, "updated_at"),
            completed_at=timestamp(r, "completed_at"), canceled_at=timestamp(r, "canceled_at"),
            review=ReviewState.from_proto(r))


class RedemptionList(ApiModel):
    redemptions: list[Redemption]
    next_cursor: str | None


class Quote(ApiModel):
    eligible: bool
    reason: str | None = Field(description="the error code a redemption would fail with")
    offer_id: str
    variant_id: str | None
    point_type: str
    points_price: int
    scale: int
    display: str
    balance: int
    balance_display: str
    stock_left: int | None = Field(description="null: unlimited")
    remaining_allowance: int | None = Field(description="null: unlimited")
    shipping_address_required: bool
    customer_info_required: bool
    quote_id: str | None = Field(description="send it as the redemption's `quoteId` to pay this price for this "
                                             "variant until `expiresAt`, once; null when the offer refused the "
                                             "player")
    expires_at: datetime | None = Field(description="the end of the quote's price lock")

    @classmethod
    def from_proto(cls, q: redemption_pb2.QuoteRedemptionResponse) -> Quote:
        return cls(eligible=q.eligible, reason=public_code(q.reason) if q.reason else None, offer_id=q.item_id,
                   variant_id=or_none(q.variant_id), point_type=q.point_type, points_price=q.cost,
                   scale=q.point_scale, display=display_amount(q.cost, q.point_scale), balance=q.balance,
                   balance_display=display_amount(q.balance, q.point_scale),
                   stock_left=None if q.stock_left < 0 else q.stock_left,
                   remaining_allowance=None if q.remaining_allowance < 0 else q.remaining_allowance,
                   shipping_address_required=q.shipping_address_required,
                   customer_info_required=q.customer_info_required, quote_id=or_none(q.quote_id),
                   expires_at=timestamp(q, "quote_expires_at") if q.quote_id else None)
