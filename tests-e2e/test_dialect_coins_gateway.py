"""Seed 001 (the coins gateway) on the real processes: every JSON example of its page, the brand id in the path
choosing the tenant, amounts exact to the cent, a repeated uuid already_processed, and its 422/401/403/404
answers in the page's envelope."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from typing import Any

import grpc
import httpx
import pytest
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc

SCOPE = common_pb2.Scope(tenant_id="demo", environment=common_pb2.ENVIRONMENT_SANDBOX)
DEMO_BRAND = 1
FAIL_MESSAGE = "Validation error while claiming coins"
# Strategies a fulfillment-service may not deliver yet: it cancels (and refunds) at once with this code.
NOT_SUPPORTED = "STRATEGY_NOT_SUPPORTED"


def _object_id() -> str:
    """A fresh 24-hex id, like the page's MongoDB ObjectIds."""
    return uuid.uuid4().hex[:24]


def _admin_cli(platform, *args: str) -> dict[str, Any]:
    env = platform.service_env(platform.spec("gateway"))
    done = subprocess.run([sys.executable, "-m", "gateway.admin", *args], env=env, capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def brand(platform, demo) -> int:
    """The demo tenant's brand id, as the runner's demo gives it (harmless to set again)."""
    _admin_cli(platform, "set-brand-id", "--tenant", "demo", "--brand-id", str(DEMO_BRAND))
    return DEMO_BRAND


def _coins(operator, player: str) -> int:
    state = operator.http.get(f"/v1/admin/players/{player}").json()
    return next((b["amount"] for b in state["balances"] if b["pointType"] == "coins"), 0)


def _coin_voucher(operator, demo, amount: int, codes: int = 5, **fields: Any) -> dict[str, Any]:
    """A code-pool item priced in coins: the strategy that completes before the answer."""
    item = operator.create_item(id=_object_id(), name="Coin voucher", prices=[{"pointType": "coins", "amount": amount}],
                                stock=codes, fulfillmentStrategy="code_pool", **fields)
    pool = [fulfillment_pb2.CodeInput(code=f"C-{uuid.uuid4().hex[:8]}", pin="0000") for _ in range(codes)]
    with grpc.insecure_channel(demo["grpc"]["fulfillment"]) as channel:
        fulfillment_pb2_grpc.FulfillmentServiceStub(channel).UploadCodes(
            fulfillment_pb2.UploadCodesRequest(scope=SCOPE, item_id=item["id"], codes=pool), timeout=10)
    return item


def _player(operator, coins: int, **claims: Any) -> tuple[str, dict[str, str]]:
    player = f"p-{uuid.uuid4().hex[:12]}"
    if coins:
        operator.grant(player, coins, "coins")
    return player, {"x-auth-token": operator.token(player, **claims)}


def _fail(reply: httpx.Response, status: int, code: str, message: str = FAIL_MESSAGE) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["status"] == "fail" and body["message"] == message
    assert body["data"]["result"]["code"] == code and isinstance(body["data"]["result"]["message"], str)
    assert body["request_id"] == reply.headers["x-request-id"]
    return body


def _success_shape(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "success" and body["message"] == "Successfully claimed coins"
    data = body["data"]
    assert set(data) == {"success", "transaction_id", "financial_ref_id", "new_balance", "amount",
                         "already_processed"}
    assert data["success"] is True and isinstance(data["transaction_id"], int)
    assert data["financial_ref_id"] is None or isinstance(data["financial_ref_id"], int)
    return data


def _claimed_or_not_supported_yet(operator, player: str, reply: httpx.Response, amount: str,
                                  balance_before: int) -> None:
    """A bonus, free-rounds or physical claim: a success with the right amount, or (while the fulfillment-service
    does not support that strategy) its cancel, in the 422 envelope, with the coins given back."""
    if reply.status_code == 200:
        assert _success_shape(reply)["amount"] == amount
    else:
        _fail(reply, 422, NOT_SUPPORTED)
        assert _coins(operator, player) == balance_before


def test_cash_bonus_example_to_the_cent_and_already_processed(gateway, operator, demo, brand) -> None:
    item = _coin_voucher(operator, demo, 10_000)
    player, headers = _player(operator, 25_050)
    body = {"shop_item_id": item["id"], "uuid": f"unique-transaction-uuid-{uuid.uuid4().hex}"}
    first = gateway.post(f"/gateway/coins/redeem/v1/{brand}", headers=headers, json=body)
    data = _success_shape(first)
    assert (data["amount"], data["new_balance"], data["already_processed"]) == ("100.00", "150.50", False)
    assert _coins(operator, player) == 15_050
    ledger = gateway.get("/v1/wallet/transactions", headers=headers).json()["transactions"]
    debits = [(t["id"], t["amount"], t["balanceAfter"]) for t in ledger if t["kind"] == "debit"]
    assert debits == [(data["transaction_id"], -10_000, 15_050)]

    again = gateway.post(f"/gateway/coins/redeem/v1/{brand}", headers=headers, json=body)
    assert again.json() == {**first.json(), "data": {**data, "already_processed": True}}
    assert _coins(operator, player) == 15_050  # charged once

    _other, other_headers = _player(operator, 25_050)
    _fail(gateway.post(f"/gateway/coins/redeem/v1/{brand}", headers=other_headers, json=body), 422,
          "IDEMPOTENCY_KEY_CONFLICT")


def test_the_pages_examples_on_bonus_free_rounds_and_physical_items(gateway, operator, demo, brand) -> None:
    bonus = operator.create_item(id=_object_id(), name="Cash bonus 10", unlimitedStock=True,
                                 prices=[{"pointType": "coins", "amount": 10_000}], fulfillmentStrategy="bonus",
                                 fulfillmentConfig={"bonus_amount": 10, "currency": "EUR"})
    tiers = [{"id": str(r), "name": f"{r} rounds", "rounds": r, "prices": [{"pointType": "coins", "amount": a}]}
             for r, a in ((20, 2_000), (50, 4_500), (100, 8_000))]
    frb = operator.create_item(id=_object_id(), name="Free spins", unlimitedStock=True, variants=tiers,
                               prices=[{"pointType": "coins", "amount": 2_000}], fulfillmentStrategy="free_rounds",
                               fulfillmentConfig={"game_id": "starburst"})
    # The page's physical claim carries no address: an item an operator fulfils by hand takes it as it is.
    claim = operator.create_item(id=_object_id(), name="T-shirt claim", stock=10,
                                 prices=[{"pointType": "coins", "amount": 1_500}], fulfillmentStrategy="manual")
    player, headers = _player(operator, 100_000)
    url = f"/gateway/coins/redeem/v1/{brand}"

    full = {"shop_item_id": frb["id"], "rounds": 20, "trigger_source": "PLAYER_SHOP",
            "trigger_details": {"source_page": "shop_ui", "campaign": "weekend_promo"},
            "comment": "Weekend promotion claim", "uuid": f"unique-idempotency-key-{uuid.uuid4().hex}"}
    examples = [(full, "20.00"),
                ({"shop_item_id": bonus["id"], "uuid": uuid.uuid4().hex}, "100.00"),
                ({"shop_item_id": frb["id"], "rounds": 50, "uuid": uuid.uuid4().hex}, "45.00"),
                ({"shop_item_id": claim["id"], "comment": "T-shirt size L", "uuid": uuid.uuid4().hex}, "15.00")]
    for body, amount in examples:
        before = _coins(operator, player)
        _claimed_or_not_supported_yet(operator, player, gateway.post(url, headers=headers, json=body), amount, before)
    stored = operator.http.get("/v1/admin/redemptions", params={"playerId": player, "limit": 10}).json()
    by_rounds = {(r["offer"]["id"], r["rounds"]): r for r in stored["redemptions"]}
    first = by_rounds[(frb["id"], 20)]
    assert (first["pointsPrice"], first["triggerSource"], first["comment"]) == (
        2_000, "PLAYER_SHOP", "Weekend promotion claim")
    assert first["triggerDetails"] == {"source_page": "shop_ui", "campaign": "weekend_promo"}
    assert by_rounds[(frb["id"], 50)]["pointsPrice"] == 4_500
    assert by_rounds[(bonus["id"], None)]["triggerSource"] == "MANUAL"

    _fail(gateway.post(url, headers=headers, json={"shop_item_id": frb["id"], "rounds": 30}), 422,
          "INVALID_ROUNDS_SELECTION")
    _fail(gateway.post(url, headers=headers, json={"shop_item_id": frb["id"]}), 422, "INVALID_ROUNDS_SELECTION")

    # A shipped item needs an address: without one, the platform's code; with one (our extension), it is taken.
    shipped = operator.create_item(id=_object_id(), stock=5, prices=[{"pointType": "coins", "amount": 1_000}],
                                   fulfillmentStrategy="physical", shippingAddressRequired=True)
    _fail(gateway.post(url, headers=headers, json={"shop_item_id": shipped["id"]}), 422, "SHIPPING_ADDRESS_REQUIRED")
    address = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    before = _coins(operator, player)
    _claimed_or_not_supported_yet(operator, player, gateway.post(url, headers=headers, json={
        "shop_item_id": shipped["id"], "shipping_address": address}), "10.00", before)


def test_the_pages_422_codes(gateway, operator, demo, brand) -> None:
    url = f"/gateway/coins/redeem/v1/{brand}"
    item = _coin_voucher(operator, demo, 10_000)
    poor, poor_headers = _player(operator, 5_000)
    body = _fail(gateway.post(url, headers=poor_headers, json={"shop_item_id": item["id"], "uuid": uuid.uuid4().hex}),
                 422, "INSUFFICIENT_BALANCE")
    assert set(body) == {"status", "data", "message", "request_id"}
    assert _coins(operator, poor) == 5_000
    _fail(gateway.post(url, headers=poor_headers, json={"shop_item_id": _object_id()}), 422, "ITEM_NOT_FOUND")
    vip = operator.create_item(id=_object_id(), prices=[{"pointType": "coins", "amount": 1}],
                               targeting={"private": True, "segments": ["vip"]})
    _fail(gateway.post(url, headers=poor_headers, json={"shop_item_id": vip["id"]}), 422, "ITEM_NOT_ELIGIBLE")
    _fail(gateway.post(url, headers=poor_headers, json={"rounds": 20}), 422, "VALIDATION_ERROR")
    # The same uuid with another body from the same player.
    key = uuid.uuid4().hex
    _fail(gateway.post(url, headers=poor_headers, json={"shop_item_id": item["id"], "uuid": key}), 422,
          "INSUFFICIENT_BALANCE")
    _fail(gateway.post(url, headers=poor_headers, json={"shop_item_id": vip["id"], "uuid": key}), 422,
          "IDEMPOTENCY_KEY_REUSED")


def test_brands_tokens_and_their_errors(platform, gateway, operator, demo, brand) -> None:
    item = _coin_voucher(operator, demo, 100)
    url = f"/gateway/coins/redeem/v1/{brand}"
    _fail(gateway.post(url, json={"shop_item_id": item["id"]}), 401, "UNAUTHENTICATED", "Unauthorized")
    _fail(gateway.post(url, headers={"x-auth-token": "not-a-token"}, json={"shop_item_id": item["id"]}), 401,
          "UNAUTHENTICATED", "Unauthorized")

    # Another tenant with its own brand: its players may not redeem in brand 1's store, and its brand routes
    # to its own catalog (where the demo's item does not exist).
    other = f"coins-e2e-{uuid.uuid4().hex[:8]}"
    other_brand = random.randint(10_000, 2**31 - 1)
    _admin_cli(platform, "create-tenant", "--id", other, "--brand-id", str(other_brand))
    client = _admin_cli(platform, "create-client", "--tenant", other, "--environment", "sandbox", "--name", "b")
    minted = gateway.post("/v1/auth/token", json={"player_id": "p-1"},
                          headers={"x-client-id": client["client_id"], "x-client-secret": client["client_secret"]})
    other_headers = {"x-auth-token": minted.json()["access_token"]}
    _fail(gateway.post(url, headers=other_headers, json={"shop_item_id": item["id"]}), 403, "FORBIDDEN", "Forbidden")
    own_store = gateway.post(f"/gateway/coins/redeem/v1/{other_brand}", headers=other_headers,
                             json={"shop_item_id": item["id"]})
    assert own_store.status_code == 422, own_store.text
    # Its new player and the demo's item are both unknown there: whichever the platform checks first.
    assert own_store.json()["data"]["result"]["code"] in {"PLAYER_NOT_FOUND", "ITEM_NOT_FOUND"}

    _player_id, headers = _player(operator, 1_000)
    unknown = random.randint(10_000, 2**31 - 1)
    while unknown == other_brand:
        unknown = random.randint(10_000, 2**31 - 1)
    _fail(gateway.post(f"/gateway/coins/redeem/v1/{unknown}", headers=headers, json={"shop_item_id": item["id"]}),
          404, "BRAND_NOT_FOUND", "Not found")
    # Any version string is served; the player's token works as a Bearer token too.
    bearer = {"Authorization": f"Bearer {headers['x-auth-token']}"}
    assert _success_shape(gateway.post(f"/gateway/coins/redeem/2.0/{brand}", headers=bearer,
                                       json={"shop_item_id": item["id"]}))["amount"] == "1.00"


def test_the_route_is_in_the_openapi_document(gateway) -> None:
    doc = gateway.get("/openapi.json").json()
    operation = doc["paths"]["/gateway/coins/redeem/{version}/{brand_id}"]["post"]
    assert {"200", "401", "403", "404", "422", "500"} <= set(operation["responses"])
