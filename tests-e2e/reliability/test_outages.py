"""Scenarios 5 and 9 of issue 6: NATS stopped during traffic then restarted (paid jobs wait in the outbox and are
fulfilled after), and a wallet slower than the saga's deadline (the debit lands after the caller gave up: still
exactly one debit, refunded once)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx


def _statuses(redeem_at_once: Callable[..., list[httpx.Response]], auths: list[dict[str, str]], item: str) -> list[int]:
    requests = [({**a, "Idempotency-Key": uuid.uuid4().hex}, {"offer": item}) for a in auths]
    return [r.status_code for r in redeem_at_once(requests)]


def test_nats_outage_during_traffic_delays_but_loses_nothing(platform, operator, ledger, rng, redeem_at_once) -> None:
    assert platform.nats is not None
    item = ledger.item(stock=20, price=rng.randint(1, 10))
    auths = [operator.new_player(gems=100)[1] for _ in range(rng.randint(6, 12))]
    before = _statuses(redeem_at_once, auths[:3], item)
    platform.nats.stop()
    try:
        during = _statuses(redeem_at_once, auths[3:], item)
        # Paid while NATS is down: accepted (OPEN), the job waits in the outbox.
        assert all(s == 201 for s in during), during
        time.sleep(rng.uniform(1.0, 3.0))
    finally:
        platform.nats.start()
    assert all(s == 201 for s in before), before
    # Every job is published and fulfilled once NATS is back (consumers reconnect with backoff).
    ledger.assert_all(within=60)
    statuses = [r["status"] for r in ledger.redemptions()]
    assert statuses.count("COMPLETED") == len(auths), statuses


def test_a_wallet_slower_than_the_deadline_debits_once(platform, gateway, operator, databases, ledger,
                                                       restart) -> None:
    item = ledger.item(stock=5, price=40)
    player, auth = operator.new_player(gems=100)
    # Each debit commits, then answers after the caller's deadline (CALL_TIMEOUT_SECONDS = 3): every retry
    # times out on the replay too, the saga gives up and refunds.
    restart(platform, "wallet-service", {"FAILPOINTS": "wallet.slow_debit", "FAILPOINT_SLEEP_SECONDS": "4"})
    try:
        r = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                         json={"offer": item}, timeout=60.0)
        assert r.status_code >= 500 or r.status_code == 201, r.text
    finally:
        restart(platform, "wallet-service")
    debits = databases.value("wallet", f"SELECT count(*) FROM ledger_entries WHERE player_id = '{player}' "
                                       "AND kind = 'debit'")
    assert debits == "1"
    ledger.assert_all()
