"""Secrets at rest (voucher codes, PINs, payloads that carry them): a key ring over Fernet.

A ring holds one or more keys, newest first. It seals with the newest and unseals with any of them, so a key is
rotated without a moment when stored values are unreadable: add the new key first, deploy, re-seal what is
stored (`reseal`), then drop the old key. A value sealed only under a key that is no longer in the ring cannot
be read, and the error says which setting holds the keys, never the value or a key.

Fernet (AES-128-CBC with HMAC-SHA256, a timestamp, urlsafe base64) comes from `cryptography`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Keys in a setting are separated by commas or whitespace (a Fernet key is urlsafe base64: neither occurs in one).
_SEPARATORS = re.compile(r"[\s,]+")


class SealError(ValueError):
    """A stored value cannot be unsealed with any key of the ring (a key was removed or changed)."""


class KeyRing:
    """Fernet keys, newest first: seal with the newest, unseal with any."""

    def __init__(self, keys: list[str] | tuple[str, ...], setting: str) -> None:
        """keys: urlsafe base64 Fernet keys, newest first. setting: the name of the setting they came from, for
        error messages. Raises ValueError naming the setting (and the key's position, not the key) when a key is
        malformed or there is none."""
        if not keys:
            raise ValueError(f"{setting} holds no key: give at least one Fernet key (urlsafe base64 of 32 bytes)")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except (ValueError, TypeError):
                raise ValueError(f"{setting}: key {position} of {len(keys)} is not a Fernet key "
                                 "(urlsafe base64 of 32 bytes)") from None
        self.setting = setting
        self._newest_key = keys[0]
        self._ring = MultiFernet(fernets)
        self._count = len(fernets)

    @classmethod
    def from_setting(cls, value: str, setting: str) -> KeyRing:
        """The keys of a setting's value: comma- or whitespace-separated, newest first."""
        return cls([k for k in _SEPARATORS.split(value.strip()) if k], setting)

    @property
    def newest_key(self) -> bytes:
        """The raw 32 bytes of the newest key (to derive other keys from, e.g. a fingerprint key)."""
        return base64.urlsafe_b64decode(self._newest_key.encode())

    def __len__(self) -> int:
        return self._count

    def seal_bytes(self, plain: bytes) -> bytes:
        return self._ring.encrypt(plain)

    def unseal_bytes(self, sealed: bytes | bytearray | memoryview | str) -> bytes:
        token = sealed.encode() if isinstance(sealed, str) else bytes(sealed)
        try:
            return self._ring.decrypt(token)
        except InvalidToken:
            raise SealError(f"a stored value cannot be unsealed with any key of {self.setting}") from None

    def seal(self, plain: str) -> bytes:
        return self.seal_bytes(plain.encode())

    def unseal(self, sealed: bytes | bytearray | memoryview | str) -> str:
        return self.unseal_bytes(sealed).decode()

    def seal_text(self, plain: str) -> str:
        """Sealed as ASCII text (Fernet tokens are urlsafe base64): what fits a JSON document."""
        return self.seal(plain).decode("ascii")

    def reseal(self, sealed: bytes | bytearray | memoryview | str) -> bytes:
        """The same value sealed under the newest key (a rotation step); SealError when no key opens it."""
        token = sealed.encode() if isinstance(sealed, str) else bytes(sealed)
        try:
            return self._ring.rotate(token)
        except InvalidToken:
            raise SealError(f"a stored value cannot be unsealed with any key of {self.setting}") from None


def new_key() -> str:
    """A fresh Fernet key, as text."""
    return Fernet.generate_key().decode()


# --- re-sealing stored secrets under the newest key (each service's `python -m <service>.reseal`) -------------

@dataclass(frozen=True, slots=True)
class Resealed:
    """What a re-sealing pass did: rows sealed anew, and rows no key of the ring opens (each logged)."""

    resealed: int
    unreadable: int


def reseal_command(run: Callable[[], Awaitable[Resealed]]) -> None:
    """A service's reseal command: runs the pass, prints its counts as one JSON line, and exits 1 when a row
    could not be opened (an operator must find its key before dropping the old ones)."""
    done = asyncio.run(run())
    sys.stdout.write(json.dumps({"resealed": done.resealed, "unreadable": done.unreadable}) + "\n")
    if done.unreadable:
        raise SystemExit(1)
