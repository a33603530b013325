"""Writes the generated files of deploy/monitoring/ from their one source each:

- prometheusrule.yaml (the Prometheus Operator's PrometheusRule) from rules.yml: the same groups, text for text,
  indented under `spec:`;
- dashboard.json (Grafana) from DASHBOARD below: rows of panels, each a title, a unit and its PromQL queries.

Run it after editing either:

    python deploy/monitoring/build.py

tests/test_monitoring.py fails while a generated file differs from what this writes, and while a query names a
metric that metrics.txt (the metrics contract) does not list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "rules.yml"
TARGET = HERE / "prometheusrule.yaml"
DASHBOARD_FILE = HERE / "dashboard.json"

HEADER = """\
# GENERATED from rules.yml by build.py: edit rules.yml, then run `python deploy/monitoring/build.py`.
# The rewards platform's alerting rules for the Prometheus Operator (kubectl apply -k deploy/monitoring/).
# The label `release` is what a kube-prometheus-stack Prometheus selects by default: match your own
# ruleSelector.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: rewards
  labels: {app.kubernetes.io/part-of: rewards, release: kube-prometheus-stack}
spec:
"""


def prometheus_rule(rules_text: str) -> str:
    """The PrometheusRule whose spec is rules_text (a rules file: `groups:` and its comments)."""
    body = [line for line in rules_text.splitlines() if not line.startswith("#")]
    while body and not body[0].strip():
        body.pop(0)
    return HEADER + "".join(f"  {line}\n" if line.strip() else "\n" for line in body)


# ---- the Grafana dashboard ------------------------------------------------------------------------------------
# Each row: (title, panels); each panel: (title, unit, kind, [(legend, expr), ...]). kind: timeseries, stat or
# table. Only metrics of metrics.txt (and Prometheus' own `up`); `service` is the process (see rules.yml).

R = "$__rate_interval"
SERVICES = "gateway|catalog-service|wallet-service|redemption-service|fulfillment-service|events-service"
API = 'route!~"/healthz|/readyz|/metrics"'

Panel = tuple[str, str, str, list[tuple[str, str]]]

DASHBOARD: list[tuple[str, list[Panel]]] = [
    ("API (gateway): rate, errors, duration", [
        ("Requests per second by route", "reqps", "timeseries", [
            ("{{method}} {{route}}", f"sum by (method, route) (rate(rewards_http_requests_total{{{API}}}[{R}]))")]),
        ("5xx share by route", "percentunit", "timeseries", [
            ("{{method}} {{route}}",
             (f'sum by (method, route) (rate(rewards_http_requests_total{{status=~"5..", {API}}}[{R}]))'
             f" / sum by (method, route) (rate(rewards_http_requests_total{{{API}}}[{R}]))"))]),
        ("Answers by status", "reqps", "timeseries", [
            ("{{status}}", f"sum by (status) (rate(rewards_http_requests_total{{{API}}}[{R}]))")]),
        ("p99 duration by route", "s", "timeseries", [
            ("{{method}} {{route}}", ("histogram_quantile(0.99, sum by (method, route, le) "
                                     f"(rate(rewards_http_request_duration_seconds_bucket{{{API}}}[{R}])))"))]),
        ("p50 duration by route", "s", "timeseries", [
            ("{{method}} {{route}}", ("histogram_quantile(0.5, sum by (method, route, le) "
                                     f"(rate(rewards_http_request_duration_seconds_bucket{{{API}}}[{R}])))"))]),
        ("Requests per second by dialect", "reqps", "timeseries", [
            ("{{dialect}}", f"sum by (dialect) (rate(rewards_http_requests_total{{{API}}}[{R}]))")]),
        ("SLO burn rate, 1 h (1 = on budget; alerts at 14.4 and 6)", "none", "timeseries", [
            ("availability (5xx, budget 0.1%)",
             (f'(sum(rate(rewards_http_requests_total{{status=~"5..", {API}}}[1h]))'
             f" / sum(rate(rewards_http_requests_total{{{API}}}[1h]))) / 0.001")),
            ("latency (> 0.5 s, budget 1%)",
             (f"((sum(rate(rewards_http_request_duration_seconds_count{{{API}}}[1h]))"
             f' - sum(rate(rewards_http_request_duration_seconds_bucket{{le="0.5", {API}}}[1h])))'
             f" / sum(rate(rewards_http_request_duration_seconds_count{{{API}}}[1h]))) / 0.01"))]),
        ("Requests in flight", "none", "timeseries", [
            ("{{pod}}", "sum by (pod) (rewards_http_in_flight)")]),
        ("Storefront and console actions by outcome", "ops", "timeseries", [
            ("{{app}} {{action}} {{outcome}}",
             f"sum by (app, action, outcome) (rate(rewards_web_actions_total[{R}]))")]),
    ]),
    ("gRPC services: rate, errors, duration", [
        ("Calls per second by method", "reqps", "timeseries", [
            ("{{service}} {{method}}", f"sum by (service, method) (rate(rewards_rpc_requests_total[{R}]))")]),
        ("Calls not OK by code", "reqps", "timeseries", [
            ("{{service}} {{code}}", f'sum by (service, code) (rate(rewards_rpc_requests_total{{code!="OK"}}[{R}]))')]),
        ("p99 duration by method", "s", "timeseries", [
            ("{{service}} {{method}}", ("histogram_quantile(0.99, sum by (service, method, le) "
                                       f"(rate(rewards_rpc_duration_seconds_bucket[{R}])))"))]),
        ("Calls in flight", "none", "timeseries", [
            ("{{service}}", "sum by (service) (rewards_rpc_in_flight)")]),
        ("Instances up", "none", "stat", [
            ("{{service}}", f'sum by (service) (up{{service=~"{SERVICES}"}})')]),
    ]),
    ("Redemptions and the saga", [
        ("Redemptions by outcome", "ops", "timeseries", [
            ("{{outcome}}", f"sum by (outcome) (rate(rewards_redemptions_total[{R}]))")]),
        ("Failed redemptions by code", "ops", "timeseries", [
            ("{{failure_code}}", f'sum by (failure_code) (rate(rewards_redemptions_total{{outcome="failed"}}[{R}]))')]),
        ("Compensations by step", "ops", "timeseries", [
            ("{{step}} {{result}}", f"sum by (step, result) (rate(rewards_saga_compensations_total[{R}]))")]),
        ("Saga recoveries", "ops", "timeseries", [
            ("{{action}}", f"sum by (action) (rate(rewards_saga_recoveries_total[{R}]))")]),
        ("Oldest unfinished saga", "s", "timeseries", [
            ("age", "max(rewards_saga_oldest_unfinished_age_seconds)")]),
        ("Redemptions overdue for a result", "none", "timeseries", [
            ("overdue", "max(rewards_redemptions_overdue)")]),
        ("Idempotency keys seen again", "ops", "timeseries", [
            ("{{result}}", f"sum by (result) (rate(rewards_idempotency_total[{R}]))")]),
    ]),
    ("Outbox, consumers, dead letters", [
        ("Outbox backlog", "none", "timeseries", [
            ("{{service}}", "max by (service) (rewards_outbox_backlog)")]),
        ("Oldest unpublished outbox row", "s", "timeseries", [
            ("{{service}}", "max by (service) (rewards_outbox_oldest_age_seconds)")]),
        ("Consumer lag (pending messages)", "none", "timeseries", [
            ("{{service}} {{consumer}}", "max by (service, consumer) (rewards_consumer_pending)")]),
        ("Redeliveries", "ops", "timeseries", [
            ("{{service}} {{consumer}}",
             f"sum by (service, consumer) (rate(rewards_consumer_redeliveries_total[{R}]))")]),
        ("Dead letters", "ops", "timeseries", [
            ("{{service}} {{reason}}", f"sum by (service, reason) (rate(rewards_dead_letters_total[{R}]))")]),
        ("Dead letters not settled", "none", "stat", [
            ("{{service}}", "max by (service) (rewards_dead_letters_open)")]),
    ]),
    ("Fulfillment", [
        ("Jobs without an outcome, by state", "none", "timeseries", [
            ("{{strategy}} {{state}}", "sum by (strategy, state) (rewards_fulfillment_jobs)")]),
        ("Attempts by outcome", "ops", "timeseries", [
            ("{{strategy}} {{outcome}}",
             f"sum by (strategy, outcome) (rate(rewards_fulfillment_attempts_total[{R}]))")]),
        ("Provider call duration, p50 and p99", "s", "timeseries", [
            ("p50 {{strategy}}", ("histogram_quantile(0.5, sum by (strategy, le) "
                                 f"(rate(rewards_provider_duration_seconds_bucket[{R}])))")),
            ("p99 {{strategy}}", ("histogram_quantile(0.99, sum by (strategy, le) "
                                 f"(rate(rewards_provider_duration_seconds_bucket[{R}])))"))]),
        ("Provider errors by kind", "ops", "timeseries", [
            ("{{strategy}} {{kind}}", f"sum by (strategy, kind) (rate(rewards_provider_errors_total[{R}]))")]),
        ("Jobs waiting for an operator", "none", "stat", [
            ("waiting", "max(rewards_fulfillment_waiting_operator)")]),
    ]),
    ("Code pools and stock", [
        ("Code pools low or exhausted", "none", "stat", [
            ("{{state}}", "max by (state) (rewards_code_pools)")]),
        ("Smallest code pools (codes available)", "none", "table", [
            ("{{tenant}} {{item}}", "bottomk(20, max by (tenant, item) (rewards_code_pool_available))")]),
        ("Items with low or no stock", "none", "stat", [
            ("{{state}}", "max by (state) (rewards_items_stock)")]),
    ]),
    ("Webhooks (events-service)", [
        ("Webhook attempts by outcome", "ops", "timeseries", [
            ("{{outcome}}", f"sum by (outcome) (rate(rewards_webhook_attempts_total[{R}]))")]),
        ("Webhook deliveries finished", "ops", "timeseries", [
            ("{{outcome}}", f"sum by (outcome) (rate(rewards_webhook_deliveries_total[{R}]))")]),
        ("Webhook POST duration, p50 and p99", "s", "timeseries", [
            ("p50", f"histogram_quantile(0.5, sum by (le) (rate(rewards_webhook_attempt_seconds_bucket[{R}])))"),
            ("p99", f"histogram_quantile(0.99, sum by (le) (rate(rewards_webhook_attempt_seconds_bucket[{R}])))")]),
        ("Pending webhook deliveries", "none", "timeseries", [
            ("pending", "max(rewards_webhook_pending_deliveries)")]),
        ("Oldest pending and most overdue webhook delivery", "s", "timeseries", [
            ("oldest pending", "max(rewards_webhook_oldest_pending_seconds)"),
            ("most overdue", "max(rewards_webhook_overdue_seconds)")]),
        ("Webhook endpoints disabled", "none", "timeseries", [
            ("{{reason}}", f"sum by (reason) (increase(rewards_webhook_endpoints_disabled_total[{R}]))")]),
    ]),
    ("Review holds (redemption-service)", [
        ("Redemptions held for review, by rule", "ops", "timeseries", [
            ("{{reason}}", f"sum by (reason) (rate(rewards_review_holds_total[{R}]))")]),
        ("Holds decided, by outcome (expired: no operator decided in REVIEW_HOLD_SECONDS)", "ops", "timeseries", [
            ("{{outcome}}", f"sum by (outcome) (rate(rewards_review_decisions_total[{R}]))")]),
    ]),
    ("Wallet lots (wallet-service)", [
        ("Lots and points expired by the sweep", "ops", "timeseries", [
            ("lots", f"sum(rate(rewards_wallet_lots_expired_total[{R}]))"),
            ("points (minor units)", f"sum(rate(rewards_wallet_points_expired_total[{R}]))")]),
        ("Debits run again behind the account's lock", "ops", "timeseries", [
            ("debits", f"sum(rate(rewards_wallet_debits_run_again_total[{R}]))")]),
    ]),
    ("Databases", [
        ("Connection pools", "none", "timeseries", [
            ("{{service}} {{state}}", "sum by (service, state) (rewards_db_pool_connections)")]),
        ("Checkouts that waited", "ops", "timeseries", [
            ("{{service}}", f"sum by (service) (rate(rewards_db_pool_checkout_waits_total[{R}]))")]),
        ("Checkouts that timed out", "ops", "timeseries", [
            ("{{service}}", f"sum by (service) (rate(rewards_db_pool_checkout_timeouts_total[{R}]))")]),
    ]),
    ("Invariants (must read 0)", [
        ("Invariant violations", "none", "stat", [
            ("{{service}} {{check}}", "max by (service, check) (rewards_invariant_violations)")]),
        ("Since the last invariant run", "s", "stat", [
            ("{{service}}", "time() - max by (service) (rewards_invariant_last_run_timestamp_seconds)")]),
    ]),
]

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _panel(panel_id: int, panel: Panel, x: int, y: int, width: int) -> dict[str, Any]:
    title, unit, kind, queries = panel
    out: dict[str, Any] = {
        "id": panel_id, "type": kind, "title": title, "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend,
                     **({"instant": True, "format": "table"} if kind == "table" else {})}
                    for i, (legend, expr) in enumerate(queries)],
    }
    if kind == "stat":
        out["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": [
            {"color": "green", "value": None}, {"color": "red", "value": 1}]}
        out["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"}
    return out


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y, panel_id = 0, 1
    for row_title, row in DASHBOARD:
        panels.append({"id": panel_id, "type": "row", "title": row_title, "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        panel_id, y = panel_id + 1, y + 1
        for i, panel in enumerate(row):
            panels.append(_panel(panel_id, panel, x=(i % 3) * 8, y=y + (i // 3) * 8, width=8))
            panel_id += 1
        y += ((len(row) + 2) // 3) * 8
    return {
        "uid": "rewards-platform", "title": "Rewards platform", "tags": ["rewards"], "editable": True,
        "schemaVersion": 39, "version": 1, "refresh": "30s", "time": {"from": "now-3h", "to": "now"},
        "timezone": "", "graphTooltip": 1,
        "templating": {"list": [{"name": "datasource", "label": "Prometheus", "type": "datasource",
                                 "query": "prometheus", "current": {}, "hide": 0}]},
        "annotations": {"list": []},
        "links": [{"title": "Runbook", "type": "link", "url": "docs/runbook.md"}],
        "panels": panels,
    }


def dashboard_json() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main() -> None:
    TARGET.write_text(prometheus_rule(SOURCE.read_text()))
    DASHBOARD_FILE.write_text(dashboard_json())
    print(f"wrote {TARGET} and {DASHBOARD_FILE}")


if __name__ == "__main__":
    main()
