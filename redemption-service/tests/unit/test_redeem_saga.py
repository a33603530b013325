"""The redeem saga on the engine, with fake catalog and wallet: one case per failure point, asserting exactly
which calls (and so which compensations) ran, in which order; and the engine on a forward-only definition (the
cancel's)."""

from __future__ import annotations

import asyncio

import pytest
from redemption_service.domain import DeliveryStatus, Snapshot
from redemption_service.saga.engine import SagaFailed, SagaRunner, Step
from redemption_service.saga.redeem import RedeemOrder, RedeemSaga
from rewards.catalog.v1 import catalog_pb2
from rewards.common.v1 import common_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope

SCOPE = Scope("t1", "live")


class FakeCatalog:
    def __init__(self, calls: list[str], *, reserve_error: Exception | None = None,
                 release_failures: int = 0) -> None:
        self.calls = calls
        self.reserve_error = reserve_error
        self.release_failures = release_failures
        self.reserved: set[str] = set()

    async def check_eligibility(self, request: catalog_pb2.CheckEligibilityRequest
                                ) -> catalog_pb2.CheckEligibilityResponse:
        raise AssertionError("not part of the saga")

    async def reserve_stock(self, request: catalog_pb2.ReserveStockRequest) -> catalog_pb2.ReserveStockResponse:
        self.calls.append("reserve_stock")
        if self.reserve_error:
            raise self.reserve_error
        self.reserved.add(request.saga_id)
        return catalog_pb2.ReserveStockResponse(
            saga_id=request.saga_id,
            item=catalog_pb2.Item(id=request.item_id, name="Voucher 10", image_url="https://img/v.png",
                                  fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_CODE_POOL,
                                  face_value=1000, face_currency="EUR", redemption_message="Enjoy"),
            variant=catalog_pb2.Variant(id="v1", rounds=0),
            price=catalog_pb2.Price(point_type="gems", amount=150))

    async def release_stock(self, scope: Scope, saga_id: str, reason: str) -> bool:
        self.calls.append("release_stock")
        if self.release_failures:
            self.release_failures -= 1
            raise DomainError(ErrorCode.UNAVAILABLE, "catalog failed: UNAVAILABLE")
        released = saga_id in self.reserved
        self.reserved.discard(saga_id)
        return released


class FakeWallet:
    def __init__(self, calls: list[str], *, player_error: Exception | None = None, balance: int = 1000,
                 debit_times_out_after_commit: bool = False, debit_blocks: asyncio.Event | None = None) -> None:
        self.calls = calls
        self.player_error = player_error
        self.balance = balance
        self.debit_times_out_after_commit = debit_times_out_after_commit
        self.debit_blocks = debit_blocks
        self.debits: dict[str, int] = {}

    async def get_player(self, scope: Scope, player_id: str) -> wallet_pb2.GetPlayerResponse:
        """Asked only when a reservation was refused: the player's refusal comes first."""
        self.calls.append("get_player")
        if isinstance(self.player_error, DomainError) and self.player_error.code is ErrorCode.PLAYER_INACTIVE:
            return wallet_pb2.GetPlayerResponse(player_id=player_id, status=wallet_pb2.PLAYER_STATUS_SUSPENDED)
        if self.player_error:
            raise self.player_error
        return wallet_pb2.GetPlayerResponse(player_id=player_id, status=wallet_pb2.PLAYER_STATUS_ACTIVE)

    async def get_balances(self, scope: Scope, player_id: str) -> list[wallet_pb2.Account]:
        raise AssertionError("not part of the saga")

    async def debit_points(self, scope: Scope, saga_id: str, player_id: str, point_type: str, amount: int,
                           description: str) -> wallet_pb2.LedgerEntry:
        self.calls.append("debit_points")
        if self.player_error:
            raise self.player_error
        if self.debit_blocks is not None:
            await self.debit_blocks.wait()
        if self.balance < amount:
            raise DomainError(ErrorCode.INSUFFICIENT_BALANCE, "not enough gems")
        self.balance -= amount
        self.debits[saga_id] = amount
        if self.debit_times_out_after_commit:
            raise DomainError(ErrorCode.UNAVAILABLE, "wallet failed: DEADLINE_EXCEEDED")
        return wallet_pb2.LedgerEntry(id=77, player_id=player_id, point_type=point_type, amount=-amount,
                                      balance_after=self.balance, scale=0)

    async def refund_points(self, scope: Scope, saga_id: str, reason: str) -> bool:
        self.calls.append("refund_points")
        amount = self.debits.pop(saga_id, 0)
        self.balance += amount
        return amount > 0


class MemoryJournal:
    def __init__(self, *, may_compensate: bool = True, taken_over_at: str | None = None) -> None:
        self.events: list[tuple[str, str]] = []
        self.may_compensate = may_compensate
        self.taken_over_at = taken_over_at
        self.failure: BaseException | None = None

    async def step_started(self, saga_id: str, position: int, name: str) -> None:
        if name == self.taken_over_at:
            raise RuntimeError("taken over by recovery")
        self.events.append(("started", name))

    async def begin_compensation(self, saga_id: str) -> bool:
        self.events.append(("compensating", ""))
        return self.may_compensate

    async def step_compensated(self, saga_id: str, name: str) -> None:
        self.events.append(("compensated", name))

    async def failed(self, saga_id: str, cause: BaseException) -> None:
        self.events.append(("failed", ""))
        self.failure = cause


class FakeConfirmation:
    def __init__(self, calls: list[str], error: Exception | None = None) -> None:
        self.calls = calls
        self.error = error
        self.snapshot: Snapshot | None = None

    async def confirm(self, order: RedeemOrder, snapshot: Snapshot) -> None:  # type: ignore[override]
        self.calls.append("confirm")
        if self.error:
            raise self.error
        self.snapshot = snapshot


def order() -> RedeemOrder:
    return RedeemOrder(redemption_id="r-1", scope=SCOPE, player=common_pb2.PlayerContext(player_id="p1"),
                       item_id="item-1", variant_id="", rounds=0, point_type="", shipping_address=None,
                       customer_info=None)


class World:
    def __init__(self, *, journal: MemoryJournal | None = None, confirm_error: Exception | None = None,
                 **fakes: object) -> None:
        self.calls: list[str] = []
        catalog_args = {k: v for k, v in fakes.items() if k in ("reserve_error", "release_failures")}
        wallet_args = {k: v for k, v in fakes.items() if k not in catalog_args}
        self.catalog = FakeCatalog(self.calls, **catalog_args)  # type: ignore[arg-type]
        self.wallet = FakeWallet(self.calls, **wallet_args)  # type: ignore[arg-type]
        self.confirmation = FakeConfirmation(self.calls, confirm_error)
        self.journal = journal or MemoryJournal()
        self.saga = RedeemSaga(self.catalog, self.wallet, self.confirmation)
        self.runner = SagaRunner(self.journal, compensation_attempts=3, compensation_backoff_seconds=0)

    async def run(self) -> SagaFailed | None:
        try:
            await self.runner.run("r-1", self.saga.steps(), order())
        except SagaFailed as failure:
            return failure
        return None


async def test_every_step_runs_then_the_pivot_confirms_with_the_snapshot() -> None:
    world = World()
    assert await world.run() is None
    assert world.calls == ["reserve_stock", "debit_points", "confirm"]
    snapshot = world.confirmation.snapshot
    assert snapshot is not None
    assert (snapshot.item_name, snapshot.cost, snapshot.point_type, snapshot.fulfillment_strategy) == \
        ("Voucher 10", 150, "gems", "code_pool")
    assert (snapshot.debit_transaction_id, snapshot.balance_after, snapshot.variant_id) == (77, 850, "v1")
    assert snapshot.delivery_status is DeliveryStatus.NONE
    # Only the compensable steps are journaled, each before its call.
    assert world.journal.events == [("started", "reserve_stock"), ("started", "debit_points")]


@pytest.mark.parametrize("code", [ErrorCode.PLAYER_NOT_FOUND, ErrorCode.PLAYER_INACTIVE])
async def test_a_player_the_debit_refuses_gets_the_stock_released(code: ErrorCode) -> None:
    """No separate player check: the debit refuses an unknown or inactive player, charging nothing."""
    world = World(player_error=DomainError(code, "the player may not redeem"))
    failure = await world.run()
    assert failure is not None and failure.settled
    assert isinstance(failure.cause, DomainError) and failure.cause.code is code
    assert world.calls == ["reserve_stock", "debit_points", "refund_points", "release_stock"]
    assert failure.compensated == ["debit_points", "reserve_stock"]
    assert world.wallet.balance == 1000 and not world.catalog.reserved
    assert world.journal.failure is failure.cause


async def test_reserve_fails_its_release_runs_because_it_was_registered_first() -> None:
    world = World(reserve_error=DomainError(ErrorCode.OUT_OF_STOCK, "sold out"))
    failure = await world.run()
    assert failure is not None and failure.cause.code is ErrorCode.OUT_OF_STOCK  # type: ignore[attr-defined]
    assert world.calls == ["reserve_stock", "get_player", "release_stock"]
    assert failure.compensated == ["reserve_stock"]


@pytest.mark.parametrize("code", [ErrorCode.PLAYER_NOT_FOUND, ErrorCode.PLAYER_INACTIVE])
async def test_a_refused_reservation_answers_the_players_refusal_first(code: ErrorCode) -> None:
    world = World(reserve_error=DomainError(ErrorCode.ITEM_NOT_FOUND, "no such item"),
                  player_error=DomainError(code, "the player may not redeem"))
    failure = await world.run()
    assert failure is not None and failure.cause.code is code  # type: ignore[attr-defined]
    assert world.calls == ["reserve_stock", "get_player", "release_stock"]


async def test_a_refused_reservation_keeps_its_refusal_when_the_wallet_is_unavailable() -> None:
    world = World(reserve_error=DomainError(ErrorCode.OUT_OF_STOCK, "sold out"),
                  player_error=DomainError(ErrorCode.UNAVAILABLE, "wallet failed"))
    failure = await world.run()
    assert failure is not None and failure.cause.code is ErrorCode.OUT_OF_STOCK  # type: ignore[attr-defined]


async def test_insufficient_balance_refunds_nothing_charged_and_releases_the_stock() -> None:
    world = World(balance=100)
    failure = await world.run()
    assert failure is not None and failure.cause.code is ErrorCode.INSUFFICIENT_BALANCE  # type: ignore[attr-defined]
    assert world.calls == ["reserve_stock", "debit_points", "refund_points", "release_stock"]
    assert failure.compensated == ["debit_points", "reserve_stock"]
    assert world.wallet.balance == 100 and not world.catalog.reserved


async def test_debit_that_timed_out_after_committing_is_refunded() -> None:
    world = World(debit_times_out_after_commit=True)
    failure = await world.run()
    assert failure is not None and failure.cause.code is ErrorCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert world.calls == ["reserve_stock", "debit_points", "refund_points", "release_stock"]
    assert world.wallet.balance == 1000, "the debit that landed was given back"
    assert not world.catalog.reserved


async def test_pivot_write_fails_refund_then_release() -> None:
    world = World(confirm_error=ConnectionError("database went away"))
    failure = await world.run()
    assert failure is not None and failure.settled
    assert world.calls == ["reserve_stock", "debit_points", "confirm", "refund_points",
                           "release_stock"]
    assert world.wallet.balance == 1000 and not world.catalog.reserved
    assert world.journal.events[-4:] == [("compensating", ""), ("compensated", "debit_points"),
                                         ("compensated", "reserve_stock"), ("failed", "")]


async def test_a_compensation_that_fails_once_is_retried_and_the_saga_settles() -> None:
    world = World(balance=10, release_failures=1)
    failure = await world.run()
    assert failure is not None and failure.settled
    assert world.calls == ["reserve_stock", "debit_points", "refund_points", "release_stock",
                           "release_stock"]
    assert failure.compensated == ["debit_points", "reserve_stock"]
    assert ("failed", "") in world.journal.events


async def test_a_compensation_that_keeps_failing_leaves_the_saga_to_recovery() -> None:
    world = World(balance=10, release_failures=99)
    failure = await world.run()
    assert failure is not None and not failure.settled
    assert world.calls.count("release_stock") == 3
    assert failure.compensated == ["debit_points"]
    assert ("failed", "") not in world.journal.events, "not failed until every compensation ran"


async def test_no_compensation_when_the_saga_is_not_ours_to_unwind() -> None:
    world = World(journal=MemoryJournal(may_compensate=False), confirm_error=RuntimeError("taken over"))
    failure = await world.run()
    assert failure is not None and not failure.settled
    assert world.calls == ["reserve_stock", "debit_points", "confirm"]


async def test_a_step_is_not_called_when_its_start_cannot_be_recorded() -> None:
    world = World(journal=MemoryJournal(taken_over_at="debit_points"))
    failure = await world.run()
    assert failure is not None
    assert world.calls == ["reserve_stock", "release_stock"], "no debit without its journal entry"


async def test_cancellation_mid_debit_still_unwinds_then_propagates() -> None:
    blocker = asyncio.Event()
    world = World(debit_blocks=blocker)
    task = asyncio.create_task(world.run())
    while "debit_points" not in world.calls:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert world.calls == ["reserve_stock", "debit_points", "refund_points", "release_stock"]
    assert world.journal.events[-1] == ("failed", "")


@pytest.mark.parametrize("balance, expected", [
    (1000, ["redemption.before_reserve", "redemption.after_reserve", "redemption.before_debit",
            "redemption.after_debit", "redemption.before_pivot", "redemption.after_pivot"]),
    # Too poor: the debit is refused, its refund (registered first) runs, then the release, in reverse.
    (100, ["redemption.before_reserve", "redemption.after_reserve", "redemption.before_debit",
           "redemption.compensated_debit", "redemption.compensated_reserve"]),
])
async def test_the_runner_offers_the_crash_tests_a_failpoint_around_each_step_and_after_each_compensation(
        monkeypatch: pytest.MonkeyPatch, balance: int, expected: list[str]) -> None:
    from redemption_service.saga import engine

    reached: list[str] = []
    monkeypatch.setattr(engine, "failpoint", reached.append)   # FAILPOINTS would kill this test's process
    world = World(balance=balance)
    world.runner = SagaRunner(world.journal, failpoint_prefix="redemption", compensation_attempts=1)
    await world.run()
    assert reached == expected
    reached.clear()
    assert await World().run() is None and reached == []   # a runner without a prefix offers none


def forward_only(calls: list[str], refused_at: str = "") -> list[Step[None]]:
    """A definition without compensations, in the cancel's shape: each step notes its call; one may refuse."""
    def step(name: str) -> Step[None]:
        async def action(_: None) -> None:
            calls.append(name)
            if name == refused_at:
                raise DomainError(ErrorCode.REDEMPTION_NOT_CANCELLABLE, "the item was delivered already")
        return Step(name, action, point=name, after=f"undid_{name}" if name == "refund" else "")
    return [step(name) for name in ("void", "request", "refund", "finish")]


async def test_a_forward_only_definition_stops_at_a_refusal_with_it_and_claims_no_unwinding(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing to compensate: the journal is never asked (no unwinding claimed, the saga not marked failed), and
    the step's own refusal reaches the caller."""
    from redemption_service.saga import engine

    reached: list[str] = []
    monkeypatch.setattr(engine, "failpoint", reached.append)
    calls: list[str] = []
    journal = MemoryJournal()
    with pytest.raises(DomainError) as refused:
        await SagaRunner(journal, failpoint_prefix="redemption").run("r-1", forward_only(calls, "request"), None)
    assert refused.value.code is ErrorCode.REDEMPTION_NOT_CANCELLABLE
    assert calls == ["void", "request"] and journal.events == []
    assert reached == ["redemption.before_void", "redemption.after_void", "redemption.before_request"]
    # A step may name its after-point whole; a runner without a journal runs such a definition to its end.
    reached.clear()
    calls.clear()
    await SagaRunner(failpoint_prefix="redemption").run("r-1", forward_only(calls), None)
    assert calls == ["void", "request", "refund", "finish"]
    assert reached[4:6] == ["redemption.before_refund", "redemption.undid_refund"]
