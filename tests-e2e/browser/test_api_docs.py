"""The API's reference pages in a real browser, against the running platform: /docs (Swagger UI) lists the
operations, and a developer who authorizes with a player token can "Try it out" on the canonical redeem and get
a 201 that really debited the player; /redoc renders the same operations. Both load only the gateway's own
assets (any request elsewhere fails the test) and log no console error."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, Request, expect

# A few of the operations each page must show, one per API.
OPERATIONS = ["createRedemption", "listRedemptions", "cancelRedemption", "gemsStoreRedeem",
              "coinsGatewayRedeemPoints", "marketplaceRedeemGift"]


def _only_the_gateway(page: Page, base: str) -> list[str]:
    """Requests the page makes to any other origin (a CDN, fonts, a validator): the list must stay empty."""
    outside: list[str] = []
    gateway = urlsplit(base).netloc

    def seen(request: Request) -> None:
        if urlsplit(request.url).scheme in ("http", "https") and urlsplit(request.url).netloc != gateway:
            outside.append(request.url)

    page.on("request", seen)
    return outside


def _gems(operator, player: str) -> int:
    r = operator.http.get(f"/v1/admin/players/{player}")
    assert r.status_code == 200, r.text
    return next((b["amount"] for b in r.json()["balances"] if b["pointType"] == "gems"), 0)


def test_swagger_ui_lists_the_operations_and_try_it_out_redeems(platform, operator, page: Page) -> None:
    base = platform.gateway_url
    item = operator.create_item(name=f"Docs mug {uuid.uuid4().hex[:6]}", prices=[{"pointType": "gems", "amount": 30}],
                                stock=5)
    player, headers = operator.new_player(gems=100)
    token = headers["Authorization"].removeprefix("Bearer ")
    outside = _only_the_gateway(page, base)

    page.goto(f"{base}/docs")
    expect(page.locator(".info .title")).to_contain_text("Rewards gateway", timeout=20_000)  # the document is built on first ask
    for operation_id in OPERATIONS:
        expect(page.locator(".opblock-summary-operation-id", has_text=re.compile(f"^{operation_id}$"))).to_have_count(1)

    # Authorize with the player token (the playerBearer scheme), as a developer would.
    page.locator(".auth-wrapper .btn.authorize").click()
    scheme = page.locator(".modal-ux form", has=page.locator("h4", has_text="playerBearer"))
    scheme.locator("input").fill(token)
    scheme.get_by_role("button", name="Apply credentials").click()
    expect(scheme.get_by_role("button", name="Remove authorization")).to_be_visible()
    scheme.locator(".btn-done").click()

    operation = page.locator(".opblock", has=page.locator(".opblock-summary-operation-id",
                                                          has_text=re.compile("^createRedemption$")))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    key = f"docs-{uuid.uuid4().hex}"
    operation.locator('tr[data-param-name="Idempotency-Key"] input').fill(key)
    operation.locator("textarea.body-param__text").fill(json.dumps({"offer": item["id"]}))
    operation.get_by_role("button", name="Execute").click()

    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("201",
                                                                                                 timeout=15_000)
    shown = json.loads(operation.locator(".live-responses-table tbody .response-col_description pre").first.inner_text())
    assert shown["offer"]["id"] == item["id"]
    # The platform really did it: the redemption is the player's, and the points were debited.
    mine = httpx.get(f"{base}/v1/redemptions/{shown['id']}", headers=headers, timeout=10)
    assert mine.status_code == 200, mine.text
    assert _gems(operator, player) == 70
    # The same Idempotency-Key sent again by the page is a replay (200, the same redemption), not a second debit.
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(operation.locator(".live-responses-table tbody .response-col_description")).to_contain_text(
        "idempotent-replayed: true")
    again = json.loads(operation.locator(".live-responses-table tbody .response-col_description pre").first.inner_text())
    assert again["id"] == shown["id"]
    assert _gems(operator, player) == 70
    assert outside == []


def test_redoc_renders_the_operations(platform, page: Page) -> None:
    base = platform.gateway_url
    outside = _only_the_gateway(page, base)
    page.goto(f"{base}/redoc")
    expect(page.locator('[data-section-id="operation/createRedemption"]')).to_have_count(1, timeout=20_000)
    for operation_id in OPERATIONS:
        expect(page.locator(f'[data-section-id="operation/{operation_id}"]')).to_have_count(1)
    expect(page.locator("h1").first).to_contain_text("Rewards gateway")
    assert outside == []
