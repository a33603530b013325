"""Issue 19, items 2 and 4: the platform as a deployment beyond one machine runs it, on a platform of this module's
own: two replicas of the gateway and of every gRPC service (REPLICAS=2, as `make run REPLICAS=2` starts it), and
mutual TLS between the services (MTLS=1: the runner's local CA, a certificate per service).

Every caller's channel names both replicas of what it calls and spreads its calls over them (round_robin): each
replica's own metrics show its share. A call without a client certificate, or from a service that does not need
the one it calls, is refused. Then replicas are killed at random (kill -9, then restarted) under redeem traffic,
one at a time so the other replica keeps serving; every invariant holds once the traffic stops, as for one
replica, while the relays, recovery, the reconciler and the consumers of two processes share the same rows and
streams."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from local_runner.demo import SCOPE, seed
from local_runner.invariants import Ledger, assert_provider_effects
from prometheus_client.parser import text_string_to_metric_families
from rewards.redemption.v1 import redemption_pb2, redemption_pb2_grpc
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc

GRPC_SERVICES = ("catalog-service", "wallet-service", "redemption-service", "fulfillment-service")
# Recovery, the reconciler and redelivery in seconds, so a kill settles within the scenario; a provider attempt's
# lease just over its calls' bound (2 x (1 + 1) s), so a replica killed mid-call holds its job seconds, not 90.
FAST = {"SAGA_STALE_SECONDS": "3", "SAGA_RECOVERY_INTERVAL_SECONDS": "0.5", "RECONCILE_AFTER_SECONDS": "5",
        "RECONCILE_INTERVAL_SECONDS": "1", "RESULTS_ACK_WAIT_SECONDS": "3", "OUTBOX_POLL_SECONDS": "0.5",
        "RELAY_INTERVAL_SECONDS": "1", "ACK_WAIT_SECONDS": "2", "PROVIDER_TIMEOUT_SECONDS": "1",
        "PROVIDER_MAX_ATTEMPTS": "2", "PROVIDER_RETRY_MIN_WAIT_SECONDS": "0.1",
        "PROVIDER_RETRY_MAX_WAIT_SECONDS": "1", "PROVIDER_LEASE_SECONDS": "6"}
# The hot method of each service in a code-pool redemption, and who calls it.
HOT = {"catalog-service": "/rewards.catalog.v1.CatalogService/ReserveStock",
       "wallet-service": "/rewards.wallet.v1.WalletService/DebitPoints",
       "redemption-service": "/rewards.redemption.v1.RedemptionService/Redeem",
       "fulfillment-service": "/rewards.fulfillment.v1.FulfillmentService/FulfilNow"}
TRAFFIC_SECONDS = 24.0
MIN_KILLS = 5


class Replicated:
    """The module's platform, its demo operator and databases."""

    def __init__(self, platform, operator, databases) -> None:  # type: ignore[no-untyped-def]
        self.platform, self.operator, self.databases = platform, operator, databases

    def ledger(self) -> Ledger:
        return Ledger(self.databases, self.operator)


@pytest.fixture(scope="module")
def replicated(another_platform, operator_of, databases_of) -> Iterator[Replicated]:  # type: ignore[no-untyped-def]
    with another_platform(FAST, replicas=2, mtls=True) as platform:
        operator = operator_of(platform, seed(platform))
        yield Replicated(platform, operator, databases_of(platform))
        operator.http.close()


def _hot_calls(url: str, service: str) -> float:
    reply = httpx.get(url, timeout=5.0)
    assert reply.status_code == 200, (url, reply.status_code)
    return sum(s.value for family in text_string_to_metric_families(reply.text) for s in family.samples
               if s.name == "rewards_rpc_requests_total" and s.labels.get("method") == HOT[service])


def test_every_caller_spreads_its_calls_over_both_replicas_of_what_it_calls(replicated) -> None:
    platform, operator = replicated.platform, replicated.operator
    assert len(platform.gateway_urls) == 2
    urls = platform.metrics_urls
    replicas = {svc: platform.replicas_of(svc) for svc in GRPC_SERVICES}
    assert all(len(names) == 2 for names in replicas.values()), replicas
    before = {name: _hot_calls(urls[name], svc) for svc, names in replicas.items() for name in names}

    ledger = replicated.ledger()
    item = ledger.item(stock=40, price=5)
    auths = [operator.new_player(gems=100)[1] for _ in range(8)]
    redeems = 32
    for n in range(redeems):
        # Through each gateway in turn: each gateway's channel to redemption-service spreads on its own.
        answer = httpx.post(f"{platform.gateway_urls[n % 2]}/v1/redemptions", json={"offer": item}, timeout=30.0,
                            headers={**auths[n % len(auths)], "Idempotency-Key": uuid.uuid4().hex})
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "COMPLETED", answer.json()

    calls = {name: _hot_calls(urls[name], svc) - before[name] for svc, names in replicas.items() for name in names}
    print(f"[replicas] hot calls per replica: {calls}")
    for svc, names in replicas.items():
        assert sum(calls[n] for n in names) == redeems, (svc, calls)
        # round_robin alternates: about half each (a quarter is the bound, for a connection that came up late).
        assert all(calls[n] >= redeems / 4 for n in names), (svc, calls)
    ledger.assert_all()


def _channel(platform, address: str, server: str, caller: str | None) -> grpc.Channel:  # type: ignore[no-untyped-def]
    """A channel to `server` at `address` showing the certificate of `caller` (None: no client certificate)."""
    ca = platform.certificate(caller or "local-runner").ca.read_bytes()
    if caller is None:
        credentials = grpc.ssl_channel_credentials(root_certificates=ca)
    else:
        files = platform.certificate(caller)
        credentials = grpc.ssl_channel_credentials(ca, files.key.read_bytes(), files.certificate.read_bytes())
    return grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", server)])


def _balances(channel: grpc.Channel, player: str) -> wallet_pb2.GetBalancesResponse:
    with channel:
        return wallet_pb2_grpc.WalletServiceStub(channel).GetBalances(
            wallet_pb2.GetBalancesRequest(scope=SCOPE, player_id=player), timeout=5)


def test_only_the_services_that_need_a_service_may_call_it(replicated) -> None:
    platform = replicated.platform
    wallet = f"127.0.0.1:{platform.s.ports('wallet')[1]}"   # either replica: the second here
    player, _ = replicated.operator.new_player(gems=30)
    # The callers that need wallet-service: the gateway (its reads and admin routes) and redemption-service.
    for caller in ("gateway", "redemption-service"):
        reply = _balances(_channel(platform, wallet, "wallet-service", caller), player)
        assert ("gems", 30) in [(a.point_type, a.balance) for a in reply.accounts], caller
    refused_before = _refusals(platform, "wallet-service-2")
    # fulfillment-service has a certificate of the platform's CA, but no business with the wallet.
    with pytest.raises(grpc.RpcError) as refused:
        _balances(_channel(platform, wallet, "wallet-service", "fulfillment-service"), player)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value
    assert "fulfillment-service may not call" in (refused.value.details() or "")
    assert _refusals(platform, "wallet-service-2") == refused_before + 1
    # redemption-service takes calls from the gateway only.
    redemption = f"127.0.0.1:{platform.s.redemption_port}"
    with _channel(platform, redemption, "redemption-service", "wallet-service") as channel, \
            pytest.raises(grpc.RpcError) as refused:
        redemption_pb2_grpc.RedemptionServiceStub(channel).GetRedemption(
            redemption_pb2.GetRedemptionRequest(scope=SCOPE, redemption_id="r-1"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value
    # Without a client certificate, or in plain text, the handshake fails: nothing reaches the service.
    for channel in (_channel(platform, wallet, "wallet-service", None), grpc.insecure_channel(wallet)):
        with pytest.raises(grpc.RpcError) as failed:
            _balances(channel, player)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value
    assert "caller refused" in platform.log_tail("wallet-service-2", 200)


def _refusals(platform, name: str) -> float:  # type: ignore[no-untyped-def]
    reply = httpx.get(platform.metrics_urls[name], timeout=5.0)
    return sum(s.value for family in text_string_to_metric_families(reply.text) for s in family.samples
               if s.name == "rewards_rpc_requests_total" and s.labels.get("code") == "PERMISSION_DENIED")


class Traffic:
    """Redeem intents from a few client threads, each with its own Idempotency-Key sent again (to either gateway)
    after a 503, a 409 in progress or a lost connection, as a well-behaved client behind a load balancer would."""

    def __init__(self, platform, rng: random.Random, players: list[dict[str, str]],  # type: ignore[no-untyped-def]
                 items: list[tuple[str, float]]) -> None:
        self.platform, self.rng, self.players, self.items = platform, rng, players, items
        self.answers: Counter[str] = Counter()
        self.finals: Counter[str] = Counter()
        self.canceled = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def intent(self, client: httpx.Client, rng: random.Random) -> None:
        auth = rng.choice(self.players)
        item = rng.choices([i for i, _ in self.items], weights=[w for _, w in self.items])[0]
        key = {"Idempotency-Key": uuid.uuid4().hex}
        final = "gave up"
        for attempt in range(8):
            url = self.platform.gateway_urls[rng.randrange(2)]
            try:
                r = client.post(f"{url}/v1/redemptions", headers={**auth, **key}, json={"offer": item})
                answer = f"{r.status_code} {r.json().get('code', r.json().get('status', ''))}"
            except (httpx.HTTPError, ValueError) as exc:
                r, answer = None, type(exc).__name__
            with self.lock:
                self.answers[answer] += 1
            if not (r is None or r.status_code == 503 or answer == "409 IDEMPOTENCY_KEY_IN_PROGRESS"):
                final = answer
                break
            time.sleep(min(2.0, 0.2 * 2 ** attempt) * rng.uniform(0.5, 1.0))
        with self.lock:
            self.finals[final] += 1
        if final.startswith("201") and "OPEN" in final and rng.random() < 0.5:
            # A manual item waits for an operator: the player changes their mind.
            rid = r.json()["id"]  # type: ignore[union-attr]
            try:
                c = client.post(f"{self.platform.gateway_urls[rng.randrange(2)]}/v1/redemptions/{rid}/cancel",
                                headers=auth, json={})
                with self.lock:
                    self.answers[f"cancel {c.status_code}"] += 1
                    self.canceled += c.status_code == 200
            except httpx.HTTPError:
                pass

    def client_thread(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=30.0) as client:
            while not self.stop.is_set():
                self.intent(client, rng)

    def start(self, clients: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.client_thread, args=(self.rng.getrandbits(32),), daemon=True)
                   for _ in range(clients)]
        for t in threads:
            t.start()
        return threads


def test_replicas_killed_at_random_under_traffic_keep_every_invariant(replicated, restart, rng) -> None:
    platform, operator = replicated.platform, replicated.operator
    ledger = replicated.ledger()
    partner = f"http://127.0.0.1:{platform.s.partner_port}"
    items = [(ledger.item(stock=200, price=5), 6.0),                 # a code pool, claimed inline
             (ledger.item(stock=3, price=5), 1.0),                   # scarce: OUT_OF_STOCK, compensations
             (ledger.item(stock=80, price=5, strategy="manual"), 2.0),  # waits for an operator; half canceled
             (ledger.item(stock=80, price=5, strategy="webhook",     # a provider, over NATS, under a lease
                          fulfillmentConfig={"url": f"{partner}/vouchers"}), 2.0)]
    players = [operator.new_player(gems=1_000)[1] for _ in range(10)] + [operator.new_player(gems=7)[1]]
    traffic = Traffic(platform, rng, players, items)
    processes = [name for svc in (*GRPC_SERVICES, "gateway") for name in platform.replicas_of(svc)]
    kills: list[str] = []
    victims: list[str] = []

    threads = traffic.start(clients=3)
    try:
        started = time.monotonic()
        # At least MIN_KILLS, however slowly this machine restarts a process (within twice the time).
        while time.monotonic() - started < (TRAFFIC_SECONDS if len(kills) >= MIN_KILLS else 2 * TRAFFIC_SECONDS):
            time.sleep(rng.uniform(0.5, 2.0))
            if not victims:
                victims = rng.sample(processes, len(processes))   # each process once per pass, in random order
            victim = victims.pop()
            platform.kill_service(victim)   # SIGKILL: no graceful stop, calls in flight cut
            kills.append(victim)
            time.sleep(rng.uniform(0.2, 1.5))
            restart(platform, victim, {"MIGRATE_ON_START": "false"})
    finally:
        traffic.stop.set()
        for t in threads:
            t.join(90)
    print(f"[replicas] kills: {Counter(kills)}")
    print(f"[replicas] answers: {dict(traffic.answers)}")
    print(f"[replicas] intents by their last answer: {dict(traffic.finals)}; canceled: {traffic.canceled}")

    assert not platform.exited(), platform.exited()
    assert len(kills) >= MIN_KILLS and len({platform.spec(k).service for k in kills}) >= 3, kills
    assert not [a for a in traffic.answers if a.startswith("500")], traffic.answers
    ledger.assert_all(within=60)

    def deliveries(key: str) -> dict[str, Any]:
        return dict(httpx.get(f"{partner}/faults/deliveries/{key}", timeout=10.0).json())

    assert_provider_effects(ledger, deliveries)
    # One replica down at a time, the other serves: with its own retries a client gets a final answer (paid, or
    # refused for a reason such as no stock) for nearly every intent.
    intents = sum(traffic.finals.values())
    unanswered = sum(n for answer, n in traffic.finals.items() if answer == "gave up" or answer.startswith("5"))
    assert intents >= 20 and unanswered <= intents * 0.2, traffic.finals
    assert sum(n for answer, n in traffic.finals.items() if answer.startswith("201")) >= intents / 2, traffic.finals
