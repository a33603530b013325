"""pytest fixtures for real PostgreSQL and NATS, one server each per test session, on free ports.

Loaded automatically (entry point pytest11) wherever the local runner is installed:
- `postgres`: the session's server; `new_database("prefix")` gives a fresh, empty database URL.
- `nats_server`: the session's NATS with JetStream (a function may stop and start it; it is restarted).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local_runner.infra import Nats, Postgres, free_port

_counter = itertools.count(1)


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
