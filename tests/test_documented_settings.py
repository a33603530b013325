"""Every setting a service reads is documented: in its own README and in the README at the root."""

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
