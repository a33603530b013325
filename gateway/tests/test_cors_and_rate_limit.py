"""CORS (CORS_ALLOW_ORIGINS) and the per-client rate limit (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST) on the whole
app: off by default; on, a preflight answered for the listed origins only, and 429 RATE_LIMITED with Retry-After
and the request id in each API's own shape."""

from __future__ import annotations

import pytest

from .conftest import open_gateway, settings_for

ORIGIN = "https://shop.example.com"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}


@pytest.fixture
async def limited(gateway_database, fake_services):
    settings = settings_for(gateway_database, fake_services.address, cors_allow_origins=f"{ORIGIN}, http://localhost:3000",
                            rate_limit_per_second=0.5, rate_limit_burst=2)
    async for gw in open_gateway(settings):
        yield gw


async def test_by_default_no_preflight_is_answered_and_nothing_is_limited(gateway) -> None:
    reply = await gateway.client.options("/v1/redemptions", headers=PREFLIGHT)
    assert reply.status_code == 405 and "access-control-allow-origin" not in reply.headers
    for _ in range(30):
        reply = await gateway.client.get("/v1/redemptions", headers={"x-api-key": "wrong"})
        assert reply.status_code == 401


async def test_a_preflight_is_answered_for_the_listed_origins_only(limited) -> None:
    reply = await limited.client.options("/v1/redemptions", headers=PREFLIGHT)
    assert reply.status_code == 200, reply.text
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    allowed = reply.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key", "x-api-key"} <= set(allowed.replace(" ", "").split(","))
    assert "POST" in reply.headers["access-control-allow-methods"]
    stranger = await limited.client.options("/v1/redemptions", headers={**PREFLIGHT, "Origin": "https://evil.test"})
    assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers
    # A real request from the origin: its answer may be read, error or not, with the headers a client acts on.
    answer = await limited.client.get("/v1/redemptions", headers={"Origin": ORIGIN, "x-api-key": "cors-probe"})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()


async def _spend(gw, path: str, headers: dict[str, str], method: str = "GET", body: dict | None = None):
    answers = [await gw.client.request(method, path, headers=headers, json=body) for _ in range(3)]
    assert 429 not in [a.status_code for a in answers[:2]]
    refused = answers[2]
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "2"   # 0.5 a second: the next token in 2 s
    assert refused.headers["x-request-id"]
    return refused, refused.json()


async def test_a_client_past_its_rate_is_refused_in_each_apis_shape(limited) -> None:
    rid = {"X-Request-Id": "limit-probe"}
    _, canonical = await _spend(limited, "/v1/redemptions", {"x-api-key": "k-canonical", **rid})
    assert canonical["code"] == "RATE_LIMITED" and canonical["status"] == 429
    assert canonical["requestId"] == "limit-probe"

    _, gems = await _spend(limited, "/store/redeem", {"x-client-id": "shop", "x-client-secret": "s", **rid}, "POST",
                           {"store_item_id": 12})
    assert gems["code"] == "RATE_LIMITED" and gems["request_id"] == "limit-probe" and set(gems) == {
        "detail", "code", "request_id"}

    _, coins = await _spend(limited, "/gateway/coins/redeem/v1/1", {"x-auth-token": "t-coins", **rid}, "POST",
                            {"shop_item_id": "x"})
    assert coins["status"] == "fail" and coins["data"]["result"]["code"] == "RATE_LIMITED"

    reply, market = await _spend(limited, "/api/v1/marketplace/user/u-1/gifts", {"x-api-key": "k-market", **rid})
    assert reply.headers["content-type"] == "application/problem+json"
    assert market["code"] == "RATE_LIMITED" and market["status"] == 429 and market["traceId"] == "limit-probe"


async def test_each_client_has_its_own_bucket_and_no_credential_is_not_limited(limited) -> None:
    await _spend(limited, "/v1/redemptions", {"x-api-key": "k-one"})
    other = await limited.client.get("/v1/redemptions", headers={"x-api-key": "k-two"})
    assert other.status_code == 401
    for _ in range(5):
        assert (await limited.client.get("/healthz")).status_code == 200


async def test_a_refusal_is_counted_and_readable_by_a_browser(limited) -> None:
    refused, _ = await _spend(limited, "/v1/redemptions", {"x-api-key": "k-cors", "Origin": ORIGIN})
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    metrics = (await limited.client.get("/metrics")).text
    assert 'rewards_http_rate_limited_total{dialect="canonical"}' in metrics
    assert 'status="429"' in metrics
