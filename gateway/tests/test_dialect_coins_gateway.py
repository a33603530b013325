"""Seed 001's POST /gateway/coins/redeem/{version}/{brand_id} against in-process fake services: the brand picks
the tenant, the body and the caller's IP go upstream, and every answer is the page's envelope."""

from __future__ import annotations

import random
import uuid

import grpc
import pytest
from google.protobuf import json_format
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

from gateway import repository

FAIL_MESSAGE = "Validation error while claiming coins"


def a_redemption(**fields) -> redemption_pb2.Redemption:
    values = {"id": "rd_1", "number": 5, "player_id": "p1", "item_id": "507f1f77bcf86cd799439011",
              "point_type": "coins", "cost": 10_000, "point_scale": 2,
              "status": redemption_pb2.REDEMPTION_STATUS_COMPLETED,
              "fulfillment": redemption_pb2.Fulfillment(financial_ref_id=78910), "debit_transaction_id": 123456,
              "balance_after": 15_050}
    values.update(fields)
    return redemption_pb2.Redemption(**values)


@pytest.fixture
async def brand(gateway) -> int:
    """A brand id for the test tenant (unique within the session's shared database)."""
    brand_id = random.randint(1000, 2**31 - 1)
    async with gateway.app.state.sessions.begin() as session:
        await repository.set_brand_id(session, gateway.tenant, brand_id)
    return brand_id


async def player_headers(gw, player: str = "p1") -> dict[str, str]:
    return {"x-auth-token": await gw.token(player)}


def assert_fail(reply, status: int, code: str, message: str = FAIL_MESSAGE) -> dict:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"status", "data", "message", "request_id"}
    assert body["status"] == "fail" and body["message"] == message
    assert set(body["data"]) == {"result"} and set(body["data"]["result"]) == {"code", "message"}
    assert body["data"]["result"]["code"] == code
    assert body["request_id"] == reply.headers["x-request-id"]
    return body


async def test_the_pages_request_body_and_success_envelope(gateway, fake_services, brand):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    body = {"shop_item_id": "507f1f77bcf86cd799439011", "rounds": 20, "trigger_source": "PLAYER_SHOP",
            "trigger_details": {"source_page": "shop_ui", "campaign": "weekend_promo"},
            "comment": "Weekend promotion claim", "uuid": "unique-idempotency-key-123"}
    headers = {**await player_headers(gateway), "X-Forwarded-For": "198.51.100.9, 10.0.0.1"}
    reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=headers, json=body)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"status": "success", "data": {
        "success": True, "transaction_id": 123456, "financial_ref_id": 78910, "new_balance": "150.50",
        "amount": "100.00", "already_processed": False}, "message": "Successfully claimed coins"}
    sent = fake_services.requests("Redeem")[-1]
    assert (sent.scope.tenant_id, sent.player.player_id) == (gateway.tenant, "p1")
    assert (sent.item_id, sent.rounds, sent.trigger_source, sent.comment, sent.idempotency_key) == (
        "507f1f77bcf86cd799439011", 20, "PLAYER_SHOP", "Weekend promotion claim", "unique-idempotency-key-123")
    assert json_format.MessageToDict(sent.trigger_details) == {"source_page": "shop_ui", "campaign": "weekend_promo"}
    # The X-Forwarded-For came from a peer that is not a trusted proxy (TRUSTED_PROXIES is empty): ignored.
    assert sent.player.client_ip == "203.0.113.7"
    assert fake_services.calls[-1].metadata.get("x-client-ip") == "203.0.113.7"


async def test_defaults_the_socket_peer_and_a_pending_bonus(gateway, fake_services, brand):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(
        status=redemption_pb2.REDEMPTION_STATUS_OPEN, fulfillment=redemption_pb2.Fulfillment())))
    reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=await player_headers(gateway),
                                      json={"shop_item_id": "507f1f77bcf86cd799439011", "uuid": "u-1"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["financial_ref_id"] is None
    sent = fake_services.requests("Redeem")[-1]
    assert sent.trigger_source == "MANUAL" and sent.rounds == 0 and sent.comment == ""
    assert not sent.HasField("trigger_details") and not sent.HasField("shipping_address")
    assert sent.player.client_ip == "203.0.113.7"


async def test_a_repeated_uuid_is_already_processed(gateway, fake_services, brand):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(), replayed=True))
    reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=await player_headers(gateway),
                                      json={"shop_item_id": "507f1f77bcf86cd799439011", "uuid": "u-1"})
    assert reply.json()["data"]["already_processed"] is True
    assert reply.json()["data"]["transaction_id"] == 123456


async def test_amounts_follow_the_point_types_scale(gateway, fake_services, brand):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(
        point_type="gems", cost=150, point_scale=0, balance_after=0, debit_transaction_id=0)))
    reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=await player_headers(gateway),
                                      json={"shop_item_id": 12})
    data = reply.json()["data"]
    assert (data["amount"], data["new_balance"], data["transaction_id"]) == ("150", "0", None)
    assert fake_services.requests("Redeem")[-1].item_id == "12"


async def test_the_seed_extension_shipping_address_goes_upstream(gateway, fake_services, brand):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    address = {"name": "A", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=await player_headers(gateway),
                              json={"shop_item_id": "x", "shipping_address": address})
    a = fake_services.requests("Redeem")[-1].shipping_address
    assert (a.line1, a.city, a.postal_code, a.country) == ("1 Main St", "Berlin", "10115", "DE")


async def test_refusals_are_422_fail_with_their_code(gateway, fake_services, brand):
    headers = await player_headers(gateway)
    for code in (ErrorCode.INSUFFICIENT_BALANCE, ErrorCode.ITEM_NOT_FOUND, ErrorCode.ITEM_NOT_ELIGIBLE,
                 ErrorCode.INVALID_ROUNDS_SELECTION, ErrorCode.GAME_NOT_AVAILABLE, ErrorCode.OUT_OF_STOCK,
                 ErrorCode.ITEM_UNAVAILABLE, ErrorCode.LIMIT_REACHED, ErrorCode.SHIPPING_ADDRESS_REQUIRED,
                 ErrorCode.PLAYER_NOT_FOUND, ErrorCode.PLAYER_INACTIVE, ErrorCode.IDEMPOTENCY_KEY_CONFLICT,
                 ErrorCode.IDEMPOTENCY_KEY_REUSED, ErrorCode.VALIDATION_ERROR):
        fake_services.on("Redeem", DomainError(code, f"refused: {code.value}"))
        reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=headers,
                                          json={"shop_item_id": "507f1f77bcf86cd799439011"})
        body = assert_fail(reply, 422, code.value)
        assert body["data"]["result"]["message"] == f"refused: {code.value}"
        assert "retry-after" not in reply.headers


async def test_in_progress_is_422_with_retry_after(gateway, fake_services, brand):
    fake_services.on("Redeem", DomainError(ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, "still running",
                                           {"retry_after_seconds": "3"}))
    reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=await player_headers(gateway),
                                      json={"shop_item_id": "x", "uuid": "u"})
    assert_fail(reply, 422, "IDEMPOTENCY_KEY_IN_PROGRESS")
    assert reply.headers["retry-after"] == "3"


async def test_server_errors_are_the_pages_error_envelope(gateway, fake_services, brand):
    headers = await player_headers(gateway)
    for status_code, http_status in ((grpc.StatusCode.DATA_LOSS, 500), (grpc.StatusCode.UNAVAILABLE, 503)):
        fake_services.on("Redeem", status_code)
        reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=headers,
                                          json={"shop_item_id": "x"})
        assert reply.status_code == http_status
        assert reply.json() == {"status": "error", "data": None, "message": "Failed to claim coins",
                                "request_id": reply.headers["x-request-id"]}


async def test_a_redemption_canceled_before_the_answer_is_not_a_success(gateway, fake_services, brand):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(
        status=redemption_pb2.REDEMPTION_STATUS_CANCELED, failure_code="OUT_OF_CODES",
        failure_message="no codes left")))
    reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=await player_headers(gateway),
                                      json={"shop_item_id": "x"})
    body = assert_fail(reply, 422, "OUT_OF_CODES")
    assert body["data"]["result"]["message"] == "no codes left"


async def test_auth_and_brand(gateway, fake_services, brand):
    body = {"shop_item_id": "507f1f77bcf86cd799439011"}
    post = gateway.client.post
    assert_fail(await post(f"/gateway/coins/redeem/v1/{brand}", json=body), 401, "UNAUTHENTICATED", "Unauthorized")
    assert_fail(await post(f"/gateway/coins/redeem/v1/{brand}", json=body, headers={"x-auth-token": "a.b.c"}),
                401, "UNAUTHENTICATED", "Unauthorized")
    headers = await player_headers(gateway)
    # Bearer works too (the gateway's other player routes take either header).
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    bearer = {"Authorization": f"Bearer {headers['x-auth-token']}"}
    assert (await post(f"/gateway/coins/redeem/v1/{brand}", json=body, headers=bearer)).status_code == 200
    unknown = assert_fail(await post("/gateway/coins/redeem/v1/7", json=body, headers=headers),
                          404, "BRAND_NOT_FOUND", "Not found")
    assert "7" in unknown["data"]["result"]["message"]
    assert_fail(await post("/gateway/coins/redeem/v1/abc", json=body, headers=headers), 422, "VALIDATION_ERROR")
    assert_fail(await post("/gateway/coins/redeem/v1/-1", json=body, headers=headers), 422, "VALIDATION_ERROR")

    other = "t_" + uuid.uuid4().hex[:10]
    other_brand = random.randint(1000, 2**31 - 1)
    async with gateway.app.state.sessions.begin() as session:
        await repository.create_tenant(session, other, "Other", other_brand)
    forbidden = assert_fail(await post(f"/gateway/coins/redeem/v1/{other_brand}", json=body, headers=headers),
                            403, "FORBIDDEN", "Forbidden")
    assert str(other_brand) in forbidden["data"]["result"]["message"]
    assert len(fake_services.requests("Redeem")) == 1


async def test_invalid_bodies_are_422_fail(gateway, fake_services, brand):
    headers = await player_headers(gateway)
    for body in ({}, {"shop_item_id": ""}, {"shop_item_id": None}, {"shop_item_id": "x", "rounds": -1},
                 {"shop_item_id": "x", "rounds": "many"}, {"shop_item_id": "x", "uuid": ""},
                 {"shop_item_id": "x", "comment": "c" * 1001}, {"shop_item_id": "x", "trigger_details": [1]}):
        reply = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", headers=headers, json=body)
        assert_fail(reply, 422, "VALIDATION_ERROR")
    assert fake_services.requests("Redeem") == []


async def test_the_route_is_in_the_openapi_document(gateway):
    doc = (await gateway.client.get("/openapi.json")).json()
    operation = doc["paths"]["/gateway/coins/redeem/{version}/{brand_id}"]["post"]
    assert {"200", "401", "403", "404", "422", "500"} <= set(operation["responses"])
    assert {"version", "brand_id"} <= {p["name"] for p in operation["parameters"]}
