"""One benchmark run: the platform under load, phase by phase, and the figures of each phase."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import os
import platform as host
import ssl
import time
import uuid
from dataclasses import dataclass
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import psutil
from local_runner.platform import Platform

from rewards_bench import history, limit
from rewards_bench.load import Level, run_level
from rewards_bench.store import Store, prepare_store

LEVELS = (1, 16, 64)
# Made once: every httpx client would otherwise build its own SSL context (milliseconds of CPU each), unused here.
TLS = ssl.create_default_context()
SERVICES = ("gateway", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service")


@dataclass(frozen=True)
class Sizes:
    redeem: dict[int, int]          # requests per concurrency level, spread over the items
    hot: dict[int, int]             # requests per concurrency level, all on one item
    limit: dict[int, int]
    hop: dict[int, int]
    reads: dict[int, int]
    spread_items: int
    players: int
    small_ledger_players: int       # x history.ROWS_PER_PLAYER ledger rows
    large_ledger_players: int
    large_redemption_players: int   # x history.REDEMPTIONS_PER_PLAYER redemptions
    warmup: int


# A code-pool redemption waits for its code (up to FULFILLMENT_WAIT_MS): at concurrency 1 that is seconds each.
FULL = Sizes(redeem={1: 30, 16: 320, 64: 640}, hot={16: 320, 64: 640}, limit={1: 1000, 16: 4000, 64: 4000},
             hop={1: 1000, 16: 2000, 64: 3000}, reads={1: 200, 16: 600}, spread_items=32, players=250,
             small_ledger_players=10, large_ledger_players=10_000, large_redemption_players=2_000, warmup=16)
QUICK = Sizes(redeem={1: 2, 16: 16, 64: 64}, hot={16: 16}, limit={1: 50, 16: 200, 64: 200},
              hop={1: 20, 16: 32, 64: 64}, reads={1: 5, 16: 16}, spread_items=4, players=32,
              small_ledger_players=10, large_ledger_players=200, large_redemption_players=40, warmup=0)


def _processes(platform: Platform) -> dict[str, psutil.Process]:
    procs = {name: psutil.Process(platform.procs[name].pid) for name in SERVICES}
    if platform.postgres is not None and platform.postgres.proc is not None:
        procs["postgres"] = psutil.Process(platform.postgres.proc.pid)
    if platform.nats is not None and platform.nats.proc is not None:
        procs["nats"] = psutil.Process(platform.nats.proc.pid)
    # The load generator shares the machine's CPUs with the platform: what it takes is shown beside the rest.
    procs["load generator"] = psutil.Process()
    return procs


def _cpu_seconds(proc: psutil.Process, name: str) -> float:
    """CPU of the process; for PostgreSQL, of the postmaster and every backend alive now (the pools' connections
    live through the whole run, so their backends are counted before and after)."""
    members = [proc] + (proc.children(recursive=True) if name == "postgres" else [])
    total = 0.0
    for p in members:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _rss_mb(proc: psutil.Process) -> float:
    return round(proc.memory_info().rss / 2**20, 1)


class Benchmark:
    def __init__(self, platform: Platform, sizes: Sizes, say: Callable[[str], None]) -> None:
        self.platform = platform
        self.sizes = sizes
        self.say = say
        self.store: Store | None = None
        self.results: dict[str, Any] = {}

    # ---- phases -------------------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        s = self.sizes
        spread_total = sum(s.redeem.values()) + s.warmup
        per_item = math.ceil(spread_total / s.spread_items) + 8
        hot_total = sum(s.hot.values()) + s.warmup
        started = time.perf_counter()
        self.say(f"preparing the store: {s.spread_items} items, {s.players} players, "
                 f"{per_item * s.spread_items + hot_total} codes")
        self.store = await prepare_store(self.platform, spread_items=s.spread_items, codes_per_spread_item=per_item,
                                         hot_codes=hot_total, players=s.players, gems_per_player=1_000_000)
        self.results["meta"] = self.meta()
        phases = {
            "reads (small)": lambda: self.reads_phase("small", ledger_players=s.small_ledger_players,
                                                      redemption_players=s.small_ledger_players),
            "redeem": self.redeem_phase,
            "hop": self.hop_phase,
            "limit": self.limit_phase,
            "reads (large)": lambda: self.reads_phase("large", ledger_players=s.large_ledger_players,
                                                      redemption_players=s.large_redemption_players),
        }
        seconds: dict[str, float] = {"prepare": round(time.perf_counter() - started, 1)}
        for name, phase in phases.items():
            began = time.perf_counter()
            await phase()
            seconds[name] = round(time.perf_counter() - began, 1)
            self.say(f"phase {name}: {seconds[name]}s")
        self.results["meta"]["phase_seconds"] = seconds
        self.results["meta"]["measured_seconds"] = round(time.perf_counter() - started, 1)
        return self.results

    def meta(self) -> dict[str, Any]:
        return {"host": host.node(), "cpus": os.cpu_count(), "python": host.python_version(),
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sizes": self.sizes.__dict__,
                "note": "one run on one machine; the load generator shares its CPUs with the platform"}

    @contextlib.asynccontextmanager
    async def clients(self, concurrency: int) -> AsyncIterator[list[httpx.AsyncClient]]:
        """One client of one keep-alive connection per worker: a single httpx pool of many connections costs the
        load generator far more CPU per request (encode/httpx#3215), which would be charged to the platform."""
        assert self.store is not None
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(httpx.AsyncClient(
                base_url=self.store.gateway_url, timeout=30.0, verify=TLS,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))) for _ in range(concurrency)]

    async def redeem_levels(self, items: list[str], levels: dict[int, int], label: str) -> list[Level]:
        store = self.store
        assert store is not None
        out: list[Level] = []
        for concurrency, requests in levels.items():
            answered_with_code = 0
            refusals: collections.Counter[int] = collections.Counter()

            async with self.clients(concurrency) as http:
                async def redeem(worker: int, number: int) -> bool:
                    nonlocal answered_with_code
                    player = store.players[number % len(store.players)]
                    r = await http[worker].post("/v1/redemptions", json={"offer": items[number % len(items)]},
                                        headers={**store.bearer(player), "Idempotency-Key": uuid.uuid4().hex})
                    if r.status_code != 201:
                        refusals[r.status_code] += 1
                        return False
                    body = r.json()
                    if body.get("status") == "COMPLETED" and (body.get("fulfillment") or {}).get("code"):
                        answered_with_code += 1
                    return True

                level = await run_level(redeem, concurrency, requests)
            level.extra["answered_with_code"] = answered_with_code
            level.extra.update({f"status_{code}": n for code, n in refusals.items()})
            # Redemptions answered OPEN (the wait for their code ran out) are still being fulfilled: the next level
            # starts once they are done, so it does not pay for this one's backlog.
            level.extra["drain_seconds"] = await self.drain()
            self.say(f"{label} c={concurrency}: {level.throughput}/s p50 {level.p50_ms} ms p99 {level.p99_ms} ms "
                     f"({level.failed} failed {dict(refusals)}, {answered_with_code} with their code; "
                     f"drained in {level.extra['drain_seconds']}s)")
            out.append(level)
        return out

    async def drain(self, bound: float = 180.0) -> float:
        began = time.perf_counter()
        conn = await asyncpg.connect(self.platform.database_urls["redemption"], timeout=10, command_timeout=10)
        try:
            while time.perf_counter() - began < bound:
                if not await conn.fetchval("SELECT count(*) FROM redemptions WHERE status IN ('SUBMITTED', 'OPEN')"):
                    break
                await asyncio.sleep(0.25)
        finally:
            await conn.close()
        return round(time.perf_counter() - began, 1)

    async def redeem_phase(self) -> None:
        store = self.store
        assert store is not None
        # Warm-ups open the pools and channels of every service before anything is counted.
        if self.sizes.warmup:
            await self.redeem_levels(store.spread_items, {8: self.sizes.warmup}, "warm-up")
        procs = _processes(self.platform)
        cpu_before = {n: _cpu_seconds(p, n) for n, p in procs.items()}
        spread = await self.redeem_levels(store.spread_items, self.sizes.redeem, "redeem (spread)")
        if self.sizes.warmup:
            await self.redeem_levels([store.hot_item], {8: self.sizes.warmup}, "warm-up (hot)")
        hot = await self.redeem_levels([store.hot_item], self.sizes.hot, "redeem (hot item)")
        cpu_after = {n: _cpu_seconds(p, n) for n, p in procs.items()}
        redeemed = sum(level.ok for level in spread + hot) or 1
        self.results["redeem"] = {"items": len(store.spread_items), "players": len(store.players),
                                  "levels": [level.as_dict() for level in spread]}
        self.results["hot_item"] = {"levels": [level.as_dict() for level in hot]}
        self.results["resources"] = {
            "redemptions_measured": redeemed,
            "cpu_ms_per_redemption": {n: round((cpu_after[n] - cpu_before[n]) / redeemed * 1000, 2) for n in procs},
            "rss_mb": {n: _rss_mb(p) for n, p in procs.items() if n not in ("postgres", "load generator")},
            "note": "postgres: the postmaster and the backends alive before and after; load generator: this "
                    "process (httpx clients), which shares the CPUs with the platform",
        }

    async def hop_phase(self) -> None:
        store = self.store
        assert store is not None
        routes = {
            # A route with no upstream call at all.
            "noop_route": ("/healthz", {}),
            # One trivial upstream call: the balances of a player with no account (one GetBalances on wallet).
            "one_rpc_route": ("/v1/wallet/balances", {"Authorization": f"Bearer {store.empty_player_token}"}),
        }
        hop: dict[str, Any] = {"routes": {k: v[0] for k, v in routes.items()}}
        for name, (path, headers) in routes.items():
            levels: list[Level] = []
            for concurrency, requests in self.sizes.hop.items():
                async with self.clients(concurrency) as http:
                    async def get(worker: int, _: int) -> bool:
                        return (await http[worker].get(path, headers=headers)).status_code == 200

                    await run_level(get, concurrency, min(requests, 2 * concurrency))
                    level = await run_level(get, concurrency, requests)
                self.say(f"hop {name} c={concurrency}: {level.throughput}/s p50 {level.p50_ms} ms")
                levels.append(level)
            hop[name] = [level.as_dict() for level in levels]
        self.results["hop"] = hop

    async def limit_phase(self) -> None:
        assert self.platform.postgres is not None
        url = self.platform.postgres.ensure_database("bench_limit")
        s = self.sizes
        total = sum(s.limit.values()) * 2
        await limit.prepare(url, players=s.players, items=s.spread_items, stock=total)
        levels = await limit.measure(url, s.limit, players=s.players, items=s.spread_items)
        for level in levels:
            self.say(f"limit c={level.concurrency}: {level.throughput}/s p50 {level.p50_ms} ms")
        self.results["limit"] = {"database": "bench_limit (scratch, same PostgreSQL)",
                                 "transaction": ["debit with balance check", "stock decrement", "ledger insert",
                                                 "redemption insert", "outbox insert"],
                                 "levels": [level.as_dict() for level in levels]}

    async def reads_phase(self, label: str, *, ledger_players: int, redemption_players: int) -> None:
        store = self.store
        assert store is not None
        urls = self.platform.database_urls
        loaded = self.results.setdefault("reads", {}).get("loaded", {"ledger_players": 0, "redemption_players": 0})
        began = time.perf_counter()
        await history.load_ledger(urls["wallet"], loaded["ledger_players"], ledger_players)
        await history.load_redemptions(urls["redemption"], loaded["redemption_players"], redemption_players)
        load_seconds = time.perf_counter() - began
        loaded = {"ledger_players": max(ledger_players, loaded["ledger_players"]),
                  "redemption_players": max(redemption_players, loaded["redemption_players"])}
        ledger_rows = await history.count(urls["wallet"], "ledger_entries")
        redemption_rows = await history.count(urls["redemption"], "redemptions")
        self.say(f"reads ({label}): {ledger_rows} ledger rows, {redemption_rows} redemptions "
                 f"(loaded in {load_seconds:.1f}s)")
        async with httpx.AsyncClient(base_url=store.gateway_url, timeout=30.0) as http:
            r = await http.post("/v1/auth/token", json={"player_id": history.bulk_player(0)},
                                headers={"x-client-id": store.demo["client_id"],
                                         "x-client-secret": store.demo["client_secret"]})
            r.raise_for_status()
            reader = {"Authorization": f"Bearer {r.json()['access_token']}"}
        paths = {"browse_items": "/v1/items", "balance": "/v1/wallet/balances",
                 "ledger_page": "/v1/wallet/transactions?limit=20", "redemptions_page": "/v1/redemptions?limit=20"}
        figures: dict[str, Any] = {}
        for name, path in paths.items():
            levels: list[Level] = []
            for concurrency, requests in self.sizes.reads.items():
                async with self.clients(concurrency) as http:
                    async def get(worker: int, _: int) -> bool:
                        return (await http[worker].get(path, headers=reader)).status_code == 200

                    await run_level(get, concurrency, max(2 * concurrency, 20))
                    level = await run_level(get, concurrency, requests)
                levels.append(level)
            self.say(f"read {name} ({label}): " + ", ".join(
                f"c={lv.concurrency} {lv.throughput}/s p50 {lv.p50_ms} ms" for lv in levels))
            figures[name] = [level.as_dict() for level in levels]
        reads = self.results["reads"]
        reads["loaded"] = loaded
        reads["paths"] = paths
        reads[label] = {"ledger_rows": ledger_rows, "redemptions": redemption_rows,
                        "load_seconds": round(load_seconds, 1), "figures": figures}
