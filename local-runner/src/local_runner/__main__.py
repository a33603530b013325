"""python -m local_runner run | reset

run    check that every port is free, start embedded PostgreSQL and NATS and the services, wait until each is
       healthy, seed the demo tenant, print example requests, and keep running until Ctrl-C, SIGINT or SIGTERM,
       restarting a service that exits (with backoff); data is kept in .run/ (RUN_DIR).
reset  stop a `run` of the same RUN_DIR that is up (it stops what it started), then whatever an earlier run left
       behind, say what was stopped, and delete .run/ (data, logs, demo credentials).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from local_runner.settings import RunnerSettings

if TYPE_CHECKING:
    from local_runner.platform import Platform
    from local_runner.prometheus import LocalPrometheus


def _say(message: str) -> None:
    print(f"[run] {message}", flush=True)


def run() -> int:
    from local_runner.demo import examples, operator_cli, seed
    from local_runner.platform import Platform
    from local_runner.ports import PortUse
    from local_runner.prometheus import prometheus_binary
    from local_runner.supervision import Supervisor

    settings = RunnerSettings()
    platform = Platform(settings, say=_say)
    other = platform.running_runner()
    if other is not None:
        _say(f"failed: make run is already running in {settings.run_dir} (pid {other.pid}): stop it (Ctrl-C in its "
             "terminal, or make reset), or give this one another RUN_DIR and other ports")
        return 1
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = time.monotonic()
    prometheus = None
    platform.claim_runner()
    try:
        _say(f"starting in {settings.run_dir}")
        with_prometheus = bool(settings.prometheus_port) and prometheus_binary() is not None
        platform.start(also_listening=[PortUse(settings.prometheus_port, settings.host, "the local Prometheus",
                                               "PROMETHEUS_PORT")] if with_prometheus else [])
        if settings.seed_demo:
            _say("seeding the demo tenant")
            demo = seed(platform)
            print(examples(demo, settings.run_dir), flush=True)
        else:
            print(f"Operator CLI (tenants, API clients, keys: gateway/README.md):\n  {operator_cli(platform)} "
                  "list-tenants\n", flush=True)
        print("Prometheus metrics:\n" + "".join(f"  {name:<20} {url}\n" for name, url in platform.metrics_urls.items()),
              flush=True)
        prometheus = _local_prometheus(settings, platform)
        _say(f"all services healthy in {time.monotonic() - started:.1f}s; gateway on {platform.gateway_url}")
        if settings.replicas > 1:
            _say(f"{settings.replicas} replicas of the gateway and of each gRPC service: gateways on "
                 f"{', '.join(platform.gateway_urls)}; each caller spreads its calls over every replica")
        if settings.mtls:
            _say(f"mutual TLS between the services: the local CA and their certificates in {settings.run_dir / 'tls'}")
        # A service that exits is restarted with backoff (local_runner.supervision); a signal stops everything.
        supervisor = Supervisor(platform, _say)
        while not stop.wait(1.0):
            supervisor.check()
        _say("stopping")
        return 0
    except Exception as exc:  # startup failure: say why, then stop what started
        _say(f"failed: {exc}")
        return 1
    finally:
        if prometheus is not None:
            prometheus.stop()
            platform.forget_pid("prometheus")
        platform.stop()
        platform.release_runner()
        _say("stopped")


def _local_prometheus(settings: RunnerSettings, platform: Platform) -> LocalPrometheus | None:
    """A Prometheus scraping every process with the alert rules loaded, when a `prometheus` binary is there and
    PROMETHEUS_PORT is not 0; a Prometheus that cannot start is said, and the platform runs on without it."""
    from local_runner.prometheus import LocalPrometheus, prometheus_binary

    binary = prometheus_binary()
    if not settings.prometheus_port or binary is None:
        if settings.prometheus_port:
            _say("no prometheus binary (make promtool unpacks one into .venv/bin): no local Prometheus")
        return None
    prometheus = LocalPrometheus(binary, settings.run_dir / "prometheus", platform.logs / "prometheus.log",
                                 settings.host, settings.prometheus_port)
    try:
        prometheus.start(platform.metrics_urls)
    except (OSError, RuntimeError) as exc:
        _say(f"local Prometheus not started: {exc}")
        prometheus.stop()
        return None
    platform.write_pid("prometheus", prometheus.proc)   # `make reset` and the next run stop a leftover one
    print(f"Prometheus (every process scraped, the alert rules loaded): {prometheus.url}\n"
          f"  alerts: {prometheus.url}/alerts   targets: {prometheus.url}/targets", flush=True)
    return prometheus


def reset() -> int:
    from local_runner.platform import RUNNER_STOP_SECONDS, Platform, end_process

    settings = RunnerSettings()
    platform = Platform(settings, say=_say)
    stopped: list[str] = []
    runner = platform.running_runner()
    if runner is not None:
        # The running `make run` stops what it started, in order (else it would restart what we stop).
        children = platform.running()
        _say(f"stopping make run (pid {runner.pid}), which stops what it started: {', '.join(children) or 'nothing yet'}")
        if not end_process(runner, timeout=RUNNER_STOP_SECONDS):
            _say(f"make run (pid {runner.pid}) did not stop within {RUNNER_STOP_SECONDS:.0f}s: killed it")
        stopped += [f"make run (pid {runner.pid})", *children]
    stopped += [p for p in platform.stop_leftovers() if p not in stopped]
    _say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
    if settings.run_dir.exists():
        shutil.rmtree(settings.run_dir)
        _say(f"deleted {settings.run_dir}")
    else:
        _say(f"nothing to delete: no {settings.run_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "reset"])
    args = parser.parse_args(argv)
    return run() if args.command == "run" else reset()


if __name__ == "__main__":
    sys.exit(main())
