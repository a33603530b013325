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

from local_runner.settings import RunnerSettings


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
    try:
        _say(f"starting in {settings.run_dir}")
        platform.start()
        if settings.seed_demo:
            _say("seeding the demo tenant")
            demo = seed(platform)
            print(examples(demo), flush=True)
        print("Prometheus metrics:\n" + "".join(f"  {name:<20} {url}\n" for name, url in platform.metrics_urls.items()),
              flush=True)
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
        platform.stop()
        _say("stopped")


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
