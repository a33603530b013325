"""Hostile request bodies get a 4xx in the shape of the API they were sent to, never a 5xx or "try again": the
body limit (413 PAYLOAD_TOO_LARGE, by Content-Length at once or while a chunked body streams in), the bounds of
free-form objects (triggerDetails, fulfillmentConfig: 422 VALIDATION_ERROR naming the field), and a gRPC message
over its size limit. Every redeem route of the four APIs, against in-process fake services."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from gateway.body_limit import BodyLimitMiddleware
from rewards.fulfillment.v1 import fulfillment_pb2
from rewards.redemption.v1 import redemption_pb2
from service_kit.contract import MAX_IDEMPOTENCY_KEY_LENGTH
from service_kit.errors import DomainError, ErrorCode
from starlette.responses import PlainTextResponse

from gateway import repository

from .conftest import open_gateway, settings_for

LIMIT = 64 * 1024            # MAX_BODY_BYTES by default
KIB = 1024
MB = 1024 * 1024


def a_redemption(**fields: Any) -> redemption_pb2.Redemption:
    values: dict[str, Any] = {
        "id": "rd_1", "number": 834, "player_id": "p1", "item_id": "gift-card", "item_name": "Gift card",
        "point_type": "gems", "cost": 150, "point_scale": 0, "status": redemption_pb2.REDEMPTION_STATUS_COMPLETED,
        "fulfillment": redemption_pb2.Fulfillment(code="ABCD-1234", pin="9999"), "debit_transaction_id": 77,
        "balance_after": 350}
    values.update(fields)
    r = redemption_pb2.Redemption(**values)
    r.created_at.FromSeconds(1_700_000_000)
    return r


# ---- each API's error shape, checked whole; each returns the error's text ----------------------------------------

def canonical_error(reply: httpx.Response, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert {"type", "title", "status", "detail", "code", "requestId"} <= set(body)
    assert (body["status"], body["code"], body["requestId"]) == (status, code, reply.headers["x-request-id"])
    return str(body["detail"])


def gems_store_error(reply: httpx.Response, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"detail", "code", "request_id"}
    assert (body["code"], body["request_id"]) == (code, reply.headers["x-request-id"])
    return json.dumps(body["detail"])


def coins_gateway_error(reply: httpx.Response, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"status", "data", "message", "request_id"} and body["status"] == "fail"
    assert set(body["data"]["result"]) == {"code", "message"}
    assert (body["data"]["result"]["code"], body["request_id"]) == (code, reply.headers["x-request-id"])
    return str(body["data"]["result"]["message"])


def marketplace_error(reply: httpx.Response, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "traceId", "requestId"}
    assert (body["status"], body["code"], body["instance"]) == (status, code, reply.request.url.path)
    assert body["traceId"] == body["requestId"] == reply.headers["x-request-id"]
    assert body["type"].startswith("https://tools.ietf.org/html/rfc9110#section-") and body["title"]
    return str(body["detail"])


@dataclass
class Redeem:
    """One API's redeem route, with what a valid call of it needs."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    free_form: str | None         # its free-form object field, if it has one
    ok: int                       # the status of a success
    invalid: int                  # the status of VALIDATION_ERROR
    error: Callable[[httpx.Response, int, str], str]

    def content(self, size: int | None = None, **fields: Any) -> bytes:
        """The body as JSON bytes; with size, padded to exactly that many bytes in a field no API reads."""
        body = {**self.body, **fields}
        raw = json.dumps(body).encode()
        if size is not None:
            raw = json.dumps({**body, "padding": "x" * (size - len(raw) - len(', "padding": ""'))}).encode()
            assert len(raw) == size
        return raw


APIS = ["canonical", "gems-store", "coins-gateway", "marketplace"]
WITH_FREE_FORM = ["canonical", "coins-gateway"]


@pytest.fixture
async def routes(gateway) -> dict[str, Redeem]:
    brand = random.randint(1000, 2**31 - 1)
    async with gateway.app.state.sessions.begin() as session:
        await repository.set_brand_id(session, gateway.tenant, brand)
    token = await gateway.token("p1")
    json_type = {"content-type": "application/json"}
    return {
        "canonical": Redeem("/v1/redemptions", {**json_type, "Authorization": f"Bearer {token}"},
                            {"offer": "gift-card"}, "triggerDetails", 201, 422, canonical_error),
        "gems-store": Redeem("/store/redeem", {**json_type, "Authorization": f"Bearer {token}",
                                               "x-client-id": gateway.client_id,
                                               "x-client-secret": gateway.client_secret},
                             {"store_item_id": "gift-card"}, None, 200, 422, gems_store_error),
        "coins-gateway": Redeem(f"/gateway/coins/redeem/v1/{brand}", {**json_type, "x-auth-token": token},
                                {"shop_item_id": "gift-card"}, "trigger_details", 200, 422, coins_gateway_error),
        "marketplace": Redeem("/api/v1/marketplace/user/p1/redeem", {**json_type, "x-api-key": gateway.player_key},
                              {"giftId": "gift-card"}, None, 201, 400, marketplace_error),
    }


def nested(depth: int) -> dict[str, Any]:
    """An object `depth` levels deep: {"a": {"a": ... {}}}."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# ---- the body limit ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
async def test_a_declared_length_over_the_limit_is_413_in_the_apis_shape(gateway, fake_services, routes, api):
    route = routes[api]
    reply = await gateway.client.post(route.url, content=route.content(size=LIMIT + 1), headers=route.headers)
    assert f"larger than {LIMIT} bytes" in route.error(reply, 413, "PAYLOAD_TOO_LARGE")
    assert fake_services.requests("Redeem") == []


@pytest.mark.parametrize("api", APIS)
async def test_a_chunked_body_over_the_limit_is_413_and_is_read_no_further(gateway, fake_services, routes, api):
    route = routes[api]
    sent = 0

    async def ten_megabytes() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        nonlocal sent
        for _ in range(10 * MB // (16 * KIB)):
            sent += 1
            yield b" " * (16 * KIB)

    reply = await gateway.client.post(route.url, content=ten_megabytes(), headers=route.headers)

    assert "content-length" not in reply.request.headers
    assert f"larger than {LIMIT} bytes" in route.error(reply, 413, "PAYLOAD_TOO_LARGE")
    assert sent <= LIMIT // (16 * KIB) + 2   # the chunk that passed the limit, and at most one read ahead
    assert fake_services.requests("Redeem") == []


@pytest.mark.parametrize("api", APIS)
async def test_a_body_of_exactly_the_limit_is_served(gateway, fake_services, routes, api):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    route = routes[api]
    reply = await gateway.client.post(route.url, content=route.content(size=LIMIT), headers=route.headers)
    assert reply.status_code == route.ok, reply.text
    assert len(fake_services.requests("Redeem")) == 1


async def test_the_code_upload_takes_more_than_64_kib_up_to_its_own_limit(gateway, fake_services):
    fake_services.on("UploadCodes", lambda r: fulfillment_pb2.UploadCodesResponse(added=len(r.codes)))
    csv = ("code,pin\n" + "".join(f"CODE-{n:010d},{n % 10_000:04d}\n" for n in range(8_000))).encode()
    assert LIMIT < len(csv) < 2 * MB

    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", content=csv,
                                      headers={**gateway.admin(), "content-type": "text/csv"})

    assert reply.status_code == 200, reply.text
    assert reply.json() == {"added": 8_000, "duplicates": 0}
    # Any other route refuses the same body.
    other = await gateway.client.post("/v1/admin/items", content=csv, headers={**gateway.admin(),
                                                                               "content-type": "application/json"})
    canonical_error(other, 413, "PAYLOAD_TOO_LARGE")


async def test_both_limits_are_settings(gateway_database, fake_services):
    settings = settings_for(gateway_database, fake_services.address, max_body_bytes=1_000,
                            max_upload_body_bytes=100_000)
    fake_services.on("UploadCodes", lambda r: fulfillment_pb2.UploadCodesResponse(added=len(r.codes)))
    async for gw in open_gateway(settings):
        headers = {**gw.admin(), "content-type": "text/csv"}
        small = await gw.client.post("/v1/admin/items/i/codes", content=b"code\n" + b"A" * 90 + b"\n" * 2_000,
                                     headers=headers)
        assert small.status_code == 200, small.text
        big = await gw.client.post("/v1/admin/items/i/codes", content=b"code\n" + b"A\n" * 60_000, headers=headers)
        assert "100000 bytes" in canonical_error(big, 413, "PAYLOAD_TOO_LARGE")
        redeem = await gw.client.post("/v1/redemptions", json={"offer": "x", "comment": "c" * 1_000},
                                      headers={"Authorization": f"Bearer {await gw.token('p1')}"})
        assert "1000 bytes" in canonical_error(redeem, 413, "PAYLOAD_TOO_LARGE")


async def test_the_middleware_refuses_a_declared_length_without_reading_or_calling_the_app():
    calls: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        calls.append("app")
        await PlainTextResponse("ok")(scope, receive, send)

    async def receive():  # type: ignore[no-untyped-def]
        calls.append("receive")
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/redemptions", "headers": [(b"content-length", b"11")]}
    await BodyLimitMiddleware(app, limit=10)(scope, receive, send)

    assert calls == []
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "PAYLOAD_TOO_LARGE"


# ---- free-form objects ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [50, 200])
@pytest.mark.parametrize("api", WITH_FREE_FORM)
async def test_a_free_form_object_nested_deep_is_a_validation_error_naming_it(gateway, fake_services, routes,
                                                                              api, depth):
    route = routes[api]
    assert route.free_form is not None
    reply = await gateway.client.post(route.url, content=route.content(**{route.free_form: nested(depth)}),
                                      headers=route.headers)
    text = route.error(reply, route.invalid, "VALIDATION_ERROR")
    assert route.free_form in text and "deeper than 16 levels" in text
    assert fake_services.requests("Redeem") == []


@pytest.mark.parametrize("api", WITH_FREE_FORM)
async def test_a_free_form_object_16_levels_deep_goes_upstream(gateway, fake_services, routes, api):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    route = routes[api]
    assert route.free_form is not None
    reply = await gateway.client.post(route.url, content=route.content(**{route.free_form: nested(16)}),
                                      headers=route.headers)
    assert reply.status_code == route.ok, reply.text
    assert "a" in fake_services.requests("Redeem")[0].trigger_details


@pytest.mark.parametrize("api", ["gems-store", "marketplace"])
async def test_an_api_without_free_form_objects_ignores_a_deep_one(gateway, fake_services, routes, api):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    route = routes[api]
    reply = await gateway.client.post(route.url, content=route.content(triggerDetails=nested(200)),
                                      headers=route.headers)
    assert reply.status_code == route.ok, reply.text
    assert not fake_services.requests("Redeem")[0].HasField("trigger_details")


@pytest.mark.parametrize("api", WITH_FREE_FORM)
async def test_a_huge_trigger_details_is_413(gateway, fake_services, routes, api):
    route = routes[api]
    assert route.free_form is not None
    huge = {f"k{n}": "v" * 1_000 for n in range(10_000)}    # 10 MB
    reply = await gateway.client.post(route.url, content=route.content(**{route.free_form: huge}),
                                      headers=route.headers)
    route.error(reply, 413, "PAYLOAD_TOO_LARGE")
    assert fake_services.requests("Redeem") == []


# Each under the body limit, each past one bound of a free-form object.
UNBOUNDED = {
    "too many items": '{"list": [' + ",".join(["1"] * 1_001) + "]}",
    "a long key": json.dumps({"k" * 257: 1}),
    "a long string": json.dumps({"note": "x" * 4_097}),
    "too much text": json.dumps({f"note{n}": "x" * 4_000 for n in range(5)}),
    "an integer past 2^53": '{"id": ' + "9" * 400 + "}",
    "an infinite number": '{"n": 1e400}',
    "NaN": '{"n": NaN}',
}


@pytest.mark.parametrize("shape", list(UNBOUNDED))
@pytest.mark.parametrize("api", WITH_FREE_FORM)
async def test_free_form_objects_are_bounded_in_size(gateway, fake_services, routes, api, shape):
    route = routes[api]
    body = route.content()[:-1] + f', "{route.free_form}": {UNBOUNDED[shape]}}}'.encode()
    assert len(body) < LIMIT
    reply = await gateway.client.post(route.url, content=body, headers=route.headers)
    assert route.free_form in route.error(reply, route.invalid, "VALIDATION_ERROR")
    assert fake_services.requests("Redeem") == []


async def test_with_a_larger_body_limit_a_huge_trigger_details_is_still_a_422_not_a_503(gateway_database,
                                                                                       fake_services):
    # The bound of free-form objects holds alone: before it, 10 MB reached gRPC and came back RESOURCE_EXHAUSTED.
    async for gw in open_gateway(settings_for(gateway_database, fake_services.address, max_body_bytes=16 * MB)):
        huge = {f"k{n}": "v" * 1_000 for n in range(10_000)}
        reply = await gw.client.post("/v1/redemptions", json={"offer": "x", "triggerDetails": huge},
                                     headers={"Authorization": f"Bearer {await gw.token('p1')}"})
        assert "triggerDetails" in canonical_error(reply, 422, "VALIDATION_ERROR")
    assert fake_services.requests("Redeem") == []


async def test_an_items_fulfillment_config_is_bounded_too(gateway, fake_services):
    body = {"name": "Mug", "prices": [{"pointType": "gems", "amount": 5}], "fulfillmentConfig": nested(50)}
    reply = await gateway.client.post("/v1/admin/items", json=body, headers=gateway.admin())
    assert "fulfillmentConfig" in canonical_error(reply, 422, "VALIDATION_ERROR")
    assert fake_services.requests("CreateItem") == []


# ---- a gRPC message over its size limit ----------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
async def test_a_grpc_message_over_its_size_limit_is_a_refusal_not_try_again(gateway, fake_services, routes, api):
    # gRPC refuses a message over 4 MB (here the answer) with RESOURCE_EXHAUSTED: the same every time.
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption(item_name="x" * (5 * MB))))
    route = routes[api]
    reply = await gateway.client.post(route.url, content=route.content(), headers=route.headers)
    assert "larger than the redemption service accepts" in route.error(reply, route.invalid, "VALIDATION_ERROR")
    assert "retry-after" not in reply.headers


async def test_a_request_over_grpcs_size_limit_is_a_validation_error(gateway, fake_services):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    with pytest.raises(DomainError) as refused:
        await gateway.app.state.upstreams.redemption.redeem(redemption_pb2.RedeemRequest(comment="x" * (5 * MB)))
    assert refused.value.code is ErrorCode.VALIDATION_ERROR
    assert fake_services.requests("Redeem") == []


# ---- the idempotency key: one bound on both sides of the wire (service_kit.contract) -------------------------

def with_key(route: Redeem, api: str, key: str) -> tuple[bytes, dict[str, str]]:
    """The request carrying `key` where the API takes it: coins-gateway in the body's uuid, the others in the
    Idempotency-Key header."""
    if api == "coins-gateway":
        return route.content(uuid=key), route.headers
    return route.content(), {**route.headers, "Idempotency-Key": key}


@pytest.mark.parametrize("api", APIS)
async def test_an_idempotency_key_over_the_services_bound_is_refused_before_the_call(gateway, fake_services, routes,
                                                                                     api):
    route = routes[api]
    content, headers = with_key(route, api, "k" * (MAX_IDEMPOTENCY_KEY_LENGTH + 1))
    reply = await gateway.client.post(route.url, content=content, headers=headers)
    detail = route.error(reply, route.invalid, "VALIDATION_ERROR")
    assert "Idempotency-Key" in detail or "uuid" in detail, detail
    assert fake_services.requests("Redeem") == []


@pytest.mark.parametrize("api", APIS)
async def test_an_idempotency_key_of_exactly_the_bound_goes_upstream(gateway, fake_services, routes, api):
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    route = routes[api]
    key = "k" * MAX_IDEMPOTENCY_KEY_LENGTH
    content, headers = with_key(route, api, key)
    reply = await gateway.client.post(route.url, content=content, headers=headers)
    assert reply.status_code == route.ok, reply.text
    [sent] = fake_services.requests("Redeem")
    assert sent.idempotency_key == key
