"""Issue 13, item 2 on the real processes: with tracing on (the standard OTEL_* settings), one trace spans the
gateway, redemption, catalog, wallet and fulfillment for a code-pool redemption (fulfilled inside Redeem by a gRPC
call) and for a webhook redemption completed over NATS (the job and its result each a consumer span of the same
trace, joined through the outbox rows and the NATS headers). The services export OTLP over HTTP to a receiver this
test runs in-process; the trace id of a request is read from the gateway's access line for its request id."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from local_runner.demo import seed
from local_runner.invariants import first_truthy
from local_runner.platform import Platform
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

pytestmark = pytest.mark.e2e

FIVE = {"gateway", "redemption-service", "catalog-service", "wallet-service", "fulfillment-service"}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: int
    trace_id: str


class OtlpReceiver:
    """A tiny OTLP/HTTP trace receiver: POST /v1/traces with an ExportTraceServiceRequest (protobuf)."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                receiver.add(request)
                answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        found = []
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            service = attributes.get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(ReceivedSpan(service, span.name, span.kind, span.trace_id.hex()))
        with self.lock:
            self.spans.extend(found)

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace_id]


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    r = OtlpReceiver()
    r.thread.start()
    yield r
    r.server.shutdown()


@pytest.fixture(scope="module")
def traced(receiver: OtlpReceiver, another_platform: Callable[..., Any]) -> Iterator[Platform]:
    env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
           "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_TRACES_SAMPLER": "parentbased_always_on"}
    with another_platform(env) as p:
        yield p


@pytest.fixture(scope="module")
def traced_operator(traced: Platform, operator_of: Callable[..., Any]) -> Iterator[Any]:
    op = operator_of(traced, seed(traced))
    yield op
    op.http.close()




def _log_lines(platform: Platform, service: str) -> list[dict[str, Any]]:
    lines = []
    for raw in (platform.logs / f"{service}.log").read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
    return lines


def _trace_of_request(platform: Platform, request_id: str) -> str:
    """The trace id of the gateway's access line for request_id."""
    def find() -> str | None:
        for line in _log_lines(platform, "gateway"):
            if line.get("request_id") == request_id and line.get("msg") == "request served":
                return str(line["trace_id"])
        return None

    return str(first_truthy(find, 10, f"the gateway's access line of {request_id}"))


def _services_of(receiver: OtlpReceiver, trace_id: str, names: set[str] = FIVE) -> set[str]:
    def services() -> set[str] | None:
        found = {x.service for x in receiver.of_trace(trace_id)}
        return found if names <= found else None

    return first_truthy(services, 30, f"spans of {sorted(names)} in trace {trace_id}")


def _redeem(traced: Platform, op: Any, item_id: str) -> httpx.Response:
    _, auth = op.new_player(gems=100)
    with httpx.Client(base_url=traced.gateway_url, timeout=20.0) as client:
        r = client.post("/v1/redemptions", headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
                        json={"offer": item_id})
        assert r.status_code == 201, r.text
        if r.json()["status"] != "COMPLETED":
            rid = r.json()["id"]
            first_truthy(lambda: client.get(f"/v1/redemptions/{rid}", headers=auth).json()["status"] == "COMPLETED",
                        60, f"redemption {rid} COMPLETED")
    return r


def test_one_trace_spans_all_five_services_for_a_code_pool_redemption(traced, traced_operator, receiver) -> None:
    item = traced_operator.create_item(fulfillmentStrategy="code_pool", stock=5)
    codes = [{"code": f"TRACE-{uuid.uuid4().hex[:12]}", "pin": "4321"} for _ in range(2)]
    assert traced_operator.http.post(f"/v1/admin/items/{item['id']}/codes", json={"codes": codes}).status_code == 200
    r = _redeem(traced, traced_operator, item["id"])
    assert r.json()["status"] == "COMPLETED", r.text
    trace_id = _trace_of_request(traced, r.headers["x-request-id"])

    # The five services (and the events service too, once the redemption's events reach its log).
    assert FIVE <= _services_of(receiver, trace_id) <= FIVE | {"events-service"}
    spans = receiver.of_trace(trace_id)
    names = {(s.service, s.name) for s in spans}
    # The HTTP span, the calls (client and server side) and SQL statements under them.
    assert ("gateway", "POST /v1/redemptions") in names, names
    assert ("redemption-service", "/rewards.redemption.v1.RedemptionService/Redeem") in names
    assert any(s.service == "fulfillment-service" and s.name.endswith("/FulfilNow") for s in spans), names
    assert any(s.service == "wallet-service" and s.name.endswith("/DebitPoints") for s in spans), names
    assert any(s.service == "catalog-service" and s.name.endswith("/ReserveStock") for s in spans), names
    assert {s.service for s in spans if s.kind == 3} >= {"gateway", "redemption-service"}   # SPAN_KIND_CLIENT
    # An asyncpg statement's span is named by its first word.
    sql = {s.service for s in spans if s.name.rstrip(";").upper() in {"SELECT", "WITH", "INSERT", "UPDATE", "BEGIN"}}
    assert {"redemption-service", "catalog-service", "wallet-service", "fulfillment-service"} <= sql, names


def test_one_trace_spans_all_five_services_for_a_webhook_redemption_completed_over_nats(
        traced, traced_operator, receiver) -> None:
    partner = f"http://127.0.0.1:{traced.s.partner_port}"
    item = traced_operator.create_item(fulfillmentStrategy="webhook", fulfillmentConfig={"url": f"{partner}/vouchers"})
    r = _redeem(traced, traced_operator, item["id"])
    trace_id = _trace_of_request(traced, r.headers["x-request-id"])

    # The five services (and the events service too, once the redemption's events reach its log).
    assert FIVE <= _services_of(receiver, trace_id) <= FIVE | {"events-service"}
    # Not by a gRPC call: fulfillment-service took the job from NATS and redemption-service its result, each a
    # consumer span (SPAN_KIND_CONSUMER) of the redemption's trace.
    def consumer_spans() -> set[tuple[str, str]] | None:
        found = {(s.service, s.name) for s in receiver.of_trace(trace_id) if s.kind == 5}
        return found if len(found) >= 2 else None

    consumers = first_truthy(consumer_spans, 30, "both consumer spans")
    assert ("fulfillment-service", "rewards.fulfillment.requested receive") in consumers, consumers
    assert ("redemption-service", "rewards.fulfillment.result receive") in consumers, consumers
    assert not any(s.service == "fulfillment-service" and s.name.endswith("/FulfilNow")
                   for s in receiver.of_trace(trace_id))
