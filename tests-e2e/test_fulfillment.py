"""Issue 4 on the real processes: every strategy end to end through the gateway (the demo partner is the real
HTTP provider and bonus engine), a provider's permanent failure refunded to the unit, and the stream's failures:
NATS stopped mid-traffic, NATS killed with its store wiped, fulfillment-service killed mid-stream. Each paid
redemption ends fulfilled exactly once, or refunded."""

from __future__ import annotations

import shutil
import signal
import uuid
from typing import Any

import httpx
from local_runner.invariants import first_truthy

SETTLED = {"COMPLETED", "CANCELED", "FAILED"}


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}




def _redemption(gateway: httpx.Client, auth: dict[str, str], rid: str) -> dict[str, Any]:
    r = gateway.get(f"/v1/redemptions/{rid}", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


def _settled(gateway, auth, rid: str, status: str = "COMPLETED", timeout: float = 60.0) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        r = _redemption(gateway, auth, rid)
        return r if r["status"] == status else None

    return first_truthy(settled, timeout, f"redemption {rid} {status}")


def _balance(gateway, auth, point_type: str = "gems") -> int:
    return next(b["amount"] for b in gateway.get("/v1/wallet/balances", headers=auth).json()["balances"]
                if b["pointType"] == point_type)


def _codes(operator, item_id: str, n: int) -> None:
    codes = [{"code": f"E2E-{item_id}-{i:05d}", "pin": f"{i % 10_000:04d}"} for i in range(n)]
    r = operator.http.post(f"/v1/admin/items/{item_id}/codes", json={"codes": codes})
    assert r.status_code == 200 and r.json()["added"] == n, r.text


def test_code_pool_answers_with_the_code_at_once(gateway, operator, databases) -> None:
    item = operator.create_item(fulfillmentStrategy="code_pool", stock=10)
    _codes(operator, item["id"], 3)
    _, auth = operator.new_player(gems=100)
    r = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "COMPLETED", body
    assert body["fulfillment"]["code"].startswith(f"E2E-{item['id']}-") and body["fulfillment"]["pin"]
    pool = operator.http.get(f"/v1/admin/items/{item['id']}/codes").json()
    assert (pool["available"], pool["assigned"]) == (2, 1)
    assert body["fulfillment"]["code"] not in str(pool["maskedSample"])


def test_empty_pool_refunds_to_the_unit(gateway, operator) -> None:
    item = operator.create_item(fulfillmentStrategy="code_pool", stock=10, prices=[{"pointType": "gems", "amount": 37}])
    _, auth = operator.new_player(gems=100)
    r = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"]})
    assert r.status_code == 201
    done = _settled(gateway, auth, r.json()["id"], "CANCELED")
    assert done["failure"]["code"] == "OUT_OF_CODES"
    assert _balance(gateway, auth) == 100
    assert operator.http.get(f"/v1/admin/items/{item['id']}").json()["stock"] == 10


def test_bonus_and_free_rounds_carry_the_engine_reference(gateway, operator) -> None:
    player, auth = operator.new_player()
    operator.grant(player, 50_000, point_type="coins")
    bonus = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": "507f1f77bcf86cd799439011"})
    assert bonus.status_code == 201, bonus.text
    done = _settled(gateway, auth, bonus.json()["id"])
    assert done["fulfillment"]["financialRefId"] > 70_000

    rounds = gateway.post("/v1/redemptions", headers={**auth, **_key()},
                          json={"offer": "507f1f77bcf86cd799439012", "rounds": 50})
    assert rounds.status_code == 201, rounds.text
    assert rounds.json()["pointsPrice"] == 4_500
    assert _settled(gateway, auth, rounds.json()["id"])["fulfillment"]["financialRefId"] > 70_000


def test_game_not_available_refunds(gateway, operator) -> None:
    item = operator.create_item(fulfillmentStrategy="free_rounds", prices=[{"pointType": "coins", "amount": 1_999}],
                                variants=[{"id": "10", "name": "10 rounds", "rounds": 10}],
                                fulfillmentConfig={"game_id": "retired-game"})
    player, auth = operator.new_player()
    operator.grant(player, 2_500, point_type="coins")
    r = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"], "rounds": 10})
    assert r.status_code == 201, r.text
    done = _settled(gateway, auth, r.json()["id"], "CANCELED")
    assert done["failure"]["code"] == "GAME_NOT_AVAILABLE"
    assert _balance(gateway, auth, "coins") == 2_500


def test_webhook_provider_completes_and_a_rejection_refunds(platform, gateway, operator) -> None:
    partner = f"http://127.0.0.1:{platform.s.partner_port}"
    item = operator.create_item(fulfillmentStrategy="webhook", fulfillmentConfig={"url": f"{partner}/vouchers"})
    _, auth = operator.new_player(gems=100)
    r = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"]})
    assert r.status_code == 201, r.text
    assert _settled(gateway, auth, r.json()["id"])["fulfillment"]["code"].startswith("DEMO-")

    rejecting = operator.create_item(fulfillmentStrategy="webhook", stock=3, prices=[{"pointType": "gems", "amount": 21}],
                                     fulfillmentConfig={"url": f"{partner}/no-such-route"})
    r = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": rejecting["id"]})
    done = _settled(gateway, auth, r.json()["id"], "CANCELED")
    assert done["failure"]["code"] == "PROVIDER_REJECTED"
    assert _balance(gateway, auth) == 90
    assert operator.http.get(f"/v1/admin/items/{rejecting['id']}").json()["stock"] == 3


def test_physical_goods_ship_then_deliver(gateway, operator) -> None:
    item = operator.create_item(fulfillmentStrategy="physical")
    _, auth = operator.new_player(gems=100)
    address = {"name": "Rahul Nema", "line1": "123 MG Road", "city": "Bengaluru", "state": "Karnataka",
               "postalCode": "560001", "country": "IN", "phone": "+919999999999"}
    r = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"], "shippingAddress": address})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["deliveryStatus"] == "PENDING"
    assert operator.http.post(f"/v1/admin/redemptions/{rid}/ship", json={"trackingNumber": "TRK-1"}).status_code == 200
    def shipped_now() -> dict[str, Any] | None:
        x = _redemption(gateway, auth, rid)
        return x if x["deliveryStatus"] == "SHIPPED" else None

    shipped = first_truthy(shipped_now, 60, "shipped")
    assert shipped["fulfillment"]["trackingNumber"] == "TRK-1"
    late = gateway.post(f"/v1/redemptions/{rid}/cancel", headers=auth, json={})
    assert late.status_code == 409 and late.json()["code"] == "REDEMPTION_NOT_CANCELLABLE"
    assert operator.http.post(f"/v1/admin/redemptions/{rid}/deliver", json={}).status_code == 200
    assert _settled(gateway, auth, rid)["deliveryStatus"] == "DELIVERED"


def test_manual_experience_moves_forward_only(gateway, operator) -> None:
    item = operator.create_item(fulfillmentStrategy="manual")
    _, auth = operator.new_player(gems=100)
    rid = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"]}).json()["id"]
    for outcome in ("AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED"):
        r = operator.http.post(f"/v1/admin/fulfillment/jobs/{rid}/advance", json={"outcome": outcome})
        assert r.status_code == 200, r.text
        _settled(gateway, auth, rid, outcome)
    back = operator.http.post(f"/v1/admin/fulfillment/jobs/{rid}/advance", json={"outcome": "AWAITING_VENDOR"})
    assert back.status_code == 422
    assert operator.http.post(f"/v1/admin/fulfillment/jobs/{rid}/advance", json={"outcome": "COMPLETED"}).status_code == 200
    _settled(gateway, auth, rid)


def _pool_item(operator, n: int) -> dict[str, Any]:
    item = operator.create_item(fulfillmentStrategy="code_pool", stock=n)
    _codes(operator, item["id"], n)
    return item


def _assert_each_paid_redemption_got_one_code(gateway, operator, databases, item, paid) -> None:
    for auth, rid in paid:
        _settled(gateway, auth, rid, timeout=90)
    assigned = databases.value("fulfillment", f"SELECT count(*) FROM code_pool WHERE item_id = '{item['id']}' "
                                              "AND assigned_to IS NOT NULL")
    assert int(assigned) == len(paid)
    databases.assert_wallet_conserved()


def test_nats_stopped_mid_traffic(platform, gateway, operator, databases, redeem_at_once) -> None:
    item = _pool_item(operator, 20)
    players = [operator.new_player(gems=100) for _ in range(20)]
    first = redeem_at_once([({**h, **_key()}, {"offer": item["id"]}) for _, h in players[:10]])
    assert platform.nats is not None
    platform.nats.stop()
    try:
        during = redeem_at_once([({**h, **_key()}, {"offer": item["id"]}) for _, h in players[10:]])
    finally:
        platform.nats.start()
    responses = first + during
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    paid = [(h, r.json()["id"]) for (_, h), r in zip(players, responses)]
    _assert_each_paid_redemption_got_one_code(gateway, operator, databases, item, paid)


def test_nats_killed_and_its_store_wiped(platform, gateway, operator, databases, redeem_at_once) -> None:
    item = _pool_item(operator, 6)
    players = [operator.new_player(gems=100) for _ in range(6)]
    assert platform.nats is not None
    platform.nats.stop(sig=signal.SIGKILL)
    shutil.rmtree(platform.nats.store_dir)
    try:
        responses = redeem_at_once([({**h, **_key()}, {"offer": item["id"]}) for _, h in players])
    finally:
        platform.nats.start()
    assert all(r.status_code == 201 for r in responses)
    paid = [(h, r.json()["id"]) for (_, h), r in zip(players, responses)]
    _assert_each_paid_redemption_got_one_code(gateway, operator, databases, item, paid)


def test_fulfillment_killed_mid_stream(platform, gateway, operator, databases, redeem_at_once) -> None:
    item = _pool_item(operator, 12)
    players = [operator.new_player(gems=100) for _ in range(12)]
    platform.kill_service("fulfillment-service", signal.SIGKILL)
    try:
        responses = redeem_at_once([({**h, **_key()}, {"offer": item["id"]}) for _, h in players])
    finally:
        platform.restart_service("fulfillment-service")
    paid = [(h, r.json()["id"]) for (_, h), r in zip(players, responses)]
    _assert_each_paid_redemption_got_one_code(gateway, operator, databases, item, paid)


def test_provider_down_then_up(platform, gateway, operator) -> None:
    import subprocess
    import sys

    from local_runner.infra import free_port, stop_process, wait_for_port

    port = free_port()
    item = operator.create_item(fulfillmentStrategy="webhook",
                                fulfillmentConfig={"url": f"http://127.0.0.1:{port}/vouchers"})
    _, auth = operator.new_player(gems=100)
    rid = gateway.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item["id"]}).json()["id"]

    def failed_attempts() -> Any:
        jobs = operator.http.get("/v1/admin/fulfillment/jobs", params={"limit": 100}).json()["jobs"]
        job = next((j for j in jobs if j["redemptionId"] == rid), None)
        return job if job and job["attempts"] >= 1 and job["lastError"] else None

    job = first_truthy(failed_attempts, 60, "a failed provider attempt")
    assert "unreachable" in job["lastError"] and _redemption(gateway, auth, rid)["status"] == "OPEN"

    env = dict(platform.service_env(platform.spec("demo-partner")), PORT=str(port))
    provider = subprocess.Popen([sys.executable, "-m", "local_runner.demo_partner"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, 30, "the provider", provider)
        done = _settled(gateway, auth, rid, timeout=90)
        assert done["fulfillment"]["code"].startswith("DEMO-")
    finally:
        stop_process(provider)
