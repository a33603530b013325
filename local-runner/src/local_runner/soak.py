"""The long randomized soak of issue 6: `python -m local_runner.soak --minutes 10 --seed 42`.

Starts the whole platform like the e2e tests (free ports, a temporary folder, the demo tenant), runs mixed
traffic (redeems, cancels, quotes, grants) while killing services with SIGKILL (then restarting them) and stopping
NATS for a while; then stops the faults, waits for every redemption to settle, checks every invariant and prints
a table. Each redeem is a client intent (local_runner.soak_intents): one Idempotency-Key, retried as the answer
says; after the faults stop, unfinished intents are retried for a grace period, and the table gives the share that
finally succeeded and the time to success. Exit code 1 when an invariant is violated, a redemption is stuck or that
share is below --min-success. Only 127.0.0.1 is ever called."""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from local_runner.demo import seed as seed_demo
from local_runner.infra import free_port
from local_runner.invariants import PAID, SETTLE_SECONDS, Ledger, eventually
from local_runner.platform import Platform
from local_runner.settings import RunnerSettings
from local_runner.soak_intents import Answer, AvailabilityReport, Intent, Intents, Outcome

KILLABLE = ("catalog-service", "wallet-service", "redemption-service", "fulfillment-service")
REQUEST_TIMEOUT = 20.0
# After the faults stop, unfinished intents are retried this long: a saga left by a kill is recovered after
# SAGA_STALE_SECONDS (5 here) every second, a job re-published after RECONCILE_AFTER_SECONDS (10).
GRACE_SECONDS = 60.0
# Share of the intents that had stock and balance that must finally succeed (percent): since a FAILED attempt
# with nothing charged releases its key (issue 12, item 1), every one of them can.
MIN_SUCCESS_PERCENT = 100.0
# Redeems one traffic thread has under way at once (its players waiting for an answer). Without a bound, a down
# service answers in milliseconds, the thread starts intents ever faster and then drains hundreds of them through
# one connection: the time to success measured that backlog (p50 ~100 s in a 10-minute run), not the platform.
MAX_PENDING_INTENTS = 4


class Databases:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def rows(self, service_db: str, sql: str) -> list[list[str]]:
        assert self.platform.postgres is not None
        return [line.split("|") for line in self.platform.postgres.psql(sql, database=service_db).splitlines() if line]


class Operator:
    def __init__(self, http: httpx.Client, demo: dict[str, Any]) -> None:
        self.http = http
        self.demo = demo

    def create_item(self, **fields: Any) -> dict[str, Any]:
        body = {"id": f"soak-{uuid.uuid4().hex[:10]}", "name": "Soak item", "fulfillmentStrategy": "code_pool",
                **fields}
        r = self.http.post("/v1/admin/items", json=body)
        assert r.status_code == 201, r.text
        return r.json()


def _settings(run_dir: Path, stale_seconds: int) -> RunnerSettings:
    return RunnerSettings(
        run_dir=run_dir, gateway_port=free_port(), catalog_port=free_port(), wallet_port=free_port(),
        redemption_port=free_port(), fulfillment_port=free_port(), events_port=free_port(),
        partner_port=free_port(),
        postgres_port=free_port(), nats_port=free_port(), nats_monitor_port=free_port(), nats_url=None,
        database_urls={}, start_timeout=120.0, seed_demo=True, host="127.0.0.1",
        service_env={"LOG_LEVEL": "WARNING", "SAGA_RECOVERY_INTERVAL_SECONDS": "1",
                     "SAGA_STALE_SECONDS": str(stale_seconds), "RECONCILE_AFTER_SECONDS": "10",
                     "RECONCILE_INTERVAL_SECONDS": "2"})


class Soak:
    def __init__(self, platform: Platform, rng: random.Random, seconds: float,
                 grace_seconds: float = GRACE_SECONDS) -> None:
        self.platform = platform
        self.rng = rng
        self.seconds = seconds
        self.grace_seconds = grace_seconds
        self.ops: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.fault_log: list[tuple[float, str, float]] = []   # (monotonic start, fault, seconds until healthy)
        self.longest_recovery = 0.0
        self.lock = threading.Lock()
        self.clients: list[Intents] = []
        # Set once the faults have stopped: until when the clients go on retrying their unfinished intents.
        self.faults_over = threading.Event()
        self.grace_deadline = 0.0

    def run(self) -> dict[str, Any]:
        demo = seed_demo(self.platform)
        http = httpx.Client(base_url=self.platform.gateway_url, timeout=REQUEST_TIMEOUT,
                            headers={"x-api-key": demo["api_key"]})
        ledger = Ledger(Databases(self.platform), Operator(http, demo), say=lambda m: print(f"[soak] {m}"))
        # One scarce item and two poor players keep the edges under fire (OUT_OF_STOCK, INSUFFICIENT_BALANCE and
        # its release of stock); the rest have stock and balance for the whole run (~200 redeems a minute were
        # measured here), so most intents can succeed and the availability share measures the faults, not the
        # shelves.
        ample = round(100 * self.seconds / 60)
        items = [ledger.item(stock=self.rng.randint(20, 200) + (ample if n else 0), price=self.rng.randint(1, 50))
                 for n in range(4)]
        items.append(ledger.item(stock=50 + ample, price=5, strategy="manual"))
        players = [self._player(http, demo, gems=500 if n < 2 else 500 + 4 * ample) for n in range(20)]
        stop = time.monotonic() + self.seconds
        workers = [threading.Thread(target=self._traffic, args=(random.Random(self.rng.random()), players, items,
                                                                 http.headers["x-api-key"], stop), daemon=True)
                   for _ in range(3)]
        for w in workers:
            w.start()
        self._faults(stop)
        faults_stopped = time.monotonic()
        self.grace_deadline = max(stop, faults_stopped) + self.grace_seconds
        self.faults_over.set()
        for w in workers:
            w.join(self.grace_deadline - time.monotonic() + REQUEST_TIMEOUT * 3)
        grace_used = time.monotonic() - faults_stopped
        intents = [i for c in list(self.clients) for i in list(c.all)]
        availability = AvailabilityReport.of(intents)
        traffic_done = time.monotonic()
        violations: list[str] = []
        stuck = 0
        try:
            eventually(ledger.assert_terminated, SETTLE_SECONDS * 2, "termination")
        except AssertionError as exc:
            violations.append(str(exc))
            stuck = len([r for r in ledger.redemptions() if r["status"] in ("SUBMITTED", "OPEN")])
        settled_after = time.monotonic() - traffic_done
        for check in (ledger.assert_conserved, ledger.assert_charged_once, ledger.assert_stock_kept,
                      ledger.assert_codes_once):
            try:
                check()
            except AssertionError as exc:
                violations.append(str(exc))
        http.close()
        return {"operations": sum(self.ops.values()), "by_kind": dict(self.ops), "faults": sum(self.faults.values()),
                "faults_by_kind": dict(self.faults), "violations": violations, "stuck": stuck,
                "longest_recovery": max(self.longest_recovery, settled_after),
                "redemptions": Counter(r["status"] for r in ledger.redemptions()),
                "codes_spent_on_canceled": ledger.codes_spent_on_canceled(),
                "availability": availability, "grace_used": grace_used, "fault_log": self.fault_log,
                "charged_untold": charged_untold(ledger.redemptions(), intents)}

    def _player(self, http: httpx.Client, demo: dict[str, Any], gems: int) -> tuple[str, str]:
        player = f"soak-{uuid.uuid4().hex[:10]}"
        r = http.post(f"/v1/admin/players/{player}/grants", headers={"Idempotency-Key": uuid.uuid4().hex},
                      json={"pointType": "gems", "amount": gems})
        assert r.status_code == 201, r.text
        r = http.post("/v1/auth/token", headers={"x-client-id": demo["client_id"],
                                                "x-client-secret": demo["client_secret"]},
                      json={"player_id": player, "ttl_seconds": 86_400})
        assert r.status_code == 200, r.text
        return player, r.json()["access_token"]

    def _traffic(self, rng: random.Random, players: list[tuple[str, str]], items: list[str], api_key: str,
                 stop: float) -> None:
        """One client's mixed requests until `stop` (each with its own deadline), its redeems retried as intents;
        then, once the faults are over, its unfinished intents until the grace deadline. Other failures are
        expected while services are down: only the invariants judge them."""
        mine: list[tuple[str, str]] = []
        with httpx.Client(base_url=self.platform.gateway_url, timeout=REQUEST_TIMEOUT) as client:
            intents = Intents(lambda intent: _send_redeem(client, intent), rng=rng)
            with self.lock:
                self.clients.append(intents)
            while time.monotonic() < stop:
                for retried in intents.retry_due():
                    self._count("redeem_retry", retried, mine)
                player, token = rng.choice(players)
                auth = {"Authorization": f"Bearer {token}"}
                kind = rng.choices(["redeem", "cancel", "quote", "grant"], [6, 2, 1, 1])[0]
                if kind == "redeem" and len(intents.pending) >= MAX_PENDING_INTENTS:
                    time.sleep(rng.uniform(0.0, 0.05))    # these players wait for their answers
                    continue
                if kind == "redeem":  # never raises: the intent keeps a transport error as its answer
                    self._count(kind, intents.start(Intent(uuid.uuid4().hex, {"offer": rng.choice(items)}, auth)),
                                mine)
                    time.sleep(rng.uniform(0.0, 0.05))
                    continue
                try:
                    if kind == "cancel" and mine:
                        rid, owner = mine.pop(rng.randrange(len(mine)))
                        client.post(f"/v1/redemptions/{rid}/cancel", json={},
                                    headers={"Authorization": owner})
                    elif kind == "quote":
                        client.post("/v1/redemptions/quote", json={"offer": rng.choice(items)}, headers=auth)
                    else:
                        client.post(f"/v1/admin/players/{player}/grants", json={"pointType": "gems", "amount": 50},
                                    headers={"x-api-key": api_key, "Idempotency-Key": uuid.uuid4().hex})
                except httpx.HTTPError:
                    kind += "_error"
                with self.lock:
                    self.ops[kind] += 1
                time.sleep(rng.uniform(0.0, 0.05))
            self.faults_over.wait()
            intents.settle(self.grace_deadline)

    def _count(self, kind: str, intent: Intent, mine: list[tuple[str, str]]) -> None:
        if intent.outcome is Outcome.SUCCEEDED and intent.last is not None:
            mine.append((intent.last.redemption_id, intent.headers["Authorization"]))
        with self.lock:
            self.ops[kind] += 1

    def _faults(self, stop: float) -> None:
        """Every few seconds one fault: a service killed with SIGKILL and restarted, or NATS stopped a while."""
        while time.monotonic() < stop - 5:
            time.sleep(self.rng.uniform(2.0, 6.0))
            started = time.monotonic()
            if self.rng.random() < 0.25:
                assert self.platform.nats is not None
                self.platform.nats.stop()
                time.sleep(self.rng.uniform(1.0, 5.0))
                self.platform.nats.start()
                self.faults["nats_outage"] += 1
                kind = "nats_outage"
            else:
                name = self.rng.choice(KILLABLE)
                self.platform.kill_service(name)
                time.sleep(self.rng.uniform(0.0, 2.0))
                self.platform.restart_service(name)
                kind = f"kill {name}"
                self.faults[kind] += 1
            self.fault_log.append((round(started, 3), kind, round(time.monotonic() - started, 3)))
            self.longest_recovery = max(self.longest_recovery, time.monotonic() - started)


def charged_untold(redemptions: list[dict[str, str]], intents: list[Intent]) -> int:
    """Charged redemptions (paid, or canceled with a refund) whose id no intent was answered: 0 when the clients'
    view agrees with the database (a retried key never charged twice behind its answer)."""
    told = {i.last.redemption_id for i in intents if i.last is not None and i.last.redemption_id}
    return len({r["id"] for r in redemptions if r["status"] in PAID + ("CANCELED",)} - told)


def _send_redeem(client: httpx.Client, intent: Intent) -> Answer:
    try:
        r = client.post("/v1/redemptions", json=intent.body, headers={**intent.headers, "Idempotency-Key": intent.key})
    except httpx.HTTPError:
        return Answer(None)
    try:
        body = r.json()
    except ValueError:
        body = None
    return Answer.of_response(r.status_code, r.headers, body)


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def availability_rows(a: AvailabilityReport, grace_used: float, threshold: float) -> list[tuple[str, Any]]:
    share = "n/a" if a.share is None else f"{a.share * 100:.2f}%"
    return [("client intents (one key each)", a.total), ("  succeeded", a.succeeded),
            ("  refused: no stock or balance", a.refused), ("  rejected otherwise", a.rejected),
            ("  unfinished after the grace", a.unfinished),
            ("share succeeded (had stock+balance)", share), ("  threshold", f"{threshold:g}%"),
            ("time to success p50 (s)", _seconds(a.p50)), ("time to success p99 (s)", _seconds(a.p99)),
            ("time to success max (s)", _seconds(a.slowest)), ("attempts", a.attempts),
            ("max attempts of one intent", a.max_attempts), ("grace used after faults (s)", f"{grace_used:.1f}"),
            *((f"  answer {k}", v) for k, v in a.answers.items()),
            *((f"  not succeeded, {k}", v) for k, v in a.not_succeeded.items())]


def print_table(result: dict[str, Any], seed: int, seconds: float, threshold: float = MIN_SUCCESS_PERCENT) -> None:
    rows = [("seed", seed), ("duration (s)", f"{seconds:.0f}"), ("operations", result["operations"]),
            *((f"  {k}", v) for k, v in sorted(result["by_kind"].items())),
            ("faults injected", result["faults"]),
            *((f"  {k}", v) for k, v in sorted(result["faults_by_kind"].items())),
            ("invariant violations", len(result["violations"])), ("stuck redemptions", result["stuck"]),
            ("longest recovery (s)", f"{result['longest_recovery']:.1f}"),
            ("codes spent on canceled", result["codes_spent_on_canceled"]),
            ("charged, answered to no intent", result["charged_untold"]),
            *((f"  redemptions {k}", v) for k, v in sorted(result["redemptions"].items())),
            *availability_rows(result["availability"], result["grace_used"], threshold)]
    width = max(len(str(k)) for k, _ in rows)
    print("\n" + "-" * (width + 14))
    for k, v in rows:
        print(f"{k:<{width}}  {v:>10}")
    print("-" * (width + 14))
    for v in result["violations"]:
        print(f"VIOLATION: {v}")
    a: AvailabilityReport = result["availability"]
    if a.below(threshold):
        assert a.share is not None
        print(f"AVAILABILITY: {a.share * 100:.2f}% of the {a.total - a.refused} intents that had stock and balance "
              f"succeeded, below the threshold of {threshold:g}% ({a.rejected} rejected, {a.unfinished} still "
              f"failing after the grace; last answers: {a.not_succeeded})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runner.soak", description=__doc__.splitlines()[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="how long the faults and traffic last (default 10)")
    length.add_argument("--seconds", type=float, help="the same in seconds (a quick smoke)")
    parser.add_argument("--seed", type=int, default=None, help="replays a run (default: random, printed)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) afterwards")
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS,
                        help=f"seconds unfinished intents are retried after the faults stop (default {GRACE_SECONDS:g})")
    parser.add_argument("--min-success", type=float, default=MIN_SUCCESS_PERCENT, metavar="PERCENT",
                        help="fail when fewer of the intents that had stock and balance succeeded "
                             f"(default {MIN_SUCCESS_PERCENT:g})")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (args.minutes or 10.0) * 60
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    print(f"[soak] seed {seed}, {seconds:.0f}s of traffic and faults")
    run_dir = Path(tempfile.mkdtemp(prefix="rewards-soak-"))
    platform = Platform(_settings(run_dir, stale_seconds=5), say=lambda m: print(f"[soak] {m}"))
    try:
        platform.start()
        result = Soak(platform, random.Random(seed), seconds, args.grace).run()
    finally:
        platform.stop()
    print_table(result, seed, seconds, args.min_success)
    print(f"[soak] logs in {run_dir}")
    availability: AvailabilityReport = result["availability"]
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "seed": seed, "seconds": seconds, "min_success_percent": args.min_success,
            **{k: v for k, v in result.items() if k != "availability"},
            "availability": availability.as_dict()}, indent=2, default=str) + "\n")
        print(f"[soak] figures in {args.json}")
    return 1 if result["violations"] or result["stuck"] or availability.below(args.min_success) else 0


if __name__ == "__main__":
    raise SystemExit(main())
