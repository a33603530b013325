"""Seed 000, the gem store: `POST /store/redeem`. A trusted back end's client credentials plus the player's
token; FastAPI-style errors (`{"detail": ...}`) with our stable code and the request id beside them.

A thin translation over the canonical Redeem call: no business logic here. The mapping, and what was guessed, is
in docs/dialects/gems-store.md."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2
from service_kit.contract import MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from service_kit.logs import request_id_var
from service_kit.scope import Scope
from starlette.responses import JSONResponse

from gateway import openapi
from gateway.auth import (
    Player,
    bearer,
    client_id_header,
    client_ip,
    client_secret_header,
    verify_credential,
    verify_token,
)
from gateway.dialects.base import Dialect
from gateway.errors import Refusal, detail_shown, retry_after_headers
from gateway.routes import REPLAYED_HEADER, SandboxOutcome, Services, stamp_redeem

PREFIX = "/store"
# The seed's addresses are Indian (pincode, +91 phones) and carry no country; ours need one.
DEFAULT_COUNTRY = "IN"

# ---- errors: the page's status codes -------------------------------------------------------------------------

_STATUS: dict[ErrorCode, int] = {
    # 400 Bad Request: the item cannot be redeemed as asked (the page lists no 404, so an unknown item is here too).
    ErrorCode.ITEM_NOT_FOUND: 400, ErrorCode.ITEM_UNAVAILABLE: 400, ErrorCode.OUT_OF_STOCK: 400,
    ErrorCode.LIMIT_REACHED: 400, ErrorCode.REDEMPTION_ALREADY_EXISTS: 400, ErrorCode.OUT_OF_CODES: 400,
    ErrorCode.INVALID_POINT_TYPE: 400, ErrorCode.INVALID_ROUNDS_SELECTION: 400,
    ErrorCode.GAME_NOT_AVAILABLE: 400, ErrorCode.SHIPPING_ADDRESS_REQUIRED: 400,
    ErrorCode.CUSTOMER_INFO_REQUIRED: 400, ErrorCode.REDEMPTION_NOT_CANCELLABLE: 400,
    ErrorCode.NOT_FOUND: 400, ErrorCode.REDEMPTION_NOT_FOUND: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    # 402 Payment Required: not enough gems. A player the wallet has never seen has none.
    ErrorCode.INSUFFICIENT_BALANCE: 402, ErrorCode.PLAYER_NOT_FOUND: 402,
    ErrorCode.FORBIDDEN: 403, ErrorCode.ITEM_NOT_ELIGIBLE: 403, ErrorCode.PLAYER_INACTIVE: 403,
    ErrorCode.SANDBOX_ONLY: 403,
    ErrorCode.IDEMPOTENCY_KEY_CONFLICT: 409, ErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: 409, ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}
# Metadata key carrying FastAPI's own list of field errors for a 422 (its `detail` is a list, not a string).
FIELD_ERRORS = "gems_store.field_errors"


def render_error(exc: DomainError) -> Response:
    status = _STATUS.get(exc.code, 500)
    shown = detail_shown(exc, status)
    detail: Any = exc.message if shown else "Internal Server Error"
    if exc.code is ErrorCode.VALIDATION_ERROR:
        raw = exc.metadata.get(FIELD_ERRORS)
        detail = json.loads(raw) if raw else [{"loc": ["body"], "msg": exc.message, "type": "value_error"}]
    headers = retry_after_headers(exc)
    body = {"detail": detail, "code": exc.code.value if shown else ErrorCode.INTERNAL.value,
            "request_id": request_id_var.get()}
    return JSONResponse(body, status_code=status, headers=headers)


def render_refusal(refusal: Refusal) -> Response:
    return JSONResponse({"detail": refusal.detail, "code": refusal.code, "request_id": request_id_var.get()},
                        status_code=refusal.status)


class _FieldErrorsRoute(APIRoute):
    """Keeps FastAPI's list of field errors for the 422 body (the app hands dialects a one-line summary)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def with_field_errors(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError as exc:
                errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                          for e in exc.errors()]
                summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
                raise DomainError(ErrorCode.VALIDATION_ERROR, summary or "invalid request",
                                  {FIELD_ERRORS: json.dumps(errors, default=str)}) from None

        return with_field_errors


# ---- schemas -------------------------------------------------------------------------------------------------

class GemsStoreShippingAddress(BaseModel):
    """The seed page's address: a pincode, no country."""

    model_config = ConfigDict(extra="ignore", title="GemsStoreShippingAddress")

    name: str = Field(default="", max_length=200)
    line1: str = Field(default="", max_length=300)
    line2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=120)
    pincode: str = Field(default="", max_length=32)
    phone: str = Field(default="", max_length=40)
    country: str = Field(default="", max_length=64,
                         description="not on the seed page: defaults to the token's country, else IN")

    def to_proto(self, default_country: str) -> common_pb2.ShippingAddress:
        return common_pb2.ShippingAddress(name=self.name, line1=self.line1, line2=self.line2, city=self.city,
                                          state=self.state, postal_code=self.pincode, phone=self.phone,
                                          country=self.country or default_country)


# The seed page's examples (seed 000).
SEED_PHYSICAL_ADDRESS = {"name": "Rahul Nema", "line1": "123 MG Road", "line2": "Near Metro", "city": "Bengaluru",
                         "state": "Karnataka", "pincode": "560001", "phone": "+919999999999"}


class StoreRedeemRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra=openapi.examples(
        {"store_item_id": 12, "shipping_address": None},
        {"store_item_id": 99, "shipping_address": SEED_PHYSICAL_ADDRESS}))

    store_item_id: StrictInt | StrictStr = Field(description="the item id, as an integer or its text")
    shipping_address: GemsStoreShippingAddress | None = Field(
        default=None, description="required when the item is shipped (physical) or sent to a provider (webhook)")

    @field_validator("store_item_id")
    @classmethod
    def _sane_id(cls, v: int | str) -> int | str:
        text = str(v)
        if not text or len(text) > 128 or (isinstance(v, int) and v < 0):
            raise ValueError("store_item_id must be a non-negative integer or a string of 1 to 128 characters")
        return v


class FulfillmentData(BaseModel):
    code: str
    pin: str | None


class StoreRedemption(BaseModel):
    model_config = ConfigDict(json_schema_extra=openapi.examples(
        {"id": 834, "status": "fulfilled", "gem_cost_at_time": 150,
         "fulfillment_data": {"code": "AMZN-XXXX-YYYY", "pin": "1234"}},
        {"id": 835, "status": "pending", "gem_cost_at_time": 500, "fulfillment_data": None}))

    id: int = Field(description="the redemption number")
    status: Literal["pending", "fulfilled", "failed"]
    gem_cost_at_time: int
    fulfillment_data: FulfillmentData | None = Field(description="the code and PIN of a voucher; null otherwise")


_STATUS_WORDS = {redemption_pb2.REDEMPTION_STATUS_COMPLETED: "fulfilled",
                 redemption_pb2.REDEMPTION_STATUS_CANCELED: "failed",
                 redemption_pb2.REDEMPTION_STATUS_FAILED: "failed"}


def store_redemption(r: redemption_pb2.Redemption) -> StoreRedemption:
    f = r.fulfillment
    return StoreRedemption(id=r.number, status=_STATUS_WORDS.get(r.status, "pending"),  # type: ignore[arg-type]
                           gem_cost_at_time=r.cost,
                           fulfillment_data=FulfillmentData(code=f.code, pin=f.pin or None) if f.code else None)


# ---- auth: the back end's credentials AND the player's token -------------------------------------------------

async def store_player(
    request: Request,
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    client_id: Annotated[str | None, Depends(client_id_header)],
    client_secret: Annotated[str | None, Depends(client_secret_header)],
) -> Player:
    if not (client_id and client_secret):
        raise DomainError(ErrorCode.UNAUTHENTICATED, "send the back end's x-client-id and x-client-secret")
    credential = await verify_credential(request.app.state.credentials, client_id=client_id,
                                         client_secret=client_secret)
    if token is None or not token.credentials:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "send the player's token as Authorization: Bearer <token>")
    player = await verify_token(request.app.state.signing_keys, token.credentials, client_ip(request))
    if player.scope != Scope(credential.tenant_id, credential.environment):
        raise DomainError(ErrorCode.FORBIDDEN, "the player token belongs to another tenant or environment "
                                               "than the client credentials")
    return player


StorePlayer = Annotated[Player, Depends(store_player)]


# ---- the route -----------------------------------------------------------------------------------------------

class GemsStoreFieldError(BaseModel):
    model_config = ConfigDict(title="GemsStoreFieldError")

    loc: list[str | int]
    msg: str
    type: str


class GemsStoreError(BaseModel):
    """Every error of the gem store: FastAPI's `detail` (a sentence, or for a 422 the list of field errors), with
    our stable code and the request id beside it."""

    model_config = ConfigDict(title="GemsStoreError", json_schema_extra=openapi.examples(
        {"detail": "balance 40 is below the price 150", "code": "INSUFFICIENT_BALANCE",
         "request_id": "8f14e45fceea167a5a36dedd4bea2543"}))

    detail: str | list[GemsStoreFieldError]
    code: str
    request_id: str


def _error(description: str, *header_names: str) -> dict[str, Any]:
    return {"model": GemsStoreError, "description": description, "headers": openapi.headers(*header_names)}


router = APIRouter(prefix=PREFIX, tags=["gems store (seed 000)"], route_class=_FieldErrorsRoute)

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "fulfilled with the code and PIN of a voucher, else pending; the same answer again for a "
                         "repeated Idempotency-Key (then Idempotent-Replayed: true)",
          "headers": openapi.headers("Idempotent-Replayed")},
    400: _error("Bad Request: the item is unknown, unavailable, out of stock, or the limit is reached; "
                "SHIPPING_ADDRESS_REQUIRED"),
    401: _error("Unauthorized: client credentials or player token missing or invalid", "WWW-Authenticate"),
    402: _error("Payment Required: not enough gems (INSUFFICIENT_BALANCE)"),
    403: _error("Forbidden: not eligible, or the token is another tenant's"),
    409: _error("Conflict: the Idempotency-Key belongs to another player or another body, or is still in progress "
                "(then Retry-After)", "Retry-After"),
    413: _error("Content Too Large: the body is larger than MAX_BODY_BYTES (PAYLOAD_TOO_LARGE)"),
    422: _error("Validation Error: detail is FastAPI's list of {loc, msg, type}"),
    429: _error("Too Many Requests (RATE_LIMITED): more than RATE_LIMIT_PER_SECOND from these credentials; retry "
                "after Retry-After", "Retry-After"),
    503: _error("A service is unavailable (UNAVAILABLE): nothing changed; retry after Retry-After", "Retry-After"),
}

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
                                              description="one per purchase attempt, for safe retries")]


@router.post("/redeem", response_model=StoreRedemption, summary="Redeem store item", operation_id="gemsStoreRedeem",
             responses=RESPONSES, openapi_extra=openapi.security(openapi.GEMS_STORE))
async def redeem_store_item(body: StoreRedeemRequest, player: StorePlayer, services: Services,
                            response: Response, idempotency_key: IdempotencyKey = None,
                            sandbox_outcome: SandboxOutcome = None) -> StoreRedemption:
    """Redeems a store item using gems. The same Idempotency-Key from the same player answers the previous
    redemption; from another player, 409."""
    redeem = stamp_redeem(redemption_pb2.RedeemRequest(item_id=str(body.store_item_id)), player, idempotency_key,
                          sandbox_outcome)
    if body.shipping_address is not None:
        redeem.shipping_address.CopyFrom(body.shipping_address.to_proto(player.country or DEFAULT_COUNTRY))
    reply = await services.redemption.redeem(redeem)
    if reply.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return store_redemption(reply.redemption)


# The dialect's one route is its prefix for errors: the rest of /store is the demo storefront's pages
# (gateway/store), which answer their errors as pages.
DIALECT = Dialect(name="gems-store", prefix=f"{PREFIX}/redeem", routers=(router,),
                  render_error=render_error, render_refusal=render_refusal)
