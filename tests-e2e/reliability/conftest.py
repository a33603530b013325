"""The reliability scenarios' shared tools: a printed seed, the `ledger` whose invariants (local_runner.invariants,
read straight from each service's database, polled "eventually" within a bound) are checked after every scenario,
and the wait for a failpoint's kill (restarts with settings are in tests-e2e/conftest.py)."""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from local_runner.invariants import Ledger, eventually


@pytest.fixture
def rng(request) -> random.Random:
    """The scenario's randomness; SEED=1234 replays a failure."""
    seed = int(os.environ.get("SEED") or random.SystemRandom().randrange(1, 10**9))
    print(f"\n[reliability] {request.node.name}: SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def ledger(databases, operator) -> Iterator[Ledger]:
    """The scenario's items; every invariant is checked after the scenario."""
    kept = Ledger(databases, operator)
    yield kept
    kept.assert_all()


def wait_dead(platform, name: str, within: float = 30.0) -> None:
    """Until the failpoint has killed the service."""
    def dead() -> None:
        assert platform.procs[name].poll() is not None, f"{name} still running"
    eventually(dead, within, f"{name} killed by its failpoint")
    assert platform.procs[name].returncode == -9, platform.log_tail(name)


@pytest.fixture(scope="session")
def killed() -> Callable[..., None]:
    return wait_dead


def redeem_in_background(gateway, auth: dict[str, str], item: str) -> threading.Thread:  # type: ignore[no-untyped-def]
    """Sends one redeem from a thread, for an answer that may wait on a process being killed: the databases
    judge the outcome, not the answer."""
    def send() -> None:
        with httpx.Client(base_url=str(gateway.base_url), timeout=60.0) as client:
            try:
                client.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                            json={"offer": item})
            except httpx.HTTPError:
                pass
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender


@pytest.fixture(scope="session")
def redeem_later() -> Callable[..., threading.Thread]:
    return redeem_in_background
