"""Sealing, fingerprints, masks, settings and the consumer's redelivery schedule: no servers needed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from fulfillment_service.config import Settings
from fulfillment_service.fulfilment import MalformedJob, read_job, result_event_id
from fulfillment_service.job_consumer import consumer_config
from fulfillment_service.vault import Vault, mask_code
from service_kit.settings import load_settings


def test_a_sealed_code_reads_back_and_does_not_contain_the_code() -> None:
    vault = Vault(Fernet.generate_key().decode())
    sealed = vault.seal("AMZN-1234-5678")
    assert b"AMZN" not in sealed
    assert vault.unseal(sealed) == "AMZN-1234-5678"


def test_a_code_sealed_under_another_key_is_refused_without_showing_it() -> None:
    sealed = Vault(Fernet.generate_key().decode()).seal("AMZN-1234-5678")
    with pytest.raises(ValueError, match="CODE_ENCRYPTION_KEY") as caught:
        Vault(Fernet.generate_key().decode()).unseal(sealed)
    assert "AMZN" not in str(caught.value)


def test_fingerprints_are_stable_per_key_and_differ_between_keys() -> None:
    key = Fernet.generate_key().decode()
    assert Vault(key).fingerprint("A-1") == Vault(key).fingerprint("A-1")
    assert Vault(key).fingerprint("A-1") != Vault(key).fingerprint("A-2")
    assert Vault(key).fingerprint("A-1") != Vault(Fernet.generate_key().decode()).fingerprint("A-1")


@pytest.mark.parametrize("code, masked", [
    ("AMZN-XXXX-YYYY", "AMZN-****-YYYY"),
    ("GIFT-1234-5678-9999", "GIFT-****-****-9999"),
    ("ABCDEFGH", "AB****GH"),
    ("AB", "**"),
])
def test_masks_hide_the_middle_of_a_code(code: str, masked: str) -> None:
    assert mask_code(code) == masked


def test_settings_refuse_a_key_that_is_not_a_fernet_key(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/f")
    monkeypatch.setenv("CODE_ENCRYPTION_KEY", "not-a-key")
    with pytest.raises(SystemExit):
        load_settings(Settings)
    err = capsys.readouterr().err
    assert "CODE_ENCRYPTION_KEY" in err and "not-a-key" not in err


def test_settings_name_a_missing_key(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/f")
    monkeypatch.delenv("CODE_ENCRYPTION_KEY", raising=False)
    with pytest.raises(SystemExit):
        load_settings(Settings)
    assert "missing required setting CODE_ENCRYPTION_KEY" in capsys.readouterr().err


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/f")
    monkeypatch.setenv("CODE_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("WEBHOOK_SIGNING_SECRET", "a-long-enough-signing-secret")
    s = load_settings(Settings)
    assert (s.grpc_port, s.low_pool_threshold, s.consumer_name, s.max_deliveries, s.fetch_batch) == \
        (50054, 10, "fulfillment-worker", 5, 16)
    assert (s.provider_timeout_seconds, s.provider_max_attempts, s.bonus_engine_url) == (5.0, 4, "")


def test_settings_name_a_missing_signing_secret(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/f")
    monkeypatch.setenv("CODE_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("WEBHOOK_SIGNING_SECRET", raising=False)
    with pytest.raises(SystemExit):
        load_settings(Settings)
    assert "missing required setting WEBHOOK_SIGNING_SECRET" in capsys.readouterr().err


def test_redeliveries_back_off_and_stay_within_the_delivery_bound() -> None:
    config = consumer_config("w", ack_wait=30, max_deliveries=5)
    assert config.backoff == [30, 60, 120, 240]
    assert len(config.backoff) < config.max_deliver
    assert consumer_config("w", ack_wait=30, max_deliveries=1).backoff is None


def test_a_job_without_a_redemption_or_scope_is_malformed() -> None:
    from rewards.common.v1 import common_pb2
    from rewards.fulfillment.v1 import fulfillment_pb2

    scope = common_pb2.Scope(tenant_id="t", environment=common_pb2.ENVIRONMENT_SANDBOX)
    with pytest.raises(MalformedJob, match="redemption_id"):
        read_job(fulfillment_pb2.FulfillmentJob(event_id="e", scope=scope).SerializeToString(), None)
    with pytest.raises(MalformedJob, match="tenant_id"):
        read_job(fulfillment_pb2.FulfillmentJob(event_id="e", redemption_id="r").SerializeToString(), None)
    with pytest.raises(MalformedJob, match="event_id"):
        read_job(fulfillment_pb2.FulfillmentJob(redemption_id="r", scope=scope).SerializeToString(), None)
    received = read_job(fulfillment_pb2.FulfillmentJob(redemption_id="r", scope=scope).SerializeToString(), "hdr")
    assert received.event_id == "hdr"


def test_result_event_ids_are_deterministic_per_redemption_and_sequence() -> None:
    from service_kit.scope import Scope

    scope = Scope("t", "live")
    assert result_event_id(scope, "r", 1) == result_event_id(scope, "r", 1)
    assert len({result_event_id(scope, "r", 1), result_event_id(scope, "r", 2),
                result_event_id(Scope("t", "sandbox"), "r", 1)}) == 3
