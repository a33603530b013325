"""Get, list (cursor pagination stable while new redemptions arrive), cancel transitions, quote, key pruning."""

from __future__ import annotations

import pytest
from redemption_service import repository
from redemption_service.domain import Status
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode


def cancel_request(system, redemption_id: str, player: str = "") -> redemption_pb2.CancelRedemptionRequest:  # type: ignore[no-untyped-def]
    return redemption_pb2.CancelRedemptionRequest(scope=system.scope(), redemption_id=redemption_id,
                                                  player_id=player, reason="changed my mind")


async def test_get_by_id_or_number_scoped_to_tenant_and_player(system) -> None:  # type: ignore[no-untyped-def]
    redemption, _ = await system.calls.redeem(system.request())
    by_id = await system.calls.get(system.scope(), redemption.id, "")
    by_number = await system.calls.get(system.scope(), str(redemption.number), "p1")
    assert by_id == by_number == redemption
    for scope, reference, player in [(system.scope(), redemption.id, "p2"),
                                     (system.scope("other"), redemption.id, ""),
                                     (system.scope(), "999999", ""),
                                     # beyond a bigint, and digits int() refuses: not found, not a database error
                                     (system.scope(), "9" * 30, ""),
                                     (system.scope(), "\u00b2", ""),
                                     (system.scope(), "\u0661\u0662", "")]:
        with pytest.raises(DomainError) as missing:
            await system.calls.get(scope, reference, player)
        assert missing.value.code is ErrorCode.REDEMPTION_NOT_FOUND


async def test_list_pages_newest_first_stable_while_new_ones_arrive(system) -> None:  # type: ignore[no-untyped-def]
    system.wallet.balances["p1"] = 10_000
    created = [(await system.calls.redeem(system.request(key=f"k{n}")))[0].id for n in range(7)]
    await system.calls.redeem(system.request(key="other-player", player="p2"))

    def listing(token: str = "", **fields: object) -> redemption_pb2.ListRedemptionsRequest:
        return redemption_pb2.ListRedemptionsRequest(scope=system.scope(), player_id="p1", page_size=3,
                                                     page_token=token, **fields)  # type: ignore[arg-type]

    first = await system.calls.list(listing())
    await system.calls.redeem(system.request(key="late-1"))
    await system.calls.redeem(system.request(key="late-2"))
    second = await system.calls.list(listing(first.next_page_token))
    third = await system.calls.list(listing(second.next_page_token))
    seen = [r.id for page in (first, second, third) for r in page.redemptions]
    assert seen == list(reversed(created))
    assert third.next_page_token == ""
    fresh = await system.calls.list(listing())
    assert len(fresh.redemptions) == 3 and fresh.redemptions[2].id == created[-1]

    everyone = await system.calls.list(redemption_pb2.ListRedemptionsRequest(scope=system.scope()))
    assert len(everyone.redemptions) == 10
    await system.calls.cancel(cancel_request(system, created[0]))
    canceled = await system.calls.list(listing(status=redemption_pb2.REDEMPTION_STATUS_CANCELED))
    assert [r.id for r in canceled.redemptions] == [created[0]]
    with pytest.raises(DomainError) as bad:
        await system.calls.list(listing("not-a-token"))
    assert bad.value.code is ErrorCode.VALIDATION_ERROR


async def test_cancel_refunds_releases_and_is_harmless_twice(system) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    assert system.wallet.balances["p1"] == 850
    with pytest.raises(DomainError) as not_theirs:
        await system.calls.cancel(cancel_request(system, opened.id, player="p2"))
    assert not_theirs.value.code is ErrorCode.REDEMPTION_NOT_FOUND
    canceled = await system.calls.cancel(cancel_request(system, opened.id, player="p1"))
    assert canceled.status is Status.CANCELED and canceled.canceled_at is not None
    assert canceled.cancel_reason == "changed my mind"
    assert system.wallet.balances["p1"] == 1000 and system.catalog.items["voucher"].stock == 100
    again = await system.calls.cancel(cancel_request(system, opened.id))
    assert again.status is Status.CANCELED and again.canceled_at == canceled.canceled_at
    assert system.wallet.calls.count("RefundPoints") == 1, "the second cancel changed nothing"


async def test_failed_redemptions_cancel_unchanged(system) -> None:  # type: ignore[no-untyped-def]
    system.wallet.balances["p1"] = 0
    with pytest.raises(DomainError):
        await system.calls.redeem(system.request(key="poor"))
    failed = (await system.calls.list(redemption_pb2.ListRedemptionsRequest(scope=system.scope())))
    unchanged = await system.calls.cancel(cancel_request(system, failed.redemptions[0].id))
    assert unchanged.status is Status.FAILED and unchanged.failure_code == "INSUFFICIENT_BALANCE"


@pytest.mark.parametrize(("status", "delivery"), [("COMPLETED", ""), ("SUBMITTED", ""),
                                                  ("PURCHASED", "SHIPPED"), ("AWAITING_VENDOR", "DELIVERED")])
async def test_not_cancellable(system, status: str, delivery: str) -> None:  # type: ignore[no-untyped-def]
    opened, _ = await system.calls.redeem(system.request())
    await system.sql("UPDATE redemptions SET status = :s, delivery_status = :d", s=status, d=delivery)
    with pytest.raises(DomainError) as refused:
        await system.calls.cancel(cancel_request(system, opened.id))
    assert refused.value.code is ErrorCode.REDEMPTION_NOT_CANCELLABLE
    assert "RefundPoints" not in system.wallet.calls
    assert (await system.sql("SELECT cancel_requested_at FROM redemptions"))[0].cancel_requested_at is None


async def test_quote_answers_every_check_and_changes_nothing(system) -> None:  # type: ignore[no-untyped-def]
    def quote(player: str = "p1", item: str = "voucher") -> redemption_pb2.QuoteRedemptionRequest:
        return redemption_pb2.QuoteRedemptionRequest(
            scope=system.scope(), player=common_pb2.PlayerContext(player_id=player), item_id=item)

    ok = await system.calls.quote(quote())
    assert (ok.eligible, ok.reason, ok.cost, ok.point_type, ok.balance, ok.stock_left, ok.remaining_allowance) == \
        (True, "", 150, "gems", 1000, 100, -1)
    assert ok.shipping_address_required is False
    shirt = await system.calls.quote(quote(item="tshirt"))
    assert shirt.eligible and shirt.shipping_address_required, "a quote reports required fields, not refuses"
    system.wallet.balances["p1"] = 149
    short = await system.calls.quote(quote())
    assert (short.eligible, short.reason, short.balance) == (False, "INSUFFICIENT_BALANCE", 149)
    assert (await system.calls.quote(quote(player="ghost"))).reason == "PLAYER_NOT_FOUND"
    assert (await system.calls.quote(quote(player="banned"))).reason == "PLAYER_INACTIVE"
    assert (await system.calls.quote(quote(item="nope"))).reason == "ITEM_NOT_FOUND"
    system.catalog.items["voucher"].stock = 0
    assert (await system.calls.quote(quote())).reason == "OUT_OF_STOCK"
    assert "ReserveStock" not in system.catalog.calls and "DebitPoints" not in system.wallet.calls
    assert (await system.sql("SELECT count(*) AS n FROM redemptions"))[0].n == 0


async def test_expired_idempotency_keys_are_pruned(system) -> None:  # type: ignore[no-untyped-def]
    await system.calls.redeem(system.request(key="old"))
    await system.calls.redeem(system.request(key="new"))
    await system.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'old'")
    async with system.sessions.begin() as session:
        assert await repository.prune_idempotency_keys(session) == 1
    keys = await system.sql("SELECT key FROM idempotency_keys")
    assert [k.key for k in keys] == ["new"]
    _, replayed = await system.calls.redeem(system.request(key="old"))
    assert not replayed, "an expired key starts afresh"
