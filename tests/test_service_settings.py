"""Each service runs alone with `python -m <package>` and stops at once, naming the variable, when a required
setting is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SERVICES = ["gateway", "catalog_service", "wallet_service", "redemption_service", "fulfillment_service",
            "events_service"]


@pytest.mark.parametrize("module", SERVICES)
def test_missing_database_url_is_named(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL", "CODE_ENCRYPTION_KEY",
                                                                 "CODE_ENCRYPTION_KEYS", "WEBHOOK_SECRET_KEYS")}
    r = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode != 0
    assert "DATABASE_URL" in r.stderr, r.stderr


@pytest.mark.parametrize(("module", "setting"), [("redemption_service", "CODE_ENCRYPTION_KEYS"),
                                                 ("events_service", "WEBHOOK_SECRET_KEYS")])
def test_a_service_refuses_to_start_without_its_sealing_keys(module: str, setting: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != setting}
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"   # never reached: the settings stop it first
    r = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, check=False,
                       timeout=60)
    assert r.returncode == 2, r.stderr
    assert f"missing required setting {setting}" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", module], env={**env, setting: "not-a-key"}, capture_output=True,
                       text=True, check=False, timeout=60)
    assert r.returncode == 2 and f"bad setting {setting}" in r.stderr and "not-a-key" not in r.stderr, r.stderr
