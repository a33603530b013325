"""A named failpoint kills its own process with SIGKILL; unnamed ones do nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

SCRIPT = """
import asyncio, time
from service_kit.failpoints import failpoint, stall_point
failpoint("other.point")
started = time.monotonic()
asyncio.run(stall_point("a.stall"))
print(f"stalled {time.monotonic() - started:.1f}", flush=True)
failpoint("a.crash")
print("survived", flush=True)
"""


def run(failpoints: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAILPOINTS": failpoints, "FAILPOINT_SLEEP_SECONDS": "0.3"}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=30,
                          check=False)


def test_a_named_failpoint_kills_the_process_with_sigkill() -> None:
    done = run("a.crash, a.stall")
    assert done.returncode == -signal.SIGKILL
    assert "survived" not in done.stdout
    assert float(done.stdout.split()[1]) >= 0.3


def test_without_failpoints_nothing_happens() -> None:
    done = run("")
    assert done.returncode == 0, done.stderr
    assert "survived" in done.stdout and "stalled 0.0" in done.stdout
