"""The redeem saga: reserve stock, debit points (wallet refuses an unknown or inactive player there), then the
pivot (OPEN and the fulfillment job in the outbox, in one statement; or, when a review rule applies, the hold:
AWAITING_APPROVAL with its reason and no job). Before the pivot every failure is compensated; after it, only
forward (a rejected hold is cancelled with a refund, by the same way back).

Each compensation is an `Undo` of the definition, run by the saga's scope and id alone. Every way back runs the
definition's (`way_back()`): the runner unwinding a failed redeem, recovery of an interrupted saga (`undo_all`),
and the cancel saga, which runs it as forward steps (saga/cancel.py: a cancel, a failed fulfilment's refund, a
review's rejection, recovery of a cancel under way). A compensable step added to `steps()` is undone on all of
them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.json_format import MessageToDict
from rewards.catalog.v1 import catalog_pb2
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope

from redemption_service import sandbox
from redemption_service.clients import Catalog, Wallet
from redemption_service.domain import DeliveryStatus, Redemption, ReviewRules, Snapshot
from redemption_service.saga.engine import Step


@dataclass
class RedeemOrder:
    """An accepted redeem request; the steps fill in what catalog and wallet answered."""

    redemption_id: str   # also the saga id that makes the reservation and the debit idempotent
    scope: Scope
    player: common_pb2.PlayerContext
    item_id: str
    variant_id: str
    rounds: int
    point_type: str
    shipping_address: common_pb2.ShippingAddress | None
    customer_info: common_pb2.CustomerInfo | None
    quote_id: str = ""   # a quote's price lock: catalog pays its price for its variant
    sandbox_outcome: str = ""   # sandbox only: the fulfilment's forced outcome (sandbox.py)
    review_rules: ReviewRules | None = None   # the tenant's and the item's, as the accept read them; None: none
    hold_reason: str = ""       # set by the pivot's review: why the redemption is held (HoldReason); empty: not
    reservation: catalog_pb2.ReserveStockResponse | None = None
    debit: wallet_pb2.LedgerEntry | None = None
    confirmed: Redemption | None = None      # the redemption as the pivot left it (OPEN)
    job: fulfillment_pb2.FulfillmentJob | None = None   # the job the pivot wrote to the outbox

    @property
    def player_id(self) -> str:
        return self.player.player_id

    def snapshot(self) -> Snapshot:
        assert self.reservation is not None and self.debit is not None
        item, variant, price = self.reservation.item, self.reservation.variant, self.reservation.price
        strategy = fulfillment_strategy_name(item.fulfillment_strategy)
        return Snapshot(
            item_name=item.name,
            item_image_url=item.image_url,
            variant_id=variant.id or self.variant_id,
            rounds=variant.rounds or self.rounds,
            point_type=price.point_type,
            cost=price.amount,
            point_scale=self.debit.scale,
            face_value=item.face_value,
            face_currency=item.face_currency,
            fulfillment_strategy=strategy,
            fulfillment_config=self.fulfillment_config(),
            redemption_message=item.redemption_message,
            debit_transaction_id=self.debit.id,
            balance_after=self.debit.balance_after,
            delivery_status=DeliveryStatus.PENDING if strategy == "physical" else DeliveryStatus.NONE,
        )

    def fulfillment_config(self) -> dict[str, Any]:
        """The item's fulfillment settings as reserved; a redeem's forced sandbox outcome goes with them."""
        assert self.reservation is not None
        config = MessageToDict(self.reservation.item.fulfillment_config)
        if self.sandbox_outcome:
            config["sandbox_outcome"] = self.sandbox_outcome
        elif self.scope.environment != "sandbox":
            config.pop("sandbox_outcome", None)   # an item's forced outcome never acts in live
        if config.get("sandbox_outcome") == sandbox.REVIEW:
            config.pop("sandbox_outcome")   # a hold is the review's, not the fulfilment's: approved, it goes on as usual
        return config

    def sandbox_review(self) -> bool:
        """The sandbox outcome `review` (the request's, else the item's): the pivot holds the redemption."""
        if self.scope.environment != "sandbox":
            return False
        if self.sandbox_outcome:
            return self.sandbox_outcome == sandbox.REVIEW
        assert self.reservation is not None
        value = self.reservation.item.fulfillment_config.fields.get("sandbox_outcome")
        return value is not None and value.string_value == sandbox.REVIEW


def fulfillment_strategy_name(strategy: int) -> str:
    """FULFILLMENT_STRATEGY_CODE_POOL -> code_pool. An item without a strategy is fulfilled by hand."""
    if strategy == catalog_pb2.FULFILLMENT_STRATEGY_UNSPECIFIED:
        return "manual"
    return catalog_pb2.FulfillmentStrategy.Name(strategy).removeprefix("FULFILLMENT_STRATEGY_").lower()


class Confirmation(Protocol):
    async def confirm(self, order: RedeemOrder, snapshot: Snapshot) -> Redemption:
        """The pivot: status OPEN with the snapshot, and the fulfillment job in the outbox, in one statement; or
        the hold (AWAITING_APPROVAL, no job) when order.hold_reason is set."""


class Review(Protocol):
    async def hold_reason(self, order: RedeemOrder) -> str:
        """Why the pivot holds this redemption for review (a HoldReason), or "": its rules' lookups run only when
        a rule needs them."""


FAILED_REASON = "redemption failed"


@dataclass(frozen=True, slots=True)
class Undo:
    """A compensation as every way back runs it: by the saga's scope and id and a reason, idempotent on the id and
    harmless where its step never landed. Called with an order, it is the runner's compensation of the step."""

    name: str
    run: Callable[[Scope, str, str], Awaitable[object]]

    async def __call__(self, order: RedeemOrder) -> None:
        await self.run(order.scope, order.redemption_id, FAILED_REASON)


async def undo_all(way_back: Sequence[Undo], scope: Scope, saga_id: str, reason: str) -> None:
    """Runs a way back in its order (recovery of a saga interrupted before its pivot). It offers no failpoints, so
    a process restarted with one set still recovers the previous crash."""
    for undo in way_back:
        await undo.run(scope, saga_id, reason)


class RedeemSaga:
    def __init__(self, catalog: Catalog, wallet: Wallet, confirmation: Confirmation | None = None,
                 review: Review | None = None) -> None:
        """confirmation: the pivot; None for a saga that is only ever undone (recovery). review: whether the pivot
        holds the redemption for review; None: never."""
        self.catalog = catalog
        self.wallet = wallet
        self.confirmation = confirmation
        self.review = review

    def steps(self) -> list[Step[RedeemOrder]]:
        """The definition: each step with its undo and its failpoints' stem."""
        return [
            Step("reserve_stock", self.reserve_stock, compensation=Undo("release_stock", self.release_stock),
                 point="reserve"),
            Step("debit_points", self.debit_points, compensation=Undo("refund_points", self.refund_points),
                 point="debit"),
            Step("confirm", self.confirm, point="pivot"),  # the pivot
        ]

    def way_back(self) -> list[Undo]:
        """The definition's undos, last step first."""
        return [s.compensation for s in reversed(self.steps()) if isinstance(s.compensation, Undo)]

    async def reserve_stock(self, order: RedeemOrder) -> None:
        try:
            order.reservation = await self.catalog.reserve_stock(catalog_pb2.ReserveStockRequest(
                scope=order.scope.to_proto(), saga_id=order.redemption_id, item_id=order.item_id,
                variant_id=order.variant_id, rounds=order.rounds, point_type=order.point_type, player=order.player,
                has_shipping_address=order.shipping_address is not None,
                has_customer_info=order.customer_info is not None, price_lock_id=order.quote_id))
        except DomainError as refusal:
            if refusal.code is not ErrorCode.UNAVAILABLE:
                await self.refuse_player_first(order)
            raise

    async def refuse_player_first(self, order: RedeemOrder) -> None:
        """The player's refusal comes before the item's (the seed pages check the user first). The debit checks
        the player on the way that succeeds; only a refused reservation asks the wallet here."""
        try:
            player = await self.wallet.get_player(order.scope, order.player_id)
        except DomainError as refusal:
            if refusal.code is ErrorCode.PLAYER_NOT_FOUND:
                raise
            return   # the wallet is unavailable: the item's refusal stands
        if player.status != wallet_pb2.PLAYER_STATUS_ACTIVE:
            raise DomainError(ErrorCode.PLAYER_INACTIVE, "the player may not redeem")

    async def release_stock(self, scope: Scope, saga_id: str, reason: str) -> None:
        await self.catalog.release_stock(scope, saga_id, reason)

    async def debit_points(self, order: RedeemOrder) -> None:
        assert order.reservation is not None
        price = order.reservation.price
        order.debit = await self.wallet.debit_points(
            order.scope, order.redemption_id, order.player_id, price.point_type, price.amount,
            f"Redeemed {order.reservation.item.name}")

    async def refund_points(self, scope: Scope, saga_id: str, reason: str) -> None:
        await self.wallet.refund_points(scope, saga_id, reason)

    async def confirm(self, order: RedeemOrder) -> None:
        assert self.confirmation is not None, "a saga without its pivot is only undone"
        if self.review is not None:
            order.hold_reason = await self.review.hold_reason(order)
        order.confirmed = await self.confirmation.confirm(order, order.snapshot())
