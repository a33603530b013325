"""Scenarios 6, 7 and 8 of issue 6 on the real processes, through the real demo partner.

6. Duplicate delivery: fulfillment-service killed (failpoint, SIGKILL) after a job's effect is committed and before
   the ack, or after the provider answered and before the answer is recorded; redemption-service killed after a
   result is applied and before its ack. Restarted without the failpoint, the redelivery adds nothing: one code,
   one provider effect, one status move.
7. Poison jobs: a provider that fails every call is given up on its last delivery and refunded; a job that kills
   the consumer on every delivery never reaches that code, and is refunded by the dead-letter path (the server's
   max-deliveries advisory, kept in a stream and read by fulfillment-service).
8. Provider faults: 500s, 429 with Retry-After, a timeout after success, connection resets: each completed
   redemption had exactly one effect at the provider.

fulfillment-service runs with short timers for the module (ACK_WAIT, MAX_DELIVERIES, PROVIDER_*), so every fault
settles in seconds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from local_runner.invariants import assert_provider_effects

FULFILLMENT = "fulfillment-service"
REDEMPTION = "redemption-service"
MAX_DELIVERIES = 3
# The databases were migrated when the platform started: restarts skip it (they are most of this module's time).
FAST = {"ACK_WAIT_SECONDS": "1", "MAX_DELIVERIES": str(MAX_DELIVERIES), "PROVIDER_TIMEOUT_SECONDS": "1",
        "PROVIDER_MAX_ATTEMPTS": "3", "PROVIDER_RETRY_MIN_WAIT_SECONDS": "0.1",
        "PROVIDER_RETRY_MAX_WAIT_SECONDS": "1", "MIGRATE_ON_START": "false",
        # A provider attempt's lease, just over its calls' bound (3 x (1 + 1) s): a replica killed mid-call holds
        # the job this long, so the restarted one takes it over in seconds rather than after the default 90.
        "PROVIDER_LEASE_SECONDS": "8"}
# Code-pool jobs through JetStream only, as when Redeem's inline call failed: the consumer's own crash points.
NO_INLINE = {"INLINE_FULFILMENT_STRATEGIES": "", "MIGRATE_ON_START": "false"}
# An applied result whose ack was lost comes back after this (default 30 s).
FAST_RESULTS = {"RESULTS_ACK_WAIT_SECONDS": "2", **NO_INLINE}


class FulfillmentRuns:
    """fulfillment-service's settings for this module: restarted only when a test needs other ones."""

    def __init__(self, platform, restart) -> None:  # type: ignore[no-untyped-def]
        self.platform, self.restart, self.env = platform, restart, None

    def start(self, env: dict[str, str]) -> None:
        self.restart(self.platform, FULFILLMENT, env)
        self.env = env

    def ensure(self, env: dict[str, str]) -> None:
        if self.env != env:
            self.start(env)

    def forget(self) -> None:
        """It was started outside (a supervisor's restart): the next ensure restarts it."""
        self.env = None


@pytest.fixture(scope="module")
def fulfillment(platform, restart) -> Iterator[FulfillmentRuns]:  # type: ignore[no-untyped-def]
    runs = FulfillmentRuns(platform, restart)
    yield runs
    if runs.env is not None:
        restart(platform, FULFILLMENT)


class Partner:
    """The demo partner: its routes, and what it saw per Idempotency-Key."""

    def __init__(self, platform) -> None:  # type: ignore[no-untyped-def]
        self.url = f"http://127.0.0.1:{platform.s.partner_port}"
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        self.reset_url = f"http://127.0.0.1:{self.http.get('/faults').json()['reset_port']}"

    def deliveries(self, key: str) -> dict[str, int]:
        r = self.http.get(f"/faults/deliveries/{key}")
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def partner(platform) -> Iterator[Partner]:  # type: ignore[no-untyped-def]
    kept = Partner(platform)
    yield kept
    kept.http.close()


def _redeem(gateway, auth: dict[str, str], item: str) -> str:
    r = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, json={"offer": item},
                     timeout=60.0)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _stream_messages(platform, stream: str) -> int:  # type: ignore[no-untyped-def]
    """Messages still in a stream (all are work queues: a message leaves when it is acked or deleted)."""
    jsz = httpx.get(f"http://127.0.0.1:{platform.s.nats_monitor_port}/jsz",
                    params={"accounts": "true", "streams": "true"}, timeout=5.0).json()
    for account in jsz.get("account_details", []):
        for detail in account.get("stream_detail", []):
            if detail["name"] == stream:
                return int(detail["state"]["messages"])
    raise AssertionError(f"no stream {stream} in {jsz}")


def _eventually(check, within: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what}: not true after {within:.0f}s"
        time.sleep(0.25)


def _results_applied(databases, rid: str) -> int:  # type: ignore[no-untyped-def]
    """How many results redemption-service applied to this redemption (each one a status move)."""
    return int(databases.value("redemption", f"SELECT count(*) FROM processed_events WHERE redemption_id = '{rid}'"))


# ---- 6. duplicate delivery ------------------------------------------------------------------------------------


@pytest.fixture
def jobs_over_jetstream_only(platform, restart) -> Iterator[None]:  # type: ignore[no-untyped-def]
    restart(platform, REDEMPTION, NO_INLINE)
    yield
    restart(platform, REDEMPTION, {"MIGRATE_ON_START": "false"})


def test_code_job_killed_after_its_commit_assigns_one_code(platform, gateway, operator, databases, ledger,
                                                           fulfillment, killed, rng, jobs_over_jetstream_only) -> None:
    item = ledger.item(stock=2, price=rng.randint(5, 20))
    _, auth = operator.new_player(gems=100)
    fulfillment.start({**FAST, "FAILPOINTS": "fulfillment.after_commit"})
    rid = _redeem(gateway, auth, item)
    killed(platform, FULFILLMENT)
    # The code is assigned and the result is in the outbox; the job was never acked.
    assert databases.value("fulfillment", f"SELECT count(*) FROM code_pool WHERE assigned_to = '{rid}'") == "1"
    fulfillment.start(FAST)
    ledger.assert_all()
    assert [(r["id"], r["status"]) for r in ledger.redemptions()] == [(rid, "COMPLETED")]
    assert databases.value("fulfillment", f"SELECT count(*) FROM code_pool WHERE assigned_to = '{rid}'") == "1"
    # The redelivered job was taken (and acked) with no second effect; one result moved the redemption.
    _eventually(lambda: _stream_messages(platform, "FULFILLMENT_JOBS") == 0, 20, "the redelivered job acked")
    assert _results_applied(databases, rid) == 1


@pytest.mark.parametrize("strategy", ["webhook", "bonus"])
def test_provider_job_killed_after_the_answer_has_one_effect(platform, gateway, operator, databases, ledger,
                                                             fulfillment, killed, partner, rng, strategy: str) -> None:
    if strategy == "webhook":
        item = ledger.item(stock=2, price=rng.randint(5, 20), strategy="webhook",
                           fulfillmentConfig={"url": f"{partner.url}/vouchers"})
    else:
        item = ledger.item(stock=2, price=rng.randint(5, 20), strategy="bonus",
                           fulfillmentConfig={"url": f"{partner.url}/bonus", "bonus_amount": 5, "currency": "EUR"})
    _, auth = operator.new_player(gems=100)
    fulfillment.start({**FAST, "FAILPOINTS": "fulfillment.after_provider_answer"})
    rid = _redeem(gateway, auth, item)
    killed(platform, FULFILLMENT)
    assert partner.deliveries(rid) == {"calls": 1, "effects": 1}
    fulfillment.start(FAST)
    ledger.assert_all()
    assert [(r["id"], r["status"]) for r in ledger.redemptions()] == [(rid, "COMPLETED")]
    # Called again with the same Idempotency-Key: the provider answered its first answer and did nothing more.
    seen = partner.deliveries(rid)
    assert seen["calls"] >= 2 and seen["effects"] == 1, seen
    assert_provider_effects(ledger, partner.deliveries)
    assert _results_applied(databases, rid) == 1


def test_result_applied_then_killed_before_its_ack_changes_nothing(platform, gateway, operator, databases, ledger,
                                                                   restart, killed, rng, redeem_later) -> None:
    item = ledger.item(stock=2, price=rng.randint(5, 20))
    _, auth = operator.new_player(gems=100)
    restart(platform, REDEMPTION, {**FAST_RESULTS, "FAILPOINTS": "redemption.after_result_commit"})
    try:
        sender = redeem_later(gateway, auth, item)
        killed(platform, REDEMPTION, within=60.0)
        [r] = ledger.redemptions()
        assert r["status"] == "COMPLETED" and _results_applied(databases, r["id"]) == 1
        assert _stream_messages(platform, "FULFILLMENT_RESULTS") == 1  # applied, never acked
        restart(platform, REDEMPTION, FAST_RESULTS)
        sender.join(60)
        # The result comes back after its ack wait, is seen as a duplicate and acked with no effect.
        _eventually(lambda: _stream_messages(platform, "FULFILLMENT_RESULTS") == 0, 30, "the redelivered result acked")
        ledger.assert_all()
        assert [x["status"] for x in ledger.redemptions()] == ["COMPLETED"]
        assert _results_applied(databases, r["id"]) == 1
    finally:
        restart(platform, REDEMPTION, {"MIGRATE_ON_START": "false"})


# ---- 7. poison jobs -------------------------------------------------------------------------------------------


def test_provider_failing_every_call_is_refunded(gateway, operator, databases, ledger, fulfillment, partner,
                                                rng) -> None:
    fulfillment.ensure(FAST)
    item = ledger.item(stock=3, price=rng.randint(5, 20), strategy="webhook",
                       fulfillmentConfig={"url": f"{partner.url}/faults/down/vouchers"})
    player, auth = operator.new_player(gems=100)
    rid = _redeem(gateway, auth, item)
    ledger.assert_all()
    [r] = ledger.redemptions()
    assert r["status"] == "CANCELED", r
    assert databases.value("redemption", f"SELECT failure_code FROM redemptions WHERE id = '{rid}'") == \
        "PROVIDER_UNAVAILABLE"
    # Every attempt of every delivery, and then no more.
    seen = partner.deliveries(rid)
    assert seen["calls"] >= MAX_DELIVERIES * int(FAST["PROVIDER_MAX_ATTEMPTS"]) and seen["effects"] == 0, seen
    assert_provider_effects(ledger, partner.deliveries)
    balance = gateway.get("/v1/wallet/balances", headers=auth).json()["balances"]
    assert [b["amount"] for b in balance if b["pointType"] == "gems"] == [100], (player, balance)


def _start_as_a_supervisor(platform, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Starts fulfillment-service again without waiting for its health: it may die before it is healthy."""
    platform.procs.pop(FULFILLMENT, None)
    shared = platform.s.service_env
    platform.s.service_env = {**shared, **env}
    try:
        platform.start_service(platform.spec(FULFILLMENT))
    finally:
        platform.s.service_env = shared


def test_job_killing_every_delivery_is_dead_lettered_and_refunded(platform, gateway, operator, databases, ledger,
                                                                  fulfillment, rng, jobs_over_jetstream_only) -> None:
    item = ledger.item(stock=2, price=rng.randint(5, 20))
    _, auth = operator.new_player(gems=100)
    # Two deliveries: fewer restarts (a second each on this machine), the same path.
    deliveries = 2
    poisoned = {**FAST, "MAX_DELIVERIES": str(deliveries), "FAILPOINTS": "fulfillment.before_job"}
    fulfillment.start(poisoned)
    rid = _redeem(gateway, auth, item)

    def status() -> str:
        return databases.value("redemption", f"SELECT status FROM redemptions WHERE id = '{rid}'")

    kills, deadline = 0, time.monotonic() + 60
    while status() != "CANCELED":
        proc = platform.procs[FULFILLMENT]
        if proc.poll() is not None:
            assert proc.returncode == -9, platform.log_tail(FULFILLMENT)
            kills += 1
            _start_as_a_supervisor(platform, poisoned)
            fulfillment.forget()
        assert time.monotonic() < deadline, f"not refunded after {kills} kills: {status()}"
        time.sleep(0.2)
    print(f"[reliability] poison job: refunded after {kills} kills")
    assert kills >= deliveries
    fulfillment.start(FAST)
    ledger.assert_all()
    assert databases.rows("redemption", f"SELECT status, failure_code FROM redemptions WHERE id = '{rid}'") == \
        [["CANCELED", "FULFILLMENT_ERROR"]]
    assert databases.value("fulfillment", f"SELECT state FROM jobs WHERE redemption_id = '{rid}'") == "failed"
    assert databases.value("fulfillment", f"SELECT count(*) FROM code_pool WHERE assigned_to = '{rid}'") == "0"
    # The dead letter was settled, and the given-up job (and any copy) left the jobs stream.
    _eventually(lambda: _stream_messages(platform, "FULFILLMENT_DEAD_LETTERS") == 0, 20, "dead letters settled")
    _eventually(lambda: _stream_messages(platform, "FULFILLMENT_JOBS") == 0, 20, "no job left in the stream")


# ---- 8. provider faults ---------------------------------------------------------------------------------------


def test_provider_faults_leave_exactly_one_effect(operator, ledger, fulfillment, partner, rng, redeem_at_once) -> None:
    fulfillment.ensure(FAST)
    # Fewer failing calls than the attempts of every delivery: each one ends COMPLETED. Some need a second
    # delivery (more failures than attempts in one).
    routes = {
        "flaky": f"{partner.url}/faults/flaky/vouchers?times={rng.randint(1, 4)}",
        "throttled": f"{partner.url}/faults/throttled/vouchers?times={rng.randint(1, 3)}&retry_after=0.5",
        # Issued, then answered after the platform's timeout (PROVIDER_TIMEOUT_SECONDS = 1).
        "slow": f"{partner.url}/faults/slow/vouchers?times=1&delay=2",
        "reset": f"{partner.reset_url}/vouchers?times={rng.randint(1, 4)}",
    }
    print(f"[reliability] provider faults: {routes}")
    items = {kind: ledger.item(stock=3, price=rng.randint(5, 20), strategy="webhook", fulfillmentConfig={"url": url})
             for kind, url in routes.items()}
    orders = [(operator.new_player(gems=100)[1], item) for item in items.values() for _ in range(rng.randint(1, 2))]
    statuses = [r.status_code for r in redeem_at_once(
        [({**auth, "Idempotency-Key": uuid.uuid4().hex}, {"offer": item}) for auth, item in orders])]
    assert all(s == 201 for s in statuses), statuses
    ledger.assert_all(within=60)
    done = ledger.redemptions()
    assert [r["status"] for r in done] == ["COMPLETED"] * len(orders), done
    assert_provider_effects(ledger, partner.deliveries)
    by_item = {r["item"]: r["id"] for r in done}
    for kind, item in items.items():
        seen = partner.deliveries(by_item[item])
        assert seen["calls"] >= 2, (kind, seen)  # the fault happened, then the retry with the same key
