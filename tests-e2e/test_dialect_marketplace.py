"""Seed 002 (Game Loom's Marketplace) on the running system: a back end with the tenant's API key acts for the
user named in the path. The page's request example, the full record it answers, the ProblemDetails errors with
the page's statuses, and the page's order of checks (user, gift, point type, limit, targeting, stock, points),
proved pair by pair: a request that breaks two adjacent checks gets the first one's error."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc

BASE = "/api/v1/marketplace"
SCOPE = common_pb2.Scope(tenant_id="demo", environment=common_pb2.ENVIRONMENT_SANDBOX)
RECORD_KEYS = {"id", "giftId", "userId", "giftName", "giftImageUrl", "pointsSpent", "sarValue", "pointId",
               "redemptionValue", "orderStatus", "deliveryStatus", "customerName", "customerPhone", "deliveryName",
               "deliveryPhone", "deliveryCity", "deliveryAddress", "createdAt", "completedAt", "cancelledAt",
               "redemptionMessage"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "traceId", "requestId"}
# The page's request example, with its placeholders left for each test to fill.
PAGE_BODY = {"customerName": "Ahmed Mohammed", "customerPhone": "+966500000001", "deliveryName": "Ahmed Mohammed",
             "deliveryPhone": "+966500000001", "deliveryCity": "Riyadh",
             "deliveryAddress": "123 Main Street, Al Olaya District"}


def _api_key(platform: Any, environment: str) -> str:
    """A back end's API key (not admin), made with the operators' CLI as a tenant would get one."""
    env = platform.service_env(platform.spec("gateway"))
    made = subprocess.run([sys.executable, "-m", "gateway.admin", "create-api-key", "--tenant", "demo",
                           "--environment", environment, "--name", f"marketplace-{uuid.uuid4().hex[:6]}"],
                          env=env, capture_output=True, text=True, check=False, timeout=60)
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["api_key"])


class Marketplace:
    """The marketplace's four routes with one API key, plus the operator's moves the tests need."""

    def __init__(self, gateway_url: str, api_key: str, operator: Any, fulfillment_addr: str) -> None:
        self.http = httpx.Client(base_url=gateway_url, timeout=20.0, headers={"x-api-key": api_key})
        self.operator = operator
        self.fulfillment_addr = fulfillment_addr

    def redeem(self, user: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self.http.post(f"{BASE}/user/{user}/redeem", json=body, headers=headers)

    def gifts(self, user: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{BASE}/user/{user}/gifts", params=params)

    def gift(self, user: str, gift_id: str) -> httpx.Response:
        return self.http.get(f"{BASE}/user/{user}/gifts/{gift_id}")

    def history(self, user: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{BASE}/user/{user}/redemptions", params=params)

    # -- operator side --

    def user(self, gems: int = 1_000) -> str:
        player = f"mk-{uuid.uuid4().hex[:12]}"
        self.operator.grant(player, gems)
        return player

    def code_gift(self, codes: int = 3, **fields: Any) -> dict[str, Any]:
        """A gift delivered from a code pool (completes at once, so it stays redeemed)."""
        item = self.operator.create_item(fulfillmentStrategy="code_pool", **fields)
        if codes:
            with grpc.insecure_channel(self.fulfillment_addr) as channel:
                fulfillment_pb2_grpc.FulfillmentServiceStub(channel).UploadCodes(fulfillment_pb2.UploadCodesRequest(
                    scope=SCOPE, item_id=item["id"],
                    codes=[fulfillment_pb2.CodeInput(code=f"MK-{uuid.uuid4().hex[:10]}", pin=f"{n:04d}")
                           for n in range(codes)]), timeout=5)
        return item

    def patch_item(self, item_id: str, **fields: Any) -> None:
        r = self.operator.http.patch(f"/v1/admin/items/{item_id}", json=fields)
        assert r.status_code == 200, r.text

    def admin_item(self, item_id: str) -> dict[str, Any]:
        r = self.operator.http.get(f"/v1/admin/items/{item_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def suspend(self, player: str) -> None:
        r = self.operator.http.put(f"/v1/admin/players/{player}", json={"status": "SUSPENDED"})
        assert r.status_code == 200, r.text

    def balance(self, player: str) -> int:
        r = self.operator.http.get(f"/v1/admin/players/{player}")
        assert r.status_code == 200, r.text
        return next((b["amount"] for b in r.json()["balances"] if b["pointType"] == "gems"), 0)


@pytest.fixture(scope="module")
def market(platform, demo, operator) -> Iterator[Marketplace]:
    m = Marketplace(platform.gateway_url, _api_key(platform, "sandbox"), operator, demo["grpc"]["fulfillment"])
    yield m
    m.http.close()


def problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status and body["code"] == code, body
    assert body["requestId"] == body["traceId"] == reply.headers["x-request-id"]
    assert body["instance"] == reply.request.url.path
    assert body["type"].startswith("https://tools.ietf.org/html/rfc") and body["title"] and body["detail"]
    return dict(body)


def iso(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


# ---- the page's example ------------------------------------------------------------------------------------------

def test_the_page_example_answers_201_with_the_full_record(market) -> None:
    gift = market.operator.create_item(
        name="Premium Headphones", imageUrl="https://example.com/headphones.png", faceValue=5_000,
        faceCurrency="SAR", prices=[{"pointType": "gems", "amount": 500}], stock=10, customerInfoRequired=True,
        shippingAddressRequired=True, fulfillmentStrategy="physical", redemptionMessage="Enjoy your new headphones!")
    user = market.user(gems=800)

    reply = market.redeem(user, {"giftId": gift["id"], **PAGE_BODY})

    assert reply.status_code == 201, reply.text
    record = reply.json()
    assert set(record) == RECORD_KEYS
    assert record["giftId"] == gift["id"] and record["userId"] == user
    assert (record["giftName"], record["giftImageUrl"]) == ("Premium Headphones", "https://example.com/headphones.png")
    assert (record["pointsSpent"], record["sarValue"], record["pointId"]) == (500, 50, "gems")
    assert isinstance(record["sarValue"], int)
    assert {k: record[k] for k in PAGE_BODY} == PAGE_BODY
    assert record["redemptionMessage"] == "Enjoy your new headphones!"
    # As on the page: the order completes when the points are taken; the delivery is still to come.
    assert (record["orderStatus"], record["deliveryStatus"]) == ("Completed", "Pending")
    assert abs(iso(record["createdAt"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert record["completedAt"] is not None and record["cancelledAt"] is None
    uuid.UUID(record["id"])
    assert market.balance(user) == 300  # the points were spent once


def test_a_code_gift_completes_with_its_code_and_the_first_point_type_by_default(market) -> None:
    gift = market.code_gift(codes=1, name="Voucher", prices=[{"pointType": "gems", "amount": 150},
                                                           {"pointType": "coins", "amount": 99}],
                            faceValue=1_050, faceCurrency="SAR")
    user = market.user(gems=200)

    record = market.redeem(user, {"giftId": gift["id"]}).json()

    assert record["orderStatus"] == "Completed", record
    assert record["pointId"] == "gems" and record["pointsSpent"] == 150  # pointId omitted: the first one
    assert record["sarValue"] == 10.5
    assert record["redemptionValue"].startswith("MK-") and "PIN 0000" in record["redemptionValue"]
    assert record["deliveryStatus"] is None and record["completedAt"] and record["cancelledAt"] is None
    assert record["customerName"] is None and record["deliveryAddress"] is None
    assert market.balance(user) == 50


def test_an_explicit_point_id_is_charged_in_that_point_type(market) -> None:
    gift = market.code_gift(codes=1, prices=[{"pointType": "gems", "amount": 150},
                                             {"pointType": "coins", "amount": 99}])
    user = market.user(gems=10)
    market.operator.grant(user, 100, point_type="coins")

    record = market.redeem(user, {"giftId": gift["id"], "pointId": "coins"}).json()

    assert (record["pointId"], record["pointsSpent"], record["orderStatus"]) == ("coins", 99, "Completed")
    assert market.balance(user) == 10  # no gems spent


def test_an_idempotency_key_replays_the_first_record(market) -> None:
    gift = market.code_gift(codes=2, prices=[{"pointType": "gems", "amount": 100}])
    user = market.user(gems=500)
    key = uuid.uuid4().hex

    first = market.redeem(user, {"giftId": gift["id"]}, **{"Idempotency-Key": key})
    again = market.redeem(user, {"giftId": gift["id"]}, **{"Idempotency-Key": key})

    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert market.balance(user) == 400


# ---- browse, details, history --------------------------------------------------------------------------------

def test_browse_shows_what_the_user_may_redeem_now(market) -> None:
    visible = market.operator.create_item(name="Public gift", prices=[{"pointType": "gems", "amount": 70}],
                                          stock=5, perPlayerLimit=3, faceValue=2_000, faceCurrency="SAR")
    private = market.operator.create_item(targeting={"private": True, "segments": ["vip"]})
    inactive = market.operator.create_item(status="INACTIVE")
    user = market.user()

    ids: list[str] = []
    cursor = None
    while True:
        page = market.gifts(user, pageSize=50, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["pageSize"] == 50
        ids += [g["id"] for g in body["items"]]
        found = next((g for g in body["items"] if g["id"] == visible["id"]), None)
        if found is not None:
            assert found["points"] == 70 and found["pointId"] == "gems" and found["sarValue"] == 20
            assert found["pointOptions"] == [{"pointId": "gems", "points": 70}]
            assert (found["stock"], found["maxRedeemPerUser"], found["status"]) == (5, 3, "Active")
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert visible["id"] in ids
    assert private["id"] not in ids  # no token, no segments: a private gift is not offered
    assert inactive["id"] not in ids


def test_gift_details_say_what_a_redeem_needs(market) -> None:
    gift = market.code_gift(codes=2, customerInfoRequired=True, perPlayerLimit=2,
                            prices=[{"pointType": "gems", "amount": 10}])
    user = market.user()
    assert market.redeem(user, {"giftId": gift["id"], "customerName": "A", "customerPhone": "+1"}).status_code == 201

    details = market.gift(user, gift["id"])

    assert details.status_code == 200, details.text
    body = details.json()
    assert (body["collectCustomerInfo"], body["deliveryRequired"]) == (True, False)
    assert (body["userRedeemedCount"], body["maxRedeemPerUser"], body["stock"]) == (1, 2, 99)
    problem(market.gift(user, "no-such-gift"), 404, "ITEM_NOT_FOUND")


def test_history_pages_newest_first(market) -> None:
    gift = market.code_gift(codes=3, prices=[{"pointType": "gems", "amount": 10}])
    user = market.user()
    made = [market.redeem(user, {"giftId": gift["id"]}).json()["id"] for _ in range(3)]

    first = market.history(user, pageSize=2).json()
    second = market.history(user, pageSize=2, cursor=first["nextCursor"]).json()

    assert [r["id"] for r in first["items"] + second["items"]] == made[::-1]
    assert second["nextCursor"] is None and first["nextCursor"]
    assert set(first["items"][0]) == RECORD_KEYS
    assert market.history(market.user()).json() == {"items": [], "pageSize": 20, "nextCursor": None}


# ---- errors: ProblemDetails with the page's statuses -------------------------------------------------------------

def test_a_missing_or_bad_key_is_401(market) -> None:
    url = f"{BASE}/user/anyone/gifts"
    with httpx.Client(base_url=str(market.http.base_url), timeout=20.0) as anonymous:
        problem(anonymous.get(url), 401, "UNAUTHENTICATED")
        problem(anonymous.get(url, headers={"x-api-key": "key_nope.nope"}), 401, "UNAUTHENTICATED")
        problem(anonymous.post(f"{BASE}/user/anyone/redeem", json={"giftId": "x"},
                               headers={"x-api-key": "garbage"}), 401, "UNAUTHENTICATED")


def test_the_environment_comes_from_the_key(market, platform) -> None:
    user = market.user()  # a sandbox user
    gift = market.code_gift(codes=1)
    with httpx.Client(base_url=str(market.http.base_url), timeout=20.0,
                      headers={"x-api-key": _api_key(platform, "live")}) as live:
        problem(live.get(f"{BASE}/user/{user}/gifts"), 403, "PLAYER_NOT_FOUND")
        problem(live.post(f"{BASE}/user/{user}/redeem", json={"giftId": gift["id"]}), 403, "PLAYER_NOT_FOUND")


def test_an_unknown_user_is_403_as_the_page_lists_and_an_unknown_gift_404(market) -> None:
    gift = market.code_gift(codes=1)
    stranger = f"nobody-{uuid.uuid4().hex[:8]}"
    problem(market.redeem(stranger, {"giftId": gift["id"]}), 403, "PLAYER_NOT_FOUND")
    problem(market.gifts(stranger), 403, "PLAYER_NOT_FOUND")
    problem(market.history(stranger), 403, "PLAYER_NOT_FOUND")
    problem(market.redeem(market.user(), {"giftId": "no-such-gift"}), 404, "ITEM_NOT_FOUND")


def test_business_refusals_are_400_and_change_nothing(market) -> None:
    user = market.user(gems=100)
    cheap = market.code_gift(codes=2, prices=[{"pointType": "gems", "amount": 10}])
    dear = market.code_gift(codes=1, prices=[{"pointType": "gems", "amount": 101}], stock=4)
    expired = market.operator.create_item(availableUntil=(datetime.now(UTC) - timedelta(days=1)).isoformat())
    archived = market.operator.create_item()
    assert market.operator.http.delete(f"/v1/admin/items/{archived['id']}").status_code == 200
    empty = market.operator.create_item(stock=0)
    customer = market.operator.create_item(customerInfoRequired=True)
    delivery = market.operator.create_item(shippingAddressRequired=True)

    problem(market.redeem(user, {"giftId": dear["id"]}), 400, "INSUFFICIENT_BALANCE")
    assert market.admin_item(dear["id"])["stock"] == 4  # the stock taken was rolled back
    problem(market.redeem(user, {"giftId": empty["id"]}), 400, "OUT_OF_STOCK")
    problem(market.redeem(user, {"giftId": cheap["id"], "pointId": "tickets"}), 400, "INVALID_POINT_TYPE")
    problem(market.redeem(user, {"giftId": expired["id"]}), 400, "ITEM_UNAVAILABLE")
    problem(market.redeem(user, {"giftId": archived["id"]}), 400, "ITEM_UNAVAILABLE")
    problem(market.redeem(user, {"giftId": customer["id"], "customerName": "Only a name"}), 400,
            "CUSTOMER_INFO_REQUIRED")
    partial = {k: v for k, v in PAGE_BODY.items() if k != "deliveryCity"}
    problem(market.redeem(user, {"giftId": delivery["id"], **partial}), 400, "SHIPPING_ADDRESS_REQUIRED")
    problem(market.redeem(user, {"customerName": "no gift id"}), 400, "VALIDATION_ERROR")
    assert market.balance(user) == 100

    once = market.code_gift(codes=2, perPlayerLimit=1, prices=[{"pointType": "gems", "amount": 10}])
    twice = market.code_gift(codes=3, perPlayerLimit=2, prices=[{"pointType": "gems", "amount": 10}])
    assert market.redeem(user, {"giftId": once["id"]}).status_code == 201
    problem(market.redeem(user, {"giftId": once["id"]}), 400, "REDEMPTION_ALREADY_EXISTS")
    for _ in range(2):
        assert market.redeem(user, {"giftId": twice["id"]}).status_code == 201
    problem(market.redeem(user, {"giftId": twice["id"]}), 400, "LIMIT_REACHED")
    assert market.balance(user) == 70


def test_targeting_and_an_inactive_user_are_403(market) -> None:
    private = market.code_gift(codes=1, targeting={"private": True, "segments": ["vip"]})
    user = market.user()
    problem(market.redeem(user, {"giftId": private["id"]}), 403, "ITEM_NOT_ELIGIBLE")
    public = market.code_gift(codes=1)
    market.suspend(user)
    problem(market.redeem(user, {"giftId": public["id"]}), 403, "PLAYER_INACTIVE")
    assert market.balance(user) == 1_000


# ---- the page's order of checks: for each adjacent pair, breaking both gets the first one's error -----------------

def test_checks_happen_in_the_page_order(market) -> None:
    gems = [{"pointType": "gems", "amount": 100}]
    ok_user = market.user(gems=1_000)
    inactive_gift = market.operator.create_item(status="INACTIVE", prices=gems)
    public_gift = market.code_gift(codes=2, prices=gems)

    # 1 user > 2 gift: a suspended user and an inactive gift.
    suspended = market.user()
    market.suspend(suspended)
    problem(market.redeem(suspended, {"giftId": inactive_gift["id"]}), 403, "PLAYER_INACTIVE")
    problem(market.redeem(ok_user, {"giftId": inactive_gift["id"]}), 400, "ITEM_UNAVAILABLE")
    problem(market.redeem(f"ghost-{uuid.uuid4().hex[:6]}", {"giftId": "no-such-gift"}), 403, "PLAYER_NOT_FOUND")

    # 2 gift > 3 point type: an inactive gift and a point type it is not sold for.
    problem(market.redeem(ok_user, {"giftId": inactive_gift["id"], "pointId": "tickets"}), 400, "ITEM_UNAVAILABLE")
    problem(market.redeem(ok_user, {"giftId": public_gift["id"], "pointId": "tickets"}), 400, "INVALID_POINT_TYPE")

    # 3 point type > 4 limit: a user at the limit, asking for a point type the gift does not take.
    once = market.code_gift(codes=1, perPlayerLimit=1, prices=gems)
    assert market.redeem(ok_user, {"giftId": once["id"]}).status_code == 201
    problem(market.redeem(ok_user, {"giftId": once["id"], "pointId": "tickets"}), 400, "INVALID_POINT_TYPE")
    problem(market.redeem(ok_user, {"giftId": once["id"], "pointId": "gems"}), 400, "REDEMPTION_ALREADY_EXISTS")

    # 4 limit > 5 targeting: a private gift the user redeemed with a vip token, asked again without claims.
    vip_only = market.code_gift(codes=1, perPlayerLimit=1, prices=gems,
                                targeting={"private": True, "segments": ["vip"]})
    vip, vip_headers = market.operator.new_player(gems=1_000, segments=["vip"])
    first = httpx.post(str(market.http.base_url).rstrip("/") + "/v1/redemptions", json={"offer": vip_only["id"]},
                       headers=vip_headers, timeout=20.0)
    assert first.status_code == 201, first.text
    problem(market.redeem(vip, {"giftId": vip_only["id"]}), 400, "REDEMPTION_ALREADY_EXISTS")
    problem(market.redeem(ok_user, {"giftId": vip_only["id"]}), 403, "ITEM_NOT_ELIGIBLE")

    # 5 targeting > 6 stock: a private gift with no stock left.
    private_empty = market.operator.create_item(stock=0, prices=gems, targeting={"private": True, "segments": ["vip"]})
    public_empty = market.operator.create_item(stock=0, prices=gems)
    problem(market.redeem(ok_user, {"giftId": private_empty["id"]}), 403, "ITEM_NOT_ELIGIBLE")
    problem(market.redeem(ok_user, {"giftId": public_empty["id"]}), 400, "OUT_OF_STOCK")

    # 6 stock > 7 points: no stock and not enough points.
    poor = market.user(gems=1)
    problem(market.redeem(poor, {"giftId": public_empty["id"]}), 400, "OUT_OF_STOCK")
    stock_before = market.admin_item(public_gift["id"])["stock"]
    problem(market.redeem(poor, {"giftId": public_gift["id"]}), 400, "INSUFFICIENT_BALANCE")
    assert market.admin_item(public_gift["id"])["stock"] == stock_before
    assert market.balance(poor) == 1


def test_the_routes_are_in_the_openapi_document(gateway) -> None:
    paths = gateway.get("/openapi.json").json()["paths"]
    assert {f"{BASE}/user/{{userKey}}/gifts", f"{BASE}/user/{{userKey}}/gifts/{{giftId}}",
            f"{BASE}/user/{{userKey}}/redeem", f"{BASE}/user/{{userKey}}/redemptions"} <= set(paths)
    redeem = paths[f"{BASE}/user/{{userKey}}/redeem"]["post"]
    assert {"201", "400", "401", "403", "404"} <= set(redeem["responses"])
    assert "x-api-key" in {p["name"] for p in redeem["parameters"]} or redeem.get("security")


def test_a_crash_free_answer_for_odd_input(market) -> None:
    problem(market.redeem("x" * 129, {"giftId": "g"}), 400, "VALIDATION_ERROR")
    problem(market.gifts(market.user(), pageSize=0), 400, "VALIDATION_ERROR")
    bad_json = market.http.post(f"{BASE}/user/someone/redeem", content=b"{nope",
                                headers={"content-type": "application/json"})
    problem(bad_json, 400, "VALIDATION_ERROR")
