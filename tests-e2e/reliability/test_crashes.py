"""Scenarios 4 and 10 of issue 6: kill -9 at each step of the saga (failpoints: the process really dies), in
wallet and catalog after their commit and before their answer, and during compensations; restart; every invariant
holds once recovery ran. Only the affected service is restarted, with the failpoint named in FAILPOINTS; recovery
timers are shortened for the module so the suite stays fast."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

REDEMPTION = "redemption-service"
# Recovery claims a saga untouched this long; short here so each crash settles in seconds.
# A result fetched by a process that was then killed comes back after RESULTS_ACK_WAIT_SECONDS: short here too.
FAST_RECOVERY = {"SAGA_STALE_SECONDS": "3", "SAGA_RECOVERY_INTERVAL_SECONDS": "0.5",
                 "RECONCILE_AFTER_SECONDS": "5", "RECONCILE_INTERVAL_SECONDS": "1", "RESULTS_ACK_WAIT_SECONDS": "3"}


def _cancel(gateway, auth: dict[str, str], item: str) -> threading.Thread:
    """Redeems (the process has not reached its failpoint yet), then cancels from a thread."""
    r = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, json={"offer": item})
    assert r.status_code == 201, r.text

    def send() -> None:
        with httpx.Client(base_url=str(gateway.base_url), timeout=60.0) as client:
            try:
                client.post(f"/v1/redemptions/{r.json()['id']}/cancel", headers=auth, json={})
            except httpx.HTTPError:
                pass
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender


@pytest.fixture(scope="module", autouse=True)
def fast_recovery(platform, restart) -> Iterator[None]:
    restart(platform, REDEMPTION, FAST_RECOVERY)
    yield
    restart(platform, REDEMPTION)


# Each point and the status its redemption must end in: before the pivot it fails with nothing charged; after it,
# it is fulfilled; a crash while compensating or canceling is finished by recovery.
SAGA_POINTS = {
    "redemption.after_claim": "FAILED",
    "redemption.after_reserve": "FAILED",
    "redemption.after_debit": "FAILED",
    "redemption.before_pivot": "FAILED",
    "redemption.after_pivot": "COMPLETED",
    "redemption.compensated_debit": "FAILED",
    "redemption.undid_refund_points": "CANCELED",
}


def test_redemption_killed_at_each_saga_step_loses_nothing(platform, gateway, operator, ledger, restart, killed,
                                                            rng, redeem_later) -> None:
    """One restart per point: the process started with the next failpoint also recovers the previous crash."""
    points = list(SAGA_POINTS)
    rng.shuffle(points)
    expected: dict[str, str] = {}
    for point in points:
        if point == "redemption.undid_refund_points":
            # A manual item waits for an operator; the player cancels it: the process dies between the refund
            # and the release.
            item, gems = ledger.item(stock=2, price=30, strategy="manual"), 100
        elif point == "redemption.compensated_debit":
            # Too poor: the debit is refused, the refund (registered before the debit) runs, then the process
            # dies before the stock is released.
            item, gems = ledger.item(stock=2, price=50), 10
        else:
            item, gems = ledger.item(stock=2, price=25), 100
        expected[item] = SAGA_POINTS[point]
        _, auth = operator.new_player(gems=gems)
        restart(platform, REDEMPTION, {**FAST_RECOVERY, "FAILPOINTS": point})
        if point == "redemption.undid_refund_points":
            sender = _cancel(gateway, auth, item)
        else:
            sender = redeem_later(gateway, auth, item)
        print(f"[reliability] {point}: item {item}")
        killed(platform, REDEMPTION, within=60.0)
        sender.join(60)
    restart(platform, REDEMPTION, FAST_RECOVERY)
    ledger.assert_all()
    outcome = {r["item"]: r["status"] for r in ledger.redemptions()}
    assert outcome == expected


@pytest.mark.parametrize(("service", "point"), [
    ("wallet-service", "wallet.after_debit_commit"),
    ("wallet-service", "wallet.after_refund_commit"),
    ("catalog-service", "catalog.after_reserve_commit"),
    ("catalog-service", "catalog.after_release_commit"),
])
def test_dependency_killed_after_commit_before_answer(platform, gateway, operator, ledger, restart, killed,
                                                      redeem_later, service: str, point: str) -> None:
    """The call landed but its answer never came; the saga's retries and compensations fail while the service is
    down (a refund that fails several times), and recovery finishes once it is back."""
    item = ledger.item(stock=2, price=30)
    # A refund runs only on a failure: make the debit refused so the compensations run.
    _, auth = operator.new_player(gems=10 if point.endswith(("refund_commit", "release_commit")) else 100)
    restart(platform, service, {"FAILPOINTS": point})
    sender = redeem_later(gateway, auth, item)
    killed(platform, service)
    restart(platform, service)
    sender.join(60)
    ledger.assert_all()
    assert [r["status"] for r in ledger.redemptions()] == ["FAILED"]
