"""The monitoring files of deploy/monitoring/ and the runbook agree with each other and with the metrics contract:
the rules pass `promtool check rules` and their unit tests (`promtool test rules`), the PrometheusRule and the
dashboard are what build.py generates, every alert has its runbook section, and every metric a rule or a dashboard
query names is one the platform exports (metrics.txt; tests-e2e/test_dashboard_metrics.py checks that list against
the running processes)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "rules.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
SERVICES = ["gateway", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service",
            "events-service"]
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Prometheus' own series, not exported by a process.
PROMETHEUS_SERIES = {"up"}


def _load_build() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("monitoring_build", MONITORING / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def contract() -> dict[str, str]:
    """metrics.txt: exported metric name -> kind (counter, gauge, histogram)."""
    kinds = {}
    for line in (MONITORING / "metrics.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind = line.split()
            assert kind in ("counter", "gauge", "histogram"), line
            kinds[name] = kind
    return kinds


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_exprs() -> list[str]:
    board = json.loads((MONITORING / "dashboard.json").read_text())
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


# ---- promtool -------------------------------------------------------------------------------------------------


def promtool() -> str:
    """promtool on PATH or next to this Python (where `make test` puts it); installed by the same script if missing."""
    beside = Path(sys.executable).parent / "promtool"
    found = shutil.which("promtool") or (str(beside) if os.access(beside, os.X_OK) else None)
    if found:
        return found
    r = subprocess.run(["sh", str(MONITORING / "install-promtool.sh"), str(beside.parent)],
                       check=False, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and os.access(beside, os.X_OK), f"cannot install promtool: {r.stderr[-800:]}"
    return str(beside)


def run_promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], check=False, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_promtool_accepts_the_rules() -> None:
    r = run_promtool("check", "rules", "rules.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in r.stdout


def test_the_rules_unit_tests_pass() -> None:
    r = run_promtool("test", "rules", "rules_test.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_promtool_test_rules_fails_when_an_alert_does_not_fire(tmp_path: Path) -> None:
    # Guards the guard: a rule that cannot fire must make the unit tests fail.
    tests = yaml.safe_load((MONITORING / "rules_test.yml").read_text())
    tests["tests"] = tests["tests"][:1]   # the invariant's case: the whole file takes seconds
    (tmp_path / "rules_test.yml").write_text(yaml.safe_dump(tests))
    text = RULES.read_text()
    broken = text.replace("expr: max by (service, check) (rewards_invariant_violations) > 0",
                          "expr: max by (service, check) (rewards_invariant_violations) > 1000")
    assert broken != text
    (tmp_path / "rules.yml").write_text(broken)
    r = run_promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert r.returncode != 0 and "RewardsInvariantViolated" in r.stdout + r.stderr


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    tests = yaml.safe_load((MONITORING / "rules_test.yml").read_text())
    assert tests["rule_files"] == ["rules.yml"]
    fires, silent = set(), set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {a["alert"] for a in alerts()}
    assert names - fires == set(), "alerts never shown firing"
    assert names - silent == set(), "alerts never shown silent"


def test_the_dashboard_queries_parse(tmp_path: Path) -> None:
    # promtool parses PromQL only inside rules: every query becomes a recording rule of a scratch file.
    exprs = [e.replace("$__rate_interval", "5m") for e in dashboard_exprs()]
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{i}", "expr": e}
                                                         for i, e in enumerate(exprs)]}]}
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    r = run_promtool("check", "rules", "queries.yml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in r.stdout


def test_the_prometheus_config_example_is_valid(tmp_path: Path) -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules.yml"]
    (job,) = config["scrape_configs"]
    relabels = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"job", "service"} <= relabels, "the rules select on `service`"
    # Debian's promtool is built without Kubernetes discovery: check the rest with a static target.
    job.pop("kubernetes_sd_configs")
    job["static_configs"] = [{"targets": ["127.0.0.1:9464"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(RULES, tmp_path)
    r = run_promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- one source of truth ------------------------------------------------------------------------------------


def test_the_prometheusrule_carries_the_groups_of_rules_yml() -> None:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["kind"] == "PrometheusRule"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    assert (MONITORING / "prometheusrule.yaml").read_text() == build.prometheus_rule(RULES.read_text()), \
        "prometheusrule.yaml is stale: run python deploy/monitoring/build.py"


def test_the_dashboard_is_what_build_writes() -> None:
    assert (MONITORING / "dashboard.json").read_text() == build.dashboard_json(), \
        "dashboard.json is stale: run python deploy/monitoring/build.py"


# ---- every alert: labels, annotations, runbook ----------------------------------------------------------------


def runbook_anchors() -> dict[str, str]:
    """GitHub's anchor of every heading of the runbook -> the heading."""
    anchors = {}
    for line in RUNBOOK.read_text().splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            heading = match.group(1).strip()
            anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
            anchors[anchor] = heading
    return anchors


def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook_section() -> None:
    anchors = runbook_anchors()
    names = [a["alert"] for a in alerts()]
    assert len(names) == len(set(names)), names
    for alert in alerts():
        name = alert["alert"]
        assert alert["labels"]["severity"] in ("critical", "warning"), name
        annotations = alert["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        url = annotations["runbook_url"]
        assert url == f"docs/runbook.md#{name.lower()}", (name, url)
        assert url.split("#", 1)[1] in anchors, f"no section {url} in docs/runbook.md"


def test_every_runbook_alert_section_is_an_alert_and_says_what_to_do() -> None:
    names = {a["alert"] for a in alerts()}
    text = RUNBOOK.read_text()
    sections = dict(re.findall(r"^## (Rewards\w+)\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL))
    assert set(sections) == names
    for name, body in sections.items():
        for part in ("**Meaning.**", "**Look at.**", "**Do.**"):
            assert part in body, f"{name}: no {part}"


def test_the_alerts_cover_what_issue_13_asks_for() -> None:
    exprs = {a["alert"]: a["expr"] for a in alerts()}
    wanted = {
        "invariant gauge": "rewards_invariant_violations",
        "5xx ratio": 'rewards_http_requests_total{status=~"5..',
        "latency SLO": 'rewards_http_request_duration_seconds_bucket{le="0.5"',
        "outbox age": "rewards_outbox_oldest_age_seconds",
        "consumer lag": "rewards_consumer_pending",
        "dead letters": "rewards_dead_letters_total",
        "stuck sagas": "rewards_saga_oldest_unfinished_age_seconds",
        "overdue redemptions": "rewards_redemptions_overdue",
        "pools low": 'rewards_code_pools{state="low"}',
        "pools exhausted": 'rewards_code_pools{state="exhausted"}',
        "a service down": "up{service=",
        "webhook backlog": "rewards_webhook_pending_deliveries",
        "webhook delays": "rewards_webhook_oldest_pending_seconds",
        "webhook loop stalled": "rewards_webhook_overdue_seconds",
        "webhook endpoints disabled": "rewards_webhook_endpoints_disabled_total",
    }
    for what, needle in wanted.items():
        assert any(needle in e for e in exprs.values()), what
    # Multi-window, multi-burn-rate: 14.4x over 1h and 5m, 6x over 6h and 30m, for both SLOs.
    for slo in ("Availability", "Latency"):
        fast, slow = exprs[f"Rewards{slo}BudgetBurnFast"], exprs[f"Rewards{slo}BudgetBurnSlow"]
        assert "14.4 *" in fast and "[1h]" in fast and "[5m]" in fast and re.search(r"\band\b", fast), slo
        assert "6 *" in slow and "[6h]" in slow and "[30m]" in slow and re.search(r"\band\b", slow), slo


# ---- metric names -----------------------------------------------------------------------------------------------

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, labels or keywords)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings (label values, regexes)
    e = re.sub(r"\{[^}]*\}", " ", e)                       # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                      # range and subquery windows
    e = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", e)            # offsets (offset 30m)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\d+(\.\d+)?(e[+-]?\d+)?", " ", e)         # numbers
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if e[match.end():].lstrip().startswith("("):
            continue                                      # a function or an aggregation
        if match.group(0).lower() not in _KEYWORDS:
            names.add(match.group(0))
    return names


def exported_name(series: str, kinds: dict[str, str]) -> str | None:
    """The contract's name of a series name: itself, or the histogram it is a _bucket/_sum/_count of."""
    if series in kinds or series in PROMETHEUS_SERIES:
        return series
    for suffix in HISTOGRAM_SUFFIXES:
        base = series.removesuffix(suffix)
        if base != series and kinds.get(base) == "histogram":
            return base
    return None


def used_series() -> dict[str, set[str]]:
    """Every series name used by the rules and the dashboard -> where."""
    used: dict[str, set[str]] = {}
    for alert in alerts():
        for name in metric_names(alert["expr"]):
            used.setdefault(name, set()).add(alert["alert"])
    for expr in dashboard_exprs():
        for name in metric_names(expr):
            used.setdefault(name, set()).add("dashboard")
    return used


def test_metric_names_are_found_in_promql() -> None:
    expr = ('histogram_quantile(0.99, sum by (service, le) (rate(rewards_rpc_duration_seconds_bucket'
            '{code!="OK", le="0.5"}[5m]))) / on (service) group_left sum(up{service=~"a|b"}) > 14.4 * 1e3'
            ' and time() - max(rewards_x) > bool 0 and max(rewards_y offset 30m) > 1')
    assert metric_names(expr) == {"rewards_rpc_duration_seconds_bucket", "up", "rewards_x", "rewards_y"}


def test_every_metric_in_the_rules_and_the_dashboard_is_in_the_contract() -> None:
    kinds = contract()
    used = used_series()
    assert len(used) > 20
    unknown = {name: sorted(where) for name, where in used.items() if exported_name(name, kinds) is None}
    assert not unknown, f"names not in deploy/monitoring/metrics.txt: {unknown}"
    assert exported_name("rewards_made_up_total", kinds) is None


def test_counters_are_read_with_rate_or_increase() -> None:
    kinds = contract()
    for expr in [a["expr"] for a in alerts()] + dashboard_exprs():
        for name in metric_names(expr):
            if kinds.get(name) == "counter" or name.endswith(HISTOGRAM_SUFFIXES[0]):
                assert re.search(rf"(rate|increase)\(\s*{name}\b", expr), (name, expr)


def test_the_dashboard_covers_every_area() -> None:
    board = json.loads((MONITORING / "dashboard.json").read_text())
    assert board["uid"] and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    used = {exported_name(n, contract()) for e in dashboard_exprs() for n in metric_names(e)}
    # Everything in the contract is on the dashboard.
    assert set(contract()) - used == set()
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


# ---- the scrape: every service ---------------------------------------------------------------------------------


def test_a_podmonitor_scrapes_every_service_with_its_service_label() -> None:
    docs = [d for d in yaml.safe_load_all((MONITORING / "podmonitor.yaml").read_text()) if d]
    scraped: dict[str, str] = {}
    for doc in docs:
        assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PodMonitor"
        spec = doc["spec"]
        selector = spec["selector"]
        names = (selector.get("matchLabels", {}).get("app.kubernetes.io/name"),)
        if "matchExpressions" in selector:
            (expression,) = selector["matchExpressions"]
            assert expression["key"] == "app.kubernetes.io/name" and expression["operator"] == "In"
            names = tuple(expression["values"])
        (endpoint,) = spec["podMetricsEndpoints"]
        assert endpoint["path"] == "/metrics" and endpoint["honorLabels"] is True
        assert {"sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                "targetLabel": "service"} in endpoint["relabelings"]
        for name in names:
            assert name not in scraped, name
            scraped[name] = endpoint["port"]
    assert set(scraped) == set(SERVICES)
    assert scraped["gateway"] == "http" and {scraped[s] for s in SERVICES[1:]} == {"metrics"}


def _deployment(service: str) -> dict[str, Any]:
    docs = [d for f in sorted((ROOT / "deploy" / service).glob("*.yaml"))
            for d in yaml.safe_load_all(f.read_text()) if d]
    return next(d for d in docs if d["kind"] == "Deployment")


@pytest.mark.parametrize("service", SERVICES)
def test_the_scraped_port_is_a_named_container_port_of_the_service(service: str) -> None:
    deployment = _deployment(service)
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"]["app.kubernetes.io/name"] == service
    assert template["metadata"]["labels"]["app.kubernetes.io/part-of"] == "rewards"
    wanted = "http" if service == "gateway" else "metrics"
    ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
    assert wanted in ports, f"deploy/{service}: no container port named {wanted}"
    annotations = template["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/scrape") == "true":
        assert annotations.get("prometheus.io/port") == str(ports[wanted]), service
        assert annotations.get("prometheus.io/path", "/metrics") == "/metrics", service


def test_the_monitoring_kustomization_applies_its_files() -> None:
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {"podmonitor.yaml", "prometheusrule.yaml"}
    (generator,) = kustomization["configMapGenerator"]
    assert generator["files"] == ["dashboard.json"]
    for name in [*kustomization["resources"], *generator["files"]]:
        assert (MONITORING / name).is_file(), name


def test_every_service_is_watched_for_being_down() -> None:
    exprs = {a["alert"]: a["expr"] for a in alerts()}
    for service in SERVICES:
        assert f'absent(up{{service="{service}"}})' in exprs["RewardsServiceDown"], service
        assert service in exprs["RewardsInstanceDown"], service
