"""Codes and PINs at rest: sealed with the kit's Fernet key ring (`service_kit.sealing`), fingerprinted with a
keyed hash (for de-duplication without decrypting), and masked for display. Nothing here logs a code."""

from __future__ import annotations

import hashlib
import hmac

from service_kit.sealing import KeyRing

SETTING = "CODE_ENCRYPTION_KEY"


class Vault:
    def __init__(self, key: str) -> None:
        # One key: the fingerprints (a unique index per item) are derived from it, so a second key would change
        # every fingerprint. Sealing and its errors are the kit's, as in redemption-service.
        self._ring = KeyRing([key], SETTING)
        # A separate key for fingerprints, so the hash of a code says nothing to someone holding a code list.
        self._fingerprint_key = hmac.new(self._ring.newest_key, b"fulfillment code fingerprint",
                                         hashlib.sha256).digest()

    def seal(self, plain: str) -> bytes:
        return self._ring.seal(plain)

    def unseal(self, sealed: bytes) -> str:
        # A SealError (a ValueError) names CODE_ENCRYPTION_KEY when the key changed under existing rows.
        return self._ring.unseal(sealed)

    def seal_bytes(self, plain: bytes) -> bytes:
        return self._ring.seal_bytes(plain)

    def unseal_bytes(self, sealed: bytes) -> bytes:
        return self._ring.unseal_bytes(sealed)

    def fingerprint(self, code: str) -> str:
        return hmac.new(self._fingerprint_key, code.encode(), hashlib.sha256).hexdigest()


def mask_code(code: str) -> str:
    """AMZN-XXXX-YYYY -> AMZN-****-YYYY: the ends stay readable (an operator can tell pools apart), letters
    and digits in between are hidden, separators kept. Short codes show less."""
    shown = 4 if len(code) >= 12 else max(0, len(code) // 4)
    head, tail = code[:shown], code[len(code) - shown:] if shown else ""
    middle = code[shown:len(code) - shown] if shown else code
    return head + "".join("*" if ch.isalnum() else ch for ch in middle) + tail
