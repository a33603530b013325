"""`make reset` (python -m local_runner reset): it stops a `make run` of the same RUN_DIR that is up first (which
stops what it started, removing its pid files as it goes), then what an earlier run left behind, says what it
stopped, and deletes RUN_DIR; missing, unreadable and stale pid files (a pid reused by another program) are only
removed. And a second `make run` on a RUN_DIR whose runner is up is refused. With real processes standing in for
the runner and its services (the whole `make run` is tests-e2e/test_runner.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

# What a runner does when it is told to stop: it stops its service (removing the service's pid file, as
# Platform.stop does) and its own pid file, then exits.
FAKE_RUNNER = """
import os, signal, subprocess, sys, time
from pathlib import Path
run_dir = Path(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "-m", "gateway"])
(run_dir / "pids" / "gateway.pid").write_text(f"{child.pid}\\n")
(run_dir / "runner.pid").write_text(f"{os.getpid()}\\n")
def stop(*_):
    child.terminate(); child.wait()
    (run_dir / "pids" / "gateway.pid").unlink()
    (run_dir / "runner.pid").unlink()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print(child.pid, flush=True)
time.sleep(120)
"""


def _local_runner(command: str, run_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local_runner", command], env={**os.environ, "RUN_DIR": str(run_dir)},
                          capture_output=True, text=True, check=False, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def _alive(pid: int) -> bool:
    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_reset_while_make_run_is_up_stops_the_runner_first_and_says_what_it_stopped(
        tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "pids").mkdir(parents=True)
    runner = subprocess.Popen([sys.executable, "-c", FAKE_RUNNER, str(run_dir), "-m", "local_runner", "run"],
                              stdout=subprocess.PIPE, text=True)
    processes.append(runner)
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    # A leftover of an earlier run beside it, and pid files of processes long gone.
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "-m", "wallet_service"])
    processes.append(leftover)  # type: ignore[arg-type]
    (run_dir / "pids" / "wallet-service.pid").write_text(f"{leftover.pid}\n")
    (run_dir / "pids" / "catalog-service.pid").write_text("not a pid\n")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (run_dir / "pids" / "nats.pid").write_text(f"{gone.pid}\n")

    done = _local_runner("reset", run_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"[run] stopping make run (pid {runner.pid}), which stops what it started: gateway (pid {child}), " \
           f"wallet-service (pid {leftover.pid})" in out, out
    assert f"[run] stopping a leftover wallet-service (pid {leftover.pid}) from an earlier run" in out, out
    assert f"[run] stopped make run (pid {runner.pid}), gateway (pid {child}), wallet-service (pid {leftover.pid})" \
           in out, out
    assert f"[run] deleted {run_dir}" in out and not run_dir.exists()
    assert runner.wait(10) == 0 and leftover.wait(10) is not None and not _alive(child)


def test_stale_pid_files_are_removed_and_nothing_else_is_touched(
        tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    # A pid reused by another program (its command line is not the service's), and a pid file written before the
    # process it names started (so not by its runner).
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    processes.append(stranger)  # type: ignore[arg-type]
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "gateway.pid").write_text(f"{stranger.pid}\n")
    (tmp_path / "runner.pid").write_text(f"{stranger.pid}\n")
    (tmp_path / "pids" / "postgres.pid").write_text("")
    early = tmp_path / "pids" / "catalog-service.pid"
    early.write_text("0\n")
    late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "-m", "catalog_service"])
    processes.append(late)  # type: ignore[arg-type]
    early.write_text(f"{late.pid}\n")
    os.utime(early, (time.time() - 60, time.time() - 60))

    done = _local_runner("reset", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[run] nothing was running" in done.stdout and "stopping" not in done.stdout, done.stdout
    assert not tmp_path.exists()
    assert stranger.poll() is None and late.poll() is None

    assert "[run] nothing to delete" in _local_runner("reset", tmp_path).stdout


def test_a_second_make_run_on_the_same_run_dir_is_refused(tmp_path: Path,
                                                          processes: list[subprocess.Popen[str]]) -> None:
    (tmp_path / "pids").mkdir()
    runner = subprocess.Popen([sys.executable, "-c", FAKE_RUNNER, str(tmp_path), "-m", "local_runner", "run"],
                              stdout=subprocess.PIPE, text=True)
    processes.append(runner)
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    done = _local_runner("run", tmp_path, timeout=60)
    assert done.returncode == 1
    assert f"[run] failed: make run is already running in {tmp_path} (pid {runner.pid})" in done.stdout, done.stdout
    assert _alive(child) and (tmp_path / "pids" / "gateway.pid").exists()   # the first run is left alone
