"""The long randomized soak of issue 6: `python -m local_runner.soak --minutes 10 --seed 42`.

Starts the whole platform like the e2e tests (free ports, a temporary folder, the demo tenant), runs mixed
traffic (redeems, cancels, quotes, grants) while killing services with SIGKILL (then restarting them) and stopping
NATS for a while; then stops the faults, waits for every redemption to settle, checks every invariant and prints
a table. Exit code 1 when an invariant is violated or a redemption is stuck. Only 127.0.0.1 is ever called."""

from __future__ import annotations

import argparse
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
from local_runner.invariants import SETTLE_SECONDS, Ledger, eventually
from local_runner.platform import Platform
from local_runner.settings import RunnerSettings

KILLABLE = ("catalog-service", "wallet-service", "redemption-service", "fulfillment-service")
REQUEST_TIMEOUT = 20.0


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
        redemption_port=free_port(), fulfillment_port=free_port(), partner_port=free_port(),
        postgres_port=free_port(), nats_port=free_port(), nats_monitor_port=free_port(), nats_url=None,
        database_urls={}, start_timeout=120.0, seed_demo=True, host="127.0.0.1",
        service_env={"LOG_LEVEL": "WARNING", "SAGA_RECOVERY_INTERVAL_SECONDS": "1",
                     "SAGA_STALE_SECONDS": str(stale_seconds), "RECONCILE_AFTER_SECONDS": "10",
                     "RECONCILE_INTERVAL_SECONDS": "2"})


class Soak:
    def __init__(self, platform: Platform, rng: random.Random, seconds: float) -> None:
        self.platform = platform
        self.rng = rng
        self.seconds = seconds
        self.ops: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.longest_recovery = 0.0
        self.lock = threading.Lock()

    def run(self) -> dict[str, Any]:
        demo = seed_demo(self.platform)
        http = httpx.Client(base_url=self.platform.gateway_url, timeout=REQUEST_TIMEOUT,
                            headers={"x-api-key": demo["api_key"]})
        ledger = Ledger(Databases(self.platform), Operator(http, demo), say=lambda m: print(f"[soak] {m}"))
        items = [ledger.item(stock=self.rng.randint(20, 200), price=self.rng.randint(1, 50)) for _ in range(4)]
        items.append(ledger.item(stock=50, price=5, strategy="manual"))
        players = [self._player(http, demo) for _ in range(20)]
        stop = time.monotonic() + self.seconds
        workers = [threading.Thread(target=self._traffic, args=(random.Random(self.rng.random()), players, items,
                                                                 http.headers["x-api-key"], stop), daemon=True)
                   for _ in range(3)]
        for w in workers:
            w.start()
        self._faults(stop)
        for w in workers:
            w.join(REQUEST_TIMEOUT * 3)
        faults_stopped = time.monotonic()
        violations: list[str] = []
        stuck = 0
        try:
            eventually(ledger.assert_terminated, SETTLE_SECONDS * 2, "termination")
        except AssertionError as exc:
            violations.append(str(exc))
            stuck = len([r for r in ledger.redemptions() if r["status"] in ("SUBMITTED", "OPEN")])
        settled_after = time.monotonic() - faults_stopped
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
                "codes_spent_on_canceled": ledger.codes_spent_on_canceled()}

    def _player(self, http: httpx.Client, demo: dict[str, Any]) -> tuple[str, str]:
        player = f"soak-{uuid.uuid4().hex[:10]}"
        r = http.post(f"/v1/admin/players/{player}/grants", headers={"Idempotency-Key": uuid.uuid4().hex},
                      json={"pointType": "gems", "amount": 500})
        assert r.status_code == 201, r.text
        r = http.post("/v1/auth/token", headers={"x-client-id": demo["client_id"],
                                                "x-client-secret": demo["client_secret"]},
                      json={"player_id": player, "ttl_seconds": 86_400})
        assert r.status_code == 200, r.text
        return player, r.json()["access_token"]

    def _traffic(self, rng: random.Random, players: list[tuple[str, str]], items: list[str], api_key: str,
                 stop: float) -> None:
        """One client's mixed requests until `stop` (each with its own deadline); failures are expected while
        services are down, only the invariants judge."""
        mine: list[tuple[str, str]] = []
        with httpx.Client(base_url=self.platform.gateway_url, timeout=REQUEST_TIMEOUT) as client:
            while time.monotonic() < stop:
                player, token = rng.choice(players)
                auth = {"Authorization": f"Bearer {token}"}
                kind = rng.choices(["redeem", "cancel", "quote", "grant"], [6, 2, 1, 1])[0]
                try:
                    if kind == "redeem":
                        r = client.post("/v1/redemptions", json={"offer": rng.choice(items)},
                                        headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
                        if r.status_code == 201:
                            mine.append((r.json()["id"], token))
                    elif kind == "cancel" and mine:
                        rid, owner = mine.pop(rng.randrange(len(mine)))
                        client.post(f"/v1/redemptions/{rid}/cancel", json={},
                                    headers={"Authorization": f"Bearer {owner}"})
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
            else:
                name = self.rng.choice(KILLABLE)
                self.platform.kill_service(name)
                time.sleep(self.rng.uniform(0.0, 2.0))
                self.platform.restart_service(name)
                self.faults[f"kill {name}"] += 1
            self.longest_recovery = max(self.longest_recovery, time.monotonic() - started)


def print_table(result: dict[str, Any], seed: int, seconds: float) -> None:
    rows = [("seed", seed), ("duration (s)", f"{seconds:.0f}"), ("operations", result["operations"]),
            *((f"  {k}", v) for k, v in sorted(result["by_kind"].items())),
            ("faults injected", result["faults"]),
            *((f"  {k}", v) for k, v in sorted(result["faults_by_kind"].items())),
            ("invariant violations", len(result["violations"])), ("stuck redemptions", result["stuck"]),
            ("longest recovery (s)", f"{result['longest_recovery']:.1f}"),
            ("codes spent on canceled", result["codes_spent_on_canceled"]),
            *((f"  redemptions {k}", v) for k, v in sorted(result["redemptions"].items()))]
    width = max(len(str(k)) for k, _ in rows)
    print("\n" + "-" * (width + 14))
    for k, v in rows:
        print(f"{k:<{width}}  {v:>10}")
    print("-" * (width + 14))
    for v in result["violations"]:
        print(f"VIOLATION: {v}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runner.soak", description=__doc__.splitlines()[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="how long the faults and traffic last (default 10)")
    length.add_argument("--seconds", type=float, help="the same in seconds (a quick smoke)")
    parser.add_argument("--seed", type=int, default=None, help="replays a run (default: random, printed)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) afterwards")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (args.minutes or 10.0) * 60
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    print(f"[soak] seed {seed}, {seconds:.0f}s of traffic and faults")
    run_dir = Path(tempfile.mkdtemp(prefix="rewards-soak-"))
    platform = Platform(_settings(run_dir, stale_seconds=5), say=lambda m: print(f"[soak] {m}"))
    try:
        platform.start()
        result = Soak(platform, random.Random(seed), seconds).run()
    finally:
        platform.stop()
    print_table(result, seed, seconds)
    print(f"[soak] logs in {run_dir}")
    return 1 if result["violations"] or result["stuck"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
