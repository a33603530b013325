"""The running system for e2e tests: embedded PostgreSQL and NATS and the five services as real processes,
on free ports in a temporary folder, seeded with the demo tenant once per session."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_runner.demo import seed
from local_runner.infra import free_port
from local_runner.platform import Platform
from local_runner.settings import RunnerSettings


def _free_settings(run_dir: Path) -> RunnerSettings:
    return RunnerSettings(
        run_dir=run_dir, gateway_port=free_port(), catalog_port=free_port(), wallet_port=free_port(),
        redemption_port=free_port(), fulfillment_port=free_port(), postgres_port=free_port(),
        nats_port=free_port(), nats_monitor_port=free_port(), nats_url=None, database_urls={},
        start_timeout=120.0, seed_demo=True,
        service_env={"LOG_LEVEL": "INFO", "SAGA_RECOVERY_INTERVAL_SECONDS": "2", "SAGA_STALE_SECONDS": "10"},
    )


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    run_dir = Path(tempfile.mkdtemp(prefix="rewards-e2e-"))
    p = Platform(_free_settings(run_dir), say=lambda m: print(f"[e2e] {m}"))
    try:
        p.start()
        yield p
    except Exception:
        for spec in p.specs():
            print(p.log_tail(spec.name, 60))
        raise
    finally:
        p.stop()


@pytest.fixture(scope="session")
def demo(platform: Platform) -> dict[str, Any]:
    return seed(platform)


@pytest.fixture
def gateway(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=20.0) as client:
        yield client
