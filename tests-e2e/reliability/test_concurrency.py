"""Scenarios 1-3 of issue 6: oversell, double spend and idempotency under concurrency, through the gateway on the
real processes. Each scenario's invariants are checked from the databases by the `ledger` fixture."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from local_runner.invariants import eventually


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.mark.parametrize("stock", [0, 1, 5])
@pytest.mark.parametrize("redeemers", [10, 30])
def test_concurrent_redeems_never_oversell(operator, ledger, rng, stock: int, redeemers: int, redeem_at_once) -> None:
    item = ledger.item(stock=stock, price=rng.randint(1, 20))
    players = [operator.new_player(gems=100) for _ in range(redeemers)]
    rng.shuffle(players)
    responses = redeem_at_once([({**h, **_key()}, {"offer": item}) for _, h in players])
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == min(stock, redeemers), statuses
    assert all(r.json()["code"] == "OUT_OF_STOCK" for r in responses if r.status_code != 201)


def test_one_player_cannot_spend_more_than_the_balance(gateway, operator, ledger, rng, redeem_at_once) -> None:
    price = rng.randint(5, 15)
    affordable = rng.randint(2, 6)
    item = ledger.item(stock=100, price=price)
    _, auth = operator.new_player(gems=price * affordable + price - 1)
    attempts = affordable * 3
    responses = redeem_at_once([({**auth, **_key()}, {"offer": item}) for _ in range(attempts)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == affordable, statuses
    assert all(r.json()["code"] == "INSUFFICIENT_POINTS" for r in responses if r.status_code != 201)
    balances = gateway.get("/v1/wallet/balances", headers=auth).json()["balances"]
    assert next(b["amount"] for b in balances if b["pointType"] == "gems") == price - 1


def test_one_key_fifty_times_at_once_makes_one_redemption(operator, databases, ledger, rng, redeem_at_once) -> None:
    item = ledger.item(stock=10, price=rng.randint(1, 30))
    player, auth = operator.new_player(gems=1_000)
    headers = {**auth, "Idempotency-Key": f"storm-{rng.getrandbits(64):x}"}
    responses = redeem_at_once([(headers, {"offer": item})] * 50)
    ok = [r for r in responses if r.status_code in (200, 201)]
    busy = [r for r in responses if r.status_code == 409]
    assert len(ok) + len(busy) == 50, [r.text for r in responses if r.status_code not in (200, 201, 409)]
    assert all(r.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS" for r in busy)
    assert len({r.json()["id"] for r in ok}) == 1
    made = databases.value("redemption", f"SELECT count(*) FROM redemptions WHERE player_id = '{player}'")
    assert made == "1"


def test_a_key_with_another_body_or_player_changes_nothing(gateway, operator, databases, ledger) -> None:
    item, other_item = ledger.item(stock=10), ledger.item(stock=10)
    player, auth = operator.new_player(gems=500)
    stranger, stranger_auth = operator.new_player(gems=500)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = gateway.post("/v1/redemptions", headers={**auth, **key}, json={"offer": item})
    assert first.status_code == 201, first.text
    again = gateway.post("/v1/redemptions", headers={**auth, **key}, json={"offer": item})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    reused = gateway.post("/v1/redemptions", headers={**auth, **key}, json={"offer": other_item})
    assert (reused.status_code, reused.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    conflict = gateway.post("/v1/redemptions", headers={**stranger_auth, **key}, json={"offer": item})
    assert (conflict.status_code, conflict.json()["code"]) == (409, "IDEMPOTENCY_KEY_CONFLICT")
    assert databases.value("redemption", f"SELECT count(*) FROM redemptions WHERE player_id IN ('{player}', "
                                         f"'{stranger}')") == "1"


@pytest.mark.parametrize("key", ["k" * 201, "k" * 5_000, ""])
def test_keys_too_long_or_empty_are_handled(gateway, operator, databases, ledger, key: str) -> None:
    item = ledger.item(stock=10)
    player, auth = operator.new_player(gems=100)
    r = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": key}, json={"offer": item})
    if key:
        # Over the limit: refused as bad input, nothing made.
        assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_ERROR"), r.text
        assert databases.value("redemption", f"SELECT count(*) FROM redemptions WHERE player_id = '{player}'") == "0"
    else:
        # An empty key is a request without one: accepted once, not replayed.
        assert r.status_code in (201, 400, 422), r.text


def test_redeems_cancels_and_the_expiry_sweep_racing_on_one_player_lose_no_point(
        gateway, operator, databases, ledger, rng, platform) -> None:
    """Issue 16: debits (redeems), refunds (cancels) and the wallet's expiry sweep (every second here) race on one
    player whose lots lapse mid-race; the ledger's invariants then find every point in a lot, spent, or expired
    once: balance == ledger == lots, each debit's takes add up to it, each refund gives back its debit."""
    price = rng.randint(3, 9)
    item = ledger.item(stock=200, price=price, strategy="manual")      # stays OPEN, so it can be canceled
    player, auth = operator.new_player(gems=60)
    soon = datetime.now(UTC)
    for seconds, amount in ((1.0, 40), (2.0, 40), (3.0, 30)):
        operator.grant(player, amount, expires_at=(soon + timedelta(seconds=seconds)).isoformat())

    async def race() -> None:
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=60.0) as client:
            async def redeem(delay: float) -> None:
                await asyncio.sleep(delay)
                made = await client.post("/v1/redemptions", headers={**auth, **_key()}, json={"offer": item})
                assert made.status_code in (201, 422), made.text          # 422: INSUFFICIENT_POINTS
                if made.status_code == 201 and rng.random() < 0.5:
                    await asyncio.sleep(rng.random() * 1.5)
                    canceled = await client.post(f"/v1/redemptions/{made.json()['id']}/cancel", headers=auth,
                                                 json={"reason": "race"})
                    assert canceled.status_code == 200, canceled.text

            await asyncio.gather(*(redeem(rng.random() * 3.5) for _ in range(36)))

    asyncio.run(race())

    def swept() -> None:
        left = databases.value("wallet", f"""SELECT count(*) FROM point_lots WHERE player_id = '{player}'
                                             AND remaining > 0 AND expires_at <= now()""")
        assert left == "0", f"{left} lapsed lots not expired yet"

    eventually(swept, 20, "the sweep")
    ledger.assert_all()
    gems = next(b for b in gateway.get("/v1/wallet/balances", headers=auth).json()["balances"]
                if b["pointType"] == "gems")
    assert gems["amount"] == sum(lot["amount"] for lot in gems["lots"]) >= 0
