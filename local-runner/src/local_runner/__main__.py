"""python -m local_runner run | reset

run    start embedded PostgreSQL and NATS and the five services, wait until each is healthy, seed the demo
       tenant, print example requests, and keep running until Ctrl-C, SIGINT or SIGTERM; data is kept in .run/.
reset  stop whatever an earlier run left behind and delete .run/ (data, logs, demo credentials).
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
    from local_runner.demo import examples, seed
    from local_runner.platform import Platform

    settings = RunnerSettings()
    platform = Platform(settings, say=_say)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = time.monotonic()
    prometheus = None
    try:
        _say(f"starting in {settings.run_dir}")
        platform.start()
        if settings.seed_demo:
            _say("seeding the demo tenant")
            demo = seed(platform)
            print(examples(demo), flush=True)
        print("Prometheus metrics:\n" + "".join(f"  {name:<20} {url}\n" for name, url in platform.metrics_urls.items()),
              flush=True)
        prometheus = _local_prometheus(settings, platform)
        _say(f"all services healthy in {time.monotonic() - started:.1f}s; gateway on {platform.gateway_url}")
        if settings.replicas > 1:
            _say(f"{settings.replicas} replicas of the gateway and of each gRPC service: gateways on "
                 f"{', '.join(platform.gateway_urls)}; each caller spreads its calls over every replica")
        if settings.mtls:
            _say(f"mutual TLS between the services: the local CA and their certificates in {settings.run_dir / 'tls'}")
        while not stop.wait(1.0):
            dead = platform.exited()
            if dead:
                for name in dead:
                    _say(f"{name} exited unexpectedly\n{platform.log_tail(name)}")
                return 1
        _say("stopping")
        return 0
    except Exception as exc:  # startup failure: say why, then stop what started
        _say(f"failed: {exc}")
        return 1
    finally:
        if prometheus is not None:
            prometheus.stop()
        platform.stop()
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
    print(f"Prometheus (every process scraped, the alert rules loaded): {prometheus.url}\n"
          f"  alerts: {prometheus.url}/alerts   targets: {prometheus.url}/targets", flush=True)
    return prometheus


def reset() -> int:
    from local_runner.platform import Platform

    settings = RunnerSettings()
    Platform(settings, say=_say).stop_leftovers()
    if settings.run_dir.exists():
        shutil.rmtree(settings.run_dir)
        _say(f"deleted {settings.run_dir}")
    else:
        _say("nothing to reset")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "reset"])
    args = parser.parse_args(argv)
    return run() if args.command == "run" else reset()


if __name__ == "__main__":
    sys.exit(main())
