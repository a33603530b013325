"""The ports a run will listen on, each with the setting that gives it, checked before anything starts: a port
another process holds is named by its setting at once, not found when its server fails many seconds in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from local_runner.infra import free_port, port_refusal


@dataclass(frozen=True)
class PortUse:
    """A port a process of the platform listens on: `setting`'s value, plus `offset` for a second replica or NATS
    node (GATEWAY_PORT + 100); no setting for a port the runner picked free itself."""

    port: int
    host: str
    owner: str          # who listens: "gateway-2", "postgres", "nats (monitoring)"
    setting: str = ""   # "GATEWAY_PORT"
    offset: int = 0

    @property
    def label(self) -> str:
        if not self.setting:
            return f"port {self.port} ({self.owner}, picked free by the runner)"
        if self.offset:
            return f"{self.setting} + {self.offset} = {self.port} ({self.owner})"
        return f"{self.setting} {self.port} ({self.owner})"

    def advice(self) -> str:
        if not self.setting:
            return "start again (another process took it since it was picked)"
        if self.offset:
            return f"set {self.setting} to a port whose + {self.offset} is free too"
        return f"set {self.setting}=<a free port>, e.g. {self.setting}={free_port()}"


class PortsUnavailable(RuntimeError):
    """Ports the platform needs that it cannot listen on (held by another process, or given twice)."""


def problems(uses: Iterable[PortUse]) -> list[str]:
    """One line per port given to two processes and per port that cannot be listened on, naming its setting and
    what to do; empty when every port is free."""
    uses = list(uses)
    by_port: dict[int, list[PortUse]] = defaultdict(list)
    for use in uses:
        by_port[use.port].append(use)
    found = [" and ".join(u.label for u in same) + ": the same port, give each its own"
             for same in by_port.values() if len(same) > 1]
    for use in uses:
        if len(by_port[use.port]) == 1 and (refusal := port_refusal(use.host, use.port)):
            found.append(f"{use.label} {refusal}: {use.advice()}")
    return found


def check(uses: Iterable[PortUse]) -> None:
    """Raises PortsUnavailable naming every port of `uses` that is taken or given twice."""
    found = problems(uses)
    if len(found) == 1:
        raise PortsUnavailable(found[0])
    if found:
        raise PortsUnavailable(f"{len(found)} ports cannot be listened on:\n" + "\n".join(f"  {p}" for p in found))
