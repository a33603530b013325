"""Seed 002: Game Loom's Marketplace. A back end holding the tenant's API key (`x-api-key`; the key decides the
environment) acts for the player named by `{userKey}` in the path: browse gifts, read one, redeem one, read the
player's redemption history. Errors are RFC 9457 ProblemDetails with the page's statuses (400 for business
refusals, 401, 403, 404). The calls are the canonical API's, to the same services; nothing is decided here.

The page does not show the browse, details and history paths or shapes: they are chosen here (see
docs/dialects/marketplace.md)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_serializer
from pydantic.alias_generators import to_camel
from rewards.catalog.v1 import catalog_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.logs import request_id_var
from service_kit.scope import Scope
from starlette.responses import JSONResponse

from gateway import openapi
from gateway.auth import MAX_PLAYER_ID_LENGTH, Player, api_key_header, client_ip, verify_credential
from gateway.dialects.base import Dialect
from gateway.errors import PROBLEM_MEDIA_TYPE, Refusal, detail_shown, retry_after_headers
from gateway.routes import REPLAYED_HEADER, IdempotencyKey, SandboxOutcome, Services, next_cursor, stamp_redeem
from gateway.schemas import CustomerInfo, ShippingAddress, timestamp
from gateway.upstream import Upstreams

PREFIX = "/api/v1/marketplace"
# Game Loom's prices are in Saudi riyals and its delivery form has no country field.
DEFAULT_DELIVERY_COUNTRY = "SA"
FACE_VALUE_SCALE = 2  # face values are minor units (halalas, cents)

# ---- errors: ProblemDetails with the page's statuses ---------------------------------------------------------

STATUS: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    # The page's redeem answers 201, 400 or 403, and its first check is "the user exists and is active": a user
    # who fails it, unknown or not, is refused with 403.
    ErrorCode.PLAYER_NOT_FOUND: 403,
    ErrorCode.PLAYER_INACTIVE: 403,
    ErrorCode.ITEM_NOT_ELIGIBLE: 403,
    ErrorCode.SANDBOX_ONLY: 403,
    ErrorCode.ITEM_NOT_FOUND: 404,
    ErrorCode.REDEMPTION_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.IDEMPOTENCY_KEY_CONFLICT: 409,
    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: 409,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}  # every other code is a refusal of the request itself: 400

TITLES: dict[ErrorCode, str] = {
    ErrorCode.UNAUTHENTICATED: "Invalid or missing API key",
    ErrorCode.PLAYER_NOT_FOUND: "User not found",
    ErrorCode.PLAYER_INACTIVE: "User is not active",
    ErrorCode.ITEM_NOT_FOUND: "Gift not found",
    ErrorCode.ITEM_UNAVAILABLE: "Gift is not available",
    ErrorCode.INVALID_POINT_TYPE: "Invalid point type",
    ErrorCode.INVALID_ROUNDS_SELECTION: "Gift has several options",
    ErrorCode.LIMIT_REACHED: "Redeem limit reached",
    ErrorCode.REDEMPTION_ALREADY_EXISTS: "Redeem limit reached",
    ErrorCode.ITEM_NOT_ELIGIBLE: "User is not targeted by this gift",
    ErrorCode.OUT_OF_STOCK: "Gift is out of stock",
    ErrorCode.INSUFFICIENT_BALANCE: "Insufficient points",
    ErrorCode.CUSTOMER_INFO_REQUIRED: "Customer information required",
    ErrorCode.SHIPPING_ADDRESS_REQUIRED: "Delivery information required",
    ErrorCode.REDEMPTION_NOT_FOUND: "Redemption not found",
    ErrorCode.VALIDATION_ERROR: "One or more validation errors occurred.",
}

# The `type` ASP.NET Core gives each status (Game Loom is an ASP.NET API): the RFC section of the status.
TYPES: dict[int, str] = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
}

# The path of the request being answered: ProblemDetails.instance. Set by the routes' handler before the body
# is read or any dependency runs, so a malformed body or a bad key still has it.
_instance: ContextVar[str | None] = ContextVar("marketplace_instance", default=None)


class MarketplaceRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        answer = super().get_route_handler()

        async def answer_with_instance(request: Request) -> Response:
            _instance.set(request.url.path)
            return await answer(request)

        return answer_with_instance


def status_of(code: ErrorCode) -> int:
    return STATUS.get(code, 400)


def problem_body(status: int, title: str, detail: str, code: str, instance: str | None) -> dict[str, Any]:
    rid = request_id_var.get()
    return {"type": TYPES.get(status, TYPES[400]), "title": title, "status": status, "detail": detail,
            "instance": instance, "code": code, "traceId": rid, "requestId": rid}


def problem_details(exc: DomainError) -> dict[str, Any]:
    status = status_of(exc.code)
    return problem_body(status, TITLES.get(exc.code, HTTPStatus(status).phrase),
                        exc.message if detail_shown(exc, status) else "An unexpected error occurred.",
                        exc.code.value, _instance.get())


def render_error(exc: DomainError) -> Response:
    headers = retry_after_headers(exc)
    body = problem_details(exc)
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def render_refusal(refusal: Refusal) -> Response:
    # Refused before the route ran, so the path comes with the refusal rather than from _instance.
    body = problem_body(refusal.status, HTTPStatus(refusal.status).phrase, refusal.detail, refusal.code,
                        refusal.path)
    return JSONResponse(body, status_code=refusal.status, media_type=PROBLEM_MEDIA_TYPE)


class MarketplaceProblemDetails(BaseModel):
    """Every error of the marketplace: ASP.NET Core's ProblemDetails (RFC 9457) with the page's statuses, our
    stable code, and the request id as traceId and requestId."""

    model_config = ConfigDict(title="MarketplaceProblemDetails", json_schema_extra=openapi.examples({
        "type": TYPES[400], "title": "Insufficient points", "status": 400,
        "detail": "balance 40 is below the price 500", "instance": "/api/v1/marketplace/user/user-001/redeem",
        "code": "INSUFFICIENT_BALANCE", "traceId": "8f14e45fceea167a5a36dedd4bea2543",
        "requestId": "8f14e45fceea167a5a36dedd4bea2543"}))

    type: str
    title: str
    status: int
    detail: str
    instance: str | None
    code: str
    traceId: str  # the page's name
    requestId: str


def _problem(description: str, *header_names: str) -> dict[str, Any]:
    return openapi.problem(description, *header_names, schema="MarketplaceProblemDetails")


_UNAUTHENTICATED = _problem("Missing or invalid x-api-key", "WWW-Authenticate")
_UNKNOWN_USER = _problem("The user is unknown or not active (PLAYER_NOT_FOUND, PLAYER_INACTIVE)")
_INVALID = _problem("VALIDATION_ERROR: a path or query parameter out of bounds")
_UNAVAILABLE = _problem("A service is unavailable; nothing changed; retry after Retry-After", "Retry-After")
_LIMITED = _problem("RATE_LIMITED: more than RATE_LIMIT_PER_SECOND from this API key; retry after Retry-After",
                    "Retry-After")
READ_RESPONSES: dict[int | str, dict[str, Any]] = {400: _INVALID, 401: _UNAUTHENTICATED, 403: _UNKNOWN_USER,
                                                   429: _LIMITED, 503: _UNAVAILABLE}
REDEEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "Gift redeemed; the same record again for a repeated Idempotency-Key (then "
                         "Idempotent-Replayed: true)", "headers": openapi.headers("Idempotent-Replayed")},
    400: _problem("Refused: validation, gift unavailable, invalid point type, redeem limit, out of stock, "
                  "insufficient points, customer or delivery information missing"),
    401: _UNAUTHENTICATED,
    403: _problem("The user is unknown or not active, or not targeted by a private gift"),
    404: _problem("Unknown gift (ITEM_NOT_FOUND)"),
    409: _problem("Idempotency-Key conflict, or still in progress (then Retry-After)", "Retry-After"),
    413: _problem("The body is larger than MAX_BODY_BYTES (PAYLOAD_TOO_LARGE)"),
    429: _LIMITED,
    503: _UNAVAILABLE,
}
MARKETPLACE = openapi.security(openapi.MARKETPLACE)

# ---- who is calling --------------------------------------------------------------------------------------------

UserKey = Annotated[str, Path(alias="userKey", min_length=1, max_length=MAX_PLAYER_ID_LENGTH,
                              description="the player id in the tenant's game")]


async def acting_user(request: Request, user_key: UserKey,
                      api_key: Annotated[str | None, Depends(api_key_header)]) -> Player:
    """The player named in the path, for a back end holding the tenant's API key. No token: the player's
    targeting claims (segments, country, level) are unknown, so private gifts are not offered to them."""
    if not api_key:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "send the tenant's API key in the x-api-key header")
    credential = await verify_credential(request.app.state.credentials, api_key=api_key)
    return Player(Scope(credential.tenant_id, credential.environment), user_key, client_ip=client_ip(request),
                  from_token=False, credential=credential)


User = Annotated[Player, Depends(acting_user)]


async def require_user(services: Upstreams, user: Player) -> None:
    """An unknown user is refused (403) on every route, as on redeem (where the saga checks it first)."""
    await services.wallet.get_player(wallet_pb2.GetPlayerRequest(scope=user.scope.to_proto(),
                                                                 player_id=user.player_id))


# ---- shapes ------------------------------------------------------------------------------------------------------

# The seed page's 201 example (seed 002).
SEED_REDEMPTION: dict[str, Any] = {
    "id": "c1d2e3f4-5678-9abc-def0-111111111111", "giftId": "b1c2d3e4-5678-9abc-def0-111111111111",
    "userId": "user-001", "giftName": "Premium Headphones", "giftImageUrl": "https://example.com/headphones.png",
    "pointsSpent": 500, "sarValue": 50, "pointId": "68e3ee00d81b74c5fe9ac28c", "redemptionValue": None,
    "orderStatus": "Completed", "deliveryStatus": "Pending", "customerName": "Ahmed Mohammed",
    "customerPhone": "+966500000001", "deliveryName": "Ahmed Mohammed", "deliveryPhone": "+966500000001",
    "deliveryCity": "Riyadh", "deliveryAddress": "123 Main Street, Al Olaya District",
    "createdAt": "2026-03-22T16:00:00Z", "completedAt": "2026-03-22T16:00:01Z", "cancelledAt": None,
    "redemptionMessage": "Enjoy your new headphones!"}


class MarketplaceModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def face_value_in_units(face_value: int) -> Decimal | None:
    """5000 halalas -> 50; exact (Decimal), and None when the gift has no face value."""
    return Decimal(face_value).scaleb(-FACE_VALUE_SCALE) if face_value else None


def json_number(value: Decimal | None) -> int | float | None:
    # Whole amounts as integers, as on the page; a fraction is written from its exact decimal text.
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


class PointOption(MarketplaceModel):
    point_id: str
    points: int = Field(description="the price in this point type (minor units when the point type has decimals)")


class Gift(MarketplaceModel):
    id: str
    name: str
    description: str
    image_url: str | None
    point_id: str | None = Field(description="the default point type: used when a redeem omits pointId")
    points: int | None = Field(description="the price in pointId")
    point_options: list[PointOption] = Field(description="every eligible point type and its price")
    sar_value: Decimal | None = Field(description="the face value, in units of faceCurrency")
    face_currency: str | None
    stock: int | None = Field(description="left to redeem; null when unlimited")
    max_redeem_per_user: int | None = Field(description="null: no limit")
    user_redeemed_count: int | None = Field(default=None, description="gift details only")
    collect_customer_info: bool = Field(description="true: redeem needs customerName and customerPhone")
    delivery_required: bool = Field(description="true: redeem needs deliveryName, deliveryPhone, deliveryCity "
                                                "and deliveryAddress")
    status: str = Field(description="always Active: a user is shown only gifts they may redeem now")
    start_date: datetime | None
    expiry_date: datetime | None
    redemption_message: str | None

    @field_serializer("sar_value")
    def _sar_value_as_number(self, value: Decimal | None) -> int | float | None:
        return json_number(value)

    @classmethod
    def from_proto(cls, i: catalog_pb2.Item, redeemed_count: int | None = None) -> Gift:
        first = i.prices[0] if i.prices else None
        return cls(
            id=i.id, name=i.name, description=i.description, image_url=i.image_url or None,
            point_id=first.point_type if first else None, points=first.amount if first else None,
            point_options=[PointOption(point_id=p.point_type, points=p.amount) for p in i.prices],
            sar_value=face_value_in_units(i.face_value), face_currency=i.face_currency or None,
            stock=None if i.unlimited_stock else i.stock, max_redeem_per_user=i.per_player_limit or None,
            user_redeemed_count=redeemed_count, collect_customer_info=i.customer_info_required,
            delivery_required=i.shipping_address_required, status="Active",
            start_date=timestamp(i, "available_from"), expiry_date=timestamp(i, "available_until"),
            redemption_message=i.redemption_message or None)


class GiftPage(MarketplaceModel):
    items: list[Gift]
    page_size: int
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")


ORDER_STATUS = {
    redemption_pb2.REDEMPTION_STATUS_COMPLETED: "Completed",
    redemption_pb2.REDEMPTION_STATUS_CANCELED: "Cancelled",
    redemption_pb2.REDEMPTION_STATUS_FAILED: "Failed",
}  # every other status (SUBMITTED, OPEN, AWAITING_*, PURCHASED) is still "Pending", unless there is a delivery
CHARGED = frozenset({redemption_pb2.REDEMPTION_STATUS_OPEN, redemption_pb2.REDEMPTION_STATUS_AWAITING_VENDOR,
                     redemption_pb2.REDEMPTION_STATUS_AWAITING_CUSTOMER, redemption_pb2.REDEMPTION_STATUS_PURCHASED})
DELIVERY_STATUS = {
    redemption_pb2.DELIVERY_STATUS_PENDING: "Pending",
    redemption_pb2.DELIVERY_STATUS_SHIPPED: "Shipped",
    redemption_pb2.DELIVERY_STATUS_DELIVERED: "Delivered",
}


def order_status(r: redemption_pb2.Redemption) -> str:
    """The page's example of a gift with delivery answers Completed with deliveryStatus Pending: such an order
    completes when the points are taken, and deliveryStatus follows the shipment from there."""
    if r.delivery_status != redemption_pb2.DELIVERY_STATUS_UNSPECIFIED and r.status in CHARGED:
        return "Completed"
    return ORDER_STATUS.get(r.status, "Pending")


def completed_at(r: redemption_pb2.Redemption, status: str) -> datetime | None:
    # An order completed by its charge was paid in the redeem call itself (our record keeps no separate time of
    # the debit), so until its fulfillment completes it reads as completed when it was placed.
    if status != "Completed":
        return None
    return timestamp(r, "completed_at") or timestamp(r, "created_at")


def redemption_value(f: redemption_pb2.Fulfillment) -> str | None:
    """What the user received, as one string: a voucher code (with its PIN), or the bonus engine's reference."""
    if f.code:
        return f"{f.code} PIN {f.pin}" if f.pin else f.code
    if f.financial_ref_id:
        return str(f.financial_ref_id)
    return None


class GiftRedemption(MarketplaceModel):
    """The redemption record, with exactly the page's fields."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              json_schema_extra=openapi.examples(SEED_REDEMPTION))

    id: str
    gift_id: str
    user_id: str
    gift_name: str
    gift_image_url: str | None
    points_spent: int
    sar_value: Decimal | None
    point_id: str
    redemption_value: str | None
    order_status: str = Field(description="Pending, Completed, Cancelled or Failed")
    delivery_status: str | None = Field(description="Pending, Shipped, Delivered; null: nothing to deliver")
    customer_name: str | None
    customer_phone: str | None
    delivery_name: str | None
    delivery_phone: str | None
    delivery_city: str | None
    delivery_address: str | None
    created_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    redemption_message: str | None

    @field_serializer("sar_value")
    def _sar_value_as_number(self, value: Decimal | None) -> int | float | None:
        return json_number(value)

    @classmethod
    def from_proto(cls, r: redemption_pb2.Redemption) -> GiftRedemption:
        customer = r.customer_info if r.HasField("customer_info") else None
        address = r.shipping_address if r.HasField("shipping_address") else None
        status = order_status(r)
        return cls(
            id=r.id, gift_id=r.item_id, user_id=r.player_id, gift_name=r.item_name,
            gift_image_url=r.item_image_url or None, points_spent=r.cost,
            sar_value=face_value_in_units(r.face_value), point_id=r.point_type,
            redemption_value=redemption_value(r.fulfillment),
            order_status=status,
            delivery_status=DELIVERY_STATUS.get(r.delivery_status),
            customer_name=(customer.name or None) if customer else None,
            customer_phone=(customer.phone or None) if customer else None,
            delivery_name=(address.name or None) if address else None,
            delivery_phone=(address.phone or None) if address else None,
            delivery_city=(address.city or None) if address else None,
            delivery_address=(address.line1 or None) if address else None,
            created_at=timestamp(r, "created_at"), completed_at=completed_at(r, status),
            cancelled_at=timestamp(r, "canceled_at"), redemption_message=r.redemption_message or None)


class RedemptionPage(MarketplaceModel):
    items: list[GiftRedemption]
    page_size: int
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")


def _text(max_length: int) -> Any:
    return Field(default=None, max_length=max_length)


class RedeemGift(MarketplaceModel):
    # The seed page's example (seed 002), its placeholder filled.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              json_schema_extra=openapi.examples({
                                  "giftId": "b1c2d3e4-5678-9abc-def0-111111111111",
                                  "customerName": "Ahmed Mohammed", "customerPhone": "+966500000001",
                                  "deliveryName": "Ahmed Mohammed", "deliveryPhone": "+966500000001",
                                  "deliveryCity": "Riyadh", "deliveryAddress": "123 Main Street, Al Olaya District"}))

    gift_id: str = Field(min_length=1, max_length=128)
    point_id: str | None = Field(default=None, max_length=32,
                                 description="omitted: the gift's first eligible point type")
    customer_name: str | None = _text(200)
    customer_phone: str | None = _text(40)
    delivery_name: str | None = _text(200)
    delivery_phone: str | None = _text(40)
    delivery_city: str | None = _text(120)
    delivery_address: str | None = _text(300)
    delivery_country: str | None = Field(default=None, max_length=64,
                                         description=f"not on the page; default {DEFAULT_DELIVERY_COUNTRY}")

    def customer_info(self) -> CustomerInfo | None:
        """Both fields, or none: a gift that collects customer info then refuses with CUSTOMER_INFO_REQUIRED."""
        if not (self.customer_name and self.customer_phone):
            return None
        return CustomerInfo(name=self.customer_name, phone=self.customer_phone)

    def shipping_address(self) -> ShippingAddress | None:
        """All four delivery fields, or none: a gift that needs delivery then refuses (SHIPPING_ADDRESS_REQUIRED)."""
        if not (self.delivery_name and self.delivery_phone and self.delivery_city and self.delivery_address):
            return None
        return ShippingAddress(name=self.delivery_name, phone=self.delivery_phone, city=self.delivery_city,
                               line1=self.delivery_address, country=self.delivery_country or DEFAULT_DELIVERY_COUNTRY)

    def to_proto(self) -> redemption_pb2.RedeemRequest:
        request = redemption_pb2.RedeemRequest(item_id=self.gift_id, point_type=self.point_id or "",
                                               trigger_source="MARKETPLACE")
        customer, address = self.customer_info(), self.shipping_address()
        if customer is not None:
            request.customer_info.CopyFrom(customer.to_proto())
        if address is not None:
            request.shipping_address.CopyFrom(address.to_proto())
        return request


# ---- routes ------------------------------------------------------------------------------------------------------

router = APIRouter(prefix=PREFIX, tags=["marketplace (seed 002)"], route_class=MarketplaceRoute)

PageSize = Annotated[int, Query(alias="pageSize", ge=1, le=100, description="items per page")]
PageCursor = Annotated[str | None, Query(max_length=1000, description="nextCursor of the previous page")]
GiftId = Annotated[str, Path(alias="giftId", min_length=1, max_length=128)]


@router.get("/user/{userKey}/gifts", response_model=GiftPage, operation_id="marketplaceBrowseGifts",
            openapi_extra=MARKETPLACE, responses=READ_RESPONSES)
async def browse_gifts(user: User, services: Services, page_size: PageSize = 20,
                       cursor: PageCursor = None) -> GiftPage:
    """The gifts the user may redeem now (active, in their window, not targeted at others)."""
    await require_user(services, user)
    reply = await services.catalog.list_items(catalog_pb2.ListItemsRequest(
        scope=user.scope.to_proto(), player=user.to_proto(), page_size=page_size, page_token=cursor or ""))
    return GiftPage(items=[Gift.from_proto(i) for i in reply.items], page_size=page_size,
                    next_cursor=next_cursor(reply.next_page_token))


@router.get("/user/{userKey}/gifts/{giftId}", response_model=Gift, operation_id="marketplaceGetGift",
            openapi_extra=MARKETPLACE, responses={**READ_RESPONSES, 404: _problem("Unknown gift (ITEM_NOT_FOUND)")})
async def gift_details(user: User, gift_id: GiftId, services: Services) -> Gift:
    """One gift, with collectCustomerInfo and deliveryRequired: what a redeem of it will need."""
    await require_user(services, user)
    reply = await services.catalog.get_item(catalog_pb2.GetItemRequest(
        scope=user.scope.to_proto(), item_id=gift_id, player=user.to_proto()))
    return Gift.from_proto(reply.item, redeemed_count=reply.player_redeemed_count)


@router.post("/user/{userKey}/redeem", response_model=GiftRedemption, status_code=201,
             operation_id="marketplaceRedeemGift", openapi_extra=MARKETPLACE, responses=REDEEM_RESPONSES)
async def redeem_gift(body: RedeemGift, user: User, services: Services, response: Response,
                      idempotency_key: IdempotencyKey = None,
                      sandbox_outcome: SandboxOutcome = None) -> GiftRedemption:
    """Checks, in order: user, gift, point type, redeem limit, targeting, (customer and delivery fields), stock,
    points. A replay of an Idempotency-Key (optional, not on the page) answers the first record again."""
    reply = await services.redemption.redeem(stamp_redeem(body.to_proto(), user, idempotency_key, sandbox_outcome))
    if reply.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return GiftRedemption.from_proto(reply.redemption)


@router.get("/user/{userKey}/redemptions", response_model=RedemptionPage, operation_id="marketplaceRedemptionHistory",
            openapi_extra=MARKETPLACE, responses=READ_RESPONSES)
async def redemption_history(user: User, services: Services, page_size: PageSize = 20,
                             cursor: PageCursor = None) -> RedemptionPage:
    """The user's redemptions, newest first."""
    await require_user(services, user)
    reply = await services.redemption.list(redemption_pb2.ListRedemptionsRequest(
        scope=user.scope.to_proto(), player_id=user.player_id, page_size=page_size, page_token=cursor or ""))
    return RedemptionPage(items=[GiftRedemption.from_proto(r) for r in reply.redemptions], page_size=page_size,
                          next_cursor=next_cursor(reply.next_page_token))


DIALECT = Dialect(name="marketplace", prefix=PREFIX, routers=(router,), render_error=render_error,
                  render_refusal=render_refusal, error_models=(MarketplaceProblemDetails,))
