"""The benchmark keeps working: a quick run starts the platform, goes through every phase and writes its figures.
A benchmark is not a test, so nothing here looks at a timing: only that each section is there and sane."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SECTIONS = ("meta", "redeem", "hot_item", "limit", "hop", "reads", "resources", "round_trips", "tracing", "replicas",
            "ratios")
SERVICES = ("gateway", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service")


def test_quick_run_writes_every_section_and_the_chart(tmp_path: Path) -> None:
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "rewards_bench", "--quick", "--out", str(out)],
                         capture_output=True, text=True, check=False, timeout=420)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    results = json.loads((out / "bench.json").read_text())
    assert set(SECTIONS) <= set(results), sorted(results)
    for section in ("redeem", "limit"):
        assert [lv["concurrency"] for lv in results[section]["levels"]] == [1, 16, 64]
    # Every redemption was answered (201) and, code-pool items being fast, with its code.
    for level in results["redeem"]["levels"] + results["hot_item"]["levels"]:
        assert level["failed"] == 0 and level["ok"] == level["requests"] > 0, level
    assert all(lv["failed"] == 0 for lv in results["limit"]["levels"])
    assert all(lv["failed"] == 0 for lv in results["hop"]["noop_route"] + results["hop"]["one_rpc_route"])
    # What one request costs the platform, the no-op route's less than the one-RPC route's.
    hop_cpu = results["hop"]["cpu_ms_per_request"]
    assert 0 < hop_cpu["noop_route"]["platform"] < hop_cpu["one_rpc_route"]["platform"], hop_cpu
    assert hop_cpu["one_rpc_route"]["by_process"]["wallet-service"] > 0, hop_cpu
    reads = results["reads"]
    assert reads["large"]["ledger_rows"] > reads["small"]["ledger_rows"] >= 1_000
    assert reads["large"]["redemptions"] > reads["small"]["redemptions"]
    for label in ("small", "large"):
        for path, levels in reads[label]["figures"].items():
            assert all(lv["failed"] == 0 for lv in levels), (label, path, levels)
    resources = results["resources"]
    for service in SERVICES:
        assert resources["cpu_ms_per_redemption"][service] > 0
        assert resources["rss_mb"][service] > 0
        assert resources["idle_cpu_ms_per_s"][service] >= 0
    # events-service works after the answer (the domain events): counted in the platform's CPU too, though a
    # quick run's few redemptions may cost it less than psutil's 10 ms tick
    assert resources["cpu_ms_per_redemption"]["events-service"] >= 0 and resources["rss_mb"]["events-service"] > 0
    assert resources["cpu_ms_per_redemption_platform"] > 0
    assert resources["idle_seconds"] > 0 and "idle_cpu_ms_per_s_platform" in resources
    # The loader is recorded; wrk, or the Python loader with the reason it was used.
    loader = results["meta"]["loader"]
    assert loader["name"] == "wrk" or (loader["name"] == "python" and loader["why"]), loader
    # The limit is the best of a sweep of pool sizes, and the c=64 level is that pool's.
    sweep = results["limit"]["pool_sweep"]
    assert [int(lv["extra"]["pool_size"]) for lv in sweep["levels"]] == [4, 8, 16, 32, 64]
    assert all(lv["failed"] == 0 for lv in sweep["levels"])
    assert results["limit"]["levels"][-1]["extra"]["pool_size"] == sweep["best_pool"]
    trips = results["round_trips"]
    assert trips["redemptions"] > 0 and trips["total_per_redemption"] > 0
    # Per database: events-service's too (it writes the event log as the redemption's events arrive).
    databases = {*SERVICES, "events-service"}
    assert set(trips["per_redemption"]) == databases and set(trips["by_kind"]) == databases
    # The instrumentation's cost: the same level with tracing off and on (a second platform exporting its spans).
    tracing = results["tracing"]
    for side in ("off", "on"):
        assert tracing[side]["level"]["failed"] == 0 and tracing[side]["cpu_ms_per_redemption_platform"] > 0
    assert tracing["collector"]["exports"] > 0, "tracing on, yet no span reached the collector"
    # The same level on a platform of two replicas of every service (REPLICAS=2), the load over both gateways.
    spread = results["replicas"]
    assert spread["one"] == tracing["off"]
    many = spread["many"]
    assert many["replicas"] == 2 and many["gateways"] == 2
    assert many["level"]["failed"] == 0 and many["level"]["requests"] > 0, many["level"]
    for service in SERVICES:
        for replica in (service, f"{service}-2"):
            assert many["cpu_ms_per_redemption"][replica] > 0, (replica, many["cpu_ms_per_redemption"])
        assert many["cpu_ms_per_redemption_by_service"][service] == pytest.approx(
            many["cpu_ms_per_redemption"][service] + many["cpu_ms_per_redemption"][f"{service}-2"], abs=0.02)
    names = {r["name"] for r in results["ratios"]}
    assert names >= {"end-to-end redeem / limit, throughput at c=64", "end-to-end redeem p99 / p50 at c=16",
                     "code-pool redeems answered COMPLETED with their code at c=64, %",
                     "end-to-end redeem p50 at c=1, ms",
                     "CPU per redemption, all processes but the load generator, ms",
                     "hop: added latency of one gateway -> gRPC call, ms at c=1 (p50)",
                     "SQL round trips per redemption, all services",
                     "hop: CPU per request of the one-rpc-route at c=16, all processes but the load generator, ms",
                     "REPLICAS=2 / 1, throughput at c=16 (the load split over 2 gateways)",
                     "REPLICAS=2 / 1, CPU per redemption, all processes but the load generator"}, sorted(names)
    assert any(n.startswith("CPU of the idle platform") for n in names)
    assert any(n.startswith("CPU per redemption the cores allow at 0.15 of the limit") for n in names)
    for path in reads["paths"]:
        assert any(n.startswith(f"read {path} / no-op route, throughput at c=16") for n in names), path
    png = (out / "bench.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert "ratios (issue 7 targets" in run.stdout
