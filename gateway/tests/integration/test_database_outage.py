"""The gateway's own database (credentials, signing keys) going away, on a PostgreSQL of this module's own so it
can be stopped and restarted: every API answers 503 UNAVAILABLE with Retry-After in its own error shape, not 500;
connections the server closed are replaced without a failed request; once it is back, requests succeed; and the
rate limit shared through it fails open to each process's own limit, logged and counted, never an error."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from gateway.app import MIGRATIONS
from local_runner.infra import Postgres, free_port
from rewards.wallet.v1 import wallet_pb2
from service_kit.db import upgrade_database

from gateway import rate_limit, repository

from ..conftest import FakeServices, Gateway, open_gateway, settings_for

_brands = itertools.count(4242)
BALANCES = wallet_pb2.GetBalancesResponse(accounts=[wallet_pb2.Account(point_type="gems", balance=7, scale=0)])


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="gateway-outage-"))
    pg = Postgres(folder / "pgdata", free_port(), folder / "postgres.log")
    pg.start()
    upgrade_database(MIGRATIONS, pg.ensure_database("gateway_outage"))
    yield pg
    pg.stop()


@pytest.fixture
async def gateway(server: Postgres, fake_services: FakeServices) -> AsyncIterator[Gateway]:
    async for gw in open_gateway(settings_for(server.url("gateway_outage"), fake_services.address)):
        yield gw


async def every_dialects_request(gw: Gateway) -> dict[str, tuple[str, str, dict[str, str], dict | None]]:
    """One request per API, each authenticated by the gateway's database, made while it is up."""
    token = await gw.token("p1")
    brand = next(_brands)   # unique in the module's database
    async with gw.app.state.sessions.begin() as session:
        await repository.set_brand_id(session, gw.tenant, brand)
    return {
        "canonical": ("GET", "/v1/wallet/balances", {"Authorization": f"Bearer {token}"}, None),
        "gems-store": ("POST", "/store/redeem", {"x-client-id": gw.client_id, "x-client-secret": gw.client_secret,
                                                 "Authorization": f"Bearer {token}"}, {"store_item_id": 12}),
        "coins-gateway": ("POST", f"/gateway/coins/redeem/v1/{brand}", {"x-auth-token": token},
                          {"uuid": "8c2f1a52-61a3-4c3e-9a53-8d4b1f6e2a10", "offerId": "o-1"}),
        "marketplace": ("GET", "/api/v1/marketplace/user/u-1/gifts", {"x-api-key": gw.player_key}, None),
    }


async def test_every_api_answers_503_unavailable_with_retry_after_while_the_database_is_down(
        gateway: Gateway, server: Postgres) -> None:
    requests = await every_dialects_request(gateway)
    await asyncio.to_thread(server.stop)
    try:
        replies = {api: await gateway.client.request(method, path, headers=headers, json=body)
                   for api, (method, path, headers, body) in requests.items()}
    finally:
        await asyncio.to_thread(server.start)
    for api, reply in replies.items():
        assert reply.status_code == 503, (api, reply.text)
        assert reply.headers["retry-after"] == "1", api
        assert reply.headers["x-request-id"], api
    for api in ("canonical", "marketplace"):
        assert replies[api].headers["content-type"] == "application/problem+json"
        assert replies[api].json()["code"] == "UNAVAILABLE"
        assert replies[api].json()["requestId"] == replies[api].headers["x-request-id"]
    assert replies["gems-store"].json()["code"] == "UNAVAILABLE"
    assert replies["coins-gateway"].json()["status"] == "error"   # the page's 5xx envelope has no code


async def test_once_the_database_is_back_the_first_request_succeeds(
        gateway: Gateway, server: Postgres, fake_services: FakeServices) -> None:
    fake_services.on("GetBalances", BALANCES)
    canonical = (await every_dialects_request(gateway))["canonical"]
    await asyncio.to_thread(server.stop)
    await asyncio.to_thread(server.start)
    reply = await gateway.client.get(canonical[1], headers=canonical[2])
    assert reply.status_code == 200, reply.text


async def test_connections_the_server_terminated_do_not_fail_the_next_requests(
        gateway: Gateway, server: Postgres, fake_services: FakeServices) -> None:
    fake_services.on("GetBalances", BALANCES)
    canonical = (await every_dialects_request(gateway))["canonical"]
    admin = await asyncpg.connect(server.url("postgres"))
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'gateway_outage'")
        assert ended >= 1
    finally:
        await admin.close()
    await asyncio.sleep(0.2)   # the gateway's loop reads each closed socket's EOF
    for _ in range(3):
        reply = await gateway.client.get(canonical[1], headers=canonical[2])
        assert reply.status_code == 200, reply.text


@pytest.fixture
async def limited(server: Postgres, fake_services: FakeServices) -> AsyncIterator[Gateway]:
    settings = settings_for(server.url("gateway_outage"), fake_services.address, rate_limit_per_second=5.0,
                            rate_limit_burst=3, rate_limit_sync_seconds=0.05)
    async for gw in open_gateway(settings):
        yield gw


async def _eventually(check, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.05)


async def test_while_the_database_is_down_the_rate_limit_holds_per_process_and_never_fails_a_request(
        limited: Gateway, server: Postgres) -> None:
    syncs = rate_limit.SYNCS._value.get()
    assert (await limited.client.get("/healthz", headers={"x-api-key": "k-before"})).status_code == 200
    await _eventually(lambda: rate_limit.SYNCS._value.get() > syncs)
    failures = rate_limit.SYNC_FAILURES._value.get()
    await asyncio.to_thread(server.stop)
    try:
        replies = [await limited.client.get("/healthz", headers={"x-api-key": "k-during"}) for _ in range(6)]
        # The burst of 3, then the process's own limit: 429 with Retry-After, never a 5xx.
        assert [r.status_code for r in replies] == [200, 200, 200, 429, 429, 429]
        assert replies[-1].headers["retry-after"] == "1" and replies[-1].json()["code"] == "RATE_LIMITED"
        await _eventually(lambda: rate_limit.SYNC_FAILURES._value.get() > failures)
        assert rate_limit.SHARED._value.get() == 0
        assert limited.app.state.rate_limit_sync.failing
    finally:
        await asyncio.to_thread(server.start)
    await asyncio.sleep(0.8)   # the client's bucket full again (3 at 5 a second)
    assert (await limited.client.get("/healthz", headers={"x-api-key": "k-during"})).status_code == 200
    await _eventually(lambda: rate_limit.SHARED._value.get() == 1)
    assert not limited.app.state.rate_limit_sync.failing
