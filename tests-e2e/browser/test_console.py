"""The operators' console in a real browser: a wrong key is refused; an operator signs in with the demo's admin key,
retries a job whose provider was down and fails another with its refund, reads a redemption's story with its code
masked, the catalog with its code pool's levels and a player's ledger, and grants points; a form posted without
its CSRF token is refused and changes nothing. An operator creates an item, edits it, uploads a bad file of codes
(nothing stored, each bad line named) and a good one; reveals a code once, and the audit records it; adjusts a
player's points, suspends and unsuspends them, and reads the health page, on a phone's width. No page logs a
console error."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from local_runner.infra import free_port, stop_process, wait_for_port
from local_runner.invariants import first_truthy
from playwright.sync_api import Page, expect


def _sign_in(page: Page, base: str, api_key: str) -> None:
    page.goto(f"{base}/console")
    page.get_by_label("Admin API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()


def _job(operator, rid: str) -> dict[str, Any] | None:
    jobs = operator.http.get("/v1/admin/fulfillment/jobs", params={"limit": 100}).json()["jobs"]
    return next((j for j in jobs if j["redemptionId"] == rid), None)


def _redemption(operator, rid: str) -> dict[str, Any]:
    r = operator.http.get(f"/v1/admin/redemptions/{rid}")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def provider_down(platform, operator) -> Iterator[tuple[Any, Any]]:
    """Two webhook items whose providers are down (as in test_fulfillment.py), and a way to bring one up."""
    ports = [free_port(), free_port()]
    items = [operator.create_item(fulfillmentStrategy="webhook", prices=[{"pointType": "gems", "amount": 30}],
                                  fulfillmentConfig={"url": f"http://127.0.0.1:{port}/vouchers"}) for port in ports]
    started: list[subprocess.Popen[bytes]] = []

    def bring_up(n: int) -> None:
        env = dict(platform.service_env(platform.spec("demo-partner")), PORT=str(ports[n]))
        proc = subprocess.Popen([sys.executable, "-m", "local_runner.demo_partner"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        wait_for_port("127.0.0.1", ports[n], 30, "the provider", proc)

    yield items, bring_up
    for proc in started:
        stop_process(proc)


def test_a_wrong_key_is_refused(platform, page: Page) -> None:
    base = platform.gateway_url
    _sign_in(page, base, "key_nope.not-a-secret")
    expect(page.get_by_role("alert")).to_have_text("That key is wrong or revoked.")
    page.goto(f"{base}/console/redemptions")
    expect(page).to_have_url(f"{base}/console")     # still signed out
    assert httpx.get(f"{base}/console/fulfillment", follow_redirects=False).status_code == 303


def test_an_operator_retries_a_stuck_job_and_fails_another_with_its_refund(
        platform, operator, demo, provider_down, page: Page, screenshot, checks) -> None:
    base = platform.gateway_url
    items, bring_up = provider_down
    player, auth = operator.new_player(gems=100)
    rids = []
    for item in items:
        r = httpx.post(f"{base}/v1/redemptions", json={"offer": item["id"]},
                       headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, timeout=20)
        assert r.status_code == 201, r.text
        rids.append(r.json()["id"])
    retried, failed = rids
    for rid in rids:
        first_truthy(lambda rid=rid: (j := _job(operator, rid)) and j["attempts"] >= 1 and j["lastError"], 60,
                     "a failed provider attempt")

    _sign_in(page, base, demo["api_key"])
    expect(page.get_by_role("heading", name="Redemptions", exact=True)).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"

    page.get_by_role("link", name="Fulfillment").click()
    for rid in rids:
        expect(page.locator(f'tr[data-job-id="{rid}"] .last-error')).to_contain_text("unreachable")
    checks.every_control_labelled(page)
    screenshot(page, "console-fulfillment")

    bring_up(0)
    page.locator(f'tr[data-job-id="{retried}"]').get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_have_text(f"Job {retried} runs again now.")
    row = page.locator(f'tr[data-job-id="{failed}"]')
    row.get_by_label("Reason").fill("provider gone for good")
    row.get_by_role("button", name=re.compile("^Fail job")).click()
    expect(page.get_by_role("status")).to_have_text(f"Job {failed} failed: the player is refunded.")

    first_truthy(lambda: _redemption(operator, retried)["status"] == "COMPLETED", 60, "the retried job's delivery")
    page.goto(f"{base}/console/redemptions/{retried}")
    expect(page.locator(".status")).to_have_text("COMPLETED")
    page.goto(f"{base}/console/redemptions/{failed}")
    expect(page.locator(".status")).to_have_text("CANCELED")
    expect(page.locator(".story .canceled")).to_contain_text("provider gone for good")
    expect(page.locator(".story .refund")).to_contain_text("ledger refund 30 gems")

    def told_the_tenant() -> bool:   # the events reach the log within a relay round
        page.goto(f"{base}/console/redemptions/{failed}")
        return "event redemption.canceled" in page.locator(".story").inner_text()

    first_truthy(told_the_tenant, 30, "the canceled redemption's events in its story")
    expect(page.locator(".story .event").first).to_contain_text("event redemption.created in the tenant's log")
    screenshot(page, "console-redemption")

    page.get_by_role("link", name=player).first.click()
    expect(page.locator('.balance-amount[data-point-type="gems"]')).to_have_text("70")   # 100 - 30, the other refunded
    expect(page.locator('.ledger-row[data-kind="refund"]')).to_have_count(1)

    page.get_by_role("navigation").get_by_role("link", name="Redemptions", exact=True).click()
    page.get_by_label("Player").fill(player)
    page.get_by_label("Status").select_option("CANCELED")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-redemption-id="{failed}"]')).to_be_visible()


def test_codes_are_masked_and_the_pool_shows_its_levels(platform, operator, demo, page: Page) -> None:
    base = platform.gateway_url
    _, auth = operator.new_player(gems=500)
    r = httpx.post(f"{base}/v1/redemptions", json={"offer": "12"}, headers=auth, timeout=20)
    assert r.status_code == 201, r.text
    code = r.json()["fulfillment"]["code"]
    _sign_in(page, base, demo["api_key"])
    page.get_by_label("Id or number").fill(str(r.json()["number"]))
    page.get_by_role("button", name="Search").click()
    page.locator(f'tr[data-redemption-id="{r.json()["id"]}"] a').first.click()
    masked = page.locator(".masked-code").inner_text()
    assert masked and masked != code and code not in page.content()

    page.get_by_role("link", name="Catalog").click()
    pool = page.locator('tr[data-item-id="12"] .pool')
    expect(pool).to_contain_text("available")
    expect(pool).to_contain_text("assigned")
    assert not re.search(r"AMZN-DEMO-\d{4}", page.content()), "a code in clear on the catalog page"


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(platform, operator, demo,
                                                                       another_page, checks) -> None:
    base = platform.gateway_url
    player, _ = operator.new_player(gems=10)
    page = another_page(360)
    _sign_in(page, base, demo["api_key"])
    page.goto(f"{base}/console/players?player={player}")
    expect(page.locator('.balance-amount[data-point-type="gems"]')).to_have_text("10")
    checks.fits(page, 360)
    grant = {"idempotency_key": uuid.uuid4().hex, "point_type": "gems", "amount": "1000"}
    assert page.request.post(f"{base}/console/players/{player}/grants", form=grant).status == 403
    assert page.request.post(f"{base}/console/players/{player}/grants", form={**grant, "csrf": "x"}).status == 403
    signed_out = page.request.post(f"{base}/console/sign-out", form={})
    assert signed_out.status == 403
    page.reload()
    expect(page.locator('.balance-amount[data-point-type="gems"]')).to_have_text("10")

    # The same form with its token goes through, once, however often it is sent (its Idempotency-Key).
    form = {name: page.locator(f'#grant-form input[name="{name}"]').get_attribute("value") or ""
            for name in ("csrf", "idempotency_key")}
    page.get_by_label("Point type").select_option("gems")
    page.get_by_label("Amount (minor units)").fill("5")
    page.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("status")).to_have_text("Granted 5 gems")
    expect(page.locator('.balance-amount[data-point-type="gems"]')).to_have_text("15")
    again = page.request.post(f"{base}/console/players/{player}/grants",
                              form={**form, "point_type": "gems", "amount": "5"})
    assert again.ok and "Replayed" in again.text()
    page.reload()
    expect(page.locator('.balance-amount[data-point-type="gems"]')).to_have_text("15")


def test_an_operator_creates_an_item_edits_it_and_uploads_its_codes(platform, operator, demo, page: Page,
                                                                    screenshot, checks) -> None:
    base = platform.gateway_url
    item_id = f"console-{uuid.uuid4().hex[:8]}"
    _sign_in(page, base, demo["api_key"])
    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="New item").click()
    checks.every_control_labelled(page)
    page.get_by_label("Id (empty: generated)").fill(item_id)
    page.get_by_label("Name").fill("Console voucher")
    page.get_by_label("Point type").select_option("gems")
    page.get_by_label("Price (minor units)").fill("40")
    page.get_by_label("Stock").fill("5")
    page.get_by_label("Fulfillment").select_option("code_pool")
    page.get_by_role("button", name="Create item").click()
    expect(page.get_by_role("status")).to_have_text(f"Item {item_id} created.")
    expect(page.locator('.stock[data-level="low"]')).to_contain_text("5: low")
    checks.every_control_labelled(page)

    # Edited with the keyboard alone: the fields, the checkbox, and Enter to send.
    page.get_by_label("Name").fill("Console voucher, renamed")
    page.get_by_label("Price (minor units)").fill("45")
    page.get_by_label("Stock").fill("0")
    page.get_by_label("Active (players can redeem it)").focus()
    page.keyboard.press("Space")                                  # unticked: inactive
    page.get_by_label("Name").press("Enter")
    expect(page.get_by_role("status")).to_have_text(f"Item {item_id} saved.")
    expect(page.locator('.stock[data-level="out"]')).to_contain_text("out of stock")
    saved = operator.http.get(f"/v1/admin/items/{item_id}").json()
    assert (saved["name"], saved["prices"][0]["amount"], saved["stock"], saved["status"]) == \
        ("Console voucher, renamed", 45, 0, "INACTIVE")

    secret = f"CONSOLE-{uuid.uuid4().hex[:10].upper()}"
    bad = f"code,pin\n{secret},1111\n\n{secret},2222\n,3333\n{'X' * 201},4444\n".encode()
    page.get_by_label(re.compile("^CSV file")).set_input_files(
        {"name": "codes.csv", "mimeType": "text/csv", "buffer": bad})
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert").first).to_have_text("Nothing was stored: the file has errors.")
    errors = page.locator(".upload-errors li")
    expect(errors).to_have_text(["line 3: empty line", "line 4: the same code as line 2",
                                 "line 5: the code is empty",
                                 "line 6: the code is too long (201 characters, at most 200)"])
    assert secret not in page.content()
    assert operator.http.get(f"/v1/admin/items/{item_id}/codes").json()["available"] == 0

    good = f"{secret}-1,1111\n{secret}-2,2222\n{secret}-3\n".encode()
    page.get_by_label(re.compile("^CSV file")).set_input_files(
        {"name": "codes.csv", "mimeType": "text/csv", "buffer": good})
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_have_text("Added 3 codes.")
    expect(page.locator(".pool")).to_contain_text("3 available")
    assert secret not in page.content(), "a code in clear on the item's page"
    screenshot(page, "console-item")
    page.get_by_role("link", name="← Catalog").click()
    expect(page.locator(f'tr[data-item-id="{item_id}"] .pool')).to_contain_text("3 available")
    assert secret not in page.content(), "a code in clear on the catalog page"


def test_a_reveal_shows_the_code_once_and_the_audit_records_it(platform, operator, demo, page: Page) -> None:
    base = platform.gateway_url
    _, auth = operator.new_player(gems=500)
    r = httpx.post(f"{base}/v1/redemptions", json={"offer": "12"}, headers=auth, timeout=20)
    assert r.status_code == 201, r.text
    rid, code = r.json()["id"], r.json()["fulfillment"]["code"]
    _sign_in(page, base, demo["api_key"])
    page.goto(f"{base}/console/redemptions/{rid}")
    assert code not in page.content()
    page.get_by_role("button", name="Reveal the code").click()
    expect(page.locator(".revealed-code")).to_have_text(code)
    expect(page.get_by_role("status")).to_contain_text("this reveal is recorded")
    key_id = demo["api_key"].split(".")[0]
    expect(page.locator(".story .reveal", has_text="console")).to_contain_text(
        f"code revealed in the console to api_key:{key_id}")                # beside the player's own, at redeem

    page.goto(f"{base}/console/redemptions/{rid}")                # shown once: masked again
    expect(page.locator(".masked-code")).to_be_visible()
    assert code not in page.content()
    reveals = operator.http.get("/v1/admin/code-reveals", params={"redemptionId": rid}).json()["reveals"]
    console_reveals = [v for v in reveals if v["viewerId"] == f"console:api_key:{key_id}"]
    assert len(console_reveals) == 1 and console_reveals[0]["action"] == "get"


def test_an_operator_adjusts_suspends_and_reads_the_health_page_on_a_phone(platform, operator, demo, another_page,
                                                                         checks) -> None:
    base = platform.gateway_url
    player, _ = operator.new_player(gems=20)
    page = another_page(360)
    _sign_in(page, base, demo["api_key"])
    page.goto(f"{base}/console/players?player={player}")
    page.get_by_label("Points to adjust").select_option("gems")
    page.get_by_label("Adjustment (signed minor units)").fill("-3")
    page.get_by_label("Reason").fill("double grant corrected")
    page.get_by_role("button", name="Adjust").click()
    expect(page.get_by_role("status")).to_have_text("Adjusted by -3 gems")
    expect(page.locator('.balance-amount[data-point-type="gems"]')).to_have_text("17")
    expect(page.locator('.ledger-row[data-kind="adjustment"]')).to_contain_text("double grant corrected")
    page.get_by_role("button", name="Suspend").click()
    expect(page.get_by_role("status")).to_have_text(f"{player} is suspended.")
    expect(page.locator("#player-title")).to_contain_text("SUSPENDED")
    page.get_by_role("button", name="Unsuspend").click()
    expect(page.locator("#player-title")).to_contain_text("ACTIVE")
    checks.every_control_labelled(page)
    checks.fits(page, 360)

    page.get_by_role("link", name="Health").click()
    expect(page.locator("#readiness")).to_contain_text("Ready")
    for part in ("gateway database", "catalog-service", "wallet-service", "redemption-service",
                 "fulfillment-service", "events-service"):
        expect(page.locator(f'tr[data-part="{part}"] .state')).to_have_text("serving")
    # The runner tells the gateway where each service's /metrics is: their outbox and consumer numbers.
    for process in ("redemption-service", "fulfillment-service", "catalog-service"):
        expect(page.locator(f'tr[data-process="{process}"] .scrape')).to_have_text("read")
    expect(page.locator('tr[data-process="redemption-service"] .backlog')).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator('tr[data-process="redemption-service"] .oldest')).to_have_text(re.compile(r"^\d+ s$"))
    # (consumers' pending counts appear once a service's 15 s sampler has read them from JetStream)
    expect(page.locator('tr[data-process="catalog-service"] .backlog')).to_have_text("—")
    checks.fits(page, 360)
    for path in ("/console/catalog", "/console/catalog/new", "/console/catalog/items/12"):
        page.goto(f"{base}{path}")
        checks.every_control_labelled(page)
        checks.fits(page, 360)
