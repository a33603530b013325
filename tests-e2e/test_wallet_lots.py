"""Points in lots with an expiry, through the gateway (issue 16, item 1): a grant with `expiresAt` makes a lot the
wallet shows, with what expires within 30 days; a grant that would expire in the past is refused and writes
nothing; a lot whose expiry passed is expired by the wallet's sweep with an `expire` transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from local_runner.invariants import eventually


def _instant(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def _gems(gateway, auth: dict[str, str]) -> dict:  # type: ignore[no-untyped-def]
    balances = gateway.get("/v1/wallet/balances", headers=auth)
    assert balances.status_code == 200, balances.text
    return next(b for b in balances.json()["balances"] if b["pointType"] == "gems")


def test_a_grant_with_an_expiry_shows_as_a_lot_and_in_what_expires_within_30_days(gateway, operator) -> None:
    player, auth = operator.new_player(gems=100)                  # never expires
    soon, later = _instant(timedelta(days=3)), _instant(timedelta(days=45))
    operator.grant(player, 30, expires_at=soon)
    operator.grant(player, 20, expires_at=later)
    gems = _gems(gateway, auth)
    assert gems["amount"] == 150
    assert [(lot["amount"], lot["granted"]) for lot in gems["lots"]] == [(30, 30), (20, 20), (100, 100)]
    assert datetime.fromisoformat(gems["lots"][0]["expiresAt"]) == datetime.fromisoformat(soon)
    assert gems["lots"][2]["expiresAt"] is None
    assert (gems["expiringWithin30Days"], gems["expiringWithin30DaysDisplay"]) == (30, "30")


def test_a_grant_that_would_expire_in_the_past_is_refused_and_writes_nothing(gateway, operator) -> None:
    player, auth = operator.new_player(gems=10)
    refused = operator.http.post(f"/v1/admin/players/{player}/grants", headers={"Idempotency-Key": uuid.uuid4().hex},
                                 json={"pointType": "gems", "amount": 5, "expiresAt": _instant(-timedelta(seconds=5))})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "VALIDATION_ERROR"
    assert _gems(gateway, auth)["amount"] == 10
    assert len(gateway.get("/v1/wallet/transactions", headers=auth).json()["transactions"]) == 1


def test_a_lot_whose_expiry_passed_is_expired_by_the_sweep_with_an_expire_transaction(gateway, operator) -> None:
    player, auth = operator.new_player(gems=40)
    operator.grant(player, 25, expires_at=_instant(timedelta(seconds=1.5)))
    assert _gems(gateway, auth)["amount"] == 65

    def expired() -> list[dict]:
        kinds = gateway.get("/v1/wallet/transactions", headers=auth).json()["transactions"]
        found = [t for t in kinds if t["kind"] == "expire"]
        assert found, kinds
        return found

    [entry] = eventually(expired, 20, "the expire transaction")
    assert (entry["amount"], entry["balanceAfter"]) == (-25, 40)
    gems = _gems(gateway, auth)
    assert (gems["amount"], [lot["amount"] for lot in gems["lots"]], gems["expiringWithin30Days"]) == (40, [40], 0)
