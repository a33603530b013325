"""The gateway's GET /metrics: no auth, not in the OpenAPI document, and the RED metrics of every other request
labelled by route template (never the raw path), method, status and dialect."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(gateway) -> Samples:  # type: ignore[no-untyped-def]
    reply = await gateway.client.get("/metrics")   # no credentials: like /healthz
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0) - before.get(key, 0)


async def test_requests_are_counted_by_route_template_status_and_dialect(gateway, fake_services) -> None:
    fake_services.on("GetItem", DomainError(ErrorCode.ITEM_NOT_FOUND, "no such item"))
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=redemption_pb2.Redemption(
        id="rd_1", number=834, player_id="user-42", item_id="12", point_type="gems", cost=150,
        status=redemption_pb2.REDEMPTION_STATUS_OPEN)))
    token = await gateway.token("user-42")
    before = await scrape(gateway)

    for item in ("12", "13"):
        reply = await gateway.client.get(f"/v1/items/{item}", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 404, reply.text
    reply = await gateway.client.post("/store/redeem", json={"store_item_id": 12}, headers={
        "x-client-id": gateway.client_id, "x-client-secret": gateway.client_secret,
        "Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    assert (await gateway.client.get("/no/such/route/42")).status_code == 404
    assert (await gateway.client.get("/healthz")).status_code == 200

    after = await scrape(gateway)
    requests = "rewards_http_requests_total"
    assert grew(before, after, requests, route="/v1/items/{itemId}", method="GET", status="404",
                dialect="canonical") == 2
    assert grew(before, after, requests, route="/store/redeem", method="POST", status="200",
                dialect="gems-store") == 1
    assert grew(before, after, requests, route="unmatched", method="GET", status="404", dialect="none") == 1
    assert grew(before, after, requests, route="/healthz", method="GET", status="200", dialect="none") == 1
    assert grew(before, after, "rewards_http_request_duration_seconds_count", route="/v1/items/{itemId}",
                method="GET", dialect="canonical") == 2
    assert grew(before, after, "rewards_http_request_duration_seconds_bucket", route="/store/redeem",
                method="POST", dialect="gems-store", le="+Inf") == 1
    assert not any(dict(labels).get("route") in ("/v1/items/12", "/no/such/route/42") for _, labels in after)
    assert not any(dict(labels).get("route") == "/metrics" for _, labels in after)   # scrapes are not counted
    assert after[("rewards_http_in_flight", frozenset())] == 0


async def test_a_request_in_flight_is_counted_until_it_is_answered(gateway, fake_services) -> None:
    seen: list[float] = []

    def while_served(request):  # type: ignore[no-untyped-def]
        seen.append(REGISTRY.get_sample_value("rewards_http_in_flight"))
        raise DomainError(ErrorCode.ITEM_NOT_FOUND, "no such item")

    fake_services.on("GetItem", while_served)
    token = await gateway.token("user-42")
    await gateway.client.get("/v1/items/12", headers={"Authorization": f"Bearer {token}"})
    assert seen == [1]
    assert REGISTRY.get_sample_value("rewards_http_in_flight") == 0


async def test_metrics_is_not_in_the_openapi_document(gateway) -> None:
    paths = (await gateway.client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths and "/healthz" in paths
