"""Review holds under attack: holds decided by racing approvals and rejections, others left to the hold's timeout
(REVIEW_HOLD_SECONDS is short in the suites: tests-e2e/conftest.py), and redemption-service killed between a
rejection and its refund; every invariant holds once each hold is decided (termination waits for the timeout)."""

from __future__ import annotations

import asyncio
import threading
import uuid

import httpx

from .test_crashes import FAST_RECOVERY, REDEMPTION


def _held_redemptions(gateway, operator, ledger, count: int) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    item = ledger.item(stock=count, price=10)
    r = operator.http.put(f"/v1/admin/review-rules/items/{item}", json={"alwaysReview": True})
    assert r.status_code == 200, r.text
    ids = []
    for _ in range(count):
        _, auth = operator.new_player(gems=10)
        r = gateway.post("/v1/redemptions", json={"offer": item},
                         headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201 and r.json()["status"] == "AWAITING_APPROVAL", r.text
        ids.append(r.json()["id"])
    return item, ids


def test_racing_decisions_and_the_timeout_settle_every_hold_once(platform, gateway, operator, ledger,
                                                                rng) -> None:  # type: ignore[no-untyped-def]
    _, ids = _held_redemptions(gateway, operator, ledger, 6)
    raced, left = ids[:4], ids[4:]   # the last two are left to the timeout

    async def decide() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0,
                                     headers={"x-api-key": operator.demo["api_key"]}) as client:
            calls = [client.post(f"/v1/admin/reviews/{rid}/{verb}", json={})
                     for rid in raced for verb in rng.sample(["approve", "reject", "approve", "reject"], 4)]
            return list(await asyncio.gather(*calls))

    answers = asyncio.run(decide())
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers if a.status_code not in (200, 409)]
    assert all(a.json()["code"] == "REDEMPTION_NOT_HELD" for a in answers if a.status_code == 409)
    ledger.assert_all()   # termination: approved ones complete, the two left are rejected by the timeout
    statuses = {r["id"]: r["status"] for r in ledger.redemptions()}
    assert all(statuses[rid] in ("COMPLETED", "CANCELED") for rid in raced), statuses
    assert all(statuses[rid] == "CANCELED" for rid in left), statuses
    codes = dict(ledger.databases.rows("redemption", "SELECT id, failure_code FROM redemptions WHERE id IN ("
                                       + ",".join(f"'{rid}'" for rid in left) + ")"))
    assert set(codes.values()) == {"REVIEW_EXPIRED"}, codes


def test_killed_between_a_rejection_and_its_refund_recovery_finishes_it(platform, gateway, operator, ledger,
                                                                       restart, killed) -> None:  # type: ignore[no-untyped-def]
    _, [held] = _held_redemptions(gateway, operator, ledger, 1)
    restart(platform, REDEMPTION, {**FAST_RECOVERY, "FAILPOINTS": "redemption.after_rejection"})

    def reject() -> None:
        with httpx.Client(base_url=platform.gateway_url, timeout=60.0,
                          headers={"x-api-key": operator.demo["api_key"]}) as client:
            try:
                client.post(f"/v1/admin/reviews/{held}/reject", json={"note": "fraud"})
            except httpx.HTTPError:
                pass

    sender = threading.Thread(target=reject, daemon=True)
    sender.start()
    killed(platform, REDEMPTION, within=60.0)
    sender.join(60)
    try:
        restart(platform, REDEMPTION, FAST_RECOVERY)
        ledger.assert_all()
        [row] = ledger.databases.rows("redemption", f"SELECT status, failure_code, review_decision FROM redemptions "
                                                    f"WHERE id = '{held}'")
        assert row == ["CANCELED", "REVIEW_REJECTED", "rejected"]
    finally:
        restart(platform, REDEMPTION)
