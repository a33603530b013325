"""Seed 003, the canonical API's redemptions page, field by field and code by code on the running system: a
machine credential acting for a member (externalUserID), Idempotency-Key replays, the page's error codes with
their statuses and a requestId, the Redemption fields, the cursor-paginated list and its filters, the status
lifecycle, and a cancel that refunds the points to the exact unit and restores the stock."""

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

SCOPE = common_pb2.Scope(tenant_id="demo", environment=common_pb2.ENVIRONMENT_SANDBOX)
LIFECYCLE = ["SUBMITTED", "OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED", "CANCELED"]
REDEMPTION_FIELDS = {"id", "offer", "status", "createdAt", "startAt", "endAt"}
OFFER_FIELDS = {"id", "name", "imageUrl", "pointsPrice", "pointType"}


class Member:
    """A back end's machine credential (a non-admin API key) acting for one member by externalUserID."""

    def __init__(self, http: httpx.Client, member: str) -> None:
        self.http = http
        self.id = member

    def redeem(self, offer: str, key: str | None = None, **extra: Any) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post("/v1/redemptions", json={"offer": offer, "externalUserID": self.id, **extra},
                              headers=headers)

    def get(self, redemption_id: str) -> httpx.Response:
        return self.http.get(f"/v1/redemptions/{redemption_id}", params={"externalUserID": self.id})

    def list(self, **params: Any) -> httpx.Response:
        return self.http.get("/v1/redemptions", params={"externalUserID": self.id, **params})

    def cancel(self, redemption_id: str) -> httpx.Response:
        return self.http.post(f"/v1/redemptions/{redemption_id}/cancel",
                              json={"externalUserID": self.id, "reason": "changed my mind"})


@pytest.fixture(scope="module")
def machine(platform) -> Iterator[httpx.Client]:
    env = platform.service_env(platform.spec("gateway"))
    made = subprocess.run([sys.executable, "-m", "gateway.admin", "create-api-key", "--tenant", "demo",
                           "--environment", "sandbox", "--name", f"canonical-{uuid.uuid4().hex[:6]}"],
                          env=env, capture_output=True, text=True, check=False, timeout=60)
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=platform.gateway_url, timeout=20.0,
                      headers={"x-api-key": json.loads(made.stdout)["api_key"]}) as client:
        yield client


@pytest.fixture
def member_of(machine, operator):
    def make(gems: int = 0, coins: int = 0) -> Member:
        member = f"m-{uuid.uuid4().hex[:12]}"
        operator.grant(member, gems or 1)
        if coins:
            operator.grant(member, coins, point_type="coins")
        if not gems:  # a member with nothing: spend the one gem that created them
            r = operator.http.post(f"/v1/admin/players/{member}/adjustments",
                                   headers={"Idempotency-Key": uuid.uuid4().hex},
                                   json={"pointType": "gems", "amount": -1})
            assert r.status_code == 201, r.text
        return Member(machine, member)
    return make


def code_offer(operator, demo, codes: int = 3, **fields: Any) -> dict[str, Any]:
    """An offer delivered from a code pool: it completes at once and stays redeemed."""
    item = operator.create_item(fulfillmentStrategy="code_pool", **fields)
    with grpc.insecure_channel(demo["grpc"]["fulfillment"]) as channel:
        fulfillment_pb2_grpc.FulfillmentServiceStub(channel).UploadCodes(fulfillment_pb2.UploadCodesRequest(
            scope=SCOPE, item_id=item["id"],
            codes=[fulfillment_pb2.CodeInput(code=f"CN-{uuid.uuid4().hex[:10]}", pin="1234") for _ in range(codes)]),
            timeout=5)
    return item


def balance(operator, member: str, point_type: str = "gems") -> int:
    r = operator.http.get(f"/v1/admin/players/{member}")
    assert r.status_code == 200, r.text
    return next((b["amount"] for b in r.json()["balances"] if b["pointType"] == point_type), 0)


def stock(operator, item_id: str) -> int:
    r = operator.http.get(f"/v1/admin/items/{item_id}")
    assert r.status_code == 200, r.text
    return int(r.json()["stock"])


def problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert body["code"] == code and body["status"] == status, body
    assert body["requestId"] and body["requestId"] == reply.headers["x-request-id"]
    return dict(body)


# ---- create --------------------------------------------------------------------------------------------------

def test_create_answers_201_with_the_redemption(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, name="Gift card", imageUrl="https://example.com/card.png",
                       prices=[{"pointType": "gems", "amount": 150}])
    member = member_of(gems=200)

    reply = member.redeem(offer["id"], key=uuid.uuid4().hex)

    assert reply.status_code == 201, reply.text
    r = reply.json()
    assert REDEMPTION_FIELDS <= set(r)
    assert OFFER_FIELDS <= set(r["offer"])
    assert r["offer"] == {"id": offer["id"], "name": "Gift card", "imageUrl": "https://example.com/card.png",
                          "pointsPrice": 150, "pointType": "gems"}
    assert r["playerId"] == member.id and r["status"] in LIFECYCLE
    assert (r["startAt"], r["endAt"]) == (None, None)  # not a scheduled experience
    assert abs(datetime.fromisoformat(r["createdAt"]) - datetime.now(UTC)) < timedelta(
        minutes=5)
    assert balance(operator, member.id) == 50


def test_a_machine_credential_must_name_the_member(machine) -> None:
    problem(machine.post("/v1/redemptions", json={"offer": "12"}), 422, "VALIDATION_ERROR")
    problem(machine.get("/v1/redemptions"), 422, "VALIDATION_ERROR")


def test_an_idempotency_key_replays_without_charging_twice(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, prices=[{"pointType": "gems", "amount": 100}])
    other = code_offer(operator, demo, prices=[{"pointType": "gems", "amount": 100}])
    member = member_of(gems=1_000)
    key = uuid.uuid4().hex

    first = member.redeem(offer["id"], key=key)
    replay = member.redeem(offer["id"], key=key)

    assert first.status_code == 201 and replay.status_code in (200, 201), replay.text
    assert replay.json()["id"] == first.json()["id"]
    assert balance(operator, member.id) == 900
    assert stock(operator, offer["id"]) == 99

    reused = problem(member.redeem(other["id"], key=key), 422, "IDEMPOTENCY_KEY_REUSED")
    assert reused["detail"]
    assert balance(operator, member.id) == 900 and stock(operator, other["id"]) == 100


# ---- the page's error codes ------------------------------------------------------------------------------------

def test_insufficient_points_is_422_and_the_balance_never_goes_negative(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, prices=[{"pointType": "gems", "amount": 101}], stock=7)
    member = member_of(gems=100)

    problem(member.redeem(offer["id"], key=uuid.uuid4().hex), 422, "INSUFFICIENT_POINTS")

    assert balance(operator, member.id) == 100
    assert stock(operator, offer["id"]) == 7


def test_a_limit_of_one_is_redemption_already_exists_409(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, prices=[{"pointType": "gems", "amount": 10}], perPlayerLimit=1)
    member = member_of(gems=100)

    assert member.redeem(offer["id"]).status_code == 201
    problem(member.redeem(offer["id"]), 409, "REDEMPTION_ALREADY_EXISTS")
    assert balance(operator, member.id) == 90


def test_an_expired_or_inactive_offer_is_offer_unavailable_422(member_of, operator) -> None:
    expired = operator.create_item(availableUntil=(datetime.now(UTC) - timedelta(hours=1)).isoformat())
    inactive = operator.create_item(status="INACTIVE")
    member = member_of(gems=100)

    problem(member.redeem(expired["id"]), 422, "OFFER_UNAVAILABLE")
    problem(member.redeem(inactive["id"]), 422, "OFFER_UNAVAILABLE")
    assert balance(operator, member.id) == 100


def test_every_error_carries_a_request_id(member_of, machine, gateway) -> None:
    member = member_of(gems=10)
    replies = [
        gateway.post("/v1/redemptions", json={"offer": "12"}),                      # no credential
        member.redeem("no-such-offer"),                                             # unknown offer
        member.get("no-such-redemption"),
        member.list(status="LOST"),
        machine.post("/v1/redemptions", content=b"{nope", headers={"content-type": "application/json"}),
    ]
    for reply in replies:
        assert reply.status_code >= 400
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert reply.json()["requestId"] == reply.headers["x-request-id"]
    own = gateway.get("/v1/redemptions/x", headers={"X-Request-Id": "support-ticket-42"})
    assert own.json()["requestId"] == "support-ticket-42"


# ---- read and list ---------------------------------------------------------------------------------------------

def test_get_answers_the_page_fields_and_only_the_members_own(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, prices=[{"pointType": "gems", "amount": 10}])
    member, stranger = member_of(gems=100), member_of(gems=100)
    made = member.redeem(offer["id"]).json()

    got = member.get(made["id"])

    assert got.status_code == 200, got.text
    body = got.json()
    assert REDEMPTION_FIELDS <= set(body)
    assert (body["id"], body["offer"]["id"], body["createdAt"]) == (made["id"], offer["id"], made["createdAt"])
    assert body["status"] == "COMPLETED"
    assert member.get(str(made["number"])).json()["id"] == made["id"]  # the integer number works too
    problem(stranger.get(made["id"]), 404, "REDEMPTION_NOT_FOUND")


def test_list_pages_newest_first_and_stays_stable_while_new_ones_arrive(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, codes=6, prices=[{"pointType": "gems", "amount": 10}])
    member = member_of(gems=1_000)
    made = [member.redeem(offer["id"]).json()["id"] for _ in range(5)]

    first = member.list(limit=2).json()
    newer = member.redeem(offer["id"]).json()["id"]  # arrives while the client pages
    seen = [r["id"] for r in first["redemptions"]]
    cursor = first["nextCursor"]
    while cursor is not None:
        page = member.list(limit=2, cursor=cursor)
        assert page.status_code == 200, page.text
        seen += [r["id"] for r in page.json()["redemptions"]]
        cursor = page.json()["nextCursor"]

    assert seen == made[::-1]  # newest first, no duplicate, no gap, the new one not slipped in
    assert member.list(limit=10).json()["redemptions"][0]["id"] == newer
    assert member.list(limit=100).json()["nextCursor"] is None
    problem(member.list(limit=0), 422, "VALIDATION_ERROR")


def test_the_status_filter_takes_each_lifecycle_value(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, prices=[{"pointType": "gems", "amount": 10}])
    member = member_of(gems=100)
    done = member.redeem(offer["id"]).json()
    assert done["status"] == "COMPLETED"

    for status in LIFECYCLE + ["FAILED"]:
        page = member.list(status=status)
        assert page.status_code == 200, page.text
        assert all(r["status"] == status for r in page.json()["redemptions"])
    assert [r["id"] for r in member.list(status="COMPLETED").json()["redemptions"]] == [done["id"]]
    assert member.list(status="OPEN").json()["redemptions"] == []
    problem(member.list(status="LOST"), 422, "VALIDATION_ERROR")


# ---- cancel ----------------------------------------------------------------------------------------------------

def test_cancel_refunds_to_the_exact_unit_and_restores_stock(member_of, operator) -> None:
    # A manual offer waits for an operator, so the member may cancel it. While fulfillment-service does not
    # serve the manual strategy yet it cancels the job itself, through the same refund-and-release path: then
    # this checks that refund, and that the member's cancel on top of it changes nothing.
    offer = operator.create_item(prices=[{"pointType": "coins", "amount": 1_234}], stock=3,
                                 fulfillmentStrategy="manual")
    member = member_of(gems=1, coins=10_001)
    made = member.redeem(offer["id"], key=uuid.uuid4().hex)
    assert made.status_code == 201, made.text
    redemption = made.json()
    assert redemption["pointsPrice"] == 1_234 and redemption["display"] == "12.34"
    assert redemption["balanceAfter"] == 10_001 - 1_234  # it was charged, to the exact unit
    if redemption["status"] != "CANCELED":
        assert redemption["status"] in {"OPEN", "AWAITING_VENDOR", "AWAITING_CUSTOMER"}, redemption
        assert balance(operator, member.id, "coins") == 10_001 - 1_234
        assert stock(operator, offer["id"]) == 2

    canceled = member.cancel(redemption["id"])

    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "CANCELED" and canceled.json()["canceledAt"]
    assert balance(operator, member.id, "coins") == 10_001
    assert stock(operator, offer["id"]) == 3
    again = member.cancel(redemption["id"])  # harmless twice: no second refund
    assert again.status_code == 200 and again.json()["status"] == "CANCELED"
    assert balance(operator, member.id, "coins") == 10_001 and stock(operator, offer["id"]) == 3
    assert member.get(redemption["id"]).json()["status"] == "CANCELED"


def test_a_completed_redemption_is_not_cancellable(member_of, operator, demo) -> None:
    offer = code_offer(operator, demo, prices=[{"pointType": "gems", "amount": 10}])
    member = member_of(gems=100)
    done = member.redeem(offer["id"]).json()
    problem(member.cancel(done["id"]), 409, "REDEMPTION_NOT_CANCELLABLE")
    assert balance(operator, member.id) == 90
