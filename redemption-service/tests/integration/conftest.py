"""A redemption-service on a real PostgreSQL, talking over real gRPC to fake catalog, wallet and fulfillment
servers started in-process on free ports (they implement just the RPCs the service uses, with the contracts' semantics:
reservations and debits idempotent on the saga id, releases and refunds harmless when nothing landed); and, for
fulfillment results, its results consumer on the session's real NATS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest
from local_runner.infra import Nats, Postgres
from nats.js.errors import NotFoundError
from redemption_service.clients import CatalogClient, FulfillmentClient, WalletClient
from redemption_service.codes import MASKED, Codes, Viewer, ViewerKind
from redemption_service.db import migrate
from redemption_service.domain import Redemption
from redemption_service.fulfillment_results import FulfillmentResultConsumer
from redemption_service.fulfillment_waits import FulfillmentWaits
from redemption_service.grpc_api import list_call, quote_call, redeem_call, review_rules
from redemption_service.outbox import jobs_relay
from redemption_service.redemptions import Page, Quote, Redemptions
from redemption_service.repository import ReviewRuleSet
from redemption_service.saga.redeem import Undo
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.db import create_engine, session_maker
from service_kit.errors import DomainError, ErrorCode
from service_kit.grpc_client import open_channel
from service_kit.grpc_server import ServingInterceptor, cancel_until_done
from service_kit.messaging import RESULTS_STREAM, RESULTS_SUBJECT, JetStreamLink
from service_kit.outbox_relay import OutboxRelay
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.sealing import new_key
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

TENANT = "acme"
# The key ring every test system seals codes with (a test of rotation makes its own).
CODE_KEYS = new_key()
CODES = Codes.from_setting(CODE_KEYS)


def revealed(stored: dict[str, Any] | None) -> dict[str, Any]:
    """A stored fulfillment as the redeeming player is shown it (code and PIN unsealed)."""
    return CODES.shown(stored or {}, Viewer(ViewerKind.PLAYER, "p1"))


@dataclass
class FakeItem:
    id: str
    price: int
    stock: int = 100
    strategy: int = catalog_pb2.FULFILLMENT_STRATEGY_CODE_POOL
    shipping_required: bool = False


@dataclass
class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    items: dict[str, FakeItem] = field(default_factory=dict)
    reservations: dict[str, str] = field(default_factory=dict)   # saga id -> item id
    calls: list[str] = field(default_factory=list)

    def item(self, item_id: str) -> FakeItem:
        if item_id not in self.items:
            raise DomainError(ErrorCode.ITEM_NOT_FOUND, f"no item {item_id}")
        return self.items[item_id]

    def reply(self, item: FakeItem) -> tuple[catalog_pb2.Item, catalog_pb2.Variant, catalog_pb2.Price]:
        proto = catalog_pb2.Item(id=item.id, name=f"Item {item.id}", image_url=f"https://img/{item.id}.png",
                                 status=catalog_pb2.ITEM_STATUS_ACTIVE, prices=[catalog_pb2.Price(
                                     point_type="gems", amount=item.price)], stock=item.stock,
                                 fulfillment_strategy=item.strategy, face_value=500, face_currency="EUR",
                                 shipping_address_required=item.shipping_required, redemption_message="Thanks")
        proto.fulfillment_config.update({"pool": item.id})
        return proto, catalog_pb2.Variant(), catalog_pb2.Price(point_type="gems", amount=item.price)

    async def CheckEligibility(self, request, context):  # type: ignore[no-untyped-def]
        self.calls.append("CheckEligibility")
        item = self.item(request.item_id)
        proto, variant, price = self.reply(item)
        eligible, reason = (True, "") if item.stock > 0 else (False, "OUT_OF_STOCK")
        return catalog_pb2.CheckEligibilityResponse(eligible=eligible, reason=reason, item=proto, variant=variant,
                                                    price=price, remaining_allowance=-1)

    async def ReserveStock(self, request, context):  # type: ignore[no-untyped-def]
        self.calls.append("ReserveStock")
        item = self.item(request.item_id)
        if item.shipping_required and not request.has_shipping_address:
            raise DomainError(ErrorCode.SHIPPING_ADDRESS_REQUIRED, "a shipping address is required")
        already = request.saga_id in self.reservations
        if not already:
            if item.stock < 1:
                raise DomainError(ErrorCode.OUT_OF_STOCK, "sold out")
            item.stock -= 1
            self.reservations[request.saga_id] = item.id
        proto, variant, price = self.reply(item)
        return catalog_pb2.ReserveStockResponse(saga_id=request.saga_id, item=proto, variant=variant, price=price,
                                                already_reserved=already)

    async def ReleaseStock(self, request, context):  # type: ignore[no-untyped-def]
        self.calls.append("ReleaseStock")
        item_id = self.reservations.pop(request.saga_id, None)
        if item_id is not None:
            self.items[item_id].stock += 1
        return catalog_pb2.ReleaseStockResponse(released=item_id is not None)


@dataclass
class FakeWallet(wallet_pb2_grpc.WalletServiceServicer):
    players: dict[str, int] = field(default_factory=dict)               # player -> status
    balances: dict[str, int] = field(default_factory=dict)              # player -> gems
    debits: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # saga -> (player, amount, entry id)
    refunded: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    debit_delay_seconds: float = 0.0     # the debit commits, then the answer takes this long
    refund_unavailable: bool = False
    next_entry_id: int = 1000
    created: dict[str, datetime] = field(default_factory=dict)          # player -> created_at (GetPlayer)

    def player(self, player_id: str) -> int:
        if player_id not in self.players:
            raise DomainError(ErrorCode.PLAYER_NOT_FOUND, f"no player {player_id}")
        return self.players[player_id]

    async def GetPlayer(self, request, context):  # type: ignore[no-untyped-def]
        self.calls.append("GetPlayer")
        status = self.player(request.player_id)
        response = wallet_pb2.GetPlayerResponse(player_id=request.player_id, status=status, accounts=[
            wallet_pb2.Account(point_type="gems", balance=self.balances.get(request.player_id, 0), scale=0)])
        if request.player_id in self.created:
            response.created_at.FromDatetime(self.created[request.player_id])
        return response

    async def GetBalances(self, request, context):  # type: ignore[no-untyped-def]
        self.calls.append("GetBalances")
        self.player(request.player_id)
        return wallet_pb2.GetBalancesResponse(accounts=[
            wallet_pb2.Account(point_type="gems", balance=self.balances.get(request.player_id, 0), scale=0)])

    async def DebitPoints(self, request, context):  # type: ignore[no-untyped-def]
        self.calls.append("DebitPoints")
        replayed = request.saga_id in self.debits
        if not replayed:
            if self.player(request.player_id) != wallet_pb2.PLAYER_STATUS_ACTIVE:
                raise DomainError(ErrorCode.PLAYER_INACTIVE, "the player may not redeem")
            if self.balances.get(request.player_id, 0) < request.amount:
                raise DomainError(ErrorCode.INSUFFICIENT_BALANCE, "not enough gems")
            self.balances[request.player_id] -= request.amount
            self.next_entry_id += 1
            self.debits[request.saga_id] = (request.player_id, request.amount, self.next_entry_id)
        if self.debit_delay_seconds:
            await asyncio.sleep(self.debit_delay_seconds)
        player, amount, entry_id = self.debits[request.saga_id]
        return wallet_pb2.DebitPointsResponse(replayed=replayed, entry=wallet_pb2.LedgerEntry(
            id=entry_id, player_id=player, point_type="gems", kind=wallet_pb2.ENTRY_KIND_DEBIT, amount=-amount,
            balance_after=self.balances[player], reference=request.saga_id, scale=0))

    async def RefundPoints(self, request, context):  # type: ignore[no-untyped-def]
        self.calls.append("RefundPoints")
        if self.refund_unavailable:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "wallet is down")
        debit = self.debits.get(request.saga_id)
        if debit is None:
            return wallet_pb2.RefundPointsResponse(refunded=False)
        if request.saga_id in self.refunded:
            return wallet_pb2.RefundPointsResponse(refunded=True, replayed=True)
        self.refunded.add(request.saga_id)
        self.balances[debit[0]] += debit[1]
        return wallet_pb2.RefundPointsResponse(refunded=True)


@dataclass
class FakeFulfillment(fulfillment_pb2_grpc.FulfillmentServiceServicer):
    """VoidJob with the contract's semantics, answered from a script: `refusals` maps a redemption to the outcome
    fulfillment would answer (its job delivered, its provider call in flight); `down` answers UNAVAILABLE.
    FulfilNow hands out `codes` in order, one per redemption and the same one again on a repeat; with no codes
    set it answers no result (as for a job it cannot settle at once), and `pool_empty` answers OUT_OF_CODES."""

    voids: list[tuple[str, str]] = field(default_factory=list)    # (redemption id, reason) per call
    voided: set[str] = field(default_factory=set)
    refusals: dict[str, int] = field(default_factory=dict)
    down: bool = False
    codes: list[str] = field(default_factory=list)
    pool_empty: bool = False
    inline_delay_seconds: float = 0.0    # the code is assigned, then the answer takes this long
    inline_jobs: list[fulfillment_pb2.FulfillmentJob] = field(default_factory=list)
    inline_results: dict[str, fulfillment_pb2.FulfillmentResult] = field(default_factory=dict)

    async def FulfilNow(self, request, context):  # type: ignore[no-untyped-def]
        job = request.job
        self.inline_jobs.append(job)
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fulfillment is down")
        result = self.inline_results.get(job.redemption_id)
        if result is None and (self.codes or self.pool_empty):
            result = fulfillment_pb2.FulfillmentResult(
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"result/{job.redemption_id}/1")),
                redemption_id=job.redemption_id, scope=job.scope, sequence=1)
            if self.pool_empty:
                result.outcome, result.failure_code = fulfillment_pb2.RESULT_OUTCOME_FAILED, "OUT_OF_CODES"
                result.failure_message = "no code left for this item"
            else:
                result.outcome, result.code, result.pin = fulfillment_pb2.RESULT_OUTCOME_COMPLETED, self.codes.pop(0), "1234"
            self.inline_results[job.redemption_id] = result
        if self.inline_delay_seconds:
            await asyncio.sleep(self.inline_delay_seconds)
        return fulfillment_pb2.FulfilNowResponse(result=result) if result is not None \
            else fulfillment_pb2.FulfilNowResponse()

    async def VoidJob(self, request, context):  # type: ignore[no-untyped-def]
        self.voids.append((request.redemption_id, request.reason))
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fulfillment is down")
        refused = self.refusals.get(request.redemption_id)
        if refused is not None:
            return fulfillment_pb2.VoidJobResponse(outcome=refused, message="the item was delivered already"
                                                   if refused == fulfillment_pb2.VOID_OUTCOME_DELIVERED else "")
        self.voided.add(request.redemption_id)
        return fulfillment_pb2.VoidJobResponse(outcome=fulfillment_pb2.VOID_OUTCOME_VOIDED)


async def start_server(register: Callable[[grpc.aio.Server], None]) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


@dataclass
class Calls:
    """The use cases called with an RPC's request as the servicer calls them: read into domain values by
    grpc_api's readers, answered with the use case's domain values (not made proto). A listing or a read is masked
    unless the test names its viewer, as these tests always read them."""

    redemptions: Redemptions

    async def redeem(self, request: redemption_pb2.RedeemRequest) -> tuple[Redemption, bool]:
        return await self.redemptions.redeem(*redeem_call(request))

    async def quote(self, request: redemption_pb2.QuoteRedemptionRequest) -> Quote:
        return await self.redemptions.quote(*quote_call(request))

    async def get(self, scope: common_pb2.Scope, reference: str, player_id: str,
                  viewer: Viewer = MASKED) -> Redemption:
        return await self.redemptions.get(Scope.from_proto(scope), reference, player_id, viewer)

    async def list(self, request: redemption_pb2.ListRedemptionsRequest, viewer: Viewer = MASKED) -> Page:
        query, _ = list_call(request)
        return await self.redemptions.list(query, viewer)

    async def cancel(self, request: redemption_pb2.CancelRedemptionRequest) -> Redemption:
        return await self.redemptions.cancel(Scope.from_proto(request.scope), request.redemption_id,
                                             request.player_id, request.reason)

    async def approve(self, request: redemption_pb2.ApproveRedemptionRequest) -> Redemption:
        return await self.redemptions.approve(Scope.from_proto(request.scope), request.redemption_id, request.note)

    async def reject(self, request: redemption_pb2.RejectRedemptionRequest) -> Redemption:
        return await self.redemptions.reject(Scope.from_proto(request.scope), request.redemption_id, request.reason)

    async def set_review_rules(self, request: redemption_pb2.SetReviewRulesRequest) -> ReviewRuleSet:
        return await self.redemptions.set_review_rules(Scope.from_proto(request.scope), request.item_id,
                                                       review_rules(request.rules))

    async def list_review_rules(self, request: redemption_pb2.ListReviewRulesRequest) -> list[ReviewRuleSet]:
        return await self.redemptions.list_review_rules(Scope.from_proto(request.scope))


@dataclass
class System:
    redemptions: Redemptions
    pool: PgPool
    catalog: FakeCatalog
    wallet: FakeWallet
    sessions: async_sessionmaker
    engine: AsyncEngine
    catalog_client: CatalogClient
    wallet_client: WalletClient
    fulfillment: FakeFulfillment
    waits: FulfillmentWaits          # given to Redemptions and to the results consumer, as server.py does
    jobs_written: asyncio.Event      # Redemptions wakes the outbox relay with it, as server.py does

    @property
    def calls(self) -> Calls:
        """The use cases called with the RPCs' requests (redeem, quote, reads, cancel, review holds)."""
        return Calls(self.redemptions)

    @property
    def way_back(self) -> list[Undo]:
        """The redeem saga's undos, as the service hands them to recovery."""
        return self.redemptions.saga.way_back()

    async def sql(self, statement: str, **params: object) -> list:  # type: ignore[type-arg]
        async with self.engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    @staticmethod
    def scope(tenant: str = TENANT) -> common_pb2.Scope:
        return common_pb2.Scope(tenant_id=tenant, environment=common_pb2.ENVIRONMENT_LIVE)

    @staticmethod
    def request(player: str = "p1", key: str = "k1", item: str = "voucher", tenant: str = TENANT,
                **fields: object) -> redemption_pb2.RedeemRequest:
        return redemption_pb2.RedeemRequest(scope=System.scope(tenant),
                                            player=common_pb2.PlayerContext(player_id=player),
                                            idempotency_key=key, item_id=item, **fields)  # type: ignore[arg-type]

    def relay(self, link: JetStreamLink, poll_seconds: float = 5.0) -> OutboxRelay:
        """The outbox relay as server.py builds it, woken by this system's Redeem calls too."""
        relay = jobs_relay(self.pool, self.sessions, link, poll_seconds)
        self.redemptions.wake_relay = relay.wake
        return relay

    async def publish_jobs(self, link: JetStreamLink) -> int:
        """One round of the outbox relay (connected first): how many jobs it published."""
        await link.jetstream()
        return await self.relay(link).publish_pending()

    @staticmethod
    def accepted_values(redemption_id: str, player: str = "p1") -> dict[str, object]:
        """What an accepted redeem of the voucher stores (repository.accept), as a crash would leave it."""
        return {"id": redemption_id, "player_id": player, "item_id": "voucher", "variant_id": "", "rounds": 0,
                "point_type": "", "shipping_address": None, "customer_info": None, "comment": "",
                "trigger_source": "MANUAL", "trigger_details": None}

    @staticmethod
    def result(redemption_id: str, outcome: int, sequence: int, event_id: str | None = None,
               **fields: object) -> fulfillment_pb2.FulfillmentResult:
        """A FulfillmentResult as fulfillment-service sends it."""
        return fulfillment_pb2.FulfillmentResult(
            event_id=event_id or str(uuid.uuid4()), redemption_id=redemption_id, scope=System.scope(),
            outcome=outcome, sequence=sequence, **fields)  # type: ignore[arg-type]

    async def status(self, redemption_id: str) -> Any:
        return (await self.sql("SELECT * FROM redemptions WHERE id = :id", id=redemption_id))[0]

    @staticmethod
    async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
        """Polls an asynchronous outcome instead of sleeping."""
        give_up_at = asyncio.get_running_loop().time() + timeout
        while not await check():
            assert asyncio.get_running_loop().time() < give_up_at, "condition not met in time"
            await asyncio.sleep(0.02)


@pytest.fixture(scope="session")
def migrated_database(postgres: Postgres) -> str:
    """One database for the session (creating one per test makes PostgreSQL's shutdown checkpoint slow)."""
    postgres.drop_database("redemption_it")
    url = postgres.ensure_database("redemption_it")
    migrate(url)
    return url


@pytest.fixture
def database_url(migrated_database: str, postgres: Postgres) -> str:
    # code_reveals is append-only (its trigger refuses TRUNCATE): a test reads only its own redemptions' rows.
    postgres.psql("TRUNCATE processed_events, outbox, idempotency_keys, sagas, redemptions, review_rules "
                  "RESTART IDENTITY",
                  database="redemption_it")
    return migrated_database


SystemFactory = Callable[..., Awaitable[System]]


@pytest.fixture
async def make_system(database_url: str, postgres: Postgres) -> AsyncIterator[SystemFactory]:
    started: list[tuple[list[grpc.aio.Server], list[grpc.aio.Channel], AsyncEngine, PgPool]] = []

    async def make(*, call_timeout: float = 2.0, wait_seconds: float = 5.0) -> System:
        catalog = FakeCatalog(items={"voucher": FakeItem("voucher", 150),
                                     "tshirt": FakeItem("tshirt", 100, strategy=catalog_pb2.FULFILLMENT_STRATEGY_PHYSICAL,
                                                        shipping_required=True)})
        wallet = FakeWallet(players={"p1": wallet_pb2.PLAYER_STATUS_ACTIVE, "p2": wallet_pb2.PLAYER_STATUS_ACTIVE,
                                     "banned": wallet_pb2.PLAYER_STATUS_SUSPENDED},
                            balances={"p1": 1000, "p2": 1000, "banned": 1000})
        catalog_server, catalog_addr = await start_server(
            lambda s: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, s))
        wallet_server, wallet_addr = await start_server(
            lambda s: wallet_pb2_grpc.add_WalletServiceServicer_to_server(wallet, s))
        fulfillment = FakeFulfillment()
        fulfillment_server, fulfillment_addr = await start_server(
            lambda s: fulfillment_pb2_grpc.add_FulfillmentServiceServicer_to_server(fulfillment, s))
        catalog_channel, wallet_channel = open_channel(catalog_addr), open_channel(wallet_addr)
        fulfillment_channel = open_channel(fulfillment_addr)
        engine = create_engine(database_url, pool_size=5)
        pool = await PgPool.open(database_url, size=5)
        started.append(([catalog_server, wallet_server, fulfillment_server],
                        [catalog_channel, wallet_channel, fulfillment_channel], engine, pool))
        sessions = session_maker(engine)
        catalog_client = CatalogClient(catalog_channel, call_timeout)
        wallet_client = WalletClient(wallet_channel, call_timeout)
        waits = FulfillmentWaits()
        jobs_written = asyncio.Event()
        redemptions = Redemptions(sessions, pool, catalog_client, wallet_client,
                                  FulfillmentClient(fulfillment_channel, call_timeout), codes=CODES,
                                  idempotency_ttl=timedelta(hours=24), idempotency_wait_seconds=wait_seconds,
                                  fulfillment_waits=waits, wake_relay=jobs_written.set)
        return System(redemptions, pool, catalog, wallet, sessions, engine, catalog_client, wallet_client, fulfillment,
                      waits, jobs_written)

    yield make
    database = database_url.rsplit("/", 1)[1]
    # A session left idle in a transaction would hold locks: none may outlive the test.
    leftover = postgres.psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' "
                             "AND state LIKE 'idle in transaction%'")
    for servers, channels, engine, pool in started:
        for channel in channels:
            await channel.close()
        for server in servers:
            await server.stop(0)
        await engine.dispose()
        await pool.close()
    assert leftover.strip() == "0", f"sessions left idle in transaction: {leftover}"


@pytest.fixture
async def system(make_system: SystemFactory) -> System:
    return await make_system()


# --- fulfillment results over the real NATS ---------------------------------------------------------------------

RESULTS_CONSUMER = "redemption-results"


@dataclass
class Results:
    """The results consumer running against the session's NATS, and a way to play fulfillment-service."""

    consumer: FulfillmentResultConsumer
    link: JetStreamLink

    async def publish(self, result: fulfillment_pb2.FulfillmentResult, *, msg_id: bool = True) -> None:
        """msg_id=False stores the message again even inside JetStream's duplicate window, as a redelivery or a
        second relay would present it: only the consumer's own idempotency can then drop it."""
        js = await self.link.jetstream()
        headers = {"Nats-Msg-Id": result.event_id} if msg_id else None
        await js.publish(RESULTS_SUBJECT, result.SerializeToString(), headers=headers, timeout=3)

    async def publish_raw(self, payload: bytes) -> None:
        js = await self.link.jetstream()
        await js.publish(RESULTS_SUBJECT, payload, timeout=3)

    async def settled(self, timeout: float = 30.0) -> None:
        """Every result published so far is acked (or terminated) and every refund under way has finished."""
        js = await self.link.jetstream()
        give_up_at = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                info = await js.consumer_info(RESULTS_STREAM, RESULTS_CONSUMER)
            except NotFoundError:
                info = None  # the consumer task has not subscribed yet
            if info is not None and info.num_pending == 0 and info.num_ack_pending == 0:
                break
            assert asyncio.get_running_loop().time() < give_up_at, f"results not settled: {info}"
            await asyncio.sleep(0.02)
        await self.consumer.settle()


@pytest.fixture
async def results(system: System, nats_server: Nats) -> AsyncIterator[Results]:
    link = JetStreamLink(nats_server.url, "redemption-test")
    consumer = FulfillmentResultConsumer(system.sessions, link, system.redemptions,
                                         system.waits, consumer_name=RESULTS_CONSUMER,
                                         fetch_batch=32, ack_wait=5.0, max_deliveries=3)
    task = asyncio.create_task(consumer.run())
    try:
        yield Results(consumer, link)
    finally:
        # As the service's stop does: again until it ends (a fetch's wait_for may swallow one cancellation).
        await asyncio.wait_for(cancel_until_done([task]), 5)
        await consumer.settle()
        # A later test binds afresh: no pull request of this one may linger on the server.
        js = await link.jetstream()
        await js.delete_consumer(RESULTS_STREAM, RESULTS_CONSUMER)
        await link.close()
