"""The inline code-pool path under kill -9 and outages (issue 11): Redeem asks fulfillment-service for the code
directly; the job's outbox row and JetStream are the durable path. At each crash point the redemption ends
COMPLETED with exactly one code, or is refunded, and every invariant holds:

- fulfillment-service killed after the code is claimed and committed, before it answers;
- redemption-service killed after the answer came, before the redemption is completed with it;
- fulfillment-service unreachable during the redeem: the answer is pending, the code comes when it is back.
"""

from __future__ import annotations

import uuid

import pytest
from local_runner.invariants import eventually

FULFILLMENT = "fulfillment-service"
REDEMPTION = "redemption-service"
# Restarts skip the migrations (done when the platform started); the relay's fallback poll is short, so a job
# whose inline call a crash cut short goes out soon after its grace period.
QUICK = {"MIGRATE_ON_START": "false", "OUTBOX_POLL_SECONDS": "0.5"}


def _codes_of(databases, rid: str) -> int:  # type: ignore[no-untyped-def]
    return int(databases.value("fulfillment", f"SELECT count(*) FROM code_pool WHERE assigned_to = '{rid}'"))


def _status(databases, rid: str) -> str:  # type: ignore[no-untyped-def]
    return str(databases.value("redemption", f"SELECT status FROM redemptions WHERE id = '{rid}'"))


def _until_completed(databases, rid: str, what: str) -> None:  # type: ignore[no-untyped-def]
    def completed() -> None:
        assert _status(databases, rid) == "COMPLETED"
    eventually(completed, 60, what)


def _only_redemption(ledger) -> str:  # type: ignore[no-untyped-def]
    def one() -> str:
        rows = ledger.redemptions()
        assert len(rows) == 1, rows
        return rows[0]["id"]
    return eventually(one, 30, "the redemption is stored")


# Each crash point and the service it kills.
CRASH_POINTS = {
    # The code was claimed and committed; the inline call fails, so the job goes out through JetStream at once
    # and fulfillment, once back, answers it with the result it recorded.
    "fulfillment.fulfil_now_after_commit": FULFILLMENT,
    # Paid and confirmed, the answer's code never applied: after its grace period the job's outbox row is
    # published, and fulfillment answers the job event with the recorded result, the same code.
    "redemption.inline_before_apply": REDEMPTION,
}


@pytest.mark.parametrize("point", sorted(CRASH_POINTS))
def test_killed_on_the_inline_path_completes_with_one_code(platform, databases, gateway, operator, ledger, restart,
                                                            killed, redeem_later, point: str) -> None:
    service = CRASH_POINTS[point]
    item = ledger.item(stock=2, price=20)
    _, auth = operator.new_player(gems=100)
    restart(platform, service, {**QUICK, "FAILPOINTS": point})
    try:
        sender = redeem_later(gateway, auth, item)
        killed(platform, service, within=60.0)
        rid = _only_redemption(ledger)
        assert _codes_of(databases, rid) == 1, "the code was claimed and committed before the kill"
        if service == REDEMPTION:
            assert _status(databases, rid) == "OPEN", "paid and confirmed; the answer's code never applied"
        restart(platform, service, QUICK)
        sender.join(60)
        _until_completed(databases, rid, "completed the durable way")
        ledger.assert_all()
        assert _codes_of(databases, rid) == 1
    finally:
        restart(platform, service, {"MIGRATE_ON_START": "false"})


def test_fulfillment_unreachable_answers_pending_then_completes_when_it_is_back(platform, databases, gateway,
                                                                                operator, ledger, restart) -> None:
    item = ledger.item(stock=2, price=20)
    _, auth = operator.new_player(gems=100)
    platform.kill_service(FULFILLMENT)
    try:
        r = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                         json={"offer": item}, timeout=60.0)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "OPEN", r.json()
        rid = str(r.json()["id"])
        assert _status(databases, rid) == "OPEN"
    finally:
        restart(platform, FULFILLMENT, QUICK)
    _until_completed(databases, rid, "completed once fulfillment is back")
    ledger.assert_all()
    assert _codes_of(databases, rid) == 1
    restart(platform, FULFILLMENT, {"MIGRATE_ON_START": "false"})
