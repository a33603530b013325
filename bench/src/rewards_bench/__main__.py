"""python -m rewards_bench [--quick] [--out bench-results/] [--loader auto|wrk|python] [--replicas N]

Starts the whole platform as `make run` does (embedded PostgreSQL and NATS, the five services, the demo tenant), on
free ports in a temporary folder, loads it phase by phase, prints a table of the figures with issue 7's targets
beside the ratios, writes bench.json and bench.png to --out, and stops everything it started. A benchmark, not a
test: it asserts nothing about the figures. --quick runs every phase with small numbers (the smoke test's setting).
A third platform runs every service as --replicas processes (2 by default; 1 skips it) for the same level as
the tracing-off one: its throughput and CPU per redemption beside the one-replica figures.
The load comes from wrk (installed with apt-get when missing); where it cannot be had, from the Python loader, with a
warning, and bench.json records which.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rewards_bench.benchmark import FULL, LEVELS, QUICK, Benchmark
from rewards_bench.otlp_sink import OtlpSink
from rewards_bench.report import ratios, table, write
from rewards_bench.store import start_platform
from rewards_bench.wrk import find_or_install, version


def _say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _loader(choice: str) -> tuple[str | None, dict[str, Any]]:
    """wrk's binary (or None) and what bench.json records of the loader."""
    if choice == "python":
        return None, {"name": "python", "why": "asked for (--loader python)"}
    binary, how = find_or_install(_say)
    if binary is None:
        if choice == "wrk":
            raise SystemExit(f"[bench] --loader wrk: {how}")
        _say(f"WARNING: {how}; falling back to the Python loader (httpx), whose own CPU competes with the "
             "platform's far more than wrk's")
        return None, {"name": "python", "why": how}
    return binary, {"name": "wrk", "binary": binary, "version": version(binary), "how": how, "threads": 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rewards_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small numbers: every phase in a few seconds")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for bench.json, bench.png")
    parser.add_argument("--loader", choices=("auto", "wrk", "python"), default="auto",
                        help="auto: wrk, installed when missing, else the Python loader")
    parser.add_argument("--replicas", type=int, default=2,
                        help="processes of each service on the third platform (REPLICAS); 1: no third platform")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 9:
        parser.error("--replicas must be between 1 and 9")
    # SIGTERM (kill, a CI job's timeout) unwinds like Ctrl-C, so each platform's `finally` stops its processes:
    # they run in sessions of their own and would otherwise outlive the benchmark, idling on the CPUs it measures.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    began = time.monotonic()
    wrk, loader = _loader(args.loader)
    sizes = QUICK if args.quick else FULL
    results = _on_platform({}, lambda bench: bench.run(), sizes, wrk, loader)
    # The same level with tracing on, on a second platform whose every process exports its spans (OTLP over
    # HTTP) to a stand-in collector: the instrumentation's cost, as CPU per redemption on against off.
    with OtlpSink() as sink:
        results["tracing"]["on"] = _on_platform(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
             "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, lambda bench: bench.traced_run(), sizes, wrk, loader)
        results["tracing"]["collector"] = {"exports": sink.requests, "bytes": sink.bytes}
    _say(f"tracing on: {sink.requests} exports, {sink.bytes} bytes received by the stand-in collector")
    if args.replicas > 1:
        # The same level once more, on a platform of `replicas` processes of every service (REPLICAS=2 by default).
        results["replicas"] = {"one": results["tracing"]["off"],
                               "many": _on_platform({}, lambda bench: bench.replicated_run(), sizes, wrk, loader,
                                                    replicas=args.replicas)}
    results["meta"].update({"quick": args.quick, "levels": list(LEVELS)})
    results["ratios"] = ratios(results)
    json_path, png_path = write(results, args.out)
    print(table(results), flush=True)
    _say(f"wrote {json_path} and {png_path}; {time.monotonic() - began:.0f}s in all")
    return 0


def _on_platform(environ: dict[str, str], work: Any, sizes: Any, wrk: str | None, loader: dict[str, Any],
                 replicas: int = 1) -> Any:
    """Starts a platform (its processes get `environ` on top of this one's; `replicas` processes of every
    service), runs `work(bench)` on it, stops it."""
    began = time.monotonic()
    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    try:
        platform = start_platform(say=_say, replicas=replicas)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    succeeded = False
    try:
        _say(f"platform up in {time.monotonic() - began:.1f}s (logs in {platform.logs})")
        result = asyncio.run(work(Benchmark(platform, sizes, _say, wrk=wrk, loader=loader)))
        succeeded = True
        return result
    except Exception as exc:
        _say(f"failed: {exc!r}")
        for name in platform.exited():
            _say(f"{name} exited\n{platform.log_tail(name)}")
        raise
    finally:
        platform.stop()
        if succeeded:  # the data (a million ledger rows) goes; after a failure the logs stay to be read
            shutil.rmtree(platform.run_dir, ignore_errors=True)
        _say(f"platform stopped after {time.monotonic() - began:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
