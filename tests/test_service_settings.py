"""Each service runs alone with `python -m <package>` and stops at once, naming the variable, when a required
setting is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SERVICES = ["gateway", "catalog_service", "wallet_service", "redemption_service", "fulfillment_service"]


@pytest.mark.parametrize("module", SERVICES)
def test_missing_database_url_is_named(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL", "CODE_ENCRYPTION_KEY",
                                                                 "CODE_ENCRYPTION_KEYS")}
    r = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode != 0
    assert "DATABASE_URL" in r.stderr, r.stderr
