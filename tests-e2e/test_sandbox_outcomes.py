"""Sandbox outcomes on the running system: the Sandbox-Outcome header forces a fulfilment to stay pending for N
seconds, to fail with its refund, to find the code pool empty, or a slow provider, on every API's redeem route;
live refuses it with 403 SANDBOX_ONLY and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any

import grpc
import httpx
import pytest
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc

SCOPE = common_pb2.Scope(tenant_id="demo", environment=common_pb2.ENVIRONMENT_SANDBOX)


def code_offer(operator, demo, codes: int, **fields: Any) -> dict[str, Any]:
    """An offer delivered from a code pool (fulfilled inline unless an outcome is forced)."""
    item = operator.create_item(fulfillmentStrategy="code_pool", **fields)
    with grpc.insecure_channel(demo["grpc"]["fulfillment"]) as channel:
        fulfillment_pb2_grpc.FulfillmentServiceStub(channel).UploadCodes(fulfillment_pb2.UploadCodesRequest(
            scope=SCOPE, item_id=item["id"],
            codes=[fulfillment_pb2.CodeInput(code=f"SB-{uuid.uuid4().hex[:10]}", pin="1234") for _ in range(codes)]),
            timeout=5)
    return dict(item)


def balance(operator, player: str) -> int:
    r = operator.http.get(f"/v1/admin/players/{player}")
    assert r.status_code == 200, r.text
    return int(next((b["amount"] for b in r.json()["balances"] if b["pointType"] == "gems"), 0))


def stock(operator, item_id: str) -> int:
    r = operator.http.get(f"/v1/admin/items/{item_id}")
    assert r.status_code == 200, r.text
    return int(r.json()["stock"])


def _settled(gateway: httpx.Client, headers: dict[str, str], redemption_id: str,
             timeout: float = 30.0) -> dict[str, Any]:
    """The redemption once it left OPEN (eventually: the forced outcome goes through JetStream)."""
    deadline = time.monotonic() + timeout
    while True:
        r = gateway.get(f"/v1/redemptions/{redemption_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] not in ("OPEN", "SUBMITTED") or time.monotonic() > deadline:
            return dict(r.json())
        time.sleep(0.3)


def _redeem(gateway: httpx.Client, headers: dict[str, str], offer: str, outcome: str) -> httpx.Response:
    return gateway.post("/v1/redemptions", json={"offer": offer},
                        headers={**headers, "Idempotency-Key": uuid.uuid4().hex, "Sandbox-Outcome": outcome})


@pytest.mark.parametrize(("outcome", "code"), [("fail", "SANDBOX_FULFILLMENT_FAILED"), ("pool_empty", "OUT_OF_CODES")])
def test_a_forced_failure_is_refunded_and_restocked(gateway, operator, demo, outcome, code) -> None:
    item = code_offer(operator, demo, codes=2, stock=5)
    player, headers = operator.new_player(gems=50)
    r = _redeem(gateway, headers, item["id"], outcome)
    # Not fulfilled inline: the job goes through JetStream, and Redeem's short wait for a fast result may see
    # the refund already.
    assert r.status_code == 201 and r.json()["status"] in ("OPEN", "CANCELED"), r.text
    done = _settled(gateway, headers, r.json()["id"])
    assert done["status"] == "CANCELED" and done["failure"]["code"] == code, done
    assert balance(operator, player) == 50 and stock(operator, item["id"]) == 5


def test_pending_for_n_seconds_then_fulfilled(gateway, operator, demo) -> None:
    item = code_offer(operator, demo, codes=2)
    _, headers = operator.new_player(gems=50)
    started = time.monotonic()
    r = _redeem(gateway, headers, item["id"], "pending:3")
    assert r.status_code == 201 and r.json()["status"] == "OPEN", r.text
    done = _settled(gateway, headers, r.json()["id"])
    assert done["status"] == "COMPLETED" and done["fulfillment"]["code"], done
    assert time.monotonic() - started >= 3.0


def test_a_slow_provider_on_the_marketplace_api(gateway, operator, demo) -> None:
    """The header works on a seed's own route too: the page's shape, pending first, fulfilled later."""
    item = code_offer(operator, demo, codes=2)
    player, headers = operator.new_player(gems=50)
    r = operator.http.post(f"/api/v1/marketplace/user/{player}/redeem", json={"giftId": item["id"]},
                           headers={"Sandbox-Outcome": "provider_slow"})
    assert r.status_code == 201, r.text
    history = operator.http.get(f"/api/v1/marketplace/user/{player}/redemptions").json()
    assert history, history
    got = gateway.get("/v1/redemptions", headers=headers).json()["redemptions"][0]
    assert got["status"] == "OPEN", got
    assert _settled(gateway, headers, got["id"])["status"] == "COMPLETED"


def test_an_unknown_outcome_is_refused(gateway, operator, demo) -> None:
    item = code_offer(operator, demo, codes=1)
    player, headers = operator.new_player(gems=50)
    for bad in ("explode", "pending:0", "pending:61"):
        r = _redeem(gateway, headers, item["id"], bad)
        assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR", r.text
    assert balance(operator, player) == 50


def test_live_refuses_a_forced_outcome_and_changes_nothing(platform, operator) -> None:
    env = platform.service_env(platform.spec("gateway"))
    made = subprocess.run([sys.executable, "-m", "gateway.admin", "create-api-key", "--tenant", "demo",  # noqa: PLW1510
                           "--environment", "live", "--name", f"live-{uuid.uuid4().hex[:6]}"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["api_key"]
    with httpx.Client(base_url=platform.gateway_url, timeout=20.0, headers={"x-api-key": key}) as live:
        r = live.post("/v1/redemptions", json={"offer": "12", "externalUserID": "live-player"},
                      headers={"Sandbox-Outcome": "fail"})
        assert r.status_code == 403 and r.json()["code"] == "SANDBOX_ONLY", r.text
        listed = live.get("/v1/redemptions", params={"externalUserID": "live-player"})
        assert listed.status_code == 200 and listed.json()["redemptions"] == []


def test_an_item_can_force_its_outcome_without_a_header(gateway, operator, demo) -> None:
    item = code_offer(operator, demo, codes=2, stock=3, fulfillmentConfig={"sandbox_outcome": "fail"})
    player, headers = operator.new_player(gems=50)
    r = gateway.post("/v1/redemptions", json={"offer": item["id"]}, headers=headers)
    assert r.status_code == 201, r.text
    done = _settled(gateway, headers, r.json()["id"])
    assert done["status"] == "CANCELED" and done["failure"]["code"] == "SANDBOX_FULFILLMENT_FAILED", done
    assert balance(operator, player) == 50 and stock(operator, item["id"]) == 3
