"""Every setting a service reads is documented: in its own README and in the README at the root; and every
setting the runner (`make run`) reads, in the root README's runner table."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"gateway": "gateway", "catalog-service": "catalog_service", "wallet-service": "wallet_service",
            "redemption-service": "redemption_service", "fulfillment-service": "fulfillment_service",
            "events-service": "events_service"}


def settings_names(package: str) -> set[str]:
    settings = importlib.import_module(f"{package}.config").Settings
    return {name.upper() for name in settings.model_fields}


@pytest.mark.parametrize("folder", sorted(SERVICES))
def test_every_setting_is_documented(folder: str) -> None:
    names = settings_names(SERVICES[folder])
    assert {"DATABASE_URL", "LOG_LEVEL", "SHUTDOWN_GRACE_SECONDS"} <= names
    own = (ROOT / folder / "README.md").read_text()
    root = (ROOT / "README.md").read_text()
    assert not [n for n in names if f"`{n}`" not in own], f"{folder}/README.md misses settings"
    assert not [n for n in names if f"`{n}`" not in root], "README.md misses settings of " + folder


class _Recorded(dict[str, str]):
    """An environment that notes every name read from it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return super().__getitem__(name)

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(name)
        return super().get(name, default)


def test_every_runner_setting_is_documented(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What the runner reads (local_runner.settings), found by reading it: each in the README's runner table."""
    from local_runner import settings

    environment = _Recorded({"RUN_DIR": str(tmp_path)})
    monkeypatch.setattr(settings.os, "environ", environment)
    settings.RunnerSettings()
    assert {"RUN_DIR", "GATEWAY_PORT", "DEMO_PARTNER_PORT", "PROMETHEUS_PORT", "CATALOG_METRICS_PORT",
            "EVENTS_DATABASE_URL"} <= environment.read
    root = (ROOT / "README.md").read_text()
    table = root[root.index("### The runner (`make run`)"):]
    table = table[:table.index("\n###")]
    missing = sorted(n for n in environment.read if f"`{n}`" not in table)
    assert not missing, f"README.md's runner table misses {missing}"
