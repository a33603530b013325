"""Webhooks on the real database and stream, the service in-process, a real HTTP receiver in the test verifying
signatures with the standardwebhooks package: endpoints made, changed and refused (nothing changed on a
refusal); an event appended is delivered signed; a receiver down then up gets it (every attempt listed); a 410
disables the endpoint and says so in the log; a resend carries the same webhook-id; a rotated secret verifies
with either secret during the overlap. Secrets are sealed in their rows (WEBHOOK_SECRET_KEYS) and still sign,
across a key rotation too; endpoints on private addresses are refused, and so is a delivery to a name that
resolves to one (WEBHOOK_ALLOW_PRIVATE_ADDRESSES off)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
from events_service import delivery as webhook_delivery
from events_service import domain, event_log
from events_service import reseal as webhook_reseal
from events_service.delivery import WebhookDelivery
from events_service.event_log import SecretVault
from events_service.grpc_api import EventsApi, WebhookSettings
from events_service.reseal import seal_secrets_in_clear, seal_stored_secrets
from local_runner.pytest_plugin import wait_until
from prometheus_client import REGISTRY
from rewards.common.v1 import common_pb2
from rewards.events.v1 import events_pb2, events_pb2_grpc
from service_kit import domain_events
from service_kit.grpc_server import ServingInterceptor, cancel_until_done
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from service_kit.sealing import KeyRing, new_key
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

LIVE = common_pb2.Scope(tenant_id="acme", environment=common_pb2.ENVIRONMENT_LIVE)
SLOW = -1   # a receiver's answer: 200, but only after 1.5 s


class Receiver:
    """A tenant's receiver: verifies each POST with the secrets it holds; answers `status` (a list of answers to
    give in turn, the last one repeated)."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.answers: list[int] = [200]
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.verified_with: list[set[int]] = []
        self.hits = 0       # every request that reached it, verified or not
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.hits += 1
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                if status == SLOW:
                    time.sleep(1.5)
                    status = 200
                verified: set[int] = set()
                payload: dict[str, Any] = {}
                for n, secret in enumerate(receiver.secrets):
                    with contextlib.suppress(WebhookVerificationError):
                        payload = Webhook(secret).verify(body, headers)
                        verified.add(n)
                if status == 200 and not verified:
                    status = 400
                if status == 200:
                    receiver.received.append((headers, payload))
                    receiver.verified_with.append(verified)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


class Hooks:
    def __init__(self, stub: events_pb2_grpc.EventsServiceStub, pool: PgPool, delivery: WebhookDelivery) -> None:
        self.stub, self.pool, self.delivery = stub, pool, delivery

    async def create(self, url: str, types: tuple[str, ...] = ()) -> events_pb2.CreateWebhookEndpointResponse:
        return await self.stub.CreateWebhookEndpoint(events_pb2.CreateWebhookEndpointRequest(
            scope=LIVE, url=url, event_types=types), timeout=5)

    async def append(self, event_type: str, key: str) -> str:
        eid, _, payload = domain_events.build(event_type, Scope("acme", "live"), key, {"redemption_id": key})
        appended = await event_log.append(self.pool, domain.read_event(payload),
                                          self.delivery.retry_for)
        assert appended is not None
        self.delivery.wake()
        return eid

    async def attempts(self, endpoint_id: str) -> list[events_pb2.WebhookAttempt]:
        reply = await self.stub.ListWebhookAttempts(events_pb2.ListWebhookAttemptsRequest(
            scope=LIVE, endpoint_id=endpoint_id, page_size=500), timeout=5)
        return list(reply.attempts)

    async def endpoint(self, endpoint_id: str) -> events_pb2.WebhookEndpoint:
        reply = await self.stub.GetWebhookEndpoint(events_pb2.GetWebhookEndpointRequest(
            scope=LIVE, endpoint_id=endpoint_id), timeout=5)
        return reply.endpoint


@pytest.fixture
def delivery_settings() -> dict[str, float]:
    """What a test changes of the delivery loop's settings."""
    return {}


@pytest.fixture
def vault() -> SecretVault:
    """What WEBHOOK_SECRET_KEYS gives the service: one key (a test rotating keys makes its own)."""
    return SecretVault.from_setting(new_key())


@pytest.fixture
def allow_private() -> bool:
    """WEBHOOK_ALLOW_PRIVATE_ADDRESSES: on, for the receivers of these tests are on 127.0.0.1."""
    return True


@pytest.fixture
async def hooks(pool: PgPool, vault: SecretVault, allow_private: bool,
                delivery_settings: dict[str, float]) -> AsyncIterator[Hooks]:
    delivery = WebhookDelivery(pool, vault, interval=0.1, batch=20, retry_base=0.2, retry_cap=0.5,
                               allow_private=allow_private,
                               **{"timeout": 2.0, "disable_after": 3600.0, "retry_for": 60.0, **delivery_settings})
    server = grpc.aio.server(interceptors=[ServingInterceptor()])
    api = EventsApi(pool, WebhookSettings(vault, allow_http=True, allow_private_addresses=allow_private,
                                          rotation_overlap_seconds=60.0, retry_for_seconds=60.0),
                    wake_delivery=delivery.wake)
    events_pb2_grpc.add_EventsServiceServicer_to_server(api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    task = asyncio.create_task(delivery.run())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Hooks(events_pb2_grpc.EventsServiceStub(channel), pool, delivery)
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel_until_done([task]), 5)
        await channel.close()
        await server.stop(0)


async def refused(call: Any, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call
    assert failed.value.code() == code, failed.value.details()
    return failed.value.details() or ""


async def test_endpoints_are_made_changed_and_refused_without_a_change(hooks: Hooks) -> None:
    made = await hooks.create("https://example.com/hooks", ("redemption.completed",))
    assert made.secret.startswith("whsec_") and made.endpoint.enabled
    endpoint_id = made.endpoint.id
    listed = (await hooks.stub.ListWebhookEndpoints(events_pb2.ListWebhookEndpointsRequest(scope=LIVE),
                                                    timeout=5)).endpoints
    assert [e.id for e in listed] == [endpoint_id] and list(listed[0].event_types) == ["redemption.completed"]

    assert "https://" in await refused(hooks.create("ftp://example.com/x"))
    assert "unknown event types" in await refused(hooks.create("https://example.com/x", ("redemption.exploded",)))

    def change(mask: list[str], **fields: Any) -> Any:
        return hooks.stub.UpdateWebhookEndpoint(events_pb2.UpdateWebhookEndpointRequest(
            scope=LIVE, endpoint=events_pb2.WebhookEndpoint(id=endpoint_id, **fields), update_mask=mask), timeout=5)

    await refused(change(["url"], url="gopher://example.com"))
    await refused(change(["event_types"], event_types=["nope"]))
    await refused(change([]))
    await refused(change(["secret"]))
    unchanged = await hooks.endpoint(endpoint_id)
    assert (unchanged.url, list(unchanged.event_types)) == ("https://example.com/hooks", ["redemption.completed"])

    changed = (await change(["event_types", "url"], event_types=[], url="https://example.com/v2")).endpoint
    assert (changed.url, list(changed.event_types)) == ("https://example.com/v2", [])
    disabled = (await change(["enabled"], enabled=False)).endpoint
    assert not disabled.enabled and disabled.disabled_reason == "disabled by an operator"
    assert (await change(["enabled"], enabled=True)).endpoint.disabled_reason == ""

    other = common_pb2.Scope(tenant_id="other", environment=common_pb2.ENVIRONMENT_LIVE)
    await refused(hooks.stub.GetWebhookEndpoint(events_pb2.GetWebhookEndpointRequest(
        scope=other, endpoint_id=endpoint_id), timeout=5), grpc.StatusCode.NOT_FOUND)
    await hooks.stub.DeleteWebhookEndpoint(events_pb2.DeleteWebhookEndpointRequest(
        scope=LIVE, endpoint_id=endpoint_id), timeout=5)
    await refused(hooks.stub.DeleteWebhookEndpoint(events_pb2.DeleteWebhookEndpointRequest(
        scope=LIVE, endpoint_id=endpoint_id), timeout=5), grpc.StatusCode.NOT_FOUND)


async def test_a_receiver_down_then_up_gets_every_event_signed_and_each_attempt_is_listed(
        hooks: Hooks, receiver: Receiver) -> None:
    made = await hooks.create(receiver.url, ("redemption.created", "redemption.completed"))
    receiver.secrets = [made.secret]
    receiver.answers = [503, 500, 200]
    created = await hooks.append("redemption.created", "r1")
    await hooks.append("redemption.canceled", "r1")      # not a type it takes
    completed = await hooks.append("redemption.completed", "r1")

    async def both() -> bool:
        return set(receiver.ids()) == {created, completed}
    await wait_until(both, timeout=10, what="both events delivered")
    assert [p["id"] for _, p in receiver.received] == receiver.ids()
    attempts = await hooks.attempts(made.endpoint.id)
    assert [a.status_code for a in reversed(attempts)][:2] == [503, 500]
    assert sorted(a.status_code for a in attempts) == [200, 200, 500, 503]
    assert all(a.latency_ms >= 0 for a in attempts) and {a.error for a in attempts if a.status_code == 503} == \
        {"HTTP 503"}
    assert (await hooks.endpoint(made.endpoint.id)).HasField("failing_since") is False

    # A resend: the same webhook-id again.
    await hooks.stub.ResendWebhookEvent(events_pb2.ResendWebhookEventRequest(
        scope=LIVE, endpoint_id=made.endpoint.id, event_id=created), timeout=5)

    async def again() -> bool:
        return receiver.ids().count(created) == 2
    await wait_until(again, timeout=10, what="the resend")
    await refused(hooks.stub.ResendWebhookEvent(events_pb2.ResendWebhookEventRequest(
        scope=LIVE, endpoint_id=made.endpoint.id, event_id="no-such-event"), timeout=5), grpc.StatusCode.NOT_FOUND)


def attempts_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("rewards_webhook_attempts_total", {"outcome": outcome}) or 0.0


async def test_a_410_disables_the_endpoint_and_the_log_says_so(hooks: Hooks, receiver: Receiver) -> None:
    gone_before = attempts_counted("gone")
    made = await hooks.create(receiver.url)
    receiver.secrets = [made.secret]
    receiver.answers = [410]
    await hooks.append("redemption.created", "r2")

    async def disabled() -> bool:
        return not (await hooks.endpoint(made.endpoint.id)).enabled
    await wait_until(disabled, timeout=10, what="the endpoint disabled")
    assert "410" in (await hooks.endpoint(made.endpoint.id)).disabled_reason
    told = await event_log.page(hooks.pool, Scope("acme", "live"), after="", types=["webhook.endpoint.disabled"],
                                limit=10)
    assert [(e.data["endpoint_id"], e.data["reason"]) for e in told.events] == [(made.endpoint.id, "gone")]
    assert [a.status_code for a in await hooks.attempts(made.endpoint.id)] == [410]
    assert attempts_counted("gone") == gone_before + 1
    # Disabled: a new event queues nothing for it.
    await hooks.append("redemption.created", "r2b")
    assert await hooks.pool.fetchval("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1",
                                     made.endpoint.id) == 1


async def test_a_rotated_secret_verifies_with_either_secret_during_the_overlap(
        hooks: Hooks, receiver: Receiver) -> None:
    made = await hooks.create(receiver.url)
    rotated = await hooks.stub.RotateWebhookSecret(events_pb2.RotateWebhookSecretRequest(
        scope=LIVE, endpoint_id=made.endpoint.id, overlap_seconds=60), timeout=5)
    assert rotated.secret != made.secret and rotated.endpoint.HasField("previous_secret_until")
    receiver.secrets = [made.secret, rotated.secret]
    await hooks.append("redemption.created", "r3")

    async def got() -> bool:
        return len(receiver.received) == 1
    await wait_until(got, timeout=10, what="the delivery")
    assert receiver.verified_with == [{0, 1}], "both the old and the new secret verify it"
    assert len(receiver.received[0][0]["webhook-signature"].split(" ")) == 2


@pytest.mark.parametrize("delivery_settings", [{"disable_after": 1.0}])
async def test_an_endpoint_failing_past_the_limit_is_disabled_and_the_log_says_so(
        hooks: Hooks, receiver: Receiver) -> None:
    made = await hooks.create(receiver.url)
    receiver.secrets = [made.secret]
    receiver.answers = [500]
    await hooks.append("redemption.created", "r4")

    async def disabled() -> bool:
        return not (await hooks.endpoint(made.endpoint.id)).enabled
    await wait_until(disabled, timeout=10, what="the endpoint disabled")
    endpoint = await hooks.endpoint(made.endpoint.id)
    assert "every attempt failed" in endpoint.disabled_reason
    assert len(await hooks.attempts(made.endpoint.id)) >= 2, "retried before it was disabled"
    told = await event_log.page(hooks.pool, Scope("acme", "live"), after="", types=["webhook.endpoint.disabled"],
                                limit=10)
    assert [(e.data["endpoint_id"], e.data["reason"]) for e in told.events] == [(made.endpoint.id, "failing")]


@pytest.mark.parametrize("delivery_settings", [{"retry_for": 1.0}])
async def test_a_delivery_failing_for_its_whole_window_fails_and_the_endpoint_stays(
        hooks: Hooks, receiver: Receiver) -> None:
    made = await hooks.create(receiver.url)
    receiver.answers = [503]
    await hooks.append("redemption.created", "r5")

    async def failed() -> bool:
        return await hooks.pool.fetchval("SELECT status FROM webhook_deliveries WHERE endpoint_id = $1",
                                         made.endpoint.id) == "failed"
    await wait_until(failed, timeout=10, what="the delivery given up")
    assert (await hooks.endpoint(made.endpoint.id)).enabled
    assert (await hooks.endpoint(made.endpoint.id)).HasField("failing_since")


async def test_an_attempt_lost_with_its_replica_is_made_again_when_its_lease_ends(
        pool: PgPool, vault: SecretVault, receiver: Receiver) -> None:
    dead = WebhookDelivery(pool, vault, timeout=1.0, interval=0.1, batch=20, retry_base=0.2, retry_cap=0.5,
                           disable_after=3600.0, retry_for=60.0, allow_private=True, lease=1.0)
    api = EventsApi(pool, WebhookSettings(vault, allow_http=True, allow_private_addresses=True))
    made = await api.CreateWebhookEndpoint(events_pb2.CreateWebhookEndpointRequest(
        scope=LIVE, url=receiver.url), None)   # type: ignore[arg-type]
    receiver.secrets = [made.secret]
    eid, _, payload = domain_events.build("redemption.created", Scope("acme", "live"), "r6", {"redemption_id": "r6"})
    await event_log.append(pool, domain.read_event(payload), 60.0)
    # A replica claims the delivery, then dies before its POST is answered (nothing recorded).
    claimed = await pool.fetch(webhook_delivery._CLAIM, 20, dead.lease)
    assert [r["event_id"] for r in claimed] == [eid]
    alive = WebhookDelivery(pool, vault, timeout=1.0, interval=0.1, batch=20, retry_base=0.2, retry_cap=0.5,
                            disable_after=3600.0, retry_for=60.0, allow_private=True)
    task = asyncio.create_task(alive.run())
    try:
        await asyncio.sleep(0.5)
        assert receiver.ids() == [], "not while the lease holds"

        async def sent() -> bool:
            return receiver.ids() == [eid]
        await wait_until(sent, timeout=10, what="the event sent again after the lease")
        assert await pool.fetchval("SELECT attempts FROM webhook_deliveries") == 2
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel_until_done([task]), 5)


@pytest.mark.parametrize("delivery_settings", [{"timeout": 0.5}])
async def test_a_receiver_slower_than_the_timeout_is_an_attempt_without_an_answer(
        hooks: Hooks, receiver: Receiver) -> None:
    made = await hooks.create(receiver.url)
    receiver.secrets = [made.secret]
    receiver.answers = [SLOW, 200]
    eid = await hooks.append("redemption.created", "r7")

    async def delivered() -> bool:
        return receiver.ids() == [eid]
    await wait_until(delivered, timeout=10, what="delivered after the timeout")
    first, *_ = reversed(await hooks.attempts(made.endpoint.id))
    assert first.status_code == 0 and "TimeoutError" in first.error and 450 <= first.latency_ms < 1400


# ---- secrets sealed at rest (WEBHOOK_SECRET_KEYS) ---------------------------------------------------------------

async def stored_secrets(pool: PgPool, endpoint_id: str) -> tuple[str, str | None]:
    row = await pool.fetchrow("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1", endpoint_id)
    assert row is not None
    return row["secret"], row["previous_secret"]


@contextlib.asynccontextmanager
async def delivering(pool: PgPool, vault: SecretVault, *, allow_private: bool = True) -> AsyncIterator[WebhookDelivery]:
    """A delivery loop of its own (a replica started with other keys)."""
    delivery = WebhookDelivery(pool, vault, timeout=2.0, interval=0.1, batch=20, retry_base=0.2, retry_cap=0.5,
                               disable_after=3600.0, retry_for=60.0, allow_private=allow_private)
    task = asyncio.create_task(delivery.run())
    try:
        yield delivery
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel_until_done([task]), 5)


async def append(pool: PgPool, key: str) -> str:
    eid, _, payload = domain_events.build("redemption.created", Scope("acme", "live"), key, {"redemption_id": key})
    assert await event_log.append(pool, domain.read_event(payload), 60.0) is not None
    return eid


async def test_the_row_holds_the_secrets_sealed_and_deliveries_still_verify(
        hooks: Hooks, vault: SecretVault, receiver: Receiver) -> None:
    made = await hooks.create(receiver.url)
    secret, previous = await stored_secrets(hooks.pool, made.endpoint.id)
    assert previous is None
    assert "whsec_" not in secret and made.secret.removeprefix("whsec_") not in secret
    assert vault.open(secret) == made.secret, "a Fernet token of the secret, under WEBHOOK_SECRET_KEYS"
    rotated = await hooks.stub.RotateWebhookSecret(events_pb2.RotateWebhookSecretRequest(
        scope=LIVE, endpoint_id=made.endpoint.id, overlap_seconds=60), timeout=5)
    row = await hooks.pool.fetchrow("SELECT * FROM webhook_endpoints WHERE id = $1", made.endpoint.id)
    assert row is not None
    for clear in (made.secret, rotated.secret):
        assert not [k for k, v in row.items() if isinstance(v, str) and clear.removeprefix("whsec_") in v], \
            "no column holds a secret in clear"
    assert "whsec_" not in str(dict(row))
    assert (vault.open(row["secret"]), vault.open(row["previous_secret"])) == (rotated.secret, made.secret)

    receiver.secrets = [rotated.secret]
    eid = await hooks.append("redemption.created", "s1")

    async def got() -> bool:
        return receiver.ids() == [eid]
    await wait_until(got, timeout=10, what="the delivery signed with the unsealed secret")


async def test_a_secret_sealed_under_an_older_key_still_signs_after_a_key_rotation_and_is_resealed(
        pool: PgPool, receiver: Receiver) -> None:
    old, new = new_key(), new_key()
    api = EventsApi(pool, WebhookSettings(SecretVault.from_setting(old), allow_http=True,
                                          allow_private_addresses=True))
    made = await api.CreateWebhookEndpoint(events_pb2.CreateWebhookEndpointRequest(
        scope=LIVE, url=receiver.url), None)   # type: ignore[arg-type]
    receiver.secrets = [made.secret]
    sealed_under_old = (await stored_secrets(pool, made.endpoint.id))[0]
    rotated = SecretVault.from_setting(f"{new},{old}")    # step 1 of a key rotation: the new key first
    async with delivering(pool, rotated):
        eid = await append(pool, "s2")

        async def got() -> bool:
            return receiver.ids() == [eid]
        await wait_until(got, timeout=10, what="a delivery signed with a secret sealed under the older key")
    # Step 2: re-sealed under the new key, which alone opens it now (step 3 drops the old one).
    assert await seal_stored_secrets(pool, rotated, in_clear_only=False) == \
        webhook_reseal.Resealed(resealed=1, unreadable=0)
    resealed = (await stored_secrets(pool, made.endpoint.id))[0]
    assert resealed != sealed_under_old and "whsec_" not in resealed
    assert SecretVault(KeyRing.from_setting(new, "WEBHOOK_SECRET_KEYS")).open(resealed) == made.secret
    async with delivering(pool, SecretVault.from_setting(new)):
        again = await append(pool, "s3")

        async def got_again() -> bool:
            return receiver.ids() == [eid, again]
        await wait_until(got_again, timeout=10, what="a delivery after the old key was dropped")


async def test_a_row_in_clear_from_before_sealing_signs_as_it_is_and_is_sealed_at_start(
        hooks: Hooks, vault: SecretVault, receiver: Receiver) -> None:
    made = await hooks.create(receiver.url)
    await hooks.pool.execute("UPDATE webhook_endpoints SET secret = $2 WHERE id = $1", made.endpoint.id,
                             made.secret)   # as a version before sealing stored it
    receiver.secrets = [made.secret]
    eid = await hooks.append("redemption.created", "s4")

    async def got() -> bool:
        return receiver.ids() == [eid]
    await wait_until(got, timeout=10, what="a delivery signed with a secret still in clear")
    await seal_secrets_in_clear(hooks.pool, vault)
    secret, _ = await stored_secrets(hooks.pool, made.endpoint.id)
    assert "whsec_" not in secret and vault.open(secret) == made.secret
    assert await seal_stored_secrets(hooks.pool, vault, in_clear_only=True) == \
        webhook_reseal.Resealed(resealed=0, unreadable=0), "nothing left in clear"


async def test_a_secret_no_key_opens_fails_each_attempt_unsent_naming_the_setting(
        pool: PgPool, receiver: Receiver) -> None:
    api = EventsApi(pool, WebhookSettings(SecretVault.from_setting(new_key()), allow_http=True,
                                          allow_private_addresses=True))
    made = await api.CreateWebhookEndpoint(events_pb2.CreateWebhookEndpointRequest(
        scope=LIVE, url=receiver.url), None)   # type: ignore[arg-type]
    refused_before = attempts_counted("refused")
    async with delivering(pool, SecretVault.from_setting(new_key())):   # its key was dropped
        await append(pool, "s5")

        async def attempted() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1",
                                            made.endpoint.id))
        await wait_until(attempted, timeout=10, what="an attempt")
    attempts = await pool.fetch("SELECT status_code, error FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY id",
                                made.endpoint.id)
    assert attempts[0]["status_code"] == 0 and "WEBHOOK_SECRET_KEYS" in attempts[0]["error"]
    assert "not sent" in attempts[0]["error"] and receiver.hits == 0
    assert attempts_counted("refused") > refused_before


# ---- private addresses (WEBHOOK_ALLOW_PRIVATE_ADDRESSES off) -------------------------------------------------------

@pytest.mark.parametrize("allow_private", [False])
async def test_an_endpoint_on_a_private_address_is_refused_when_made_or_changed(hooks: Hooks) -> None:
    for url in ("http://127.0.0.1:8080/hooks", "https://169.254.169.254/latest/meta-data", "https://10.0.0.5/x",
                "https://[::1]/x", "https://[fd00::1]/x", "https://192.168.1.1/x", "https://0.0.0.0/x"):
        assert "public addresses only" in await refused(hooks.create(url)), url
    made = await hooks.create("https://hooks.example.com/x")
    assert "a link-local address" in await refused(hooks.stub.UpdateWebhookEndpoint(
        events_pb2.UpdateWebhookEndpointRequest(scope=LIVE, endpoint=events_pb2.WebhookEndpoint(
            id=made.endpoint.id, url="https://169.254.169.254/"), update_mask=["url"]), timeout=5))
    assert (await hooks.endpoint(made.endpoint.id)).url == "https://hooks.example.com/x", "nothing changed"
    listed = await hooks.stub.ListWebhookEndpoints(events_pb2.ListWebhookEndpointsRequest(scope=LIVE), timeout=5)
    assert [e.url for e in listed.endpoints] == ["https://hooks.example.com/x"]


@pytest.mark.parametrize("allow_private", [False])
async def test_a_delivery_to_a_name_resolving_to_loopback_is_refused_and_nothing_is_sent(
        hooks: Hooks, receiver: Receiver) -> None:
    # A name passes when made (its addresses are checked at each delivery, as it connects): `localhost` stands for
    # a tenant's name that resolves, or was rebound, to an internal address.
    made = await hooks.create(receiver.url.replace("127.0.0.1", "localhost"))
    receiver.secrets = [made.secret]
    refused_before = attempts_counted("refused")
    await hooks.append("redemption.created", "p1")

    async def attempted() -> bool:
        return bool(await hooks.attempts(made.endpoint.id))
    await wait_until(attempted, timeout=10, what="an attempt")
    first, *_ = reversed(await hooks.attempts(made.endpoint.id))
    assert first.status_code == 0
    assert first.error.startswith("refused, no request sent: localhost resolves to "), first.error
    assert "a loopback address" in first.error and "WEBHOOK_ALLOW_PRIVATE_ADDRESSES is off" in first.error
    assert attempts_counted("refused") > refused_before
    assert receiver.hits == 0, "no connection, no request"
    pending = await hooks.pool.fetchval("SELECT status FROM webhook_deliveries WHERE endpoint_id = $1",
                                        made.endpoint.id)
    assert pending == "pending", "a failed attempt, retried like any other"
