"""The storefront's pages (see gateway.store): server-rendered, forms posted with their CSRF token, each page one or
two calls of the canonical API's route functions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ValidationError
from service_kit.contract import MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from starlette.datastructures import FormData
from starlette.responses import Response

from gateway.auth import Player, issue_token, verify_token
from gateway.client_ip import client_ip
from gateway.config import Settings
from gateway.repository import Credential
from gateway.routes import Services, items, redemptions, wallet
from gateway.schemas import Item, NewRedemption, Quote, QuoteRequest, Redemption
from gateway.store.paths import PREFIX
from gateway.web.pages import PageAnswer, field, noted, posted_form, refusal, render, see_other
from gateway.web.session import Session, WebApp, anonymous, clear_cookie, current_session, seal, set_cookie

APP = WebApp(name="store", path=PREFIX, cookie="store_session", same_site="lax")
ENVIRONMENT = "sandbox"        # the storefront is a demo: it never acts in a live environment
PAGE_SIZE = 10
# Not final: the page polls until the redemption is one of these.
FINAL = frozenset({"COMPLETED", "CANCELED", "FAILED"})

router = APIRouter(prefix=PREFIX, include_in_schema=False)

RedemptionId = Annotated[str, Path(alias="id", min_length=1, max_length=128)]
ItemId = Annotated[str, Path(alias="itemId", min_length=1, max_length=128)]
PageCursor = Annotated[str | None, Query(max_length=1000)]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def storefront_on(request: Request) -> Settings:
    settings = _settings(request)
    if not settings.store_tenant:
        raise DomainError(ErrorCode.NOT_FOUND, "the storefront is off (STORE_TENANT is not set)")
    return settings


On = Annotated[Settings, Depends(storefront_on)]


class SignedOut(Exception):
    """The session is missing, expired or its token no longer verifies."""


async def _signed_in(request: Request) -> tuple[Player, Session]:
    session = await current_session(request, APP)
    if session is None or not session.signed_in:
        raise SignedOut
    try:
        player = await verify_token(request.app.state.signing_keys, str(session.claims.get("token", "")),
                                    client_ip(request))
    except DomainError as exc:
        if exc.code is ErrorCode.UNAUTHENTICATED:
            raise SignedOut from None
        raise
    return player, session


async def _player(request: Request) -> tuple[Player, Session]:
    """The signed-in player; signed out, back to the sign-in page (PageAnswer)."""
    try:
        return await _signed_in(request)
    except SignedOut:
        raise PageAnswer(_signed_out(request)) from None


async def _player_form(request: Request, action: str) -> tuple[Player, Session, FormData]:
    """The player and the form they posted, its CSRF token checked (see posted_form)."""
    player, session = await _player(request)
    return player, session, await posted_form(request, session, APP.name, action)


def _signed_out(request: Request) -> Response:
    response = see_other(PREFIX)
    clear_cookie(request, response, APP)
    return response


async def _balances(player: Player, services: Services) -> list[Any]:
    return (await wallet.get_balances(player, services)).balances


async def _page(request: Request, services: Services, name: str, player: Player, session: Session,
                status_code: int = 200, **context: Any) -> Response:
    return render(request, name, status_code=status_code, player=player.player_id, csrf=session.csrf,
                  balances=await _balances(player, services), **context)


# ---- signing in ----------------------------------------------------------------------------------------------

@router.get("")
async def home(request: Request, settings: On) -> Response:
    session = await current_session(request, APP)
    if session is not None and session.signed_in:
        return see_other(f"{PREFIX}/items")
    if session is None:
        session, sealed = await anonymous(request, APP)
    else:
        sealed = None
    response = render(request, "store/sign_in.html", csrf=session.csrf, players=settings.store_player_ids,
                      tenant=settings.store_tenant)
    if sealed:
        set_cookie(request, response, APP, sealed, 3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request, settings: On) -> Response:
    form = await posted_form(request, await current_session(request, APP), APP.name, "sign_in")
    player_id = field(form, "player")
    if player_id not in settings.store_player_ids:
        noted(APP.name, "sign_in", "FORBIDDEN")
        session, sealed = await anonymous(request, APP)
        response = render(request, "store/sign_in.html", status_code=403, csrf=session.csrf,
                          players=settings.store_player_ids, tenant=settings.store_tenant,
                          error="Choose one of the demo players.")
        set_cookie(request, response, APP, sealed, 3600)
        return response
    ttl = min(settings.web_session_seconds, settings.token_max_ttl_seconds)
    storefront = Credential(kind="storefront", id="demo", tenant_id=settings.store_tenant, environment=ENVIRONMENT,
                            admin=False)
    token = await issue_token(request.app.state.signing_keys, storefront, player_id, ttl)
    sealed = await seal(request.app.state.signing_keys, APP, {"who": player_id, "token": token}, ttl)
    noted(APP.name, "sign_in", "ok", player_id=player_id)
    response = see_other(f"{PREFIX}/items")
    set_cookie(request, response, APP, sealed, ttl)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, settings: On) -> Response:
    await posted_form(request, await current_session(request, APP), APP.name, "sign_out")
    noted(APP.name, "sign_out", "ok")
    return _signed_out(request)


# ---- items, quote, redeem ------------------------------------------------------------------------------------

@router.get("/items")
async def item_list(request: Request, settings: On, services: Services, cursor: PageCursor = None) -> Response:
    player, session = await _player(request)
    page = await items.list_items(player, services, limit=PAGE_SIZE, cursor=cursor)
    return await _page(request, services, "store/items.html", player, session, items=page.items,
                       next_cursor=page.next_cursor)


def _selection(item: Item, variant_id: str, point_type: str) -> tuple[str, str]:
    if item.variants and not any(v.id == variant_id for v in item.variants):
        variant_id = item.variants[0].id
    prices = next((v.prices for v in item.variants if v.id == variant_id), None) or item.prices
    if not any(p.point_type == point_type for p in prices):
        point_type = prices[0].point_type if prices else ""
    return variant_id, point_type


async def _item_page(request: Request, services: Services, player: Player, session: Session, item_id: str,
                     variant_id: str = "", point_type: str = "", status_code: int = 200,
                     error: str | None = None, sent: dict[str, str] | None = None) -> Response:
    item = await items.get_item(player, services, item_id=item_id)
    variant_id, point_type = _selection(item, variant_id, point_type)
    quote: Quote | None = None
    quote_error: str | None = None
    try:
        quote = await redemptions.quote_redemption(
            QuoteRequest(offer=item.id, variant_id=variant_id, point_type=point_type), player, services)
    except DomainError as exc:
        quote_error = refusal(exc)[1]
    return await _page(request, services, "store/item.html", player, session, status_code=status_code, item=item,
                       variant_id=variant_id, point_type=point_type, quote=quote, quote_error=quote_error,
                       error=error, sent=sent or {}, idempotency_key=uuid.uuid4().hex)


@router.get("/items/{itemId}")
async def item_detail(request: Request, item_id: ItemId, settings: On, services: Services,
                      variant: Annotated[str, Query(max_length=128)] = "",
                      point_type: Annotated[str, Query(alias="pointType", max_length=32)] = "") -> Response:
    player, session = await _player(request)
    return await _item_page(request, services, player, session, item_id, variant, point_type)


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country", "phone")
CUSTOMER_FIELDS = ("name", "phone", "email")


def redemption_body(item_id: str, form: Any) -> dict[str, Any]:
    """The canonical POST /v1/redemptions body the form stands for (validated by NewRedemption like the API's)."""
    body: dict[str, Any] = {"offer": item_id, "variant_id": field(form, "variant"),
                            "point_type": field(form, "point_type"), "trigger_source": "storefront"}
    address = {name: field(form, f"address_{name}") for name in ADDRESS_FIELDS}
    if any(address.values()):
        body["shipping_address"] = address
    customer = {name: field(form, f"customer_{name}") for name in CUSTOMER_FIELDS}
    if any(customer.values()):
        body["customer_info"] = customer
    return body


@router.post("/items/{itemId}/redeem")
async def redeem(request: Request, item_id: ItemId, settings: On, services: Services) -> Response:
    player, session, form = await _player_form(request, "redeem")
    sent = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    try:
        body = NewRedemption.model_validate(redemption_body(item_id, form))
        key = field(form, "idempotency_key")
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "the form has no idempotency key: reload the page")
        made = await redemptions.create_redemption(body, player, services, Response(), idempotency_key=key)
    except ValidationError as exc:
        noted(APP.name, "redeem", ErrorCode.VALIDATION_ERROR.value, item_id=item_id)
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                           for e in exc.errors(include_url=False, include_input=False))
        return await _item_page(request, services, player, session, item_id, field(form, "variant"),
                                field(form, "point_type"), 422, f"Invalid request: {detail}", sent)
    except DomainError as exc:
        status, message = refusal(exc)
        noted(APP.name, "redeem", exc.code.value, item_id=item_id)
        if exc.code in (ErrorCode.ITEM_NOT_FOUND, ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL):
            raise
        return await _item_page(request, services, player, session, item_id, field(form, "variant"),
                                field(form, "point_type"), status, message, sent)
    noted(APP.name, "redeem", "ok", item_id=item_id, redemption_id=made.id)
    return see_other(f"{PREFIX}/redemptions/{made.id}")


# ---- history, one redemption, cancel -------------------------------------------------------------------------

@router.get("/redemptions")
async def history(request: Request, settings: On, services: Services, cursor: PageCursor = None) -> Response:
    player, session = await _player(request)
    page = await redemptions.list_redemptions(player, services, limit=PAGE_SIZE, cursor=cursor)
    return await _page(request, services, "store/history.html", player, session, redemptions=page.redemptions,
                       next_cursor=page.next_cursor, final=FINAL)


async def _redemption(services: Services, player: Player, redemption_id: str) -> Redemption:
    return await redemptions.get_redemption(redemption_id, player, services)


@router.get("/redemptions/{id}")
async def redemption_detail(request: Request, redemption_id: RedemptionId, settings: On,
                            services: Services) -> Response:
    player, session = await _player(request)
    r = await _redemption(services, player, redemption_id)
    return await _page(request, services, "store/redemption.html", player, session, r=r, final=FINAL)


@router.get("/redemptions/{id}/status")
async def redemption_status(request: Request, redemption_id: RedemptionId, settings: On,
                            services: Services) -> Response:
    """The status part of a redemption's page, which its script fetches until the redemption is final."""
    try:
        player, session = await _signed_in(request)
    except SignedOut:
        return Response(status_code=401)
    r = await _redemption(services, player, redemption_id)
    response = render(request, "store/_status.html", r=r, final=FINAL, csrf=session.csrf)
    response.headers["X-Final"] = "true" if r.status in FINAL else "false"
    return response


@router.post("/redemptions/{id}/cancel")
async def cancel(request: Request, redemption_id: RedemptionId, settings: On, services: Services) -> Response:
    player, session, _form = await _player_form(request, "cancel")
    try:
        await redemptions.cancel_redemption(redemption_id, player, services, None)
    except DomainError as exc:
        if exc.code is not ErrorCode.REDEMPTION_NOT_CANCELLABLE:
            raise
        noted(APP.name, "cancel", exc.code.value, redemption_id=redemption_id)
        r = await _redemption(services, player, redemption_id)
        return await _page(request, services, "store/redemption.html", player, session, status_code=409, r=r,
                           final=FINAL, error=refusal(exc)[1])
    noted(APP.name, "cancel", "ok", redemption_id=redemption_id)
    return see_other(f"{PREFIX}/redemptions/{redemption_id}")
