"""Redeem on real PostgreSQL through real gRPC clients: the saga's outcome, the pivot's outbox row, and the
idempotency key (one saga under concurrent duplicates, replay, conflict, reuse, in progress; what a failed
attempt leaves of its key is in test_released_keys.py)."""

from __future__ import annotations

import asyncio

import pytest
from redemption_service.domain import DeliveryStatus, Status
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.messaging import JOBS_SUBJECT


async def test_redeem_opens_with_a_snapshot_and_a_fulfillment_job(system) -> None:  # type: ignore[no-untyped-def]
    redemption, replayed = await system.calls.redeem(system.request(comment="for me"))
    assert not replayed
    assert redemption.status is Status.OPEN
    assert (redemption.item_name, redemption.cost, redemption.point_type, redemption.point_scale) == \
        ("Item voucher", 150, "gems", 0)
    assert (redemption.fulfillment_strategy, redemption.face_value, redemption.redemption_message) == \
        ("code_pool", 500, "Thanks")
    assert redemption.debit_transaction_id == 1001 and redemption.balance_after == 850
    assert redemption.number >= 1 and redemption.trigger_source == "MANUAL"
    assert system.wallet.balances["p1"] == 850 and system.catalog.items["voucher"].stock == 99

    rows = await system.sql("SELECT subject, payload, published_at FROM outbox")
    assert len(rows) == 1 and rows[0].subject == JOBS_SUBJECT and rows[0].published_at is None
    job = fulfillment_pb2.FulfillmentJob.FromString(rows[0].payload)
    assert (job.redemption_id, job.player_id, job.item_id, job.strategy, job.cost, job.point_type) == \
        (redemption.id, "p1", "voucher", "code_pool", 150, "gems")
    assert job.scope.tenant_id == "acme" and job.scope.environment == common_pb2.ENVIRONMENT_LIVE
    assert dict(job.config) == {"pool": "voucher"} and job.event_id
    saga = await system.sql("SELECT state FROM sagas WHERE id = :id", id=redemption.id)
    assert saga[0].state == "confirmed"
    # The saga's record is written by the accept and the pivot only: no round trip per step.


async def test_physical_goods_keep_the_address_and_start_pending(system) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as refused:
        await system.calls.redeem(system.request(item="tshirt", key="no-address"))
    assert refused.value.code is ErrorCode.SHIPPING_ADDRESS_REQUIRED
    address = common_pb2.ShippingAddress(name="Ann", line1="1 Main St", city="Oslo", country="NO")
    redemption, _ = await system.calls.redeem(system.request(item="tshirt", shipping_address=address))
    assert redemption.delivery_status is DeliveryStatus.PENDING
    assert redemption.shipping_address == {"name": "Ann", "line1": "1 Main St", "city": "Oslo", "country": "NO"}
    assert system.catalog.items["tshirt"].stock == 99, "only the second attempt holds stock"


async def test_twenty_concurrent_duplicates_run_one_saga(make_system) -> None:  # type: ignore[no-untyped-def]
    system = await make_system(wait_seconds=10)
    results = await asyncio.gather(*(system.calls.redeem(system.request(key="same")) for _ in range(20)))
    assert len({r.id for r, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 19
    assert system.wallet.calls.count("DebitPoints") == 1
    assert system.catalog.calls.count("ReserveStock") == 1
    assert system.wallet.balances["p1"] == 850
    assert (await system.sql("SELECT count(*) AS n FROM redemptions"))[0].n == 1


async def test_replay_conflict_and_reuse(system) -> None:  # type: ignore[no-untyped-def]
    first, _ = await system.calls.redeem(system.request(key="k"))
    again, replayed = await system.calls.redeem(system.request(key="k", wait_for_fulfillment_ms=500))
    assert replayed and again.id == first.id and again.status is Status.OPEN
    with pytest.raises(DomainError) as conflict:
        await system.calls.redeem(system.request(key="k", player="p2"))
    assert conflict.value.code is ErrorCode.IDEMPOTENCY_KEY_CONFLICT
    with pytest.raises(DomainError) as reused:
        await system.calls.redeem(system.request(key="k", comment="another body"))
    assert reused.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    other_tenant, replayed = await system.calls.redeem(system.request(key="k", tenant="other"))
    assert not replayed and other_tenant.id != first.id, "keys are scoped by tenant"
    assert system.wallet.calls.count("DebitPoints") == 2


async def test_empty_key_has_no_replay_protection(system) -> None:  # type: ignore[no-untyped-def]
    a, _ = await system.calls.redeem(system.request(key=""))
    b, replayed = await system.calls.redeem(system.request(key=""))
    assert a.id != b.id and not replayed
    assert system.wallet.balances["p1"] == 700


async def test_a_failed_attempt_is_tried_afresh_by_the_same_request(system) -> None:  # type: ignore[no-untyped-def]
    """A FAILED attempt charged nothing and keeps no result (see test_released_keys.py): the same request again
    runs a new saga, refused again here, each attempt in the history."""
    system.wallet.balances["p1"] = 100
    for _ in range(2):
        with pytest.raises(DomainError) as refused:
            await system.calls.redeem(system.request(key="poor"))
        assert refused.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert system.wallet.calls.count("DebitPoints") == 2, "the retry ran its own saga"
    assert system.catalog.items["voucher"].stock == 100 and system.wallet.balances["p1"] == 100
    rows = await system.sql("SELECT r.status, r.failure_code, s.state FROM redemptions r JOIN sagas s ON s.id = r.id")
    assert [(r.status, r.failure_code, r.state) for r in rows] == [("FAILED", "INSUFFICIENT_BALANCE", "failed")] * 2
    assert (await system.sql("SELECT count(*) AS n FROM outbox"))[0].n == 0


@pytest.mark.parametrize(("player", "code"), [("ghost", ErrorCode.PLAYER_NOT_FOUND),
                                              ("banned", ErrorCode.PLAYER_INACTIVE)])
async def test_player_check_refusals(system, player: str, code: ErrorCode) -> None:  # type: ignore[no-untyped-def]
    """The debit refuses a player who may not redeem (no separate player check: one call fewer per redemption);
    the reservation made before it is released."""
    with pytest.raises(DomainError) as refused:
        await system.calls.redeem(system.request(player=player))
    assert refused.value.code is code
    assert system.catalog.calls == ["ReserveStock", "ReleaseStock"]
    assert system.catalog.items["voucher"].stock == 100 and "GetPlayer" not in system.wallet.calls
    assert system.wallet.balances.get(player, 0) in (0, 1000), "nothing was charged"


async def test_a_concurrent_duplicate_gives_up_with_in_progress(make_system) -> None:  # type: ignore[no-untyped-def]
    system = await make_system(wait_seconds=0.2)
    system.wallet.debit_delay_seconds = 0.8
    first = asyncio.create_task(system.calls.redeem(system.request(key="slow")))
    while "DebitPoints" not in system.wallet.calls:
        await asyncio.sleep(0.01)
    with pytest.raises(DomainError) as busy:
        await system.calls.redeem(system.request(key="slow"))
    assert busy.value.code is ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS
    assert busy.value.metadata["retry_after_seconds"] == "1"
    opened, _ = await first
    replay, replayed = await system.calls.redeem(system.request(key="slow"))
    assert replayed and replay.id == opened.id


async def test_a_debit_timing_out_after_committing_is_refunded(make_system) -> None:  # type: ignore[no-untyped-def]
    system = await make_system(call_timeout=0.2)
    system.wallet.debit_delay_seconds = 1.0  # the debit lands, the answer misses every deadline
    with pytest.raises(DomainError) as failed:
        await system.calls.redeem(system.request(key="timeout"))
    assert failed.value.code is ErrorCode.UNAVAILABLE
    assert system.wallet.balances["p1"] == 1000, "refunded"
    assert system.catalog.items["voucher"].stock == 100, "released"
    assert system.wallet.calls[-1] == "RefundPoints" and system.catalog.calls[-1] == "ReleaseStock"
    row = (await system.sql("SELECT status, failure_code FROM redemptions"))[0]
    assert (row.status, row.failure_code) == ("FAILED", "UNAVAILABLE")


@pytest.mark.parametrize("fields", [{"key": "k" * 201}, {"item": ""}, {"player": ""},
                                    {"rounds": -1},
                                    {"shipping_address": common_pb2.ShippingAddress(name="no street")}])
async def test_bad_input_is_refused_and_changes_nothing(system, fields) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as refused:
        await system.calls.redeem(system.request(**fields))
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert (await system.sql("SELECT count(*) AS n FROM redemptions"))[0].n == 0
    assert system.wallet.calls == [] and system.catalog.calls == []
