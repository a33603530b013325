"""Seed 000's POST /store/redeem against in-process fake services: the body and headers it sends upstream, the
response shape, and the page's status codes in FastAPI's {"detail": ...} shape."""

from __future__ import annotations

import uuid

import grpc
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

from gateway import repository

ERROR_KEYS = {"detail", "code", "request_id"}


def a_redemption(**fields) -> redemption_pb2.Redemption:
    values = dict(id="rd_1", number=834, player_id="user-42", item_id="12", item_name="Gift card",
                  point_type="gems", cost=150, point_scale=0, status=redemption_pb2.REDEMPTION_STATUS_COMPLETED,
                  fulfillment=redemption_pb2.Fulfillment(code="AMZN-XXXX-YYYY", pin="1234"),
                  debit_transaction_id=77, balance_after=350)
    values.update(fields)
    return redemption_pb2.Redemption(**values)


async def store_headers(gw, player: str = "user-42", **claims) -> dict[str, str]:
    return {"x-client-id": gw.client_id, "x-client-secret": gw.client_secret,
            "Authorization": f"Bearer {await gw.token(player, **claims)}"}


def assert_error(reply, status: int, code: str) -> dict:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code and body["request_id"] == reply.headers["x-request-id"]
    return body


async def test_voucher_redeemed_with_the_pages_curl(gateway, fake_services):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    headers = {**await store_headers(gateway), "Idempotency-Key": "user-42:item-12:order-1001"}
    reply = await gateway.client.post("/store/redeem", headers=headers, json={"store_item_id": 12})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"id": 834, "status": "fulfilled", "gem_cost_at_time": 150,
                            "fulfillment_data": {"code": "AMZN-XXXX-YYYY", "pin": "1234"}}
    sent = fake_services.requests("Redeem")[-1]
    assert (sent.item_id, sent.idempotency_key) == ("12", "user-42:item-12:order-1001")
    assert (sent.scope.tenant_id, sent.player.player_id) == (gateway.tenant, "user-42")
    assert sent.player.client_ip == "203.0.113.7"
    assert not sent.HasField("shipping_address")
    assert "idempotent-replayed" not in reply.headers


async def test_string_ids_and_a_null_address_are_accepted(gateway, fake_services):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(item_id="vip-dinner")))
    reply = await gateway.client.post("/store/redeem", headers=await store_headers(gateway),
                                      json={"store_item_id": "vip-dinner", "shipping_address": None})
    assert reply.status_code == 200, reply.text
    sent = fake_services.requests("Redeem")[-1]
    assert sent.item_id == "vip-dinner" and sent.idempotency_key == ""
    assert not sent.HasField("shipping_address")


async def test_physical_item_maps_the_address_and_answers_pending(gateway, fake_services):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(
        number=835, item_id="99", cost=500, status=redemption_pb2.REDEMPTION_STATUS_OPEN,
        fulfillment=redemption_pb2.Fulfillment())))
    address = {"name": "Rahul Nema", "line1": "123 MG Road", "line2": "Near Metro", "city": "Bengaluru",
               "state": "Karnataka", "pincode": "560001", "phone": "+919999999999"}
    # No country on the page: the token's country claim, else IN; a country sent is kept.
    for claims, extra, country in (({}, {}, "IN"), ({"country": "DE"}, {}, "DE"), ({}, {"country": "FR"}, "FR")):
        reply = await gateway.client.post("/store/redeem", headers=await store_headers(gateway, **claims),
                                          json={"store_item_id": 99, "shipping_address": {**address, **extra}})
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"id": 835, "status": "pending", "gem_cost_at_time": 500, "fulfillment_data": None}
        a = fake_services.requests("Redeem")[-1].shipping_address
        assert (a.name, a.line1, a.line2, a.city, a.state, a.postal_code, a.phone, a.country) == (
            "Rahul Nema", "123 MG Road", "Near Metro", "Bengaluru", "Karnataka", "560001", "+919999999999", country)


async def test_status_words(gateway, fake_services):
    headers = await store_headers(gateway)
    for status, word in ((redemption_pb2.REDEMPTION_STATUS_AWAITING_VENDOR, "pending"),
                         (redemption_pb2.REDEMPTION_STATUS_PURCHASED, "pending"),
                         (redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL, "pending"),   # held for review
                         (redemption_pb2.REDEMPTION_STATUS_CANCELED, "failed")):
        fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(
            status=status, fulfillment=redemption_pb2.Fulfillment())))
        reply = await gateway.client.post("/store/redeem", headers=headers, json={"store_item_id": 12})
        assert (reply.json()["status"], reply.json()["fulfillment_data"]) == (word, None)


async def test_a_replay_answers_the_previous_redemption(gateway, fake_services):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(), replayed=True))
    reply = await gateway.client.post("/store/redeem", json={"store_item_id": 12},
                                      headers={**await store_headers(gateway), "Idempotency-Key": "k1"})
    assert reply.status_code == 200 and reply.json()["id"] == 834
    assert reply.headers["idempotent-replayed"] == "true"


async def test_both_credentials_are_required_and_checked(gateway, fake_services):
    token = await gateway.token("user-42")
    creds = {"x-client-id": gateway.client_id, "x-client-secret": gateway.client_secret}
    body = {"store_item_id": 12}
    post = gateway.client.post
    assert_error(await post("/store/redeem", json=body, headers={"Authorization": f"Bearer {token}"}),
                 401, "UNAUTHENTICATED")
    assert_error(await post("/store/redeem", json=body, headers=creds), 401, "UNAUTHENTICATED")
    wrong = {**creds, "x-client-secret": "nope", "Authorization": f"Bearer {token}"}
    assert_error(await post("/store/redeem", json=body, headers=wrong), 401, "UNAUTHENTICATED")
    # An API key is not the page's credential.
    keyed = {"x-api-key": gateway.player_key, "Authorization": f"Bearer {token}"}
    assert_error(await post("/store/redeem", json=body, headers=keyed), 401, "UNAUTHENTICATED")
    bad_token = {**creds, "Authorization": "Bearer abc.def.ghi"}
    reply = await post("/store/redeem", json=body, headers=bad_token)
    assert_error(reply, 401, "UNAUTHENTICATED")
    assert reply.headers["www-authenticate"] == "Bearer"
    assert fake_services.requests("Redeem") == []


async def test_a_token_of_another_tenant_is_forbidden(gateway, fake_services):
    other = "t_" + uuid.uuid4().hex[:10]
    async with gateway.app.state.sessions.begin() as session:
        await repository.create_tenant(session, other, "Other")
        other_id, other_secret = await repository.create_client(session, other, "sandbox", "backend", False)
        live_id, live_secret = await repository.create_client(session, gateway.tenant, "live", "backend", False)
    token = (await gateway.client.post("/v1/auth/token", json={"player_id": "user-42"},
                                       headers={"x-client-id": other_id, "x-client-secret": other_secret})
             ).json()["access_token"]
    headers = {"x-client-id": gateway.client_id, "x-client-secret": gateway.client_secret,
               "Authorization": f"Bearer {token}"}
    body = assert_error(await gateway.client.post("/store/redeem", json={"store_item_id": 12}, headers=headers),
                        403, "FORBIDDEN")
    assert "another tenant" in body["detail"]
    # The same tenant's live client with a sandbox player token: another environment, also 403.
    sandbox_token = await gateway.token("user-42")
    headers = {"x-client-id": live_id, "x-client-secret": live_secret, "Authorization": f"Bearer {sandbox_token}"}
    assert_error(await gateway.client.post("/store/redeem", json={"store_item_id": 12}, headers=headers),
                 403, "FORBIDDEN")
    assert fake_services.requests("Redeem") == []


REFUSALS = {
    ErrorCode.INSUFFICIENT_BALANCE: 402, ErrorCode.PLAYER_NOT_FOUND: 402,
    ErrorCode.ITEM_NOT_FOUND: 400, ErrorCode.ITEM_UNAVAILABLE: 400, ErrorCode.OUT_OF_STOCK: 400,
    ErrorCode.LIMIT_REACHED: 400, ErrorCode.REDEMPTION_ALREADY_EXISTS: 400,
    ErrorCode.SHIPPING_ADDRESS_REQUIRED: 400, ErrorCode.OUT_OF_CODES: 400,
    ErrorCode.ITEM_NOT_ELIGIBLE: 403, ErrorCode.PLAYER_INACTIVE: 403,
    ErrorCode.IDEMPOTENCY_KEY_CONFLICT: 409, ErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
    ErrorCode.RATE_LIMITED: 429,
}


async def test_each_refusal_has_the_pages_status(gateway, fake_services):
    headers = await store_headers(gateway)
    for code, status in REFUSALS.items():
        fake_services.on("Redeem", DomainError(code, f"refused: {code.value}"))
        reply = await gateway.client.post("/store/redeem", headers=headers, json={"store_item_id": 12})
        body = assert_error(reply, status, code.value)
        assert body["detail"] == f"refused: {code.value}"


async def test_in_progress_is_409_with_retry_after(gateway, fake_services):
    fake_services.on("Redeem", DomainError(ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, "still running",
                                           {"retry_after_seconds": "2"}))
    reply = await gateway.client.post("/store/redeem", headers=await store_headers(gateway),
                                      json={"store_item_id": 12})
    assert_error(reply, 409, "IDEMPOTENCY_KEY_IN_PROGRESS")
    assert reply.headers["retry-after"] == "2"


async def test_failures_of_the_platform(gateway, fake_services):
    headers = await store_headers(gateway)
    fake_services.on("Redeem", grpc.StatusCode.UNAVAILABLE)
    reply = await gateway.client.post("/store/redeem", headers=headers, json={"store_item_id": 12})
    assert_error(reply, 503, "UNAVAILABLE")
    assert reply.headers["retry-after"] == "1"
    fake_services.on("Redeem", grpc.StatusCode.DATA_LOSS)
    body = assert_error(await gateway.client.post("/store/redeem", headers=headers, json={"store_item_id": 12}),
                        500, "INTERNAL")
    assert body["detail"] == "Internal Server Error"


async def test_invalid_bodies_are_fastapis_422(gateway, fake_services):
    headers = await store_headers(gateway)
    for body, loc in (({}, ["body", "store_item_id"]),
                      ({"store_item_id": True}, ["body", "store_item_id", "int"]),
                      ({"store_item_id": 1.5}, ["body", "store_item_id", "int"]),
                      ({"store_item_id": ""}, ["body", "store_item_id"]),
                      ({"store_item_id": 12, "shipping_address": {"pincode": "x" * 33}},
                       ["body", "shipping_address", "pincode"])):
        reply = await gateway.client.post("/store/redeem", headers=headers, json=body)
        detail = assert_error(reply, 422, "VALIDATION_ERROR")["detail"]
        assert isinstance(detail, list) and all(set(e) == {"loc", "msg", "type"} for e in detail)
        assert loc in [e["loc"] for e in detail], (body, detail)
    assert fake_services.requests("Redeem") == []


async def test_a_service_validation_error_is_422_in_the_same_shape(gateway, fake_services):
    fake_services.on("Redeem", DomainError(ErrorCode.VALIDATION_ERROR, "shipping_address needs line1"))
    reply = await gateway.client.post("/store/redeem", headers=await store_headers(gateway),
                                      json={"store_item_id": 99, "shipping_address": {"name": "x"}})
    detail = assert_error(reply, 422, "VALIDATION_ERROR")["detail"]
    assert detail == [{"loc": ["body"], "msg": "shipping_address needs line1", "type": "value_error"}]


async def test_an_overlong_idempotency_key_is_refused(gateway, fake_services):
    headers = {**await store_headers(gateway), "Idempotency-Key": "k" * 201}
    reply = await gateway.client.post("/store/redeem", headers=headers, json={"store_item_id": 12})
    detail = assert_error(reply, 422, "VALIDATION_ERROR")["detail"]
    assert detail[0]["loc"] == ["header", "Idempotency-Key"]


async def test_the_route_is_in_the_openapi_document(gateway):
    doc = (await gateway.client.get("/openapi.json")).json()
    operation = doc["paths"]["/store/redeem"]["post"]
    assert {"200", "400", "401", "402", "403", "409", "422"} <= set(operation["responses"])
    names = {p["name"] for p in operation.get("parameters", [])}
    assert "Idempotency-Key" in names
