"""Point types and players: define, list, upsert, get, and the refusals of each."""

from __future__ import annotations

from typing import Any

from rewards.common.v1 import common_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import ErrorCode

DEADLINE = 10.0


async def test_defined_point_types_are_listed_per_scope(w: Any, sandbox: common_pb2.Scope) -> None:
    gems = await w.define("gems", 0, "Gems")
    coins = await w.define("coins", 2)
    assert (gems.code, gems.name, gems.scale) == ("gems", "Gems", 0)
    assert (coins.name, coins.scale) == ("coins", 2)  # the name defaults to the code

    listed = await w.stub.ListPointTypes(wallet_pb2.ListPointTypesRequest(scope=w.scope), timeout=DEADLINE)
    assert [(p.code, p.name, p.scale) for p in listed.point_types] == [("coins", "coins", 2), ("gems", "Gems", 0)]
    other = await w.stub.ListPointTypes(wallet_pb2.ListPointTypesRequest(scope=sandbox), timeout=DEADLINE)
    assert list(other.point_types) == []


async def test_redefining_renames_but_never_rescales(w: Any) -> None:
    await w.define("coins", 2, "Coins")
    renamed = await w.define("coins", 2, "Gold coins")
    assert renamed.name == "Gold coins"

    error = await w.refused(w.define("coins", 0, "Whole coins"))
    assert error.code == ErrorCode.VALIDATION_ERROR
    assert "scale cannot change" in error.message
    listed = await w.stub.ListPointTypes(wallet_pb2.ListPointTypesRequest(scope=w.scope), timeout=DEADLINE)
    assert [(p.name, p.scale) for p in listed.point_types] == [("Gold coins", 2)]  # the refusal changed nothing


async def test_point_type_validation(w: Any) -> None:
    for code, scale, name, words in [
        ("", 0, "", "point_type.code is required"),
        ("x" * 33, 0, "", "at most 32"),
        ("two words", 0, "", "only letters"),
        ("gems", 7, "", "scale must be 0..6"),
        ("gems", -1, "", "scale must be 0..6"),
        ("gems", 0, "n" * 101, "at most 100"),
    ]:
        error = await w.refused(w.define(code, scale, name))
        assert error.code == ErrorCode.VALIDATION_ERROR
        assert words in error.message
    listed = await w.stub.ListPointTypes(wallet_pb2.ListPointTypesRequest(scope=w.scope), timeout=DEADLINE)
    assert list(listed.point_types) == []


async def test_scope_is_validated(w: Any) -> None:
    bad_scopes = [
        common_pb2.Scope(tenant_id="", environment=common_pb2.ENVIRONMENT_LIVE),
        common_pb2.Scope(tenant_id="t", environment=common_pb2.ENVIRONMENT_UNSPECIFIED),
        common_pb2.Scope(tenant_id="t" * 65, environment=common_pb2.ENVIRONMENT_LIVE),
    ]
    for scope in bad_scopes:
        error = await w.refused(w.stub.ListPointTypes(wallet_pb2.ListPointTypesRequest(scope=scope),
                                                      timeout=DEADLINE))
        assert error.code == ErrorCode.VALIDATION_ERROR
        assert "scope.tenant_id" in error.message or "scope.environment" in error.message


async def test_upsert_creates_active_then_sets_status(w: Any) -> None:
    created = await w.set_status("p1", wallet_pb2.PLAYER_STATUS_UNSPECIFIED)
    assert (created.player_id, created.status) == ("p1", wallet_pb2.PLAYER_STATUS_ACTIVE)

    suspended = await w.set_status("p1", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    assert suspended.status == wallet_pb2.PLAYER_STATUS_SUSPENDED
    unchanged = await w.set_status("p1", wallet_pb2.PLAYER_STATUS_UNSPECIFIED)
    assert unchanged.status == wallet_pb2.PLAYER_STATUS_SUSPENDED
    active = await w.set_status("p1", wallet_pb2.PLAYER_STATUS_ACTIVE)
    assert active.status == wallet_pb2.PLAYER_STATUS_ACTIVE

    born_suspended = await w.set_status("p2", wallet_pb2.PLAYER_STATUS_SUSPENDED)
    assert born_suspended.status == wallet_pb2.PLAYER_STATUS_SUSPENDED


async def test_upsert_player_validation(w: Any) -> None:
    for player_id, status, words in [
        ("", wallet_pb2.PLAYER_STATUS_ACTIVE, "player_id is required"),
        ("   ", wallet_pb2.PLAYER_STATUS_ACTIVE, "player_id is required"),
        ("p" * 129, wallet_pb2.PLAYER_STATUS_ACTIVE, "at most 128"),
        ("p1", 7, "not a player status"),
    ]:
        error = await w.refused(w.set_status(player_id, status))
        assert error.code == ErrorCode.VALIDATION_ERROR
        assert words in error.message
    assert await w.rows("SELECT player_id FROM players WHERE tenant_id = :tenant") == []


async def test_get_player_returns_status_and_every_account(w: Any) -> None:
    await w.define("gems", 0)
    await w.define("coins", 2)
    await w.grant("p1", 15050, point_type="coins")
    await w.set_status("p1", wallet_pb2.PLAYER_STATUS_SUSPENDED)

    player = await w.stub.GetPlayer(wallet_pb2.GetPlayerRequest(scope=w.scope, player_id="p1"), timeout=DEADLINE)
    assert player.player_id == "p1"
    assert player.status == wallet_pb2.PLAYER_STATUS_SUSPENDED
    assert [(a.point_type, a.balance, a.scale) for a in player.accounts] == [("coins", 15050, 2), ("gems", 0, 0)]


async def test_get_player_refusals(w: Any, sandbox: common_pb2.Scope) -> None:
    await w.set_status("p1", wallet_pb2.PLAYER_STATUS_ACTIVE)
    error = await w.refused(w.stub.GetPlayer(wallet_pb2.GetPlayerRequest(scope=w.scope, player_id="nobody"),
                                             timeout=DEADLINE))
    assert error.code == ErrorCode.PLAYER_NOT_FOUND
    # sandbox never sees live players
    error = await w.refused(w.stub.GetPlayer(wallet_pb2.GetPlayerRequest(scope=sandbox, player_id="p1"),
                                             timeout=DEADLINE))
    assert error.code == ErrorCode.PLAYER_NOT_FOUND
    error = await w.refused(w.stub.GetPlayer(wallet_pb2.GetPlayerRequest(scope=w.scope, player_id=""),
                                             timeout=DEADLINE))
    assert error.code == ErrorCode.VALIDATION_ERROR
