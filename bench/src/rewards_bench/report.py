"""The figures of a run: the ratios against issue 7's targets, the printed table, the JSON and the chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: the chart is a file
import matplotlib.pyplot as plt

RSS_TARGET_MB = 150.0


def _level(levels: list[dict[str, Any]], concurrency: int) -> dict[str, Any] | None:
    return next((lv for lv in levels if lv["concurrency"] == concurrency), None)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def _at_most(v: float | None, bound: float) -> bool | None:
    return None if v is None else v <= bound


def _at_least(v: float | None, bound: float) -> bool | None:
    return None if v is None else v >= bound


def ratios(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each ratio with its target (None: reported, no target) and whether it is met."""
    redeem, hot, lim = results["redeem"]["levels"], results["hot_item"]["levels"], results["limit"]["levels"]
    hop, res = results["hop"], results["resources"]
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, target: str | None, met: bool | None) -> None:
        out.append({"name": name, "value": value, "target": target, "met": met})

    # -- issue 7's table
    e64, l64 = _level(redeem, 64), _level(lim, 64)
    v = _ratio(e64 and e64["throughput"], l64 and l64["throughput"])
    add("end-to-end redeem / limit, throughput at c=64", v, ">= 0.35", _at_least(v, 0.35))
    v = (round(100 * e64["extra"].get("answered_with_code", 0) / e64["requests"], 1)
         if e64 and e64["requests"] else None)
    add("code-pool redeems answered COMPLETED with their code at c=64, %", v, ">= 99", _at_least(v, 99))
    e1 = _level(redeem, 1)
    v = e1 and e1["p50_ms"]
    add("end-to-end redeem p50 at c=1, ms", v, "<= 15", _at_most(v, 15))
    v = res["cpu_ms_per_redemption_platform"]
    add("CPU per redemption, all processes but the load generator, ms", v, "<= 10", _at_most(v, 10))
    for name, cpu in res["cpu_ms_per_redemption"].items():
        if name != "load generator":
            add(f"  CPU per redemption of {name}, ms", cpu, None, None)
    n1, r1 = _level(hop["noop_route"], 1), _level(hop["one_rpc_route"], 1)
    v = round(r1["p50_ms"] - n1["p50_ms"], 2) if r1 and n1 else None
    add("hop: added latency of one gateway -> gRPC call, ms at c=1 (p50)", v, "<= 1", _at_most(v, 1))
    reads = results["reads"]
    n16 = _level(hop["noop_route"], 16)
    for path in reads["paths"]:
        large = _level(reads["large"]["figures"][path], 16)
        v = _ratio(large and large["throughput"], n16 and n16["throughput"])
        add(f"read {path} / no-op route, throughput at c=16 ({reads['large']['ledger_rows']:,} ledger rows)", v,
            ">= 0.5", _at_least(v, 0.5))
    v = res.get("idle_cpu_ms_per_s_platform")
    add(f"CPU of the idle platform over {res.get('idle_seconds', 0):.0f}s, ms per second", v, "<= 5",
        _at_most(v, 5))
    tracing = results.get("tracing", {})
    if "off" in tracing and "on" in tracing:
        v = _ratio(tracing["on"]["cpu_ms_per_redemption_platform"], tracing["off"]["cpu_ms_per_redemption_platform"])
        add("CPU per redemption, tracing on / off (c=16, spans exported over OTLP)", v, "<= 1.1", _at_most(v, 1.1))
    spread = results.get("replicas")
    if spread:
        one, many = spread["one"], spread["many"]
        n = many["replicas"]
        v = _ratio(many["level"]["throughput"], one["level"]["throughput"])
        add(f"REPLICAS={n} / 1, throughput at c=16 (the load split over {many['gateways']} gateways)", v, None, None)
        v = _ratio(many["cpu_ms_per_redemption_platform"], one["cpu_ms_per_redemption_platform"])
        add(f"REPLICAS={n} / 1, CPU per redemption, all processes but the load generator", v, None, None)
        for name, cpu in many["cpu_ms_per_redemption_by_service"].items():
            if name != "load generator":
                whose = f"{name} (all its replicas)" if name.endswith("service") or name == "gateway" else name
                add(f"  CPU per redemption of {whose}, REPLICAS={n} / 1",
                    _ratio(cpu, one["cpu_ms_per_redemption"].get(name)), None, None)
    trips = results.get("round_trips")
    if trips:
        add("SQL round trips per redemption, all services", trips["total_per_redemption"], None, None)
        for service, n in trips["per_redemption"].items():
            add(f"  SQL round trips per redemption of {service}", n, None, None)
    # -- the figures issue 7 asked for before
    e16 = _level(redeem, 16)
    v = _ratio(e16 and e16["p99_ms"], e16 and e16["p50_ms"])
    add("end-to-end redeem p99 / p50 at c=16", v, "<= 10", _at_most(v, 10))
    hot_c = max(lv["concurrency"] for lv in hot)
    h, sp = _level(hot, hot_c), _level(redeem, hot_c)
    v = _ratio(h and h["throughput"], sp and sp["throughput"])
    add(f"hot item / spread, throughput at c={hot_c}", v, ">= 0.5", _at_least(v, 0.5))
    add("hop: one-RPC route / no-op route, p50 latency at c=1", _ratio(r1 and r1["p50_ms"], n1 and n1["p50_ms"]),
        None, None)
    r16 = _level(hop["one_rpc_route"], 16)
    add("hop: one-RPC route / no-op route, throughput at c=16",
        _ratio(r16 and r16["throughput"], n16 and n16["throughput"]), None, None)
    # -- what the throughput targets leave per redemption: saturated, the cores' CPU-seconds divided by the target
    # rate, against what one gateway -> gRPC call with one read statement costs (a redemption's path makes four:
    # Redeem, ReserveStock, DebitPoints, FulfilNow).
    hop_cpu = hop.get("cpu_ms_per_request", {})
    for route in ("noop_route", "one_rpc_route"):
        if route in hop_cpu:
            add(f"hop: CPU per request of the {route.replace('_', '-')} at c=16, all processes but the load "
                "generator, ms", hop_cpu[route]["platform"], None, None)
    cpus = results["meta"].get("cpus") or 0
    if l64 and l64["throughput"] and cpus:
        for share in (0.15, 0.35):
            add(f"CPU per redemption the cores allow at {share} of the limit ({cpus} CPUs), ms",
                round(cpus * 1000 / (share * l64["throughput"]), 2), None, None)
    for path in reads["paths"]:
        small, large = _level(reads["small"]["figures"][path], 1), _level(reads["large"]["figures"][path], 1)
        v = _ratio(large and large["p50_ms"], small and small["p50_ms"])
        add(f"read {path}: p50 at {reads['large']['ledger_rows']:,} / at {reads['small']['ledger_rows']:,} "
            "ledger rows", v, "<= 1.2", _at_most(v, 1.2))
    for name, mb in res["rss_mb"].items():
        if name.endswith("service") or name == "gateway":
            add(f"resident memory of {name}, MB", mb, f"< {RSS_TARGET_MB:.0f}", mb < RSS_TARGET_MB)
    return out


def _rows(title: str, levels: list[dict[str, Any]], note: str = "") -> list[str]:
    lines = [f"{title}", f"  {'c':>4} {'req':>6} {'fail':>5} {'req/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"
             + (f"  {note}" if note else "")]
    for lv in levels:
        extra = f"  {int(lv['extra'][note])}" if note and note in lv["extra"] else ""
        lines.append(f"  {lv['concurrency']:>4} {lv['requests']:>6} {lv['failed']:>5} {lv['throughput']:>9.1f} "
                     f"{lv['p50_ms']:>9.2f} {lv['p95_ms']:>9.2f} {lv['p99_ms']:>9.2f}{extra}")
    return lines


def _loader_line(meta: dict[str, Any]) -> str:
    loader = meta.get("loader") or {}
    if loader.get("name") == "wrk":
        return f"load generator: {loader.get('version', 'wrk')}, one thread, a Lua script per level"
    return f"load generator: Python (httpx), because {loader.get('why', '?')}"


def table(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines: list[str] = [(f"rewards benchmark, {meta['started_at']} on {meta['cpus']} CPUs "
                        f"({'quick' if meta.get('quick') else 'full'})"), _loader_line(meta), ""]
    lines += _rows(f"end-to-end redeem through the gateway, spread over {results['redeem']['items']} code-pool items, "
                   f"{results['redeem']['players']} players", results["redeem"]["levels"])
    with_code = [f"c={lv['concurrency']}: {int(lv['extra'].get('answered_with_code', 0))}/{lv['requests']}"
                 for lv in results["redeem"]["levels"]]
    lines.append("  answered COMPLETED with the code: " + ", ".join(with_code))
    lines += _rows("hot item: every request on one item", results["hot_item"]["levels"])
    with_code = [f"c={lv['concurrency']}: {int(lv['extra'].get('answered_with_code', 0))}/{lv['requests']}"
                 for lv in results["hot_item"]["levels"]]
    lines.append("  answered COMPLETED with the code: " + ", ".join(with_code))
    for part in ("redeem", "hot_item"):
        for lv in results[part]["levels"]:
            refused = {k: int(v) for k, v in lv["extra"].items() if k.startswith("status_") or k == "socket_errors"}
            if refused:
                lines.append(f"  {part} c={lv['concurrency']} failed: {refused}")
    sweep = results["limit"]["pool_sweep"]
    lines += _rows(f"the limit's asyncpg pool, swept at c={sweep['concurrency']} (best: {sweep['best_pool']})",
                   sweep["levels"], "pool_size")
    lines += _rows("the limit: one redemption's database work as one asyncpg transaction", results["limit"]["levels"],
                   "pool_size")
    lines += _rows(f"hop: no-op route {results['hop']['routes']['noop_route']}", results["hop"]["noop_route"])
    lines += _rows(f"hop: one trivial RPC {results['hop']['routes']['one_rpc_route']} (player with no account)",
                   results["hop"]["one_rpc_route"])
    reads = results["reads"]
    for label in ("small", "large"):
        part = reads[label]
        for path, levels in part["figures"].items():
            lines += _rows(f"read {path} {reads['paths'][path]} with {part['ledger_rows']:,} ledger rows, "
                           f"{part['redemptions']:,} redemptions", levels)
    res = results["resources"]
    lines.append(f"resources over the redeem phases ({res['redemptions_measured']} redemptions), and at rest "
                 f"({res.get('idle_seconds', 0):.0f}s, no traffic)")
    lines.append(f"  {'process':<26} {'CPU ms/redemption':>18} {'RSS MB':>8} {'idle CPU ms/s':>14}")
    idle = res.get("idle_cpu_ms_per_s", {})
    for name, cpu in res["cpu_ms_per_redemption"].items():
        rss, at_rest = res["rss_mb"].get(name), idle.get(name)
        lines.append(f"  {name:<26} {cpu:>18.2f} {'' if rss is None else f'{rss:.1f}':>8} "
                     f"{'' if at_rest is None else f'{at_rest:.2f}':>14}")
    lines.append(f"  {'all but the load generator':<26} {res['cpu_ms_per_redemption_platform']:>18.2f} {'':>8} "
                 f"{res.get('idle_cpu_ms_per_s_platform', 0):>14.2f}")
    tracing = results.get("tracing", {})
    if "off" in tracing and "on" in tracing:
        lines.append("CPU per redemption, ms, one level at c=16 with tracing off and on (spans exported over OTLP)")
        for name, off in tracing["off"]["cpu_ms_per_redemption"].items():
            on = tracing["on"]["cpu_ms_per_redemption"].get(name, 0.0)
            lines.append(f"  {name:<26} off {off:>7.2f}   on {on:>7.2f}")
        lines.append(f"  {'all but the load generator':<26} off "
                     f"{tracing['off']['cpu_ms_per_redemption_platform']:>7.2f}   on "
                     f"{tracing['on']['cpu_ms_per_redemption_platform']:>7.2f}")
    spread = results.get("replicas")
    if spread:
        one, many = spread["one"], spread["many"]
        n = many["replicas"]
        lines.append(f"one level at c=16, REPLICAS=1 and REPLICAS={n} (every service {n} times, the load split over "
                     f"{many['gateways']} gateways): throughput, p50, p99, CPU ms per redemption by service")
        for label, side in (("1", one), (str(n), many)):
            lv = side["level"]
            lines.append(f"  REPLICAS={label:<3} {lv['throughput']:>8.1f}/s  p50 {lv['p50_ms']:>7.1f} ms  "
                         f"p99 {lv['p99_ms']:>7.1f} ms  ({lv['failed']} failed)")
        for name, cpu in many["cpu_ms_per_redemption_by_service"].items():
            lines.append(f"  {name:<26} 1: {one['cpu_ms_per_redemption'].get(name, 0.0):>7.2f}   {n}: {cpu:>7.2f}")
        lines.append(f"  {'all but the load generator':<26} 1: {one['cpu_ms_per_redemption_platform']:>7.2f}   "
                     f"{n}: {many['cpu_ms_per_redemption_platform']:>7.2f}")
    trips = results.get("round_trips")
    if trips:
        lines.append(f"SQL round trips per redemption ({trips['redemptions']} redemptions at c=1, PostgreSQL's "
                     "statement log; statements at rest taken off)")
        for service, n in trips["per_redemption"].items():
            kinds = ", ".join(f"{k} {v}" for k, v in trips["by_kind"].get(service, {}).items())
            lines.append(f"  {service:<26} {n:>6.2f}   {kinds}")
        lines.append(f"  {'all services':<26} {trips['total_per_redemption']:>6.2f}")
    lines.append("")
    lines.append("ratios (issue 7 targets, reported, not asserted)")
    for r in results["ratios"]:
        verdict = "" if r["met"] is None else ("met" if r["met"] else "NOT met")
        value = "n/a" if r["value"] is None else f"{r['value']}"
        lines.append(f"  {r['name']:<84} {value:>10}  target {r['target'] or '-':<7} {verdict}")
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    fig, (ax_rate, ax_lat) = plt.subplots(1, 2, figsize=(13, 5))
    series = {"redeem, spread": results["redeem"]["levels"], "redeem, hot item": results["hot_item"]["levels"],
              "limit (asyncpg)": results["limit"]["levels"], "no-op route": results["hop"]["noop_route"],
              "one-RPC route": results["hop"]["one_rpc_route"]}
    for label, levels in series.items():
        cs = [lv["concurrency"] for lv in levels]
        line, = ax_rate.plot(cs, [lv["throughput"] for lv in levels], marker="o", label=label)
        ax_lat.plot(cs, [lv["p50_ms"] for lv in levels], marker="o", color=line.get_color(), label=f"{label} p50")
        ax_lat.plot(cs, [lv["p99_ms"] for lv in levels], marker="x", linestyle="--", color=line.get_color(),
                    label=f"{label} p99")
    for ax in (ax_rate, ax_lat):
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(results["meta"]["levels"]))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel("concurrency (requests in flight)")
        ax.grid(True, alpha=0.3)
    ax_rate.set_yscale("log")
    ax_rate.set_ylabel("throughput, requests/s")
    ax_rate.set_title("throughput against concurrency")
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("latency, ms")
    ax_lat.set_title("latency against concurrency")
    ax_rate.legend(fontsize=8)
    ax_lat.legend(fontsize=7, ncol=2)
    fig.suptitle(f"rewards benchmark, {results['meta']['started_at']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "bench.json", out / "bench.png"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    chart(results, png_path)
    return json_path, png_path
