"""Issue 2's thin slice through every layer: a token from the gateway, points granted through the wallet's gRPC
API, the balance read back through the gateway."""

from __future__ import annotations

import uuid

import grpc
from rewards.common.v1 import common_pb2
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc


def test_token_grant_balance(platform, demo, gateway) -> None:
    player = f"slice-{uuid.uuid4().hex[:8]}"
    minted = gateway.post("/v1/auth/token", headers={"x-client-id": demo["client_id"],
                                                     "x-client-secret": demo["client_secret"]},
                          json={"player_id": player})
    assert minted.status_code == 200, minted.text
    token = minted.json()["access_token"]

    scope = common_pb2.Scope(tenant_id=demo["tenant_id"], environment=common_pb2.ENVIRONMENT_SANDBOX)
    with grpc.insecure_channel(demo["grpc"]["wallet"]) as channel:
        wallet = wallet_pb2_grpc.WalletServiceStub(channel)
        granted = wallet.GrantPoints(wallet_pb2.GrantPointsRequest(
            scope=scope, player_id=player, point_type="coins", amount=15_050, idempotency_key=f"slice-{player}"),
            timeout=5)
    assert granted.entry.balance_after == 15_050

    balances = gateway.get("/v1/wallet/balances", headers={"Authorization": f"Bearer {token}"})
    assert balances.status_code == 200, balances.text
    body = balances.json()
    assert body["playerId"] == player
    coins = next(b for b in body["balances"] if b["pointType"] == "coins")
    assert (coins["amount"], coins["scale"], coins["display"]) == (15_050, 2, "150.50")
    assert "x-request-id" in balances.headers


def test_balance_needs_a_valid_token(gateway) -> None:
    assert gateway.get("/v1/wallet/balances").status_code == 401
    tampered = gateway.get("/v1/wallet/balances", headers={"Authorization": "Bearer abc.def.ghi"})
    assert tampered.status_code == 401
    assert tampered.headers["content-type"].startswith("application/problem+json")
