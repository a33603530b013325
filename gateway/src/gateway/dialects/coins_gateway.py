"""Seed 001, the coins gateway: `POST /gateway/coins/redeem/{version}/{brand_id}` with the player's
`x-auth-token`; the brand id names the tenant. Every answer is its envelope `{status, data, message}`: "success",
"fail" (422 with `data.result.code`, and 401/403/404 in the same shape) or "error" (500/503).

A thin translation over the canonical Redeem call: no business logic here. The mapping, and what was guessed, is
in docs/dialects/coins-gateway.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2
from service_kit.contract import DEFAULT_FAILURE_CODE, DEFAULT_TRIGGER_SOURCE, MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from service_kit.logs import request_id_var
from starlette.responses import JSONResponse, Response

from gateway import openapi, repository
from gateway.auth import Player, auth_token_header, bearer, verify_token
from gateway.client_ip import client_ip
from gateway.dialects.base import Dialect
from gateway.errors import Refusal, retry_after_headers
from gateway.routes import SandboxOutcome, Services, stamp_redeem
from gateway.schemas import FreeFormObject, dict_to_struct, display_amount

PREFIX = "/gateway/coins"
SUCCESS_MESSAGE = "Successfully claimed coins"
FAIL_MESSAGE = "Validation error while claiming coins"
ERROR_MESSAGE = "Failed to claim coins"
# Metadata key: the page's word for an error our ErrorCode does not name (an unknown brand).
DIALECT_CODE = "coins_gateway.code"

# ---- errors: the page's envelope -----------------------------------------------------------------------------

# Everything not listed is a 422 "fail": the page's validation errors (INSUFFICIENT_BALANCE, ITEM_NOT_FOUND,
# ITEM_NOT_ELIGIBLE, INVALID_ROUNDS_SELECTION, GAME_NOT_AVAILABLE) and the rest of our refusals alike.
_FAIL_STATUS: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.UNAUTHENTICATED: (401, "Unauthorized"),
    ErrorCode.FORBIDDEN: (403, "Forbidden"),
    ErrorCode.SANDBOX_ONLY: (403, "Forced outcomes are for the sandbox only"),
    ErrorCode.NOT_FOUND: (404, "Not found"),
    ErrorCode.RATE_LIMITED: (429, "Too many requests"),
}
_ERROR_STATUS = {ErrorCode.INTERNAL: 500, ErrorCode.UNAVAILABLE: 503}


def fail_response(status: int, code: str, message: str, envelope_message: str = FAIL_MESSAGE,
                  headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": "fail", "data": {"result": {"code": code, "message": message}},
                         "message": envelope_message, "request_id": request_id_var.get()},
                        status_code=status, headers=headers)


def render_error(exc: DomainError) -> Response:
    headers = retry_after_headers(exc)
    if exc.code in _ERROR_STATUS:
        return JSONResponse({"status": "error", "data": None, "message": ERROR_MESSAGE,
                             "request_id": request_id_var.get()},
                            status_code=_ERROR_STATUS[exc.code], headers=headers)
    status, envelope_message = _FAIL_STATUS.get(exc.code, (422, FAIL_MESSAGE))
    code = exc.metadata.get(DIALECT_CODE) or exc.code.value
    return fail_response(status, code, exc.message, envelope_message, headers)


def render_refusal(refusal: Refusal) -> Response:
    return fail_response(refusal.status, refusal.code, refusal.detail)


# ---- schemas -------------------------------------------------------------------------------------------------

class CoinsGatewayShippingAddress(BaseModel):
    """Not on the seed page: physical items here need an address, so a client may send one."""

    model_config = ConfigDict(extra="ignore", title="CoinsGatewayShippingAddress")

    name: str = Field(default="", max_length=200)
    line1: str = Field(default="", max_length=300)
    line2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=120)
    postal_code: str = Field(default="", max_length=32)
    country: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=40)

    def to_proto(self) -> common_pb2.ShippingAddress:
        return common_pb2.ShippingAddress(**self.model_dump())


class RedeemPointsRequest(BaseModel):
    # The seed page's request and use cases (seed 001).
    model_config = ConfigDict(extra="ignore", json_schema_extra=openapi.examples(
        {"shop_item_id": "507f1f77bcf86cd799439011", "rounds": 20, "trigger_source": "PLAYER_SHOP",
         "trigger_details": {"source_page": "shop_ui", "campaign": "weekend_promo"},
         "comment": "Weekend promotion claim", "uuid": "unique-idempotency-key-123"},
        {"shop_item_id": "507f1f77bcf86cd799439011", "uuid": "unique-transaction-uuid"},
        {"shop_item_id": "507f1f77bcf86cd799439012", "rounds": 50, "uuid": "unique-transaction-uuid"},
        {"shop_item_id": "507f1f77bcf86cd799439013", "comment": "T-shirt size L", "uuid": "unique-transaction-uuid"},
    ))

    shop_item_id: StrictStr | StrictInt = Field(description="the shop item's id (a 24-hex ObjectId, or any id)")
    rounds: int | None = Field(default=None, ge=0, le=1_000_000,
                               description="the free-rounds tier, for items with several")
    trigger_source: str | None = Field(default=DEFAULT_TRIGGER_SOURCE, max_length=64)
    trigger_details: FreeFormObject | None = None
    comment: str | None = Field(default=None, max_length=1000)
    uuid: str | None = Field(default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
                             description="idempotency key: a repeat answers the first response, already_processed")
    shipping_address: CoinsGatewayShippingAddress | None = Field(default=None, description="not on the seed page")

    @field_validator("shop_item_id")
    @classmethod
    def _sane_id(cls, v: int | str) -> int | str:
        text = str(v)
        if not text or len(text) > 128 or (isinstance(v, int) and v < 0):
            raise ValueError("shop_item_id must be a string of 1 to 128 characters")
        return v


class ClaimResult(BaseModel):
    success: bool
    transaction_id: int | None = Field(description="the wallet ledger entry of the debit")
    financial_ref_id: int | None = Field(description="the bonus or free-rounds id, once the bonus engine gave one")
    new_balance: str = Field(description='the balance after the debit, a decimal string ("150.50")')
    amount: str = Field(description='the coins debited, a decimal string ("100.00")')
    already_processed: bool


class ClaimSuccess(BaseModel):
    model_config = ConfigDict(json_schema_extra=openapi.examples({
        "status": "success", "data": {"success": True, "transaction_id": 123456, "financial_ref_id": 78910,
                                      "new_balance": "150.50", "amount": "100.00", "already_processed": False},
        "message": SUCCESS_MESSAGE}))

    status: Literal["success"] = "success"
    data: ClaimResult
    message: str = SUCCESS_MESSAGE


class FailResult(BaseModel):
    code: str
    message: str


class FailData(BaseModel):
    result: FailResult


class ClaimFail(BaseModel):
    """status "fail": the request was refused (the page's 422 validation errors, and 401/403/404/413 here)."""

    model_config = ConfigDict(json_schema_extra=openapi.examples({
        "status": "fail", "data": {"result": {"code": "INSUFFICIENT_BALANCE",
                                              "message": "Insufficient balance to redeem this item"}},
        "message": FAIL_MESSAGE, "request_id": "8f14e45fceea167a5a36dedd4bea2543"}))

    status: Literal["fail"]
    data: FailData
    message: str
    request_id: str


class ClaimError(BaseModel):
    """status "error": the platform failed (500) or a service is unavailable (503)."""

    model_config = ConfigDict(json_schema_extra=openapi.examples({
        "status": "error", "data": None, "message": ERROR_MESSAGE, "request_id": "8f14e45fceea167a5a36dedd4bea2543"}))

    status: Literal["error"]
    data: None
    message: str
    request_id: str


def claim_result(r: redemption_pb2.Redemption, already_processed: bool) -> ClaimResult:
    charged = r.debit_transaction_id != 0
    return ClaimResult(success=True, transaction_id=r.debit_transaction_id if charged else None,
                       financial_ref_id=r.fulfillment.financial_ref_id or None,
                       new_balance=display_amount(r.balance_after, r.point_scale),
                       amount=display_amount(r.cost, r.point_scale), already_processed=already_processed)


# ---- who is calling, for which brand -------------------------------------------------------------------------

MAX_BRAND_ID = repository.MAX_BRAND_ID
Version = Annotated[str, Path(min_length=1, max_length=32, description="the API version (any value is served)")]
BrandId = Annotated[int, Path(ge=0, le=MAX_BRAND_ID, description="the brand: which tenant's store")]


async def brand_player(
    request: Request,
    brand_id: BrandId,
    auth_token: Annotated[str | None, Depends(auth_token_header)],
    bearer_token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Player:
    token = auth_token or (bearer_token.credentials if bearer_token is not None else None)
    if not token:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "send the player's token in x-auth-token")
    player = await verify_token(request.app.state.signing_keys, token, client_ip(request))
    tenant_id = await request.app.state.credentials.tenant_for_brand(brand_id)
    if tenant_id is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no brand {brand_id}", {DIALECT_CODE: "BRAND_NOT_FOUND"})
    if player.scope.tenant_id != tenant_id:
        raise DomainError(ErrorCode.FORBIDDEN, f"the player token does not belong to brand {brand_id}")
    return player


BrandPlayer = Annotated[Player, Depends(brand_player)]


# ---- the route -----------------------------------------------------------------------------------------------

def _doc(model: type[BaseModel], description: str, *header_names: str) -> dict[str, Any]:
    return {"model": model, "description": description, "headers": openapi.headers(*header_names)}


router = APIRouter(prefix=PREFIX, tags=["coins gateway (seed 001)"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "success; the same answer with already_processed: true for a repeated uuid",
          "headers": openapi.headers()},
    401: _doc(ClaimFail, "fail: no player token, or an invalid one (UNAUTHENTICATED)", "WWW-Authenticate"),
    403: _doc(ClaimFail, "fail: the token is another brand's player (FORBIDDEN)"),
    404: _doc(ClaimFail, "fail: unknown brand (BRAND_NOT_FOUND)"),
    413: _doc(ClaimFail, "fail: the body is larger than MAX_BODY_BYTES (PAYLOAD_TOO_LARGE)"),
    422: _doc(ClaimFail, "fail: INSUFFICIENT_BALANCE, ITEM_NOT_FOUND, ITEM_NOT_ELIGIBLE, INVALID_ROUNDS_SELECTION, "
                         "GAME_NOT_AVAILABLE, VALIDATION_ERROR and the platform's other codes; the uuid another "
                         "player's (IDEMPOTENCY_KEY_CONFLICT) or its first request still running "
                         "(IDEMPOTENCY_KEY_IN_PROGRESS, with Retry-After)", "Retry-After"),
    429: _doc(ClaimFail, "fail: more than RATE_LIMIT_PER_SECOND from this token (RATE_LIMITED); retry after "
                         "Retry-After", "Retry-After"),
    500: _doc(ClaimError, "error: Failed to claim coins"),
    503: _doc(ClaimError, "error: a service is unavailable; nothing changed; retry after Retry-After", "Retry-After"),
}


@router.post("/redeem/{version}/{brand_id}", response_model=ClaimSuccess, summary="Redeem Points",
             operation_id="coinsGatewayRedeemPoints", responses=RESPONSES,
             openapi_extra=openapi.security(openapi.COINS_GATEWAY))
async def redeem_points(version: Version, brand_id: BrandId, body: RedeemPointsRequest, player: BrandPlayer,
                        services: Services, sandbox_outcome: SandboxOutcome = None) -> ClaimSuccess | JSONResponse:
    """Claims a shop item with coins: checks eligibility, debits the coins, and fulfils the item (a bonus,
    free rounds, a physical claim). A repeated `uuid` answers the first response with already_processed: true."""
    redeem = stamp_redeem(redemption_pb2.RedeemRequest(
        item_id=str(body.shop_item_id), rounds=body.rounds or 0, comment=body.comment or "",
        trigger_source=body.trigger_source or DEFAULT_TRIGGER_SOURCE), player, body.uuid, sandbox_outcome)
    if body.trigger_details is not None:
        redeem.trigger_details.CopyFrom(dict_to_struct(body.trigger_details))
    if body.shipping_address is not None:
        redeem.shipping_address.CopyFrom(body.shipping_address.to_proto())
    reply = await services.redemption.redeem(redeem)
    r = reply.redemption
    if r.status == redemption_pb2.REDEMPTION_STATUS_CANCELED:
        # Fulfilment failed before the answer and the coins were refunded: not a success.
        return fail_response(422, r.failure_code or DEFAULT_FAILURE_CODE,
                             r.failure_message or "the item could not be delivered; the coins were refunded")
    return ClaimSuccess(data=claim_result(r, reply.replayed))


DIALECT = Dialect(name="coins-gateway", prefix=PREFIX, routers=(router,), render_error=render_error,
                  render_refusal=render_refusal)
