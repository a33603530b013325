"""`make run`'s restart policy: a service that exits is started again after a delay that doubles with each exit
in a row (1 s, 2 s, 4 s ... 30 s at most), back to 1 s once it has stayed up a minute; each exit said on the console
with the tail of its log, each return to health too. The rest of the platform runs on meanwhile.

Only `python -m local_runner run` supervises: the tests, the soak and the bench notice an exit themselves
(Platform.exited) and decide what it means."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from local_runner.platform import Platform


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0          # the delay before the first restart
    longest: float = 30.0       # the delay never grows past this
    reset_after: float = 60.0   # an exit after this long up counts as the first in a row again

    def delay(self, exits_in_a_row: int) -> float:
        return min(self.longest, self.first * 2 ** (exits_in_a_row - 1))


@dataclass
class _Watched:
    started_at: float
    exits_in_a_row: int = 0
    restart_at: float | None = None   # when the process is down: when it is started again
    healthy: bool = True              # False from a restart until its health check first passes


class Supervisor:
    """Watches every service process of a started platform; `check()`, called about once a second, restarts the
    ones that exited when their delay is over. It never blocks on a process: a restarted one is started and its
    health checked on later calls."""

    def __init__(self, platform: Platform, say: Callable[[str], None], backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.platform, self.say, self.backoff, self.clock = platform, say, backoff or Backoff(), clock
        self.watched = {name: _Watched(clock()) for name in platform.procs}
        self.restarts = 0

    def check(self) -> None:
        now = self.clock()
        for name, watched in self.watched.items():
            proc = self.platform.procs.get(name)
            if proc is None:
                continue
            if watched.restart_at is not None:
                if now >= watched.restart_at:
                    self._restart(name, watched, now)
            elif proc.poll() is not None:
                self._exited(name, watched, proc.returncode, now)
            elif not watched.healthy and self.platform.is_healthy(self.platform.spec(name)):
                watched.healthy = True
                self.say(f"{name} is healthy again ({now - watched.started_at:.1f}s after its restart)")

    def _exited(self, name: str, watched: _Watched, code: int, now: float) -> None:
        up = now - watched.started_at
        if up >= self.backoff.reset_after:
            watched.exits_in_a_row = 0
        watched.exits_in_a_row += 1
        delay = self.backoff.delay(watched.exits_in_a_row)
        watched.restart_at = now + delay
        row = f", exit {watched.exits_in_a_row} in a row" if watched.exits_in_a_row > 1 else ""
        self.say(f"{name} exited with code {code} after {up:.1f}s up; restarting it in {delay:g}s{row} (the rest "
                 f"of the platform runs on; Ctrl-C stops everything)\n{self.platform.log_tail(name, lines=20)}")

    def _restart(self, name: str, watched: _Watched, now: float) -> None:
        self.platform.start_service(self.platform.spec(name))
        watched.started_at, watched.restart_at, watched.healthy = now, None, False
        self.restarts += 1
        self.say(f"{name}: restarted (pid {self.platform.procs[name].pid}), waiting for it to be healthy")
