"""`make run`'s restart policy (local_runner.supervision): a service that exits is started again after a delay
doubling with each exit in a row, back to the first once it stayed up long enough, each exit said with the tail of
its log and each return to health too. Run on a real process, the demo partner (it needs no database)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_runner.infra import free_port
from local_runner.platform import Platform
from local_runner.settings import RunnerSettings
from local_runner.supervision import Backoff, Supervisor


def test_the_delay_doubles_from_one_second_to_thirty_at_most() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff.reset_after == 60


@pytest.fixture
def partner(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(RunnerSettings(run_dir=tmp_path, partner_port=free_port()), say=lambda _: None)
    platform.logs.mkdir(parents=True)
    platform.pids.mkdir()
    platform.start_service(platform.spec("demo-partner"))
    platform.wait_healthy(["demo-partner"])
    yield platform
    platform.stop()


def _until(messages: list[str], supervisor: Supervisor, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.check()
        found = [m for m in messages if text in m]
        if found:
            messages.clear()
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no message with {text!r}: {messages}")


def _kill(platform: Platform) -> int:
    proc = platform.procs["demo-partner"]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    return proc.pid


def test_a_service_that_exits_is_restarted_with_backoff_and_said(partner: Platform) -> None:
    messages: list[str] = []
    supervisor = Supervisor(partner, messages.append, Backoff(first=0.2, longest=0.4, reset_after=2.0))
    first = _kill(partner)
    said = _until(messages, supervisor, "exited")
    assert said.startswith("demo-partner exited with code -9 after ") and "restarting it in 0.2s (" in said, said
    assert f"--- last lines of {partner.logs / 'demo-partner.log'}:" in said   # the tail of its log
    _until(messages, supervisor, "demo-partner: restarted (pid ")
    assert "demo-partner is healthy again" in _until(messages, supervisor, "healthy again")
    second = partner.procs["demo-partner"].pid
    assert second != first and (partner.pids / "demo-partner.pid").read_text().strip() == str(second)

    _kill(partner)   # again, soon: the delay doubles, up to the longest
    assert "restarting it in 0.4s, exit 2 in a row" in _until(messages, supervisor, "exited")
    _until(messages, supervisor, "healthy again")
    _kill(partner)
    assert "restarting it in 0.4s, exit 3 in a row" in _until(messages, supervisor, "exited")
    _until(messages, supervisor, "healthy again")

    time.sleep(2.1)   # up longer than reset_after: the next exit is the first in a row again
    _kill(partner)
    said = _until(messages, supervisor, "exited")
    assert "restarting it in 0.2s (" in said and "in a row" not in said, said
    _until(messages, supervisor, "healthy again")
    assert supervisor.restarts == 4 and partner.procs["demo-partner"].poll() is None
