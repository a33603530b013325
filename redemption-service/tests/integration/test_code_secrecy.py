"""Codes and PINs are secrets: stored sealed, unsealed only for the redeeming player and the tenant's back end
(each reveal recorded in the append-only code_reveals table by the statement that reads it), masked for operators,
and readable across a key rotation."""

from __future__ import annotations

import uuid

import pytest
from redemption_service.codes import Codes, Viewer, ViewerKind
from redemption_service.grpc_api import RedemptionApi
from redemption_service.reseal import seal_codes_in_clear, seal_stored_codes
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2 as f
from rewards.redemption.v1 import redemption_pb2 as r
from service_kit.errors import DomainError, ErrorCode
from service_kit.sealing import new_key
from sqlalchemy.exc import DBAPIError

from .conftest import CODE_KEYS, CODES, revealed

CODE, PIN = "GIFT-1234-5678", "1234"   # the fake fulfillment answers PIN 1234


async def redeemed_with_code(system, code: str = CODE, **fields) -> r.Redemption:  # type: ignore[no-untyped-def]
    """A code-pool redemption completed inline, through the servicer as the gateway calls it."""
    system.fulfillment.codes = [code]
    answer = await RedemptionApi(system.redemptions).Redeem(system.request(**fields), None)
    assert answer.redemption.status == r.REDEMPTION_STATUS_COMPLETED
    return answer.redemption


async def reveals(system, redemption_id: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    rows = await system.sql("SELECT viewer, viewer_id, action FROM code_reveals WHERE redemption_id = :id ORDER BY id",
                            id=redemption_id)
    return [tuple(row) for row in rows]


async def _completed(system, redemption_id: str) -> bool:  # type: ignore[no-untyped-def]
    return (await system.status(redemption_id)).status == "COMPLETED"


def get(redemption_id: str, viewer: int, viewer_id: str = "", player_id: str = "") -> r.GetRedemptionRequest:
    return r.GetRedemptionRequest(scope=common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE),
                                  redemption_id=redemption_id, player_id=player_id, viewer=viewer,
                                  viewer_id=viewer_id)


async def test_the_database_holds_no_plaintext_code_or_pin(system, results) -> None:  # type: ignore[no-untyped-def]
    inline = await redeemed_with_code(system, key="inline")
    assert (inline.fulfillment.code, inline.fulfillment.pin) == (CODE, PIN), "the player gets them in clear"
    # A result over NATS is stored sealed too (the consumer's path): no inline answer, the result comes later.
    opened, _ = await system.calls.redeem(system.request(key="nats"))
    await results.publish(system.result(opened.id, f.RESULT_OUTCOME_COMPLETED, 1, code="NATS-0000-4321",
                                        pin="1111"))
    await system.eventually(lambda: _completed(system, opened.id))
    dump = ""
    for table in ("redemptions", "processed_events", "outbox", "code_reveals"):
        dump += " ".join(str(row) for row in await system.sql(f"SELECT * FROM {table}"))
    for secret in (CODE, "NATS-0000-4321"):
        assert secret not in dump
    for row in await system.sql("SELECT fulfillment FROM redemptions"):
        assert set(row.fulfillment) == {"sealed_code", "sealed_pin"}, "no code or pin key in clear"
    [row] = await system.sql("SELECT fulfillment FROM redemptions WHERE id = :id", id=inline.id)
    assert revealed(row.fulfillment) == {"code": CODE, "pin": PIN}
    nats_row = await system.status(opened.id)
    assert revealed(nats_row.fulfillment) == {"code": "NATS-0000-4321", "pin": "1111"}


async def test_the_redeem_answer_records_its_reveal_to_the_player_and_its_replays_too(system) -> None:  # type: ignore[no-untyped-def]
    with system.pool.counting() as trips:
        answer = await redeemed_with_code(system)
    assert trips.count == 3, "the reveal is recorded in the completing statement: no round trip of its own"
    assert await reveals(system, answer.id) == [("player", "p1", "redeem")]
    replay = await RedemptionApi(system.redemptions).Redeem(system.request(), None)
    assert replay.replayed and replay.redemption.fulfillment.code == CODE
    assert await reveals(system, answer.id) == [("player", "p1", "redeem")] * 2
    with pytest.raises(DomainError) as other_player:
        await RedemptionApi(system.redemptions).Redeem(system.request(player="p2"), None)
    assert other_player.value.code is ErrorCode.IDEMPOTENCY_KEY_CONFLICT
    assert len(await reveals(system, answer.id)) == 2, "another player's try reveals nothing"


async def test_a_back_end_redeeming_for_a_player_is_recorded_as_the_back_end(system) -> None:  # type: ignore[no-untyped-def]
    answer = await redeemed_with_code(system, viewer=r.VIEWER_BACKEND, viewer_id="api_key:k1")
    assert answer.fulfillment.code == CODE
    assert await reveals(system, answer.id) == [("backend", "api_key:k1", "redeem")]


async def test_reads_reveal_to_player_and_back_end_and_mask_for_admin(system) -> None:  # type: ignore[no-untyped-def]
    answer = await redeemed_with_code(system)
    api = RedemptionApi(system.redemptions)
    before = len(await reveals(system, answer.id))

    admin = (await api.GetRedemption(get(answer.id, r.VIEWER_ADMIN, "api_key:ops"), None)).redemption
    assert (admin.fulfillment.code, admin.fulfillment.pin, admin.fulfillment.masked) == ("****-****-5678", "****",
                                                                                         True)
    by_number = (await api.GetRedemption(get(str(answer.number), r.VIEWER_UNSPECIFIED), None)).redemption
    assert by_number.fulfillment.code == "****-****-5678", "a read that names no viewer nor player is masked"
    assert len(await reveals(system, answer.id)) == before, "a masked view records nothing"

    player = (await api.GetRedemption(get(answer.id, r.VIEWER_PLAYER, player_id="p1"), None)).redemption
    assert (player.fulfillment.code, player.fulfillment.pin, player.fulfillment.masked) == (CODE, PIN, False)
    backend = (await api.GetRedemption(get(str(answer.number), r.VIEWER_BACKEND, "client:cl_1"), None)).redemption
    assert backend.fulfillment.code == CODE
    assert (await reveals(system, answer.id))[before:] == [("player", "p1", "get"), ("backend", "client:cl_1", "get")]

    with pytest.raises(DomainError) as not_theirs:
        await api.GetRedemption(get(answer.id, r.VIEWER_PLAYER, player_id="p2"), None)
    assert not_theirs.value.code is ErrorCode.REDEMPTION_NOT_FOUND
    with pytest.raises(DomainError) as no_player:
        await api.GetRedemption(get(answer.id, r.VIEWER_PLAYER), None)
    assert no_player.value.code is ErrorCode.VALIDATION_ERROR
    assert len(await reveals(system, answer.id)) == before + 2, "another player's read reveals nothing"


async def test_lists_reveal_only_the_rows_shown_and_mask_for_admin(system) -> None:  # type: ignore[no-untyped-def]
    tenant = "t-" + uuid.uuid4().hex[:8]
    scope = common_pb2.Scope(tenant_id=tenant, environment=common_pb2.ENVIRONMENT_LIVE)
    first = await redeemed_with_code(system, "AAAA-0000-1111", key="a", tenant=tenant)
    second = await redeemed_with_code(system, "BBBB-0000-2222", key="b", tenant=tenant)
    api = RedemptionApi(system.redemptions)

    admin = await api.ListRedemptions(r.ListRedemptionsRequest(scope=scope, viewer=r.VIEWER_ADMIN), None)
    assert [x.fulfillment.code for x in admin.redemptions] == ["****-****-2222", "****-****-1111"]
    page = await api.ListRedemptions(r.ListRedemptionsRequest(scope=scope, player_id="p1", page_size=1), None)
    assert [x.fulfillment.code for x in page.redemptions] == ["BBBB-0000-2222"] and page.next_page_token
    assert await reveals(system, second.id) == [("player", "p1", "redeem"), ("player", "p1", "list")]
    assert await reveals(system, first.id) == [("player", "p1", "redeem")], "the row past the page is not shown"

    listed = await api.ListCodeReveals(r.ListCodeRevealsRequest(scope=scope, page_size=2), None)
    assert [(x.redemption_id, x.viewer, x.action) for x in listed.reveals] == \
        [(second.id, r.VIEWER_PLAYER, "list"), (second.id, r.VIEWER_PLAYER, "redeem")]
    rest = await api.ListCodeReveals(r.ListCodeRevealsRequest(scope=scope, page_token=listed.next_page_token), None)
    assert [(x.redemption_id, x.action) for x in rest.reveals] == [(first.id, "redeem")] and not rest.next_page_token
    only_first = await api.ListCodeReveals(r.ListCodeRevealsRequest(scope=scope, redemption_id=first.id), None)
    assert [x.redemption_id for x in only_first.reveals] == [first.id]
    assert only_first.reveals[0].viewer_id == "p1" and only_first.reveals[0].revealed_at.seconds > 0
    other_tenant = await api.ListCodeReveals(r.ListCodeRevealsRequest(
        scope=common_pb2.Scope(tenant_id="nobody", environment=common_pb2.ENVIRONMENT_LIVE)), None)
    assert list(other_tenant.reveals) == []
    with pytest.raises(DomainError):
        await api.ListCodeReveals(r.ListCodeRevealsRequest(scope=scope, page_token="garbage!"), None)


async def test_the_audit_refuses_update_delete_and_truncate(system) -> None:  # type: ignore[no-untyped-def]
    answer = await redeemed_with_code(system)
    for statement in ("UPDATE code_reveals SET viewer_id = 'someone else'", "DELETE FROM code_reveals",
                      "TRUNCATE code_reveals"):
        with pytest.raises(DBAPIError, match="append-only"):
            await system.sql(statement)
    assert await reveals(system, answer.id) == [("player", "p1", "redeem")]


async def test_rotation_a_new_key_first_reads_old_codes_and_a_removed_key_is_a_clear_error(system) -> None:  # type: ignore[no-untyped-def]
    answer = await redeemed_with_code(system)
    stored = (await system.status(answer.id)).fulfillment
    new = new_key()
    rotated = Codes.from_setting(f"{new},{CODE_KEYS}")
    player = Viewer(ViewerKind.PLAYER, "p1")
    assert rotated.shown(stored, player)["code"] == CODE, "sealed with the old key, read with the new one first"
    assert rotated.ring.unseal(rotated.seal({"code": "X"})["sealed_code"]) == "X"
    only_new = Codes.from_setting(new)
    with pytest.raises(DomainError, match="CODE_ENCRYPTION_KEYS") as unreadable:
        only_new.shown(stored, player)
    assert unreadable.value.code is ErrorCode.INTERNAL and CODE not in str(unreadable.value)

    # The rotation's second step: every stored code re-sealed under the newest key; then the old key can go.
    assert (await seal_stored_codes(system.pool, rotated, in_clear_only=False)).resealed >= 1
    assert only_new.shown((await system.status(answer.id)).fulfillment, player) == {"code": CODE, "pin": PIN}
    left = await seal_stored_codes(system.pool, Codes.from_setting(new_key()), in_clear_only=False)
    assert left.resealed == 0 and left.unreadable >= 1, "a ring without the key leaves the rows as they are"


async def test_a_row_from_before_sealing_is_read_as_it_is_and_sealed_at_start(system) -> None:  # type: ignore[no-untyped-def]
    answer = await redeemed_with_code(system)
    await system.sql("UPDATE redemptions SET fulfillment = '{\"code\": \"OLD-0000-9999\", \"pin\": \"42\"}' "
                     "WHERE id = :id", id=answer.id)
    api = RedemptionApi(system.redemptions)
    legacy = (await api.GetRedemption(get(answer.id, r.VIEWER_PLAYER, player_id="p1"), None)).redemption
    assert (legacy.fulfillment.code, legacy.fulfillment.pin) == ("OLD-0000-9999", "42")
    masked = (await api.GetRedemption(get(answer.id, r.VIEWER_ADMIN), None)).redemption
    assert masked.fulfillment.code == "***-****-9999"
    await seal_codes_in_clear(system.pool, CODES)
    [row] = await system.sql("SELECT fulfillment::text AS f FROM redemptions WHERE id = :id", id=answer.id)
    assert "OLD-0000-9999" not in row.f and "sealed_code" in row.f
    again = (await api.GetRedemption(get(answer.id, r.VIEWER_PLAYER, player_id="p1"), None)).redemption
    assert (again.fulfillment.code, again.fulfillment.pin) == ("OLD-0000-9999", "42")
