"""Scenario 12 of issue 6: nothing is read or changed across a boundary: another tenant's ids, sandbox against
live, another player's redemption, tampered, expired and alg-none tokens, guessed idempotency keys."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest


def _admin(platform, *args: str) -> dict[str, Any]:
    env = platform.service_env(platform.spec("gateway"))
    r = subprocess.run([sys.executable, "-m", "gateway.admin", *args], env=env, capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def other_tenant(platform, demo) -> dict[str, Any]:
    tenant = f"rival-{uuid.uuid4().hex[:8]}"
    _admin(platform, "create-tenant", "--id", tenant, "--name", "Rival Store")
    return _admin(platform, "create-client", "--tenant", tenant, "--environment", "sandbox", "--name", "rival",
                  "--admin")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unb64(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_no_read_or_change_across_tenants_players_or_environments(platform, gateway, operator, databases, ledger,
                                                                   other_tenant) -> None:
    item = ledger.item(stock=5, price=20)
    player, auth = operator.new_player(gems=100)
    key = uuid.uuid4().hex
    mine = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": key}, json={"offer": item})
    assert mine.status_code == 201, mine.text
    rid = mine.json()["id"]

    creds = {"x-client-id": other_tenant["client_id"], "x-client-secret": other_tenant["client_secret"]}
    rival_token = gateway.post("/v1/auth/token", headers=creds, json={"player_id": player}).json()["access_token"]
    rival = {"Authorization": f"Bearer {rival_token}"}
    _, stranger = operator.new_player(gems=100)
    for outsider in (rival, stranger):
        assert gateway.get(f"/v1/redemptions/{rid}", headers=outsider).status_code == 404
        assert gateway.post(f"/v1/redemptions/{rid}/cancel", headers=outsider, json={}).status_code == 404
        # A guessed key from outside: never the owner's redemption.
        guessed = gateway.post("/v1/redemptions", headers={**outsider, "Idempotency-Key": key}, json={"offer": item})
        assert guessed.status_code in (404, 409), guessed.text
        assert rid not in guessed.text
    # The rival tenant's player of the same id sees no points and no item.
    assert all(b["amount"] == 0 for b in gateway.get("/v1/wallet/balances", headers=rival).json()["balances"])
    assert gateway.get(f"/v1/items/{item}", headers=rival).status_code == 404
    assert gateway.get(f"/v1/admin/items/{item}", headers=creds).status_code == 404
    assert gateway.get(f"/v1/admin/items/{item}", headers=auth).status_code == 403
    # Nothing moved: one redemption, still the owner's.
    assert databases.value("redemption", f"SELECT player_id FROM redemptions WHERE id = '{rid}'") == player
    # (The rival's guess may leave a FAILED, uncharged redemption in its own tenant; never one in ours.)
    tenant = operator.demo["tenant_id"]
    assert databases.value("redemption", f"SELECT count(*) FROM redemptions WHERE item_id = '{item}' "
                                         f"AND tenant_id = '{tenant}'") == "1"
    assert databases.value("redemption", f"SELECT count(*) FROM redemptions WHERE item_id = '{item}' "
                                         f"AND status NOT IN ('FAILED') AND tenant_id <> '{tenant}'") == "0"


def test_forged_tokens_are_refused(gateway, operator, databases, ledger) -> None:
    item = ledger.item(stock=5, price=20)
    player, auth = operator.new_player(gems=100)
    token = auth["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    claims = _unb64(payload)
    tampered = ".".join([header, _b64({**claims, "sub": f"p-{uuid.uuid4().hex[:12]}"}), signature])
    bad_signature = ".".join([header, payload, signature[::-1]])
    alg_none = ".".join([_b64({**_unb64(header), "alg": "none"}), payload, ""])
    other_env = ".".join([header, _b64({**claims, "env": "live"}), signature])
    expired = operator.token(player, ttl_seconds=1)
    # The gateway allows 5 s of clock leeway (auth.CLOCK_LEEWAY_SECONDS) past `exp`.
    expired_at = time.monotonic() + 1 + 5 + 0.5
    for forged in (tampered, bad_signature, alg_none, other_env, "not-a-token", expired):
        if forged == expired:
            time.sleep(max(0.0, expired_at - time.monotonic()))
        headers = {"Authorization": f"Bearer {forged}"}
        r = gateway.post("/v1/redemptions", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                         json={"offer": item})
        assert r.status_code == 401, (forged, r.text)
        assert gateway.get("/v1/wallet/balances", headers=headers).status_code == 401
    assert databases.value("redemption", f"SELECT count(*) FROM redemptions WHERE item_id = '{item}'") == "0"
