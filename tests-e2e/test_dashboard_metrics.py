"""Every metric the alert rules and the dashboard (deploy/monitoring/) query is one the running platform exports:
after a redemption, each process's GET /metrics is scraped and the names are compared (tests/test_monitoring.py
checks the files against metrics.txt; this checks metrics.txt's names in use against the real processes).

A metric counts as exported when a process declares it (its `# TYPE` line), with or without samples: a labelled
counter such as rewards_dead_letters_total has no sample until its first dead letter."""

from __future__ import annotations

import importlib.util
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = {"gateway", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service",
             "events-service"}


def _monitoring_checks() -> Any:
    spec = importlib.util.spec_from_file_location("monitoring_checks", ROOT / "tests" / "test_monitoring.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


monitoring = _monitoring_checks()


def exported_names(text: str) -> set[str]:
    """The metric names of one scrape, as the rules name them: counters with _total, histograms by their base name
    (their _bucket, _sum and _count series too), gauges as they are."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        names.update(sample.name for sample in family.samples)
    return names


def scrape(urls: dict[str, str]) -> dict[str, set[str]]:
    out = {}
    with httpx.Client(timeout=10.0) as client:
        for name, url in urls.items():
            r = client.get(url)
            assert r.status_code == 200, f"{name} {url}: {r.status_code}"
            assert r.headers["content-type"].startswith("text/plain"), f"{name}: {r.headers['content-type']}"
            out[name] = exported_names(r.text)
    return out


def test_every_metric_of_the_rules_and_the_dashboard_is_exported(platform, gateway, operator) -> None:
    urls = platform.metrics_urls
    assert PROCESSES <= set(urls), f"metrics_urls lacks {PROCESSES - set(urls)}"

    item = operator.create_item(stock=3, prices=[{"pointType": "gems", "amount": 10}])
    _, auth = operator.new_player(gems=100)
    redeemed = gateway.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                            json={"offer": item["id"]})
    assert redeemed.status_code == 201, redeemed.text

    kinds = monitoring.contract()
    wanted = {monitoring.exported_name(n, kinds) for n in monitoring.used_series()} - monitoring.PROMETHEUS_SERIES
    assert None not in wanted and len(wanted) > 20
    # Metrics registered lazily show up once their code ran: allow the background loops a few seconds.
    deadline = time.monotonic() + 30
    while True:
        by_process = scrape({name: urls[name] for name in PROCESSES})
        exported = set().union(*by_process.values())
        missing = sorted(wanted - exported)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, f"used by deploy/monitoring/ but exported by no process: {missing}"

    # Each process exports its share: the gateway its HTTP metrics, every gRPC service its RPC metrics.
    assert "rewards_http_requests_total" in by_process["gateway"]
    for name in PROCESSES - {"gateway"}:
        assert "rewards_rpc_requests_total" in by_process[name], name
    assert "rewards_redemptions_total" in by_process["redemption-service"]
    # And the redemption was counted.
    with httpx.Client(timeout=10.0) as client:
        text = client.get(urls["redemption-service"]).text
    counted = [s for f in text_string_to_metric_families(text) if f.name == "rewards_redemptions"
               for s in f.samples if s.name == "rewards_redemptions_total"]
    assert sum(s.value for s in counted) >= 1, counted
