"""The inline code-pool path under kill -9 and outages (issue 11): Redeem asks fulfillment-service for the code
directly; the job's outbox row and JetStream are the durable path. At each crash point the redemption ends
COMPLETED with exactly one code, or is refunded, and every invariant holds:

- fulfillment-service killed after the code is claimed and committed, before it answers;
- redemption-service killed after the answer came, before the redemption is completed with it;
- fulfillment-service unreachable during the redeem: the answer is pending, the code comes when it is back.
"""

from __future__ import annotations

import uuid

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


def test_fulfillment_killed_after_claiming_the_code_before_answering(platform, databases, gateway, operator, ledger,
                                                                     restart, killed, redeem_later) -> None:
    item = ledger.item(stock=2, price=20)
    _, auth = operator.new_player(gems=100)
    restart(platform, FULFILLMENT, {**QUICK, "FAILPOINTS": "fulfillment.fulfil_now_after_commit"})
    try:
        sender = redeem_later(gateway, auth, item)
        killed(platform, FULFILLMENT)
        rid = _only_redemption(ledger)
        assert _codes_of(databases, rid) == 1, "the code was claimed and committed before the kill"
        restart(platform, FULFILLMENT, QUICK)
        sender.join(60)
        # The inline call failed: the job went out through JetStream, and fulfillment answered it with the
        # result it had recorded.
        _until_completed(databases, rid, "completed the durable way")
        ledger.assert_all()
        assert _codes_of(databases, rid) == 1
    finally:
        restart(platform, FULFILLMENT, {"MIGRATE_ON_START": "false"})


def test_redemption_killed_after_the_inline_answer_before_completing(platform, databases, gateway, operator, ledger,
                                                                     restart, killed, redeem_later) -> None:
    item = ledger.item(stock=2, price=20)
    _, auth = operator.new_player(gems=100)
    restart(platform, REDEMPTION, {**QUICK, "FAILPOINTS": "redemption.inline_before_apply"})
    try:
        sender = redeem_later(gateway, auth, item)
        killed(platform, REDEMPTION, within=60.0)
        rid = _only_redemption(ledger)
        assert _status(databases, rid) == "OPEN", "paid and confirmed; the answer's code was never applied"
        assert _codes_of(databases, rid) == 1
        restart(platform, REDEMPTION, QUICK)
        sender.join(60)
        # After its grace period the job's outbox row is published; fulfillment answers the job event with the
        # recorded result: the same code.
        _until_completed(databases, rid, "completed the durable way")
        ledger.assert_all()
        assert _codes_of(databases, rid) == 1
    finally:
        restart(platform, REDEMPTION, {"MIGRATE_ON_START": "false"})


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
