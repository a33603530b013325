"""What an idempotency key keeps after a failure, on the real processes through the gateway: an attempt that
ended FAILED with nothing charged releases its key, so the same request again is processed afresh and charged
once (seed 001 keeps "the first successful redemption"); an attempt that charged is replayed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from local_runner.invariants import Ledger, eventually

REDEMPTION = "redemption-service"
WALLET = "wallet-service"
# The e2e platform recovers a saga untouched for 10 s, every 2 s (tests-e2e/conftest.py).
RECOVERY_BOUND_SECONDS = 60.0


@pytest.fixture
def ledger(databases, operator) -> Iterator[Ledger]:
    """The items of the test, whose every redemption attempt is checked against the invariants after it."""
    kept = Ledger(databases, operator)
    yield kept
    kept.assert_all()


def _gateway_admin(platform, *args: str) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run([sys.executable, "-m", "gateway.admin", *args], check=False,
                          env=platform.service_env(platform.spec("gateway")), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)


def _retried(send, within: float = RECOVERY_BOUND_SECONDS) -> httpx.Response:  # type: ignore[no-untyped-def]
    """Sends until the answer is not one to come back for (409 in progress, 503), waiting its Retry-After."""
    give_up_at = time.monotonic() + within
    while True:
        reply = send()
        if reply.status_code not in (409, 503) or time.monotonic() > give_up_at:
            return reply
        assert "retry-after" in reply.headers, f"{reply.status_code} without Retry-After: {reply.text}"
        time.sleep(float(reply.headers["retry-after"]))


def _ledger_kinds(databases, player: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rows = databases.rows("wallet", f"SELECT kind, count(*) FROM ledger_entries WHERE player_id = '{player}' "
                                    "AND kind IN ('debit', 'refund') GROUP BY kind")
    return {kind: int(n) for kind, n in rows}


def _statuses(databases, item: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [s for (s,) in databases.rows("redemption", f"SELECT status FROM redemptions WHERE item_id = '{item}' "
                                                       "ORDER BY number")]


def test_coins_claim_refused_for_balance_then_the_same_uuid_succeeds_once(platform, gateway, operator, databases,
                                                                        ledger) -> None:
    """Seed 001: a claim refused INSUFFICIENT_BALANCE, coins granted, the same uuid again: processed (not
    already_processed), debited once; then that success is what the uuid answers."""
    _gateway_admin(platform, "set-brand-id", "--tenant", "demo", "--brand-id", "1")
    item = operator.create_item(id=uuid.uuid4().hex[:24], name="Coin voucher", stock=3, fulfillmentStrategy="code_pool",
                                prices=[{"pointType": "coins", "amount": 10_000}])["id"]
    ledger.initial_stock[item] = 3
    codes = operator.http.post(f"/v1/admin/items/{item}/codes",
                               json={"codes": [{"code": f"C-{uuid.uuid4().hex[:10]}"} for _ in range(3)]})
    assert codes.status_code in (200, 201), codes.text
    player = f"p-{uuid.uuid4().hex[:12]}"
    operator.grant(player, 5_000, "coins")
    headers = {"x-auth-token": operator.token(player)}
    claim = {"shop_item_id": item, "uuid": uuid.uuid4().hex}
    url = "/gateway/coins/redeem/v1/1"

    refused = gateway.post(url, headers=headers, json=claim)
    assert refused.status_code == 422, refused.text
    assert refused.json()["data"]["result"]["code"] == "INSUFFICIENT_BALANCE"
    assert "retry-after" not in refused.headers, "the same claim fails again until coins are granted"

    operator.grant(player, 10_000, "coins")
    claimed = gateway.post(url, headers=headers, json=claim)
    assert claimed.status_code == 200, claimed.text
    data = claimed.json()["data"]
    assert data["success"] is True and data["already_processed"] is False
    assert (data["amount"], data["new_balance"]) == ("100.00", "50.00")

    again = gateway.post(url, headers=headers, json=claim)
    assert again.status_code == 200, again.text
    replay = again.json()["data"]
    assert replay["already_processed"] is True and replay["transaction_id"] == data["transaction_id"]
    assert _ledger_kinds(databases, player) == {"debit": 1}
    assert _statuses(databases, item) == ["FAILED", "COMPLETED"], "the refused attempt stays in the history"


def test_a_503_from_a_stalled_wallet_then_the_same_key_succeeds_once(platform, gateway, operator, databases, ledger,
                                                                      restart) -> None:
    """The debit commits, then answers after the saga's deadline: the saga refunds and the create answers 503
    with Retry-After. Once the wallet is back, the same key is processed afresh (201, not a replay of the 503),
    and the player is charged once in all."""
    item = ledger.item(stock=3, price=40)
    player, auth = operator.new_player(gems=100)
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    restart(platform, WALLET, {"FAILPOINTS": "wallet.slow_debit", "FAILPOINT_SLEEP_SECONDS": "4"})
    try:
        stalled = gateway.post("/v1/redemptions", headers=headers, json={"offer": item}, timeout=60.0)
    finally:
        restart(platform, WALLET)
    assert stalled.status_code == 503, stalled.text
    assert stalled.headers["retry-after"] == "1"

    created = _retried(lambda: gateway.post("/v1/redemptions", headers=headers, json={"offer": item}))
    assert created.status_code == 201, created.text
    assert "idempotent-replayed" not in created.headers
    replay = gateway.post("/v1/redemptions", headers=headers, json={"offer": item})
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == created.json()["id"]
    kinds = _ledger_kinds(databases, player)
    assert kinds["debit"] - kinds.get("refund", 0) == 1, kinds
    balance = operator.http.get(f"/v1/admin/players/{player}").json()["balances"]
    assert [b["amount"] for b in balance if b["pointType"] == "gems"] == [60]


def test_a_create_cut_short_by_a_crash_answers_in_progress_then_the_same_key_succeeds(platform, gateway, operator,
                                                                                      databases, ledger,
                                                                                      restart) -> None:
    """redemption-service dies after the debit: the key answers 409 in progress (Retry-After) until recovery has
    refunded and failed that attempt, then the same key is processed afresh and charged once."""
    item = ledger.item(stock=3, price=30)
    player, auth = operator.new_player(gems=100)
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    restart(platform, REDEMPTION, {"FAILPOINTS": "redemption.after_debit"})
    try:
        cut = gateway.post("/v1/redemptions", headers=headers, json={"offer": item}, timeout=60.0)
        assert cut.status_code >= 500, cut.text

        def dead() -> None:
            assert platform.procs[REDEMPTION].poll() is not None, "redemption-service still running"
        eventually(dead, 30.0, "redemption-service killed by its failpoint")
    finally:
        restart(platform, REDEMPTION)

    # Held while the attempt is unsettled: 409 in progress with Retry-After (asserted by _retried), until recovery.
    created = _retried(lambda: gateway.post("/v1/redemptions", headers=headers, json={"offer": item}))
    assert created.status_code == 201, created.text
    kinds = _ledger_kinds(databases, player)
    assert kinds == {"debit": 2, "refund": 1}, "the cut attempt refunded, the retry charged"
    assert _statuses(databases, item)[0] == "FAILED"
