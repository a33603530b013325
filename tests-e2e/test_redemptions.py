"""Issue 3 through the gateway on the real processes: the saga's refusals with their canonical codes, no
oversell and no double spend under concurrency, one charge per idempotency key, exact refunds on cancel, and
sandbox and live never seeing each other. After each scenario, the wallet's invariant is read from its
database."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _gems(gateway: httpx.Client, headers: dict[str, str]) -> int:
    body = gateway.get("/v1/wallet/balances", headers=headers).json()
    return next((b["amount"] for b in body["balances"] if b["pointType"] == "gems"), 0)


def _stock(operator, item_id: str) -> int:
    return int(operator.http.get(f"/v1/admin/items/{item_id}").json()["stock"])


async def _redeem_all(url: str, requests: list[tuple[dict[str, str], dict[str, Any]]], *,
                      wait_in_progress: bool = True) -> list[httpx.Response]:
    """Sends every request at once, as a client would: a 503 (the gateway's deadline passed on a loaded machine,
    the saga went on) is sent again with the same Idempotency-Key after its Retry-After, and answers the
    outcome of the first attempt; so is a 409 IDEMPOTENCY_KEY_IN_PROGRESS unless `wait_in_progress` is off."""
    again = ("UNAVAILABLE", "IDEMPOTENCY_KEY_IN_PROGRESS") if wait_in_progress else ("UNAVAILABLE",)
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits) as client:
        async def send(headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
            for _ in range(10):
                response = await client.post("/v1/redemptions", headers=headers, json=body)
                if response.status_code not in (409, 503) or response.json().get("code") not in again:
                    return response
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            return response
        return await asyncio.gather(*(send(h, b) for h, b in requests))


def test_refusals_carry_the_canonical_codes(gateway, operator, databases) -> None:
    player, auth = operator.new_player(gems=1_000, segments=["regular"], country="DE", level=3)
    _poor, poor_auth = operator.new_player(gems=5)

    def redeem(body: dict[str, Any], headers: dict[str, str] = auth) -> httpx.Response:
        return gateway.post("/v1/redemptions", headers={**headers, **_key()}, json=body)

    def expect(response: httpx.Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == code and problem["requestId"] == response.headers["x-request-id"]

    expect(redeem({"offer": "no-such-item"}), 404, "ITEM_NOT_FOUND")
    inactive = operator.create_item(status="INACTIVE")
    expect(redeem({"offer": inactive["id"]}), 422, "OFFER_UNAVAILABLE")
    expired = operator.create_item(availableFrom="2020-01-01T00:00:00Z", availableUntil="2020-02-01T00:00:00Z")
    expect(redeem({"offer": expired["id"]}), 422, "OFFER_UNAVAILABLE")
    plain = operator.create_item()
    expect(redeem({"offer": plain["id"], "pointType": "coins"}), 422, "INVALID_POINT_TYPE")
    tiers = operator.create_item(variants=[{"id": "20", "name": "20", "rounds": 20}, {"id": "50", "name": "50", "rounds": 50}])
    expect(redeem({"offer": tiers["id"], "rounds": 30}), 422, "INVALID_ROUNDS_SELECTION")
    once = operator.create_item(perPlayerLimit=1)
    assert redeem({"offer": once["id"]}).status_code == 201
    expect(redeem({"offer": once["id"]}), 409, "REDEMPTION_ALREADY_EXISTS")
    twice = operator.create_item(perPlayerLimit=2)
    for _ in range(2):
        assert redeem({"offer": twice["id"]}).status_code == 201
    expect(redeem({"offer": twice["id"]}), 409, "LIMIT_REACHED")
    vip = operator.create_item(targeting={"private": True, "segments": ["vip"]})
    expect(redeem({"offer": vip["id"]}), 403, "ITEM_NOT_ELIGIBLE")
    shipped = operator.create_item(fulfillmentStrategy="physical")
    expect(redeem({"offer": shipped["id"]}), 422, "SHIPPING_ADDRESS_REQUIRED")
    booked = operator.create_item(customerInfoRequired=True)
    expect(redeem({"offer": booked["id"]}), 422, "CUSTOMER_INFO_REQUIRED")
    empty = operator.create_item(stock=0)
    expect(redeem({"offer": empty["id"]}), 409, "OUT_OF_STOCK")
    expect(redeem({"offer": plain["id"]}, poor_auth), 422, "INSUFFICIENT_POINTS")
    expect(redeem({}), 422, "VALIDATION_ERROR")

    # Idempotency: the same key from another player, and with another body.
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = gateway.post("/v1/redemptions", headers={**auth, **key}, json={"offer": plain["id"]})
    assert first.status_code == 201
    _, other_auth = operator.new_player(gems=100)
    expect(gateway.post("/v1/redemptions", headers={**other_auth, **key}, json={"offer": plain["id"]}), 409,
           "IDEMPOTENCY_KEY_CONFLICT")
    expect(gateway.post("/v1/redemptions", headers={**auth, **key}, json={"offer": plain["id"], "comment": "x"}), 422,
           "IDEMPOTENCY_KEY_REUSED")

    # A suspended player cannot spend.
    assert operator.http.put(f"/v1/admin/players/{player}", json={"status": "suspended"}).status_code == 200
    expect(redeem({"offer": plain["id"]}), 403, "PLAYER_INACTIVE")

    # Auth and rights.
    expect(gateway.post("/v1/redemptions", json={"offer": plain["id"]}), 401, "UNAUTHENTICATED")
    expect(gateway.get("/v1/admin/items", headers=auth), 403, "FORBIDDEN")
    databases.assert_wallet_conserved()


def test_no_oversell_under_200_concurrent_redeems(platform, gateway, operator, databases) -> None:
    item = operator.create_item(stock=50, prices=[{"pointType": "gems", "amount": 30}])
    players = [operator.new_player(gems=100) for _ in range(200)]
    responses = asyncio.run(_redeem_all(platform.gateway_url,
                                        [({**h, **_key()}, {"offer": item["id"]}) for _, h in players]))
    # 201, or 200 for a replay after a 503.
    statuses = [201 if r.status_code == 200 else r.status_code for r in responses]
    assert statuses.count(201) == 50, {s: statuses.count(s) for s in set(statuses)}
    assert all(r.json()["code"] == "OUT_OF_STOCK" for r in responses if r.status_code not in (200, 201))
    assert _stock(operator, item["id"]) == 0
    charged = [p for (p, h) in players if _gems(gateway, h) == 70]
    assert len(charged) == 50
    assert all(_gems(gateway, h) in (70, 100) for _, h in players)
    databases.assert_wallet_conserved()


def test_one_key_sent_50_times_at_once_charges_once(platform, gateway, operator, databases) -> None:
    item = operator.create_item(prices=[{"pointType": "gems", "amount": 40}])
    player, auth = operator.new_player(gems=1_000)
    headers = {**auth, "Idempotency-Key": f"storm-{uuid.uuid4().hex}"}
    responses = asyncio.run(_redeem_all(platform.gateway_url, [(headers, {"offer": item["id"]})] * 50,
                                       wait_in_progress=False))
    ok = [r for r in responses if r.status_code in (200, 201)]
    busy = [r for r in responses if r.status_code == 409]
    assert len(ok) + len(busy) == 50, [r.text for r in responses if r.status_code not in (200, 201, 409)]
    assert all(r.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS" and "retry-after" in r.headers for r in busy)
    assert len({r.json()["id"] for r in ok}) == 1
    assert sum(1 for r in ok if r.status_code == 201) <= 1
    assert _gems(gateway, auth) == 960
    debits = databases.value("wallet", f"SELECT count(*) FROM ledger_entries WHERE player_id = '{player}' AND kind = 'debit'")
    assert debits == "1"
    databases.assert_wallet_conserved()


def test_concurrent_redeems_spend_only_what_the_balance_covers(platform, gateway, operator, databases) -> None:
    item = operator.create_item(stock=1_000, prices=[{"pointType": "gems", "amount": 10}])
    _player, auth = operator.new_player(gems=100)
    responses = asyncio.run(_redeem_all(platform.gateway_url,
                                        [({**auth, **_key()}, {"offer": item["id"]}) for _ in range(30)]))
    statuses = [201 if r.status_code == 200 else r.status_code for r in responses]
    assert statuses.count(201) == 10, statuses
    assert all(r.json()["code"] == "INSUFFICIENT_POINTS" for r in responses if r.status_code not in (200, 201))
    assert _gems(gateway, auth) == 0
    # The refused ones gave their stock back.
    assert _stock(operator, item["id"]) == 990
    databases.assert_wallet_conserved()


def test_cancel_refunds_to_the_unit_and_restores_stock(gateway, operator, databases) -> None:
    item = operator.create_item(stock=5, prices=[{"pointType": "coins", "amount": 1_234}])
    player, auth = operator.new_player()
    operator.grant(player, 5_000, point_type="coins")
    redeemed = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"]})
    assert redeemed.status_code == 201, redeemed.text
    body = redeemed.json()
    assert body["status"] == "OPEN" and body["balanceAfter"] == 3_766
    assert _stock(operator, item["id"]) == 4

    canceled = gateway.post(f"/v1/redemptions/{body['id']}/cancel", headers=auth, json={})
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "CANCELED" and canceled.json()["canceledAt"]
    again = gateway.post(f"/v1/redemptions/{body['id']}/cancel", headers=auth, json={})
    assert again.status_code == 200 and again.json()["status"] == "CANCELED"
    coins = next(b for b in gateway.get("/v1/wallet/balances", headers=auth).json()["balances"]
                 if b["pointType"] == "coins")
    assert (coins["amount"], coins["display"]) == (5_000, "50.00")
    assert _stock(operator, item["id"]) == 5
    refunds = databases.value("wallet", f"SELECT count(*) FROM ledger_entries WHERE player_id = '{player}' AND kind = 'refund'")
    assert refunds == "1"
    # Another player cannot see or cancel it.
    _, stranger = operator.new_player()
    assert gateway.get(f"/v1/redemptions/{body['id']}", headers=stranger).status_code == 404
    assert gateway.post(f"/v1/redemptions/{body['id']}/cancel", headers=stranger, json={}).status_code == 404
    databases.assert_wallet_conserved()


@pytest.fixture(scope="module")
def live_client(platform, demo) -> dict[str, Any]:
    env = platform.service_env(platform.spec("gateway"))
    r = subprocess.run([sys.executable, "-m", "gateway.admin", "create-client", "--tenant", demo["tenant_id"],
                        "--environment", "live", "--name", "live-backend", "--admin"],
                       env=env, capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_sandbox_and_live_never_see_each_other(gateway, operator, live_client) -> None:
    item = operator.create_item()
    player, sandbox_auth = operator.new_player(gems=500)
    redeemed = gateway.post("/v1/redemptions", headers={**sandbox_auth, **_key()}, json={"offer": item["id"]})
    assert redeemed.status_code == 201

    creds = {"x-client-id": live_client["client_id"], "x-client-secret": live_client["client_secret"]}
    token = gateway.post("/v1/auth/token", headers=creds, json={"player_id": player}).json()["access_token"]
    live_auth = {"Authorization": f"Bearer {token}"}
    assert _gems(gateway, live_auth) == 0
    assert gateway.get(f"/v1/redemptions/{redeemed.json()['id']}", headers=live_auth).status_code == 404
    assert gateway.get("/v1/redemptions", headers=live_auth).json()["redemptions"] == []
    assert gateway.get(f"/v1/items/{item['id']}", headers=live_auth).status_code == 404
    live_items = gateway.get("/v1/admin/items", headers=creds).json()["items"]
    assert all(i["id"] != item["id"] for i in live_items)
    refused = gateway.post("/v1/redemptions", headers={**live_auth, **_key()}, json={"offer": item["id"]})
    assert refused.status_code == 404
