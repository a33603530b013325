"""Issue 13, item 3 on the real processes: every service logs JSON lines without colour codes, one INFO line per
HTTP request and per RPC carrying the request id (across NATS too), and no issued code or PIN ever reaches a log:
neither the codes and PINs issued here (a code pool's and the demo partner's), nor any code another e2e test of
this session uploaded (`E2E-<item>-<n>`, test_fulfillment.py) and so may have issued."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from local_runner.invariants import first_truthy
from local_runner.platform import Platform

pytestmark = pytest.mark.e2e

FIVE = ("gateway", "redemption-service", "catalog-service", "wallet-service", "fulfillment-service")
ANSI = "\x1b["
OTHER_TESTS_CODES = re.compile(r"E2E-it-[0-9a-f]{10}-\d{5}")




def _log_text(platform: Platform, service: str) -> str:
    return (platform.logs / f"{service}.log").read_text(errors="replace")


def _json_lines(platform: Platform, service: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _log_text(platform, service).splitlines() if line.startswith("{")]


def _lines_of(platform: Platform, service: str, request_id: str) -> list[dict[str, Any]]:
    return [e for e in _json_lines(platform, service) if e.get("request_id") == request_id]


def _redeem(gateway, operator, item_id: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(request id, the settled redemption, the player's auth headers)."""
    _, auth = operator.new_player(gems=100)
    r = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, json={"offer": item_id})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]

    def completed() -> dict[str, Any] | None:
        body: dict[str, Any] = gateway.get(f"/v1/redemptions/{rid}", headers=auth).json()
        return body if body["status"] == "COMPLETED" else None

    done = first_truthy(completed, 60, f"redemption {rid} COMPLETED")
    return r.headers["x-request-id"], done, auth


def test_no_code_or_pin_reaches_a_log_and_each_service_logs_the_redemption_by_its_request_id(
        platform, gateway, operator) -> None:
    # A code pool with codes and PINs nothing else could print by chance.
    item = operator.create_item(fulfillmentStrategy="code_pool", stock=5)
    issued = [{"code": f"LOGCHECK-{uuid.uuid4().hex[:16]}", "pin": f"PIN{uuid.uuid4().hex[:10]}"} for _ in range(3)]
    assert operator.http.post(f"/v1/admin/items/{item['id']}/codes", json={"codes": issued}).status_code == 200
    pool_request_id, pool_redemption, auth = _redeem(gateway, operator, item["id"])
    assert pool_redemption["fulfillment"]["code"] in {c["code"] for c in issued}
    # Shown again (a read reveals the code to its player): still never logged.
    assert gateway.get(f"/v1/redemptions/{pool_redemption['id']}", headers=auth).status_code == 200

    # The demo partner's voucher, delivered over NATS.
    partner = f"http://127.0.0.1:{platform.s.partner_port}"
    webhook = operator.create_item(fulfillmentStrategy="webhook", fulfillmentConfig={"url": f"{partner}/vouchers"})
    webhook_request_id, webhook_redemption, _ = _redeem(gateway, operator, webhook["id"])
    partner_code = webhook_redemption["fulfillment"]["code"]
    partner_pin = webhook_redemption["fulfillment"].get("pin", "")
    assert partner_code.startswith("DEMO-")

    # One INFO line per request and per call, in each of the five services, carrying the request id.
    def each_service_logged() -> dict[str, list[str]] | None:
        found = {s: [e["msg"] for e in _lines_of(platform, s, pool_request_id) if e["level"] == "info"] for s in FIVE}
        return found if all(found.values()) else None

    logged = first_truthy(each_service_logged, 10, f"an INFO line of {pool_request_id} in each service")
    (access,) = [e for e in _lines_of(platform, "gateway", pool_request_id) if e["msg"] == "request served"]
    assert (access["route"], access["method"], access["status"], access["dialect"]) == \
        ("/v1/redemptions", "POST", 201, "canonical"), access
    assert access["tenant"] == operator.demo["tenant_id"] and access["duration_ms"] > 0
    calls = {s: {e["method"].rsplit("/", 1)[-1] for e in _lines_of(platform, s, pool_request_id)
                 if e["msg"] == "call served"} for s in FIVE[1:]}
    assert "Redeem" in calls["redemption-service"], logged
    assert "ReserveStock" in calls["catalog-service"] and "DebitPoints" in calls["wallet-service"], logged
    assert "FulfilNow" in calls["fulfillment-service"], logged
    served = [e for s in FIVE[1:] for e in _lines_of(platform, s, pool_request_id) if e["msg"] == "call served"]
    assert all(e["code"] == "OK" and e["tenant"] == operator.demo["tenant_id"] for e in served), served

    # Across NATS: fulfillment-service took the webhook job, and redemption-service its result, as that request.
    first_truthy(lambda: any(e["msg"] == "job taken" for e in _lines_of(platform, "fulfillment-service",
                                                                        webhook_request_id)),
                10, "fulfillment-service's line for the job of the webhook redemption")
    first_truthy(lambda: any(e["msg"] == "result taken" for e in _lines_of(platform, "redemption-service",
                                                                          webhook_request_id)),
                10, "redemption-service's line for the result of the webhook redemption")

    secrets = [c["code"] for c in issued] + [c["pin"] for c in issued] + [partner_code]
    for service in FIVE:   # the demo partner is the provider, not the platform: its own log is its business
        text = _log_text(platform, service)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{service} logged {leaked}"
        if partner_pin:   # four digits: only as a JSON value would it be the PIN
            assert f'"{partner_pin}"' not in text, f"{service} logged the partner's PIN"
        others = OTHER_TESTS_CODES.findall(text)
        assert not others, f"{service} logged codes {others[:3]}"
        assert ANSI not in text, f"{service} logged ANSI colour codes"
