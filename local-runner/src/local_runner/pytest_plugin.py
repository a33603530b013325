"""pytest fixtures for real PostgreSQL and NATS, one server each per test session, on free ports.

Loaded automatically (entry point pytest11) wherever the local runner is installed:
- `postgres`: the session's server; `new_database("prefix")` gives a fresh, empty database URL.
- `nats_server`: the session's NATS with JetStream (a function may stop and start it; it is restarted).
And `wait_until(check)`, for async tests that wait for something a background task does.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from local_runner.infra import Nats, Postgres, free_port

_counter = itertools.count(1)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition") -> None:
    """Returns once `await check()` is true; fails naming `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def infra_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="rewards-test-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(infra_dir: Path) -> Iterator[Postgres]:
    pg = Postgres(infra_dir / "pgdata", free_port(), infra_dir / "postgres.log")
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture
def new_database(postgres: Postgres) -> Callable[[str], str]:
    """Returns a factory: new_database("wallet") -> URL of a new empty database (postgresql://...)."""

    def make(prefix: str) -> str:
        name = f"{prefix}_{next(_counter)}"
        postgres.drop_database(name)
        return postgres.ensure_database(name)

    return make


@pytest.fixture(scope="session")
def nats_server(infra_dir: Path) -> Iterator[Nats]:
    server = Nats(infra_dir / "nats-store", free_port(), free_port(), infra_dir / "nats.log")
    server.start()
    yield server
    server.stop()
