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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from local_runner.platform import Platform

from rewards_bench import history, limit, resources, round_trips
from rewards_bench.load import Level, run_level
from rewards_bench.store import Store, prepare_store
from rewards_bench.wrk import Wrk

LEVELS = (1, 16, 64)
# Made once: every httpx client would otherwise build its own SSL context (milliseconds of CPU each), unused here.
TLS = ssl.create_default_context()


@dataclass(frozen=True)
class Sizes:
    redeem: dict[int, int]          # requests per concurrency level, spread over the items
    hot: dict[int, int]             # requests per concurrency level, all on one item
    limit: dict[int, int]
    limit_pools: tuple[int, ...]    # asyncpg pool sizes tried at the highest limit level
    hop: dict[int, int]
    reads: dict[int, int]
    spread_items: int
    players: int
    small_ledger_players: int       # x history.ROWS_PER_PLAYER ledger rows
    large_ledger_players: int
    large_redemption_players: int   # x history.REDEMPTIONS_PER_PLAYER redemptions
    warmup: int
    idle_seconds: float             # CPU of the platform at rest
    trips_redemptions: int          # the round-trip phase, at c=1
    trips_background_seconds: float
    traced: int                     # requests of the tracing off / on level, at c=16 (0: not measured)


# A code-pool redemption waits for its code (up to FULFILLMENT_WAIT_MS): at concurrency 1 that is seconds each.
FULL = Sizes(redeem={1: 30, 16: 320, 64: 640}, hot={16: 320, 64: 640}, limit={1: 1000, 16: 4000, 64: 4000},
             limit_pools=(4, 8, 16, 32, 64), hop={1: 2000, 16: 5000, 64: 5000}, reads={1: 300, 16: 1000},
             spread_items=32, players=250, small_ledger_players=10, large_ledger_players=10_000,
             large_redemption_players=2_000, warmup=16, idle_seconds=30.0, trips_redemptions=50,
             trips_background_seconds=5.0, traced=2500)
QUICK = Sizes(redeem={1: 2, 16: 16, 64: 64}, hot={16: 16}, limit={1: 50, 16: 200, 64: 200},
              limit_pools=(4, 8, 16, 32, 64), hop={1: 20, 16: 32, 64: 64}, reads={1: 5, 16: 16}, spread_items=4,
              players=32, small_ledger_players=10, large_ledger_players=200, large_redemption_players=40, warmup=0,
              idle_seconds=5.0, trips_redemptions=10, trips_background_seconds=2.0, traced=32)
WARMUP_CONCURRENCY = 8
# The hop level whose CPU per request is measured.
HOP_CPU_CONCURRENCY = 16


class Benchmark:
    def __init__(self, platform: Platform, sizes: Sizes, say: Callable[[str], None], *, wrk: str | None,
                 loader: dict[str, Any]) -> None:
        """`wrk`: the load generator's binary, or None for the Python loader; `loader`: what to record of it."""
        self.platform = platform
        self.sizes = sizes
        self.say = say
        self.wrk_binary = wrk
        self.wrk: Wrk | None = None
        # The redeem load's gateways: the first only, or every replica's (replicated_run), the workers (wrk's
        # connections) split evenly over them as a load balancer in front of them would.
        self.gateway_urls: list[str] = []
        self.wrks: list[Wrk] = []
        self.loader = loader
        self.store: Store | None = None
        self.results: dict[str, Any] = {}

    # ---- phases -------------------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        s = self.sizes
        spread_total = sum(s.redeem.values()) + s.warmup + s.trips_redemptions + s.traced
        per_item = math.ceil(spread_total / s.spread_items) + 8
        hot_total = sum(s.hot.values()) + s.warmup + 8
        started = time.perf_counter()
        self.say(f"preparing the store: {s.spread_items} items, {s.players} players, "
                 f"{per_item * s.spread_items + hot_total} codes")
        self.store = await prepare_store(self.platform, spread_items=s.spread_items, codes_per_spread_item=per_item,
                                         hot_codes=hot_total, players=s.players, gems_per_player=1_000_000)
        if self.wrk_binary:
            self.wrk = Wrk(self.wrk_binary, self.store.gateway_url, self.platform.run_dir / "wrk")
        self.results["meta"] = self.meta()
        phases = {
            "reads (small)": lambda: self.reads_phase("small", ledger_players=s.small_ledger_players,
                                                      redemption_players=s.small_ledger_players),
            "redeem": self.redeem_phase,
            "tracing off": self.tracing_off_phase,
            "round trips": self.round_trips_phase,
            "idle": self.idle_phase,
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
                "loader": self.loader,
                "note": "one run on one machine; the load generator shares its CPUs with the platform"}

    # ---- the two loaders ----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def clients(self, concurrency: int) -> AsyncIterator[list[httpx.AsyncClient]]:
        """One client of one keep-alive connection per worker: a single httpx pool of many connections costs the
        load generator far more CPU per request (encode/httpx#3215), which would be charged to the platform."""
        assert self.store is not None
        urls = self.gateway_urls or [self.store.gateway_url]
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(httpx.AsyncClient(
                base_url=urls[worker % len(urls)], timeout=30.0, verify=TLS,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))) for worker in range(concurrency)]

    async def get_level(self, path: str, headers: dict[str, str], concurrency: int, requests: int) -> Level:
        if self.wrk is not None:
            return await self.wrk.level(concurrency, requests, path=path, headers=headers)
        async with self.clients(concurrency) as http:
            async def get(worker: int, _: int) -> bool:
                return (await http[worker].get(path, headers=headers)).status_code == 200

            return await run_level(get, concurrency, requests)

    async def redeem_level(self, items: list[str], concurrency: int, requests: int) -> Level:
        """Redeems spread over the items and the players, each with its own idempotency key; the level's extra
        counts the answers by status and those COMPLETED with their code (`answered_with_code`)."""
        store = self.store
        assert store is not None
        if len(self.wrks) > 1:
            return await self.spread_wrk_level(items, concurrency, requests)
        if self.wrk is not None:
            return await self.wrk.level(concurrency, requests, method="POST", path="/v1/redemptions",
                                        tokens=[store.tokens[p] for p in store.players], items=items)
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
        return level

    async def spread_wrk_level(self, items: list[str], concurrency: int, requests: int) -> Level:
        """One wrk per gateway at once, the connections and requests split evenly: their answers and counts add
        up; the level's time is the longer of the two, and its percentiles the worse of the two (wrk reports
        percentiles, not the latencies to merge)."""
        store = self.store
        assert store is not None
        n = len(self.wrks)
        tokens = [store.tokens[p] for p in store.players]
        parts = await asyncio.gather(*(
            wrk.level(max(1, concurrency // n), requests // n + (1 if k < requests % n else 0), method="POST",
                      path="/v1/redemptions", tokens=tokens[k::n], items=items)
            for k, wrk in enumerate(self.wrks)))
        answered = sum(p.requests for p in parts)
        seconds = max(p.seconds for p in parts)
        level = Level(concurrency=concurrency, requests=answered, ok=sum(p.ok for p in parts),
                      failed=sum(p.failed for p in parts), seconds=seconds,
                      throughput=round(answered / seconds, 1) if seconds > 0 else 0.0,
                      p50_ms=max(p.p50_ms for p in parts), p95_ms=max(p.p95_ms for p in parts),
                      p99_ms=max(p.p99_ms for p in parts), mean_ms=round(
                          sum(p.mean_ms * p.requests for p in parts) / answered, 2) if answered else 0.0)
        for part in parts:
            for key, value in part.extra.items():
                level.extra[key] = level.extra.get(key, 0.0) + value
        return level

    async def redeem_levels(self, items: list[str], levels: dict[int, int], label: str) -> list[Level]:
        out: list[Level] = []
        for concurrency, requests in levels.items():
            level = await self.redeem_level(items, concurrency, requests)
            # Redemptions answered OPEN (the wait for their code ran out) are still being fulfilled: the next level
            # starts once they are done, so it does not pay for this one's backlog.
            level.extra["drain_seconds"] = await self.drain()
            refused = {k: int(v) for k, v in level.extra.items() if k.startswith("status_")}
            self.say(f"{label} c={concurrency}: {level.throughput}/s p50 {level.p50_ms} ms p99 {level.p99_ms} ms "
                     f"({level.failed} failed {refused}, {int(level.extra.get('answered_with_code', 0))} with "
                     f"their code; drained in {level.extra['drain_seconds']}s)")
            out.append(level)
        return out

    async def redemptions_made(self) -> int:
        conn = await asyncpg.connect(self.platform.database_urls["redemption"], timeout=10, command_timeout=60)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM redemptions"))
        finally:
            await conn.close()

    async def drain(self, bound: float = 180.0) -> float:
        """Waits until no redemption is SUBMITTED or OPEN, their domain events are published and in the event
        log, and nothing of the kind changed in the last quarter second: the CPU a level is charged includes
        what its redemptions cost after their answers (the events' relay, NATS, events-service)."""
        began = time.perf_counter()
        urls = self.platform.database_urls
        redemption = await asyncpg.connect(urls["redemption"], timeout=10, command_timeout=10)
        events = await asyncpg.connect(urls["events"], timeout=10, command_timeout=10)
        try:
            last: tuple[int, int] | None = None
            while time.perf_counter() - began < bound:
                pending, made, unpublished = await redemption.fetchrow(
                    "SELECT count(*) FILTER (WHERE status IN ('SUBMITTED', 'OPEN')), count(*), "
                    "(SELECT count(*) FROM event_outbox WHERE published_at IS NULL) FROM redemptions")
                logged = int(await events.fetchval("SELECT count(*) FROM events"))
                if not pending and not unpublished and (made, logged) == last:
                    break
                last = (made, logged)
                await asyncio.sleep(0.25)
        finally:
            await redemption.close()
            await events.close()
        return round(time.perf_counter() - began, 1)

    # ---- the phases ---------------------------------------------------------------------------------------

    async def redeem_phase(self) -> None:
        store = self.store
        assert store is not None
        # Warm-ups open the pools and channels of every service before anything is counted.
        if self.sizes.warmup:
            await self.redeem_levels(store.spread_items, {WARMUP_CONCURRENCY: self.sizes.warmup}, "warm-up")
        procs = resources.processes(self.platform)
        cpu_before, made_before = resources.cpu_snapshot(procs), await self.redemptions_made()
        spread = await self.redeem_levels(store.spread_items, self.sizes.redeem, "redeem (spread)")
        if self.sizes.warmup:
            await self.redeem_levels([store.hot_item], {WARMUP_CONCURRENCY: self.sizes.warmup}, "warm-up (hot)")
        hot = await self.redeem_levels([store.hot_item], self.sizes.hot, "redeem (hot item)")
        cpu_after, made_after = resources.cpu_snapshot(procs), await self.redemptions_made()
        # Counted in redemption's database, not in the answers: the hot warm-up's redemptions are in the window too.
        redeemed = max(made_after - made_before, 1)
        per_process = {n: round((cpu_after[n] - cpu_before[n]) / redeemed * 1000, 2) for n in procs}
        self.results["redeem"] = {"items": len(store.spread_items), "players": len(store.players),
                                  "levels": [level.as_dict() for level in spread]}
        self.results["hot_item"] = {"levels": [level.as_dict() for level in hot]}
        self.results["resources"] = {
            "redemptions_measured": redeemed,
            "answered_in_levels": sum(level.requests for level in spread + hot),
            "cpu_ms_per_redemption": per_process,
            "cpu_ms_per_redemption_platform": round(sum(v for n, v in per_process.items()
                                                        if n != resources.LOAD_GENERATOR), 2),
            "rss_mb": {n: resources.rss_mb(p) for n, p in procs.items()
                       if n not in ("postgres", resources.LOAD_GENERATOR)},
            "note": "postgres: the postmaster and the backends alive before and after; load generator: this "
                    "process and the wrk processes it ran, which share the CPUs with the platform; redemptions "
                    "counted in redemption's database",
        }

    async def traced_level(self, label: str) -> dict[str, Any]:
        """CPU per redemption over one level at c=16 (after a warm-up), the same level with tracing off and on:
        what the instrumentation costs is the one against the other."""
        store = self.store
        assert store is not None
        if self.sizes.warmup:
            await self.redeem_levels(store.spread_items, {WARMUP_CONCURRENCY: self.sizes.warmup}, "warm-up")
        procs = resources.processes(self.platform)
        cpu_before, made_before = resources.cpu_snapshot(procs), await self.redemptions_made()
        [level] = await self.redeem_levels(store.spread_items, {16: self.sizes.traced}, label)
        cpu_after, made_after = resources.cpu_snapshot(procs), await self.redemptions_made()
        redeemed = max(made_after - made_before, 1)
        per_process = {n: round((cpu_after[n] - cpu_before[n]) / redeemed * 1000, 2) for n in procs}
        return {"level": level.as_dict(), "redemptions_measured": redeemed, "cpu_ms_per_redemption": per_process,
                "cpu_ms_per_redemption_platform": round(sum(v for n, v in per_process.items()
                                                            if n != resources.LOAD_GENERATOR), 2)}

    async def tracing_off_phase(self) -> None:
        self.results["tracing"] = {"off": await self.traced_level("tracing off")}

    async def traced_run(self) -> dict[str, Any]:
        """The whole of the tracing-on measure, on a platform started with tracing on: a store, then the level."""
        s = self.sizes
        per_item = math.ceil((s.warmup + s.traced) / s.spread_items) + 8
        self.store = await prepare_store(self.platform, spread_items=s.spread_items, codes_per_spread_item=per_item,
                                         hot_codes=8, players=s.players, gems_per_player=1_000_000)
        if self.wrk_binary:
            self.wrk = Wrk(self.wrk_binary, self.store.gateway_url, self.platform.run_dir / "wrk")
        return await self.traced_level("tracing on")

    async def replicated_run(self) -> dict[str, Any]:
        """The tracing-off level again (c=16, after a warm-up), on a platform of two replicas of the gateway and of
        every gRPC service (REPLICAS=2): the load split over both gateways, each spreading its calls over both
        replicas of what it calls. Against the one-replica figure of the same level, what spreading costs
        (more connections and pools, a fast result applied by the other replica and read again)."""
        s = self.sizes
        per_item = math.ceil((s.warmup + s.traced) / s.spread_items) + 8
        self.store = await prepare_store(self.platform, spread_items=s.spread_items, codes_per_spread_item=per_item,
                                         hot_codes=8, players=s.players, gems_per_player=1_000_000)
        self.gateway_urls = self.platform.gateway_urls
        if self.wrk_binary:
            self.wrks = [Wrk(self.wrk_binary, url, self.platform.run_dir / f"wrk-{n}")
                         for n, url in enumerate(self.gateway_urls, 1)]
        result = await self.traced_level(f"replicas={self.platform.s.replicas}")
        result["replicas"] = self.platform.s.replicas
        result["gateways"] = len(self.gateway_urls)
        result["cpu_ms_per_redemption_by_service"] = resources.by_service(result["cpu_ms_per_redemption"])
        return result

    async def round_trips_phase(self) -> None:
        store = self.store
        assert store is not None and self.platform.postgres is not None
        databases = {urlsplit(url).path.lstrip("/"): ("gateway" if db == "gateway" else f"{db}-service")
                     for db, url in self.platform.database_urls.items()}

        async def redeem() -> int:
            before = await self.redemptions_made()
            await self.redeem_levels(store.spread_items, {1: self.sizes.trips_redemptions}, "round trips")
            return await self.redemptions_made() - before

        trips = await round_trips.measure(admin_url=self.platform.postgres.url(), log=self.platform.postgres.log_path,
                                          databases=databases, redeem=redeem,
                                          background_seconds=self.sizes.trips_background_seconds)
        self.say(f"round trips per redemption: {trips['total_per_redemption']} "
                 + ", ".join(f"{k} {v}" for k, v in trips["per_redemption"].items()))
        self.results["round_trips"] = trips

    async def idle_phase(self) -> None:
        await asyncio.sleep(1.0)  # the last level's relays and acknowledgements settle
        idle = await resources.idle_cpu(self.platform, self.sizes.idle_seconds)
        platform_total = round(sum(v for n, v in idle.items() if n != resources.LOAD_GENERATOR), 2)
        self.say(f"idle CPU over {self.sizes.idle_seconds:.0f}s: {platform_total} ms/s "
                 + ", ".join(f"{k} {v}" for k, v in idle.items()))
        self.results["resources"].update({"idle_seconds": self.sizes.idle_seconds, "idle_cpu_ms_per_s": idle,
                                          "idle_cpu_ms_per_s_platform": platform_total})

    async def hop_phase(self) -> None:
        store = self.store
        assert store is not None
        routes = {
            # A route with no upstream call at all.
            "noop_route": ("/healthz", {}),
            # One trivial upstream call: the balances of a player with no account (one GetBalances on wallet).
            "one_rpc_route": ("/v1/wallet/balances", {"Authorization": f"Bearer {store.empty_player_token}"}),
        }
        hop: dict[str, Any] = {"routes": {k: v[0] for k, v in routes.items()}, "cpu_ms_per_request": {}}
        procs = resources.processes(self.platform)
        for name, (path, headers) in routes.items():
            levels: list[Level] = []
            for concurrency, requests in self.sizes.hop.items():
                await self.get_level(path, headers, concurrency, min(requests, 2 * concurrency))
                cpu_before = resources.cpu_snapshot(procs)
                level = await self.get_level(path, headers, concurrency, requests)
                cpu_after = resources.cpu_snapshot(procs)
                self.say(f"hop {name} c={concurrency}: {level.throughput}/s p50 {level.p50_ms} ms")
                levels.append(level)
                if concurrency == HOP_CPU_CONCURRENCY and level.ok:
                    # What one request costs the platform (the Python loader's own CPU aside): for the one-RPC
                    # route, an HTTP request, its token check, one gRPC call and one read statement.
                    per_process = {n: round((cpu_after[n] - cpu_before[n]) / level.ok * 1000, 3) for n in procs}
                    hop["cpu_ms_per_request"][name] = {
                        "by_process": per_process,
                        "platform": round(sum(v for n, v in per_process.items() if n != resources.LOAD_GENERATOR),
                                          3)}
            hop[name] = [level.as_dict() for level in levels]
        self.results["hop"] = hop

    async def limit_phase(self) -> None:
        assert self.platform.postgres is not None
        url = self.platform.postgres.ensure_database("bench_limit")
        s = self.sizes
        top = max(s.limit)
        total = (sum(s.limit.values()) + s.limit[top] * len(s.limit_pools)) * 2
        await limit.prepare(url, players=s.players, items=s.spread_items, stock=total)
        swept = await limit.sweep(url, top, s.limit[top], s.limit_pools, players=s.players, items=s.spread_items)
        best = max(swept, key=lambda lv: lv.throughput)
        best_pool = int(best.extra["pool_size"])
        self.say(f"limit pool sweep at c={top}: " + ", ".join(
            f"pool {int(lv.extra['pool_size'])} {lv.throughput}/s" for lv in swept) + f"; the limit: pool {best_pool}")
        levels: list[Level] = []
        for concurrency, requests in s.limit.items():
            # The best pool's own sweep level is the limit at the top concurrency: no second, noisier measure.
            level = best if concurrency == top else await limit.measure_level(
                url, concurrency, requests, pool_size=min(concurrency, best_pool), players=s.players,
                items=s.spread_items)
            self.say(f"limit c={concurrency} (pool {int(level.extra['pool_size'])}): {level.throughput}/s "
                     f"p50 {level.p50_ms} ms")
            levels.append(level)
        self.results["limit"] = {"database": "bench_limit (scratch, same PostgreSQL)",
                                 "transaction": ["debit with balance check", "stock decrement", "ledger insert",
                                                 "redemption insert", "outbox insert"],
                                 "pool_sweep": {"concurrency": top,
                                                "levels": [lv.as_dict() for lv in swept], "best_pool": best_pool},
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
                await self.get_level(path, reader, concurrency, max(2 * concurrency, 20))
                levels.append(await self.get_level(path, reader, concurrency, requests))
            self.say(f"read {name} ({label}): " + ", ".join(
                f"c={lv.concurrency} {lv.throughput}/s p50 {lv.p50_ms} ms" for lv in levels))
            figures[name] = [level.as_dict() for level in levels]
        reads = self.results["reads"]
        reads["loaded"] = loaded
        reads["paths"] = paths
        reads[label] = {"ledger_rows": ledger_rows, "redemptions": redemption_rows,
                        "load_seconds": round(load_seconds, 1), "figures": figures}
