"""Issue 19, item 3: NATS as a cluster, on a platform of this module's own: three nats-server processes clustered
on loopback (NATS_REPLICAS=3, as `make run NATS_REPLICAS=3` starts them), every stream and consumer kept on all
three (NATS_STREAM_REPLICAS=3), the services given every node's URL.

Every job goes through JetStream here (no inline code claim), so each redemption crosses the cluster twice: the
job from redemption-service's outbox to fulfillment-service, the result back. Under redeem traffic one node is
killed (kill -9: the leader of the jobs stream), restarted after a while, then another (the results stream's
leader, or another node): the two left keep a majority, so redemptions go on completing while a node is down;
once the traffic stops nothing is lost (every paid redemption completed), nothing is duplicated (one debit, one
code, one provider effect each), nothing is stuck (the streams drained, no consumer with pending or unacked
messages, no dead letter), and every invariant of local_runner.invariants holds."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from local_runner.demo import seed
from local_runner.invariants import Ledger, assert_provider_effects, eventually, first_truthy
from service_kit.messaging import DEAD_LETTERS_STREAM, JOBS_STREAM, LIMITS_STREAMS, RESULTS_STREAM, STREAMS

NODES = 3
# Every job over JetStream; recovery, the reconciler and redelivery in seconds, so the scenario settles quickly.
FAST = {"INLINE_FULFILMENT_STRATEGIES": "", "SAGA_STALE_SECONDS": "3", "SAGA_RECOVERY_INTERVAL_SECONDS": "0.5",
        "RECONCILE_AFTER_SECONDS": "5", "RECONCILE_INTERVAL_SECONDS": "1", "RESULTS_ACK_WAIT_SECONDS": "3",
        "OUTBOX_POLL_SECONDS": "0.5", "RELAY_INTERVAL_SECONDS": "1", "ACK_WAIT_SECONDS": "3",
        "PROVIDER_TIMEOUT_SECONDS": "1", "PROVIDER_MAX_ATTEMPTS": "2", "PROVIDER_RETRY_MIN_WAIT_SECONDS": "0.1",
        "PROVIDER_RETRY_MAX_WAIT_SECONDS": "1", "PROVIDER_LEASE_SECONDS": "6"}


class Clustered:
    def __init__(self, platform, operator, databases) -> None:  # type: ignore[no-untyped-def]
        self.platform, self.operator, self.databases = platform, operator, databases


@pytest.fixture(scope="module")
def clustered(another_platform, operator_of, databases_of) -> Iterator[Clustered]:  # type: ignore[no-untyped-def]
    with another_platform(FAST, nats_replicas=NODES) as platform:
        operator = operator_of(platform, seed(platform))
        yield Clustered(platform, operator, databases_of(platform))
        operator.http.close()


def _jetstream(platform) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Each stream's detail (config, state, cluster, consumers) as its leader reports it (a follower knows
    nothing of the other followers, and its counts may lag)."""
    found: dict[str, dict[str, Any]] = {}
    for node in platform.nats_nodes:
        if node.proc is None or not node.jetstream_ready():
            continue
        jsz = httpx.get(f"http://127.0.0.1:{node.monitor_port}/jsz", timeout=5.0,
                        params={"accounts": "true", "streams": "true", "consumers": "true", "config": "true"}).json()
        for account in jsz.get("account_details", []):
            for detail in account.get("stream_detail", []):
                if detail.get("cluster", {}).get("leader") == node.server_name or detail["name"] not in found:
                    found[detail["name"]] = {**detail, "reported_by": node.server_name}
    assert found, "no NATS node is up"
    return found


def _leader(platform, stream: str) -> int:  # type: ignore[no-untyped-def]
    """The index (in platform.nats_nodes) of the node leading a stream now."""
    def leader() -> str:
        detail = _jetstream(platform).get(stream, {})
        assert detail.get("cluster", {}).get("leader"), f"{stream}: {detail.get('cluster')}"
        return str(detail["cluster"]["leader"])

    name = eventually(leader, 20, f"a leader of {stream}")
    return [n.server_name for n in platform.nats_nodes].index(name)


def test_every_stream_and_consumer_is_kept_on_all_three_nodes(clustered) -> None:
    platform = clustered.platform
    assert len(platform.nats_nodes) == NODES
    assert platform.nats_url.count("nats://") == NODES, platform.nats_url
    env = platform.service_env(platform.spec("redemption-service"))
    assert env["NATS_URL"] == platform.nats_url and env["NATS_STREAM_REPLICAS"] == str(NODES)

    def replicated() -> dict[str, dict[str, Any]]:
        streams = _jetstream(platform)
        assert set(STREAMS) <= set(streams), list(streams)
        for name in STREAMS:
            detail = streams[name]
            assert detail["reported_by"] == detail["cluster"]["leader"], (name, detail["cluster"])
            assert detail["config"]["num_replicas"] == NODES, (name, detail["config"])
            peers = detail["cluster"].get("replicas") or []
            assert len(peers) == NODES - 1 and all(p["current"] for p in peers), (name, detail["cluster"])
        return streams

    streams = eventually(replicated, 30, "every stream on three nodes")
    # Each durable consumer inherits its stream's replicas, so its position survives a node too.
    consumers = {c["name"]: c for name in (JOBS_STREAM, RESULTS_STREAM, DEAD_LETTERS_STREAM)
                 for c in streams[name].get("consumer_detail") or []}
    assert consumers, streams
    assert all(len(c["cluster"].get("replicas") or []) == NODES - 1 for c in consumers.values()), consumers


class Traffic:
    """Redeem intents from a few client threads, each retried with its own Idempotency-Key after a 503, a 409 in
    progress or a lost connection, as a well-behaved client would."""

    def __init__(self, platform, rng: random.Random, players: list[dict[str, str]],  # type: ignore[no-untyped-def]
                 items: list[tuple[str, float]]) -> None:
        self.platform, self.rng, self.players, self.items = platform, rng, players, items
        self.answers: Counter[str] = Counter()
        self.finals: Counter[str] = Counter()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def intent(self, client: httpx.Client, rng: random.Random) -> None:
        auth = rng.choice(self.players)
        item = rng.choices([i for i, _ in self.items], weights=[w for _, w in self.items])[0]
        key = {"Idempotency-Key": uuid.uuid4().hex}
        final = "gave up"
        for attempt in range(8):
            try:
                r = client.post(f"{self.platform.gateway_url}/v1/redemptions", headers={**auth, **key},
                                json={"offer": item})
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


def test_two_nats_nodes_killed_in_turn_under_traffic_lose_duplicate_and_stick_nothing(clustered, rng) -> None:
    platform, operator = clustered.platform, clustered.operator
    ledger = Ledger(clustered.databases, operator)
    partner = f"http://127.0.0.1:{platform.s.partner_port}"
    items = [(ledger.item(stock=1_500, price=5), 6.0),                     # a code pool, over JetStream
             (ledger.item(stock=3, price=5), 1.0),                       # scarce: OUT_OF_STOCK, compensations
             (ledger.item(stock=500, price=5, strategy="webhook",        # a provider, under a lease
                          fulfillmentConfig={"url": f"{partner}/vouchers"}), 2.0)]
    players = [operator.new_player(gems=5_000)[1] for _ in range(8)]
    traffic = Traffic(platform, rng, players, items)

    def completed_since(moment: str) -> int:
        """Redemptions created after `moment` (the database's clock) and completed: each crossed the cluster."""
        return int(clustered.databases.value("redemption", f"""
            SELECT count(*) FROM redemptions WHERE status = 'COMPLETED' AND created_at > '{moment}'
            AND item_id IN ('{"', '".join(i for i, _ in items)}')"""))

    killed: list[str] = []
    failovers: list[float] = []   # from a kill until redemptions made since complete again
    threads = traffic.start(clients=3)
    try:
        time.sleep(rng.uniform(2.0, 3.0))
        first = _leader(platform, JOBS_STREAM)
        second = _leader(platform, RESULTS_STREAM)
        if second == first:
            second = rng.choice([n for n in range(NODES) if n != first])
        for victim in (first, second):
            moment = clustered.databases.value("redemption", "SELECT now()")
            started = time.monotonic()
            platform.kill_nats_node(victim)          # SIGKILL: its clients cut, its raft groups elect again
            killed.append(platform.nats_nodes[victim].server_name)
            # The two left are a majority: they elect leaders for what the dead node led (a few seconds), and
            # redemptions made after the kill complete through them while it stays down.
            first_truthy(lambda moment=moment: completed_since(moment) >= 3, 40,
                         f"redemptions completing with {killed[-1]} down")
            failovers.append(round(time.monotonic() - started, 1))
            time.sleep(rng.uniform(0.5, 2.0))
            platform.restart_nats_node(victim)       # waits until it has caught up with the other two
            time.sleep(rng.uniform(1.0, 2.0))
        time.sleep(rng.uniform(1.0, 2.0))
    finally:
        traffic.stop.set()
        for t in threads:
            t.join(90)
    print(f"[nats-cluster] killed in turn: {killed}; seconds until redemptions completed again: {failovers}")
    print(f"[nats-cluster] answers: {dict(traffic.answers)}")
    print(f"[nats-cluster] intents by their last answer: {dict(traffic.finals)}")

    assert len(set(killed)) == 2, killed
    assert not platform.exited(), platform.exited()
    assert all(node.jetstream_ready() for node in platform.nats_nodes)
    assert not [a for a in traffic.answers if a.startswith("500")], traffic.answers
    intents = sum(traffic.finals.values())
    assert intents >= 20 and traffic.finals["gave up"] == 0, traffic.finals

    ledger.assert_all(within=60)
    # Nothing lost: every paid redemption was fulfilled (none refunded, none left OPEN).
    statuses = Counter((r["strategy"], r["status"]) for r in ledger.redemptions())
    assert {status for _, status in statuses} <= {"COMPLETED", "FAILED"}, statuses
    assert sum(n for (_, status), n in statuses.items() if status == "COMPLETED") >= intents / 2, statuses

    def deliveries(key: str) -> dict[str, Any]:
        return dict(httpx.get(f"{partner}/faults/deliveries/{key}", timeout=10.0).json())

    assert_provider_effects(ledger, deliveries)

    # Nothing stuck: the work queues drained, every consumer caught up with nothing unacknowledged, no job gave up.
    def drained() -> None:
        streams = _jetstream(platform)
        # The events stream keeps its messages (limits, not a work queue: every reader reads all); its consumer
        # must have caught up like the others.
        left = {name: streams[name]["state"]["messages"] for name in STREAMS
                if name not in LIMITS_STREAMS and streams[name]["state"]["messages"]}
        assert not left, f"messages left: {left}"
        busy = {c["name"]: (c["num_pending"], c["num_ack_pending"]) for name in STREAMS
                for c in streams[name].get("consumer_detail") or [] if c["num_pending"] or c["num_ack_pending"]}
        assert not busy, f"consumers with pending or unacknowledged messages: {busy}"

    eventually(drained, 30, "the streams drained")
