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
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode

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
                                                             "idempotency_key": "k1"}),
                       ("/console/players/player-1/adjustments", {"point_type": "gems", "amount": "-5",
                                                                  "reason": "x", "idempotency_key": "k2"}),
                       ("/console/players/player-1/status", {"status": "SUSPENDED"}),
                       ("/console/catalog/items", {"name": "Mug", "point_type": "gems", "price": "5"}),
                       ("/console/catalog/items/mug", {"name": "Mug", "point_type": "gems", "price": "5"}),
                       ("/console/redemptions/rd_1/reveal", {})):
        assert (await web.client.post(path, data=form)).status_code == 403, path
        assert (await web.client.post(path, data={**form, "csrf": "forged"})).status_code == 403, path
    upload = {"file": ("codes.csv", b"A-1,1\n", "text/csv")}
    for form in ({}, {"csrf": "forged"}):
        refused = await web.client.post("/console/catalog/items/mug/codes", data=form, files=upload)
        assert refused.status_code == 403
    assert not [c for c in fake_services.calls if c.method in (
        "CancelRedemption", "FailJob", "RetryJob", "GrantPoints", "AdjustPoints", "UpsertPlayer", "CreateItem",
        "UpdateItem", "AdjustStock", "GetRedemption", "UploadCodes")]


CONSOLE_ACTIONS = ("/console/redemptions/rd_1/cancel", "/console/redemptions/rd_1/reveal", "/console/redemptions/rd_1/review",
                   "/console/fulfillment/jobs/rd_1/fail", "/console/fulfillment/jobs/rd_1/retry",
                   "/console/players/player-1/grants", "/console/players/player-1/adjustments",
                   "/console/players/player-1/status", "/console/catalog/items", "/console/catalog/items/mug",
                   "/console/catalog/items/mug/codes")


async def test_a_console_post_without_a_session_goes_back_to_sign_in_and_changes_nothing(web: Gateway,
                                                                                          fake_services) -> None:
    """Signed out (no cookie, or a forged one), every action answers the sign-in redirect before it reads its
    form or calls a service; so does a page."""
    home = await web.client.get("/console")
    token = _csrf(home)
    for cookie in (None, "forged.session.value"):
        web.client.cookies.clear()
        if cookie:
            web.client.cookies.set("console_session", cookie)
        for path in CONSOLE_ACTIONS:
            reply = await web.client.post(path, data={"csrf": token, "reason": "x"})
            assert reply.status_code == 303 and reply.headers["location"] == "/console", (path, reply.text)
        for page in ("/console/redemptions", "/console/fulfillment", "/console/catalog", "/console/players",
                     "/console/health", "/console/redemptions/rd_1"):
            assert (await web.client.get(page)).status_code == 303, page
    assert not fake_services.calls


async def _console(web: Gateway) -> str:
    """Signs in to the console; the session's CSRF token."""
    home = await web.client.get("/console")
    await web.client.post("/console/sign-in", data={"api_key": web.admin_key, "csrf": _csrf(home)})
    return _csrf(await web.client.get("/console/health"))


def a_code_pool_item() -> catalog_pb2.Item:
    return catalog_pb2.Item(id="gift", name="Gift card", status=catalog_pb2.ITEM_STATUS_ACTIVE, stock=3,
                            prices=[catalog_pb2.Price(point_type="gems", amount=50)],
                            fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_CODE_POOL)


async def test_a_file_of_codes_with_a_bad_line_stores_nothing_and_names_each_line(web: Gateway,
                                                                                 fake_services) -> None:
    csrf = await _console(web)
    fake_services.on("GetItem", catalog_pb2.GetItemResponse(item=a_code_pool_item()))
    fake_services.on("GetCodePool", fulfillment_pb2.GetCodePoolResponse(available=1, low_threshold=5, low=True))
    fake_services.on("ListPointTypes", wallet_pb2.ListPointTypesResponse())
    fake_services.on("UploadCodes", fulfillment_pb2.UploadCodesResponse(added=2, duplicates=0))
    secret = "SECRET-CODE-1"
    bad = f"code,pin\n{secret},1\n\n{secret},2\n,3\n{'x' * 201},4\nB,1,2\n".encode()
    page = await web.client.post("/console/catalog/items/gift/codes", data={"csrf": csrf},
                                 files={"file": ("codes.csv", bad, "text/csv")})
    assert page.status_code == 422 and "Nothing was stored" in page.text
    for line in ("line 3: empty line", "line 4: the same code as line 2", "line 5: the code is empty",
                 "line 6: the code is too long", "line 7: 3 fields"):
        assert line in page.text, line
    assert secret not in page.text
    too_big = b"A,1\n" * (web.app.state.settings.max_upload_body_bytes // 4 + 1)
    page = await web.client.post("/console/catalog/items/gift/codes", data={"csrf": csrf},
                                 files={"file": ("codes.csv", too_big, "text/csv")})
    assert page.status_code == 422 and "the file is larger than" in page.text
    assert not fake_services.requests("UploadCodes")

    good = await web.client.post("/console/catalog/items/gift/codes", data={"csrf": csrf},
                                 files={"file": ("codes.csv", b"\xef\xbb\xbfG-1,11\r\nG-2\r\n", "text/csv")})
    assert good.status_code == 303 and "Added+2+codes" in good.headers["location"]
    (sent,) = fake_services.requests("UploadCodes")
    assert sent.item_id == "gift" and [(c.code, c.pin) for c in sent.codes] == [("G-1", "11"), ("G-2", "")]


async def test_an_edit_changes_the_fields_and_adds_the_stock_difference_once(web: Gateway, fake_services) -> None:
    csrf = await _console(web)
    item = a_code_pool_item()
    fake_services.on("GetItem", catalog_pb2.GetItemResponse(item=item))
    fake_services.on("UpdateItem", lambda r: catalog_pb2.UpdateItemResponse(item=r.item))
    fake_services.on("AdjustStock", catalog_pb2.AdjustStockResponse(item=item))
    form = {"csrf": csrf, "name": "Gift card 2", "point_type": "gems", "price": "60", "stock": "10",
            "stock_seen": "3", "idempotency_key": "edit-1"}
    saved = await web.client.post("/console/catalog/items/gift", data=form)
    assert saved.status_code == 303
    (update,) = fake_services.requests("UpdateItem")
    assert update.item.name == "Gift card 2" and update.item.prices[0].amount == 60
    assert update.item.status == catalog_pb2.ITEM_STATUS_INACTIVE          # "active" left unticked
    assert set(update.update_mask) == {"name", "prices", "status"}
    (stock,) = fake_services.requests("AdjustStock")
    assert stock.delta == 7 and stock.idempotency_key == "edit-1"


async def test_a_reveal_is_a_read_by_the_operator_s_key_which_the_audit_records(web: Gateway,
                                                                                fake_services) -> None:
    csrf = await _console(web)
    shown = a_redemption(redemption_pb2.REDEMPTION_STATUS_COMPLETED)
    shown.fulfillment.code, shown.fulfillment.pin = "CLEAR-CODE", "4321"
    fake_services.on("GetRedemption", redemption_pb2.GetRedemptionResponse(redemption=shown))
    fake_services.on("ListJobs", fulfillment_pb2.ListJobsResponse())
    fake_services.on("ListCodeReveals", redemption_pb2.ListCodeRevealsResponse())
    fake_services.on("ListTransactions", wallet_pb2.ListTransactionsResponse())
    page = await web.client.post("/console/redemptions/rd_1/reveal", data={"csrf": csrf})
    assert page.status_code == 200 and "CLEAR-CODE" in page.text and "4321" in page.text
    assert page.headers["cache-control"] == "no-store"
    (read,) = fake_services.requests("GetRedemption")
    key_id = web.admin_key.split(".")[0]
    assert read.viewer == redemption_pb2.VIEWER_BACKEND and read.viewer_id == f"console:api_key:{key_id}"


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


async def test_the_console_shows_a_hold_and_sends_the_operators_decision(web: Gateway, fake_services) -> None:
    csrf = await _console(web)
    held = a_redemption(redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL)
    held.review_reason = "NEW_PLAYER"
    held.held_at.FromSeconds(1_700_000_000)
    fake_services.on("GetRedemption", redemption_pb2.GetRedemptionResponse(redemption=held))
    fake_services.on("ListJobs", fulfillment_pb2.ListJobsResponse())
    fake_services.on("ListCodeReveals", redemption_pb2.ListCodeRevealsResponse())
    fake_services.on("ListTransactions", wallet_pb2.ListTransactionsResponse())
    page = await web.client.get("/console/redemptions/rd_1")
    assert page.status_code == 200 and "held for review (NEW_PLAYER)" in page.text and 'id="review-form"' in page.text
    fake_services.on("ApproveRedemption", redemption_pb2.ApproveRedemptionResponse(redemption=a_redemption()))
    approved = await web.client.post("/console/redemptions/rd_1/review",
                                     data={"csrf": csrf, "decision": "approve", "note": "known"})
    assert approved.status_code == 303 and approved.headers["location"] == "/console/redemptions/rd_1"
    (sent,) = fake_services.requests("ApproveRedemption")
    assert (sent.redemption_id, sent.note) == ("rd_1", "known")
    fake_services.on("RejectRedemption", DomainError(ErrorCode.REDEMPTION_NOT_HELD, "decided already: approved"))
    refused = await web.client.post("/console/redemptions/rd_1/review", data={"csrf": csrf, "decision": "reject"})
    assert refused.status_code == 409 and "decided already" in refused.text
    unknown = await web.client.post("/console/redemptions/rd_1/review", data={"csrf": csrf, "decision": "maybe"})
    assert unknown.status_code == 422
    forged = await web.client.post("/console/redemptions/rd_1/review", data={"csrf": "forged", "decision": "reject"})
    assert forged.status_code == 403 and len(fake_services.requests("RejectRedemption")) == 1
