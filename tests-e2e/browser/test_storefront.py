"""The demo storefront in a real browser: a demo player signs in, sees prices, stock and a quote, redeems a voucher
and sees its code and PIN at once, watches a pending redemption complete without reloading, cancels another and
gets the points back; a form posted without its CSRF token changes nothing. No page logs a console error."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from playwright.sync_api import Page, expect

PLAYER = "player-1"


def _sign_in(page: Page, base: str, player: str = PLAYER) -> None:
    page.goto(f"{base}/store")
    page.get_by_label("Demo player").select_option(player)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/store/items")


def _gems(page: Page) -> int:
    return int(page.locator('.balance[data-point-type="gems"]').inner_text().split()[0])


def _redemption_id(page: Page) -> str:
    match = re.search(r"/store/redemptions/([^/?#]+)$", page.url)
    assert match, page.url
    return match.group(1)


def test_a_player_redeems_a_voucher_and_sees_the_code_and_pin_at_once(platform, operator, page: Page,
                                                                     screenshot, checks) -> None:
    base = platform.gateway_url
    _sign_in(page, base)
    checks.every_control_labelled(page)
    card = page.locator(".item", has_text="Amazon gift card 10 EUR")
    expect(card.locator(".price")).to_contain_text("150 gems")
    expect(card.locator(".stock")).to_contain_text("left")
    screenshot(page, "store-items")
    before = _gems(page)

    card.get_by_role("link", name="Amazon gift card 10 EUR").click()
    expect(page.locator(".quote-price")).to_have_text("150 gems")
    expect(page.locator(".eligible")).to_have_text("yes")
    checks.every_control_labelled(page)
    screenshot(page, "store-item-quote")
    page.get_by_role("button", name=re.compile(r"^Redeem")).click()

    expect(page.locator(".status")).to_have_text("COMPLETED")
    expect(page.locator(".voucher-code")).to_have_text(re.compile(r"^AMZN-DEMO-\d{4}$"))
    expect(page.locator(".voucher-pin")).to_have_text(re.compile(r"^\d{4}$"))
    assert _gems(page) == before - 150
    assert page.locator("#cancel-form").count() == 0   # a delivered voucher cannot be taken back
    screenshot(page, "store-voucher")


def test_a_pending_redemption_updates_by_itself_and_another_is_canceled_with_its_refund(
        platform, operator, page: Page) -> None:
    base = platform.gateway_url
    slow = operator.create_item(name="Signed poster", prices=[{"pointType": "gems", "amount": 40}], stock=5)
    other = operator.create_item(name="Backstage tour", prices=[{"pointType": "gems", "amount": 25}], stock=5)
    _sign_in(page, base)
    before = _gems(page)

    page.goto(f"{base}/store/items/{slow['id']}")
    page.get_by_role("button", name=re.compile(r"^Redeem")).click()
    expect(page.locator(".status")).to_have_text(re.compile(r"^OPEN"))
    expect(page.locator(".pending-note")).to_be_visible()
    rid = _redemption_id(page)
    # The operator completes it; the open page shows it without being reloaded by the test.
    done = operator.http.post(f"/v1/admin/fulfillment/jobs/{rid}/advance", json={"outcome": "COMPLETED"})
    assert done.status_code == 200, done.text
    expect(page.locator(".status")).to_have_text("COMPLETED", timeout=15_000)
    assert _gems(page) == before - 40

    page.goto(f"{base}/store/items/{other['id']}")
    page.get_by_role("button", name=re.compile(r"^Redeem")).click()
    expect(page.locator(".status")).to_have_text(re.compile(r"^OPEN"))
    assert _gems(page) == before - 65
    page.get_by_role("button", name="Cancel and get the points back").click()
    expect(page.locator(".status")).to_have_text("CANCELED")
    expect(page.locator(".refund")).to_have_text("25 gems given back")
    assert _gems(page) == before - 40

    page.get_by_role("navigation").get_by_role("link", name="My redemptions").click()
    rows = page.locator("tbody tr")
    expect(rows.first.locator(".status")).to_have_text("CANCELED")
    expect(rows.nth(1).locator(".status")).to_have_text("COMPLETED")


def test_the_history_pages_back_through_older_redemptions(platform, operator, page: Page) -> None:
    item = operator.create_item(name="Sticker", prices=[{"pointType": "gems", "amount": 1}], stock=100)
    token = operator.token(PLAYER)

    def redeem(_: int) -> int:
        # Redeem waits up to FULFILLMENT_WAIT_MS (2 s) for a fast result that a manual item never has: in parallel.
        return httpx.post(f"{platform.gateway_url}/v1/redemptions", json={"offer": item["id"]},
                          headers={"Authorization": f"Bearer {token}"}, timeout=20).status_code

    with ThreadPoolExecutor(max_workers=11) as pool:
        assert list(pool.map(redeem, range(11))) == [201] * 11     # one page is ten
    _sign_in(page, platform.gateway_url)
    page.get_by_role("navigation").get_by_role("link", name="My redemptions").click()
    expect(page.locator("tbody tr")).to_have_count(10)
    first_page = page.locator("tbody tr").first.get_attribute("data-redemption-id")
    page.get_by_role("link", name="Older redemptions").click()
    expect(page.locator("tbody tr").first).not_to_have_attribute("data-redemption-id", first_page or "")


def test_a_form_without_its_csrf_token_changes_nothing(platform, operator, page: Page) -> None:
    base = platform.gateway_url
    item = operator.create_item(name="Mug", prices=[{"pointType": "gems", "amount": 5}], stock=5)
    _sign_in(page, base)
    before = _gems(page)
    forged = page.request.post(f"{base}/store/items/{item['id']}/redeem",
                               form={"idempotency_key": "forged-1", "variant": "", "point_type": "gems"})
    assert forged.status == 403
    wrong = page.request.post(f"{base}/store/items/{item['id']}/redeem",
                              form={"csrf": "not-the-token", "idempotency_key": "forged-2"})
    assert wrong.status == 403
    page.reload()
    assert _gems(page) == before
    history = operator.http.get("/v1/admin/redemptions", params={"playerId": PLAYER, "limit": 100}).json()
    assert not [r for r in history["redemptions"] if r["offer"]["id"] == item["id"]]


def test_only_demo_players_sign_in_and_the_pages_fit_a_phone(platform, operator, another_page, checks) -> None:
    base = platform.gateway_url
    phone = another_page(360)
    phone.goto(f"{base}/store")
    checks.fits(phone, 360)
    # A player the storefront does not list is refused, even when the form is altered.
    csrf = phone.locator('input[name="csrf"]').get_attribute("value")
    refused = phone.request.post(f"{base}/store/sign-in", form={"csrf": csrf or "", "player": "someone-else"})
    assert refused.status == 403
    _sign_in(phone, base)
    checks.fits(phone, 360)
    phone.goto(f"{base}/store/items/12")
    checks.fits(phone, 360)
    # Keyboard only: Tab reaches the redeem button.
    reached: list[Any] = []
    for _ in range(30):
        phone.keyboard.press("Tab")
        reached.append(phone.evaluate("() => document.activeElement && document.activeElement.textContent.trim()"))
        if reached[-1] and str(reached[-1]).startswith("Redeem"):
            break
    assert str(reached[-1]).startswith("Redeem"), reached
    # Without a session the pages go to the sign-in page.
    assert httpx.get(f"{base}/store/items", follow_redirects=False).status_code == 303
