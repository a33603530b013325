"""One client-IP rule for every API (issue 12, item 5): X-Forwarded-For counts only when the socket peer is a
trusted proxy. The test client's peer is 203.0.113.7; each API's redeem is sent with a forged header."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from rewards.redemption.v1 import redemption_pb2

from gateway import repository

from .conftest import Gateway, open_gateway, settings_for

PEER = "203.0.113.7"
FORGED = {"X-Forwarded-For": "198.51.100.66"}


def a_redemption(request: redemption_pb2.RedeemRequest) -> redemption_pb2.RedeemResponse:
    r = redemption_pb2.Redemption(
        id="rd_1", number=7, player_id=request.player.player_id, item_id=request.item_id, item_name="Gift card",
        point_type="coins", cost=100, point_scale=0, status=redemption_pb2.REDEMPTION_STATUS_COMPLETED,
        debit_transaction_id=1, balance_after=900)
    r.created_at.FromSeconds(1_774_195_200)
    return redemption_pb2.RedeemResponse(redemption=r)


async def canonical(gw: Gateway, headers: dict[str, str]) -> Any:
    auth = {"x-auth-token": await gw.token("p1")}
    return await gw.client.post("/v1/redemptions", json={"offer": "i1"},
                                headers={**auth, "Idempotency-Key": "k-1", **headers})


async def coins_gateway(gw: Gateway, headers: dict[str, str]) -> Any:
    brand_id = random.randint(1000, 2**31 - 1)
    async with gw.app.state.sessions.begin() as session:
        await repository.set_brand_id(session, gw.tenant, brand_id)
    return await gw.client.post(f"/gateway/coins/redeem/v1/{brand_id}", json={"shop_item_id": 12, "uuid": "u-1"},
                                headers={"x-auth-token": await gw.token("p1"), **headers})


async def gems_store(gw: Gateway, headers: dict[str, str]) -> Any:
    auth = {"x-client-id": gw.client_id, "x-client-secret": gw.client_secret,
            "Authorization": f"Bearer {await gw.token('p1')}"}
    return await gw.client.post("/store/redeem", json={"store_item_id": 12},
                                headers={**auth, "Idempotency-Key": "k-1", **headers})


async def marketplace(gw: Gateway, headers: dict[str, str]) -> Any:
    return await gw.client.post("/api/v1/marketplace/user/p1/redeem", json={"giftId": "g-1"},
                                headers={"x-api-key": gw.player_key, **headers})


APIS: dict[str, Callable[[Gateway, dict[str, str]], Awaitable[Any]]] = {
    "canonical": canonical, "coins-gateway": coins_gateway, "gems-store": gems_store, "marketplace": marketplace}


async def sent_client_ip(gw: Gateway, fake_services: Any, api: str, headers: dict[str, str]) -> str:
    fake_services.on("Redeem", a_redemption)
    reply = await APIS[api](gw, headers)
    assert reply.status_code < 300, reply.text
    sent = fake_services.requests("Redeem")[-1]
    assert fake_services.calls[-1].metadata.get("x-client-ip") == sent.player.client_ip
    return str(sent.player.client_ip)


@pytest.fixture
async def behind_a_proxy(gateway_database: str, fake_services: Any) -> AsyncIterator[Gateway]:
    """A gateway whose peer (the test client) is one of its trusted proxies, beside another trusted network."""
    settings = settings_for(gateway_database, fake_services.address, trusted_proxies="203.0.113.0/24, 10.0.0.0/8")
    async for gw in open_gateway(settings):
        yield gw


@pytest.mark.parametrize("api", sorted(APIS))
async def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(gateway, fake_services, api):
    assert await sent_client_ip(gateway, fake_services, api, FORGED) == PEER
    assert await sent_client_ip(gateway, fake_services, api, {}) == PEER


@pytest.mark.parametrize("api", sorted(APIS))
async def test_a_trusted_proxy_names_the_client_and_trusted_hops_are_skipped(behind_a_proxy, fake_services, api):
    gw = behind_a_proxy
    # The client forged the left hop; our proxies (10.0.0.5, then the peer) added the rest, right to left.
    chain = {"X-Forwarded-For": "192.0.2.1, 198.51.100.9, 10.0.0.5"}
    assert await sent_client_ip(gw, fake_services, api, chain) == "198.51.100.9"
    assert await sent_client_ip(gw, fake_services, api, {}) == PEER
