"""Codes and PINs at rest: sealed with Fernet, fingerprinted with a keyed hash (for de-duplication without
decrypting), and masked for display. Nothing here logs a code."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class Vault:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())
        # A separate key for fingerprints, so the hash of a code says nothing to someone holding a code list.
        raw = base64.urlsafe_b64decode(key.encode())
        self._fingerprint_key = hmac.new(raw, b"fulfillment code fingerprint", hashlib.sha256).digest()

    def seal(self, plain: str) -> bytes:
        return self._fernet.encrypt(plain.encode())

    def unseal(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(sealed)).decode()
        except InvalidToken:
            # Raised when CODE_ENCRYPTION_KEY changed under existing rows: say so, never show the token.
            raise ValueError("stored value cannot be decrypted with CODE_ENCRYPTION_KEY") from None

    def seal_bytes(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def unseal_bytes(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(bytes(sealed))
        except InvalidToken:
            raise ValueError("stored value cannot be decrypted with CODE_ENCRYPTION_KEY") from None

    def fingerprint(self, code: str) -> str:
        return hmac.new(self._fingerprint_key, code.encode(), hashlib.sha256).hexdigest()


def mask_code(code: str) -> str:
    """AMZN-XXXX-YYYY -> AMZN-****-YYYY: the ends stay readable (an operator can tell pools apart), letters
    and digits in between are hidden, separators kept. Short codes show less."""
    shown = 4 if len(code) >= 12 else max(0, len(code) // 4)
    head, tail = code[:shown], code[len(code) - shown:] if shown else ""
    middle = code[shown:len(code) - shown] if shown else code
    return head + "".join("*" if ch.isalnum() else ch for ch in middle) + tail
