"""Review holds on the running system, through the gateway: an item marked "always review" holds a redemption
after its points and stock are taken (AWAITING_APPROVAL with its reason, listed for the operator); approved, it is
fulfilled (COMPLETED with its code); the sandbox outcome `review` holds one too, and rejected it is refunded and
restocked (CANCELED REVIEW_REJECTED); an item's new-player rule reads the player's age from the real wallet. The
hold's timeout and the races are redemption-service's integration tests and tests-e2e/reliability."""

from __future__ import annotations

import time
import uuid
from typing import Any

import grpc
import httpx
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc

SCOPE = common_pb2.Scope(tenant_id="demo", environment=common_pb2.ENVIRONMENT_SANDBOX)


def code_offer(operator, demo, codes: int, **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    item = operator.create_item(fulfillmentStrategy="code_pool", **fields)
    with grpc.insecure_channel(demo["grpc"]["fulfillment"]) as channel:
        fulfillment_pb2_grpc.FulfillmentServiceStub(channel).UploadCodes(fulfillment_pb2.UploadCodesRequest(
            scope=SCOPE, item_id=item["id"],
            codes=[fulfillment_pb2.CodeInput(code=f"RV-{uuid.uuid4().hex[:10]}", pin="1234") for _ in range(codes)]),
            timeout=5)
    return dict(item)


def balance(operator, player: str) -> int:  # type: ignore[no-untyped-def]
    r = operator.http.get(f"/v1/admin/players/{player}")
    assert r.status_code == 200, r.text
    return int(next((b["amount"] for b in r.json()["balances"] if b["pointType"] == "gems"), 0))


def stock(operator, item_id: str) -> int:  # type: ignore[no-untyped-def]
    r = operator.http.get(f"/v1/admin/items/{item_id}")
    assert r.status_code == 200, r.text
    return int(r.json()["stock"])


def eventually_status(gateway: httpx.Client, headers: dict[str, str], redemption_id: str, status: str,
                      timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = gateway.get(f"/v1/redemptions/{redemption_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] == status:
            return dict(r.json())
        assert time.monotonic() < deadline, f"still {r.json()['status']}, not {status}"
        time.sleep(0.2)


def test_an_always_review_item_is_held_then_approved_and_fulfilled(gateway, operator, demo) -> None:  # type: ignore[no-untyped-def]
    item = code_offer(operator, demo, codes=2, stock=5)
    rules = operator.http.put(f"/v1/admin/review-rules/items/{item['id']}", json={"alwaysReview": True})
    assert rules.status_code == 200 and rules.json()["rules"]["alwaysReview"] is True, rules.text
    player, headers = operator.new_player(gems=50)

    r = gateway.post("/v1/redemptions", json={"offer": item["id"]},
                     headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    held = r.json()
    assert held["status"] == "AWAITING_APPROVAL" and held["review"]["reason"] == "ALWAYS_REVIEW", held
    assert held["fulfillment"]["code"] is None
    assert balance(operator, player) == 40 and stock(operator, item["id"]) == 4, "taken before the hold"
    listed = operator.http.get("/v1/admin/reviews", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    assert held["id"] in [h["id"] for h in listed.json()["redemptions"]]

    approved = operator.http.post(f"/v1/admin/reviews/{held['id']}/approve", json={"note": "known player"})
    assert approved.status_code == 200 and approved.json()["status"] in ("OPEN", "COMPLETED"), approved.text
    assert approved.json()["review"]["decision"] == "approved"
    done = eventually_status(gateway, headers, held["id"], "COMPLETED")
    assert done["fulfillment"]["code"].startswith("RV-")
    assert balance(operator, player) == 40 and stock(operator, item["id"]) == 4
    again = operator.http.post(f"/v1/admin/reviews/{held['id']}/reject")
    assert again.status_code == 409 and again.json()["code"] == "REDEMPTION_NOT_HELD", again.text


def test_the_sandbox_outcome_review_holds_and_a_rejection_refunds_and_restocks(gateway, operator, demo) -> None:  # type: ignore[no-untyped-def]
    item = code_offer(operator, demo, codes=1, stock=5)
    player, headers = operator.new_player(gems=50)
    r = gateway.post("/v1/redemptions", json={"offer": item["id"]},
                     headers={**headers, "Idempotency-Key": uuid.uuid4().hex, "Sandbox-Outcome": "review"})
    assert r.status_code == 201 and r.json()["status"] == "AWAITING_APPROVAL", r.text
    assert r.json()["review"]["reason"] == "SANDBOX_REVIEW"
    assert balance(operator, player) == 40 and stock(operator, item["id"]) == 4

    rejected = operator.http.post(f"/v1/admin/reviews/{r.json()['id']}/reject", json={"note": "test rejection"})
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert body["status"] == "CANCELED" and body["failure"] == {"code": "REVIEW_REJECTED",
                                                               "message": "test rejection"}
    assert body["review"]["decision"] == "rejected"
    assert balance(operator, player) == 50 and stock(operator, item["id"]) == 5
    seen = gateway.get(f"/v1/redemptions/{r.json()['id']}", headers=headers)
    assert seen.json()["status"] == "CANCELED"


def test_an_items_new_player_rule_reads_the_players_age_from_the_wallet(gateway, operator, demo) -> None:  # type: ignore[no-untyped-def]
    item = code_offer(operator, demo, codes=1, stock=5)
    rules = operator.http.put(f"/v1/admin/review-rules/items/{item['id']}", json={"playerYoungerThanDays": 1})
    assert rules.status_code == 200, rules.text
    player, headers = operator.new_player(gems=50)   # first seen just now
    r = gateway.post("/v1/redemptions", json={"offer": item["id"]},
                     headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201 and r.json()["status"] == "AWAITING_APPROVAL", r.text
    assert r.json()["review"]["reason"] == "NEW_PLAYER"
    rejected = operator.http.post(f"/v1/admin/reviews/{r.json()['id']}/reject")
    assert rejected.status_code == 200 and rejected.json()["failure"]["code"] == "REVIEW_REJECTED", rejected.text
    assert balance(operator, player) == 50 and stock(operator, item["id"]) == 5
