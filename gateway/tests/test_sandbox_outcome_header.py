"""The Sandbox-Outcome header on every API's redeem route: forwarded as the redeem's sandbox_outcome, and the
service's SANDBOX_ONLY refusal (a live credential) answered in each API's own error shape with 403."""

from __future__ import annotations

from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

from .integration.test_routes import a_redemption as canonical_redemption
from .integration.test_routes import assert_problem
from .integration.test_routes import player_headers as canonical_headers
from .test_dialect_coins_gateway import a_redemption as coins_redemption
from .test_dialect_coins_gateway import assert_fail, brand  # noqa: F401 (a fixture)
from .test_dialect_coins_gateway import player_headers as coins_headers
from .test_dialect_gems_store import a_redemption as gems_redemption
from .test_dialect_gems_store import assert_error, store_headers
from .test_dialect_marketplace import BASE, PAGE_BODY
from .test_dialect_marketplace import a_redemption as marketplace_redemption

FORCED = {"Sandbox-Outcome": "pending:5"}


async def test_each_api_forwards_the_header(gateway, fake_services, brand):  # noqa: F811
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=canonical_redemption()))
    await gateway.client.post("/v1/redemptions", json={"offer": "12"},
                              headers={**await canonical_headers(gateway), **FORCED})
    await gateway.client.post("/v1/redemptions", json={"offer": "12"}, headers=await canonical_headers(gateway))
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=gems_redemption()))
    await gateway.client.post("/store/redeem", json={"store_item_id": 12},
                              headers={**await store_headers(gateway), **FORCED})
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=coins_redemption()))
    await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", json={"shop_item_id": "12", "uuid": "u-1"},
                              headers={**await coins_headers(gateway), **FORCED})
    fake_services.on("Redeem", marketplace_redemption)
    await gateway.client.post(f"{BASE}/redeem", json=PAGE_BODY, headers={"x-api-key": gateway.player_key, **FORCED})
    sent = [r.sandbox_outcome for r in fake_services.requests("Redeem")]
    assert sent == ["pending:5", "", "pending:5", "pending:5", "pending:5"]


async def test_sandbox_only_is_a_403_in_each_apis_shape(gateway, fake_services, brand):  # noqa: F811
    fake_services.on("Redeem", DomainError(ErrorCode.SANDBOX_ONLY, "for the sandbox only"))
    assert_problem(await gateway.client.post("/v1/redemptions", json={"offer": "12"},
                                             headers={**await canonical_headers(gateway), **FORCED}),
                   403, "SANDBOX_ONLY")
    assert_error(await gateway.client.post("/store/redeem", json={"store_item_id": 12},
                                           headers={**await store_headers(gateway), **FORCED}),
                 403, "SANDBOX_ONLY")
    assert_fail(await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", json={"shop_item_id": "12"},
                                          headers={**await coins_headers(gateway), **FORCED}),
                403, "SANDBOX_ONLY", message="Forced outcomes are for the sandbox only")
    reply = await gateway.client.post(f"{BASE}/redeem", json=PAGE_BODY,
                                      headers={"x-api-key": gateway.player_key, **FORCED})
    assert reply.status_code == 403, reply.text


async def test_an_oversized_header_is_refused_before_any_call(gateway, fake_services):
    reply = await gateway.client.post("/v1/redemptions", json={"offer": "12"},
                                      headers={**await canonical_headers(gateway), "Sandbox-Outcome": "x" * 33})
    assert_problem(reply, 422, "VALIDATION_ERROR")
    assert fake_services.requests("Redeem") == []
