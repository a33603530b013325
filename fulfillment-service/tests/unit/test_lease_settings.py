"""PROVIDER_LEASE_SECONDS: 90 s by default, and never shorter than a delivery's provider calls can take."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from fulfillment_service.config import Settings
from service_kit.settings import load_settings


@pytest.fixture(autouse=True)
def required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/f")
    monkeypatch.setenv("CODE_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("WEBHOOK_SIGNING_SECRET", "a-long-enough-signing-secret")


def test_the_default_lease_outlasts_the_default_calls() -> None:
    s = load_settings(Settings)
    bound = s.provider_max_attempts * (s.provider_timeout_seconds + s.provider_retry_max_wait_seconds)
    assert (s.provider_lease_seconds, bound) == (90.0, 60.0)


def test_a_lease_no_longer_than_the_calls_is_refused_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PROVIDER_LEASE_SECONDS", "60")
    with pytest.raises(SystemExit):
        load_settings(Settings)
    assert "bad setting PROVIDER_LEASE_SECONDS" in capsys.readouterr().err
    # Shorter calls allow a shorter lease (the reliability tests' 8 s over 3 x (1 + 1) s).
    monkeypatch.setenv("PROVIDER_LEASE_SECONDS", "8")
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("PROVIDER_RETRY_MAX_WAIT_SECONDS", "1")
    assert load_settings(Settings).provider_lease_seconds == 8.0
