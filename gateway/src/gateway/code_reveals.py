"""Who reads a redemption's code: the viewer the gateway names to redemption-service from the caller's credential
(a player token: the player; a back end's API key or client credentials: the back end; an admin credential on the
admin routes: masked; the console's reveal button: the back end, as console:<credential>), and the admin API's
view of the code-reveal audit."""

from __future__ import annotations

from datetime import UTC, datetime

from rewards.redemption.v1 import redemption_pb2

from gateway.auth import Player
from gateway.repository import Credential
from gateway.schemas import ApiModel

VIEWER_NAMES = {redemption_pb2.VIEWER_PLAYER: "player", redemption_pb2.VIEWER_BACKEND: "backend",
                redemption_pb2.VIEWER_ADMIN: "admin"}


def player_viewer(player: Player) -> tuple[int, str]:
    """(viewer, viewer_id) of a player route: the player when the call carries their token, else the back end
    acting for them (its credential's id)."""
    if player.from_token or player.credential is None:
        return redemption_pb2.VIEWER_PLAYER, player.player_id
    return redemption_pb2.VIEWER_BACKEND, f"{player.credential.kind}:{player.credential.id}"


def admin_viewer(caller: Credential) -> tuple[int, str]:
    return redemption_pb2.VIEWER_ADMIN, f"{caller.kind}:{caller.id}"


def console_viewer(caller: Credential) -> tuple[int, str]:
    """(viewer, viewer_id) of the console's reveal button: an operator asked to see the code, so it is unsealed and
    the reveal recorded, as the tenant's back end (the audit's viewers are the player and the back end), with the
    operator's credential marked as the console's: console:api_key:<id>."""
    return redemption_pb2.VIEWER_BACKEND, f"console:{caller.kind}:{caller.id}"


class CodeReveal(ApiModel):
    id: int
    redemption_id: str
    viewer: str                     # player or backend
    viewer_id: str                  # the player id, or the back end's credential (api_key:<id>, client:<id>;
                                    # console:api_key:<id>: an operator's reveal in the console)
    action: str                     # redeem, get or list
    revealed_at: datetime

    @classmethod
    def from_proto(cls, r: redemption_pb2.CodeReveal) -> CodeReveal:
        return cls(id=r.id, redemption_id=r.redemption_id, viewer=VIEWER_NAMES.get(r.viewer, "unknown"),
                   viewer_id=r.viewer_id, action=r.action, revealed_at=r.revealed_at.ToDatetime(tzinfo=UTC))


class CodeRevealList(ApiModel):
    reveals: list[CodeReveal]
    next_cursor: str | None
