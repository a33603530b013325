"""Every process of the running platform answers Prometheus' GET /metrics (the gRPC services on METRICS_PORT, the
gateway on its HTTP port), and one redemption shows in each process's RED metrics."""

from __future__ import annotations

import time
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

PROCESSES = {"gateway", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service",
             "events-service"}


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = httpx.get(url, timeout=5.0)
    assert reply.status_code == 200, (url, reply.status_code)
    assert reply.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def counted(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(value for (sample, have), value in samples.items()
               if sample == name and set(labels.items()) <= have)


def test_every_process_exports_its_red_metrics_after_a_redemption(platform, operator, gateway) -> None:
    urls = platform.metrics_urls
    assert set(urls) == PROCESSES
    item = operator.create_item(prices=[{"pointType": "gems", "amount": 10}])
    _, auth = operator.new_player(gems=100)

    redeemed = gateway.post("/v1/redemptions", json={"offer": item["id"]},
                            headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
    assert redeemed.status_code == 201, redeemed.text

    expected = {
        "catalog-service": ("rewards_rpc_requests_total", {"service": "catalog-service", "code": "OK",
                                                           "method": "/rewards.catalog.v1.CatalogService/ReserveStock"}),
        "wallet-service": ("rewards_rpc_requests_total", {"service": "wallet-service", "code": "OK",
                                                          "method": "/rewards.wallet.v1.WalletService/DebitPoints"}),
        "redemption-service": ("rewards_rpc_requests_total", {
            "service": "redemption-service", "code": "OK", "method": "/rewards.redemption.v1.RedemptionService/Redeem"}),
        # Its health was checked at start: a job of this (manual) item reaches it over NATS, not gRPC.
        "fulfillment-service": ("rewards_rpc_requests_total", {"service": "fulfillment-service", "code": "OK"}),
        # Its health too (the runner's check at start); its events come over NATS.
        "events-service": ("rewards_rpc_requests_total", {"service": "events-service", "code": "OK"}),
        "gateway": ("rewards_http_requests_total", {"route": "/v1/redemptions", "method": "POST", "status": "201",
                                                    "dialect": "canonical"}),
    }
    deadline = time.monotonic() + 10
    missing = dict(expected)
    while missing and time.monotonic() < deadline:   # the gateway counts a request once its answer is sent
        for process, (name, labels) in list(missing.items()):
            if counted(scrape(urls[process]), name, **labels) >= 1:
                del missing[process]
        if missing:
            time.sleep(0.1)
    assert not missing, f"not counted: {missing}"

    for process in ("catalog-service", "wallet-service", "redemption-service", "fulfillment-service"):
        samples = scrape(urls[process])
        assert counted(samples, "rewards_rpc_duration_seconds_count", service=process) >= 1
        assert counted(samples, "rewards_db_pool_connections", service=process, state="max") >= 1
