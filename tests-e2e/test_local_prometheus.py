"""`make run`'s local Prometheus (local_runner.prometheus), against the running platform with the real binary
(`make promtool` unpacks Debian's beside promtool): every process is a target that is up, the alert rules of
deploy/monitoring/rules.yml load and evaluate without error on the real series, and a query names every
service."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from local_runner.infra import free_port
from local_runner.platform import Platform
from local_runner.prometheus import LocalPrometheus, prometheus_binary, scrape_config


def test_scrape_config_labels_each_process_with_its_service() -> None:
    config = scrape_config({"catalog-service": "http://127.0.0.1:9151/metrics",
                            "catalog-service-2": "http://127.0.0.1:9251/metrics",
                            "gateway": "http://127.0.0.1:8001/metrics"})
    (job,) = config["scrape_configs"]  # type: ignore[index]
    assert [(c["targets"], c["labels"]) for c in job["static_configs"]] == [
        (["127.0.0.1:9151"], {"service": "catalog-service", "process": "catalog-service"}),
        (["127.0.0.1:9251"], {"service": "catalog-service", "process": "catalog-service-2"}),
        (["127.0.0.1:8001"], {"service": "gateway", "process": "gateway"})]
    assert config["rule_files"] and str(config["rule_files"][0]).endswith("deploy/monitoring/rules.yml")  # type: ignore[index]


@pytest.fixture
def prometheus(platform: Platform, tmp_path) -> Iterator[LocalPrometheus]:  # type: ignore[no-untyped-def]
    binary = prometheus_binary()
    assert binary is not None, "no prometheus binary: make promtool unpacks it into .venv/bin"
    local = LocalPrometheus(binary, tmp_path / "prometheus", tmp_path / "prometheus.log", "127.0.0.1", free_port())
    local.start(platform.metrics_urls)
    yield local
    local.stop()


def _eventually(check, seconds: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            assert found, what
            return found
        time.sleep(0.5)


def test_make_runs_prometheus_scrapes_every_process_and_evaluates_the_alert_rules(
        platform: Platform, prometheus: LocalPrometheus) -> None:
    api = f"{prometheus.url}/api/v1"

    def all_up() -> list[dict]:
        targets = httpx.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
        return targets if len(targets) == len(platform.metrics_urls) and all(t["health"] == "up" for t in targets) \
            else []

    targets = _eventually(all_up, 30, "every process a target that is up")
    assert {t["labels"]["process"] for t in targets} == set(platform.metrics_urls)

    def evaluated() -> list[dict]:
        groups = httpx.get(f"{api}/rules", timeout=5).json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("2") and
                                      not r["lastEvaluation"].startswith("0001") for r in rules) else []

    rules = _eventually(evaluated, 30, "every alert rule evaluated once")
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules
                                                       if r["health"] != "ok"]
    answer = httpx.get(f"{api}/query", params={"query": "count by (service) (up)"}, timeout=5).json()
    assert {s["metric"]["service"] for s in answer["data"]["result"]} == \
        {name for name in platform.metrics_urls}, "every service's targets carry its service label"
