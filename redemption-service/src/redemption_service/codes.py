"""Voucher codes and PINs are secrets: sealed in `redemptions.fulfillment` (the kit's Fernet key ring, setting
CODE_ENCRYPTION_KEYS), revealed only to the redeeming player and the tenant's back end, each reveal recorded in the
append-only `code_reveals` table (in the statement that reads the redemption), and masked for operators.

The sealed fields are `sealed_code` and `sealed_pin` (Fernet tokens as text); the other fulfillment fields
(financial_ref_id, tracking_number, provider_reference, data) are not secret and stay as they are. A row written
before codes were sealed holds `code`/`pin` in clear: it is read as it is, and sealed at the next start
(`reseal.seal_codes_in_clear`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.sealing import KeyRing, SealError

SETTING = "CODE_ENCRYPTION_KEYS"
SECRET_FIELDS = {"code": "sealed_code", "pin": "sealed_pin"}
# A row holding any of these carries a code or PIN (the last two: a row from before codes were sealed). The SQL
# of the revealing reads tests the same keys (repository.HAS_SECRET).
STORED_SECRET_KEYS = ("sealed_code", "sealed_pin", "code", "pin")
SHOWN_TAIL = 4
MASKED_PIN = "****"


class ViewerKind(StrEnum):
    PLAYER = "player"
    BACKEND = "backend"
    ADMIN = "admin"


class Action(StrEnum):
    """What revealed a code: the Redeem answer (a fresh code, or a replay), a read, a list."""

    REDEEM = "redeem"
    GET = "get"
    LIST = "list"


@dataclass(frozen=True, slots=True)
class Viewer:
    kind: ViewerKind
    id: str

    @property
    def reveals(self) -> bool:
        """Player and back end are shown the code (and the reveal is recorded); an operator sees it masked."""
        return self.kind is not ViewerKind.ADMIN


MASKED = Viewer(ViewerKind.ADMIN, "")

_KINDS = {redemption_pb2.VIEWER_PLAYER: ViewerKind.PLAYER, redemption_pb2.VIEWER_BACKEND: ViewerKind.BACKEND,
          redemption_pb2.VIEWER_ADMIN: ViewerKind.ADMIN}
MAX_VIEWER_ID_LENGTH = 200


def viewer_of(viewer: int, viewer_id: str, player_id: str) -> Viewer:
    """The viewer a request names. Unspecified: the player the request names (its own redemptions), else masked
    (a request that says nothing about who reads it is not shown codes). A player viewer must name its player, so
    the read is restricted to that player's redemptions."""
    if len(viewer_id) > MAX_VIEWER_ID_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"viewer_id is longer than {MAX_VIEWER_ID_LENGTH} characters")
    if viewer == redemption_pb2.VIEWER_UNSPECIFIED:
        return Viewer(ViewerKind.PLAYER, viewer_id or player_id) if player_id else Viewer(ViewerKind.ADMIN,
                                                                                           viewer_id)
    kind = _KINDS.get(viewer)
    if kind is None:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"unknown viewer {viewer}")
    if kind is ViewerKind.PLAYER and not player_id:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "a player viewer needs player_id")
    return Viewer(kind, viewer_id or (player_id if kind is ViewerKind.PLAYER else ""))


def mask_code(code: str) -> str:
    """GIFT-1234-5678 -> ****-****-5678: the last 4 characters stay (a player or an operator can tell which
    voucher it is), every other letter and digit is hidden, separators kept. A code of 8 characters or fewer is
    hidden whole: its last 4 would be half of it."""
    if len(code) <= 2 * SHOWN_TAIL:
        return "*" * len(code)
    head, tail = code[:-SHOWN_TAIL], code[-SHOWN_TAIL:]
    return "".join("*" if ch.isalnum() else ch for ch in head) + tail


class Codes:
    """Seals a result's code and PIN for storage, and shows a stored fulfillment to a viewer."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    @classmethod
    def from_setting(cls, value: str) -> Codes:
        return cls(KeyRing.from_setting(value, SETTING))

    def seal(self, fulfillment: dict[str, Any]) -> dict[str, Any]:
        """The fulfillment as it is stored: code and PIN sealed, nothing else changed."""
        stored = dict(fulfillment)
        for plain, sealed in SECRET_FIELDS.items():
            value = stored.pop(plain, None)
            if value:
                stored[sealed] = self.ring.seal_text(value)
        return stored

    def shown(self, stored: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
        """The fields of redemption.v1.Fulfillment for this viewer: code and PIN in clear (the reveal was recorded
        by the read), or masked (with `masked`)."""
        shown = {k: v for k, v in stored.items() if k not in SECRET_FIELDS.values() and k not in SECRET_FIELDS}
        secrets = {plain: self._open(stored, plain) for plain in SECRET_FIELDS}
        secrets = {k: v for k, v in secrets.items() if v}
        if not secrets:
            return shown
        if viewer.reveals:
            return {**shown, **secrets}
        masked = {"code": mask_code(secrets["code"])} if "code" in secrets else {}
        if "pin" in secrets:
            masked["pin"] = MASKED_PIN
        return {**shown, **masked, "masked": True}

    def _open(self, stored: dict[str, Any], plain: str) -> str:
        sealed = stored.get(SECRET_FIELDS[plain])
        if not sealed:
            return str(stored.get(plain) or "")  # a row from before codes were sealed
        try:
            return self.ring.unseal(sealed)
        except SealError as exc:
            raise DomainError(ErrorCode.INTERNAL, str(exc)) from None

    def reseal(self, stored: dict[str, Any]) -> dict[str, Any] | None:
        """The fulfillment with its code and PIN sealed under the newest key (a row in clear is sealed); None
        when it holds neither. SealError when a key that sealed it is gone."""
        if not any(stored.get(k) for k in STORED_SECRET_KEYS):
            return None
        resealed = self.seal({k: v for k, v in stored.items() if k not in SECRET_FIELDS.values()})
        for sealed in SECRET_FIELDS.values():
            if stored.get(sealed):
                resealed[sealed] = self.ring.reseal(stored[sealed]).decode("ascii")
        return resealed
