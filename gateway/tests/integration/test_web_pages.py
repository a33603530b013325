"""The storefront's and the console's pages against in-process fake services: their sessions, cookies and CSRF
tokens, what a refused form leaves untouched, and that each page calls the same gRPC methods as the API's routes
(the browser tests in tests-e2e/browser/ drive the real system)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway.dialects import dialect_for
from gateway.web.pages import app_of
from rewards.catalog.v1 import catalog_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2

from gateway import repository

from ..conftest import Gateway, open_gateway, settings_for

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def web(gateway_database: str, fake_services) -> AsyncIterator[Gateway]:
    async for gw in open_gateway(settings_for(gateway_database, fake_services.address, store_tenant="shop",
                                              store_players="player-1,player-2")):
        yield gw


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


def _cookie_header(reply: httpx.Response, name: str) -> str:
    return next(h for h in reply.headers.get_list("set-cookie") if h.startswith(name + "="))


def a_redemption(status: int = redemption_pb2.REDEMPTION_STATUS_OPEN) -> redemption_pb2.Redemption:
    return redemption_pb2.Redemption(id="rd_1", number=7, player_id="player-1", item_id="mug", item_name="Mug",
                                     point_type="gems", cost=5, status=status)


def test_the_storefront_pages_are_not_the_gem_store_dialect() -> None:
    assert dialect_for("/store/redeem").name == "gems-store"
    for page in ("/store", "/store/", "/store/items", "/store/items/12", "/store/redemptions/x/cancel",
                 "/store/sign-in"):
        assert dialect_for(page) is None, page
        assert app_of(page) == "store", page
    assert app_of("/store/redeem") is None and app_of("/console/fulfillment") == "console"
    assert app_of("/v1/redemptions") is None


async def test_the_gem_store_redeem_still_answers_in_its_own_words(web: Gateway) -> None:
    reply = await web.client.post("/store/redeem", json={})
    assert reply.status_code in (400, 401, 422) and reply.headers["content-type"].startswith("application/json")


async def test_the_storefront_is_off_until_a_tenant_is_named(gateway: Gateway) -> None:
    reply = await gateway.client.get("/store")
    assert reply.status_code == 404 and reply.headers["content-type"].startswith("text/html")
    assert "STORE_TENANT" in reply.text


async def test_a_storefront_sign_in_without_its_csrf_token_is_refused(web: Gateway, fake_services) -> None:
    home = await web.client.get("/store")
    assert home.status_code == 200
    cookie = _cookie_header(home, "store_session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/store" in cookie and "secure" not in cookie
    refused = await web.client.post("/store/sign-in", data={"player": "player-1"})
    assert refused.status_code == 403
    assert "store_session" not in refused.headers.get("set-cookie", "")
    wrong = await web.client.post("/store/sign-in", data={"player": "player-1", "csrf": "guess"})
    assert wrong.status_code == 403
    stranger = await web.client.post("/store/sign-in", data={"player": "mallory", "csrf": _csrf(home)})
    assert stranger.status_code == 403
    signed_in = await web.client.post("/store/sign-in", data={"player": "player-1", "csrf": _csrf(stranger)})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/store/items"


async def test_a_redeem_form_is_the_api_s_redeem_with_the_player_from_the_token(web: Gateway, fake_services) -> None:
    home = await web.client.get("/store")
    await web.client.post("/store/sign-in", data={"player": "player-2", "csrf": _csrf(home)})
    fake_services.on("GetBalances", wallet_pb2.GetBalancesResponse())
    fake_services.on("GetItem", catalog_pb2.GetItemResponse(item=catalog_pb2.Item(
        id="mug", name="Mug", status=catalog_pb2.ITEM_STATUS_ACTIVE, stock=3,
        prices=[catalog_pb2.Price(point_type="gems", amount=5)])))
    fake_services.on("QuoteRedemption", redemption_pb2.QuoteRedemptionResponse(eligible=True, item_id="mug",
                                                                               point_type="gems", cost=5))
    page = await web.client.get("/store/items/mug")
    assert page.status_code == 200 and "Mug" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    form = {"csrf": _csrf(page), "idempotency_key": key, "point_type": "gems", "player": "player-1"}
    made = await web.client.post("/store/items/mug/redeem", data=form)
    assert made.status_code == 303 and made.headers["location"] == "/store/redemptions/rd_1"
    (sent,) = fake_services.requests("Redeem")
    assert sent.player.player_id == "player-2"      # from the token; a form field cannot name another player
    assert sent.idempotency_key == key and sent.item_id == "mug"
    assert sent.scope.tenant_id == "shop" and sent.viewer == redemption_pb2.VIEWER_PLAYER

    # Refused by the API's own validation: nothing is sent upstream.
    too_long = await web.client.post("/store/items/mug/redeem", data={**form, "point_type": "g" * 40})
    assert too_long.status_code == 422 and len(fake_services.requests("Redeem")) == 1


async def test_a_storefront_session_is_not_a_player_token(web: Gateway) -> None:
    home = await web.client.get("/store")
    await web.client.post("/store/sign-in", data={"player": "player-1", "csrf": _csrf(home)})
    session = web.client.cookies.get("store_session")
    assert session
    refused = await web.client.get("/v1/wallet/balances", headers={"Authorization": f"Bearer {session}"})
    assert refused.status_code == 401


async def test_the_console_refuses_a_wrong_key_and_a_key_that_is_not_an_admin_s(web: Gateway) -> None:
    home = await web.client.get("/console")
    assert home.status_code == 200
    wrong = await web.client.post("/console/sign-in", data={"api_key": "key_x.y", "csrf": _csrf(home)})
    assert wrong.status_code == 401 and "wrong or revoked" in wrong.text
    not_admin = await web.client.post("/console/sign-in", data={"api_key": web.player_key, "csrf": _csrf(home)})
    assert not_admin.status_code == 403
    no_token = await web.client.post("/console/sign-in", data={"api_key": web.admin_key})
    assert no_token.status_code == 403
    assert (await web.client.get("/console/redemptions")).status_code == 303


async def test_a_console_post_without_its_csrf_token_changes_nothing(web: Gateway, fake_services) -> None:
    home = await web.client.get("/console")
    signed_in = await web.client.post("/console/sign-in", data={"api_key": web.admin_key, "csrf": _csrf(home)})
    assert signed_in.status_code == 303
    cookie = _cookie_header(signed_in, "console_session").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    for path, form in (("/console/redemptions/rd_1/cancel", {"reason": "x"}),
                       ("/console/fulfillment/jobs/rd_1/fail", {"reason": "x"}),
                       ("/console/fulfillment/jobs/rd_1/retry", {}),
                       ("/console/players/player-1/grants", {"point_type": "gems", "amount": "5",
                                                             "idempotency_key": "k1"})):
        assert (await web.client.post(path, data=form)).status_code == 403, path
        assert (await web.client.post(path, data={**form, "csrf": "forged"})).status_code == 403, path
    assert not [c for c in fake_services.calls if c.method in ("CancelRedemption", "FailJob", "RetryJob",
                                                               "GrantPoints")]


async def test_a_revoked_key_ends_its_console_session(web: Gateway, fake_services) -> None:
    home = await web.client.get("/console")
    await web.client.post("/console/sign-in", data={"api_key": web.admin_key, "csrf": _csrf(home)})
    fake_services.on("ListRedemptions", redemption_pb2.ListRedemptionsResponse(redemptions=[a_redemption()]))
    page = await web.client.get("/console/redemptions")
    assert page.status_code == 200 and "Mug" in page.text
    (listed,) = fake_services.requests("ListRedemptions")
    assert listed.viewer == redemption_pb2.VIEWER_ADMIN      # codes masked, as on the admin API
    async with web.app.state.sessions.begin() as session:
        await repository.revoke_api_key(session, web.admin_key.split(".")[0])
    gone = await web.client.get("/console/redemptions")
    assert gone.status_code == 303 and gone.headers["location"] == "/console"


async def test_the_console_cookie_is_secure_over_tls(gateway_database: str, fake_services) -> None:
    async for gw in open_gateway(settings_for(gateway_database, fake_services.address)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="https://gateway") as tls:
            home = await tls.get("/console")
            assert "secure" in _cookie_header(home, "console_session").lower()
