"""The key ring: seal with the newest key, unseal with any, rotate, and clear errors that name the setting and
never show a key or a value."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet, InvalidToken
from service_kit.sealing import KeyRing, Resealed, SealError, new_key, reseal_command

SETTING = "CODE_ENCRYPTION_KEYS"


def test_a_sealed_value_reads_back_and_holds_no_plain_text() -> None:
    ring = KeyRing.from_setting(new_key(), SETTING)
    sealed = ring.seal("GIFT-1234-5678")
    assert b"GIFT" not in sealed and b"5678" not in sealed
    assert ring.unseal(sealed) == "GIFT-1234-5678"
    assert ring.unseal(ring.seal_text("PIN-0000")) == "PIN-0000"


def test_the_newest_key_seals_and_any_key_unseals() -> None:
    old, new = new_key(), new_key()
    sealed_with_old = KeyRing.from_setting(old, SETTING).seal("C-1")
    rotated = KeyRing.from_setting(f"{new}, {old}", SETTING)   # the new key added first
    assert len(rotated) == 2
    assert rotated.unseal(sealed_with_old) == "C-1"
    fresh = rotated.seal("C-2")
    assert Fernet(new.encode()).decrypt(fresh) == b"C-2", "sealed with the newest key"
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(fresh)


def test_a_value_resealed_under_the_newest_key_survives_the_old_keys_removal() -> None:
    old, new = new_key(), new_key()
    sealed = KeyRing.from_setting(old, SETTING).seal("C-1")
    resealed = KeyRing.from_setting(f"{new},{old}", SETTING).reseal(sealed)
    assert KeyRing.from_setting(new, SETTING).unseal(resealed) == "C-1"


def test_a_removed_key_makes_its_values_unreadable_with_an_error_naming_the_setting() -> None:
    old, new = new_key(), new_key()
    sealed = KeyRing.from_setting(old, SETTING).seal("GIFT-1234-5678")
    without_old = KeyRing.from_setting(new, SETTING)
    with pytest.raises(SealError, match=SETTING) as refused:
        without_old.unseal(sealed)
    assert "GIFT" not in str(refused.value) and new not in str(refused.value)
    with pytest.raises(SealError, match=SETTING):
        without_old.reseal(sealed)


@pytest.mark.parametrize("value", ["not-a-key", f"{Fernet.generate_key().decode()},short"])
def test_a_malformed_key_is_refused_naming_the_setting_and_its_position_not_the_key(value: str) -> None:
    with pytest.raises(ValueError, match=SETTING) as refused:
        KeyRing.from_setting(value, SETTING)
    assert "not-a-key" not in str(refused.value) and "short" not in str(refused.value)
    assert "key " in str(refused.value)


def test_an_empty_setting_is_refused() -> None:
    with pytest.raises(ValueError, match=f"{SETTING} holds no key"):
        KeyRing.from_setting(" , ", SETTING)


def test_the_reseal_command_prints_its_counts_and_fails_when_a_row_stays_unreadable(
        capsys: pytest.CaptureFixture[str]) -> None:
    async def clean() -> Resealed:
        return Resealed(resealed=3, unreadable=0)

    async def one_lost() -> Resealed:
        return Resealed(resealed=2, unreadable=1)

    reseal_command(clean)
    assert json.loads(capsys.readouterr().out) == {"resealed": 3, "unreadable": 0}
    with pytest.raises(SystemExit) as failed:
        reseal_command(one_lost)
    assert failed.value.code == 1 and json.loads(capsys.readouterr().out) == {"resealed": 2, "unreadable": 1}
