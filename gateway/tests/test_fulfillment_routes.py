"""The operators' fulfillment routes (code pools, jobs, shipments) and the providers' callback, against the
in-process fake FulfillmentService: what each route sends upstream, what it answers, and how it refuses."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime

import grpc
import pytest
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.errors import DomainError, ErrorCode

from .conftest import open_gateway, settings_for

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id", "requestId"}
SECRET_CODE = "SECRET-CODE-4242"


def assert_problem(reply, status: int, code: str) -> dict:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status and body["code"] == code
    assert body["requestId"] == reply.headers["x-request-id"]
    return body


def a_job(**fields) -> fulfillment_pb2.Job:
    values = dict(redemption_id="rd_1", item_id="mug", strategy="physical", state=fulfillment_pb2.JOB_STATE_WAITING,
                  attempts=3, last_error="provider timed out", delivery_status="SHIPPED",
                  tracking_number="1Z999")
    values.update(fields)
    job = fulfillment_pb2.Job(**values)
    job.next_attempt_at.FromSeconds(1_700_000_600)
    job.created_at.FromSeconds(1_700_000_000)
    job.updated_at.FromSeconds(1_700_000_300)
    return job


JOB_JSON = {"redemptionId": "rd_1", "itemId": "mug", "strategy": "physical", "state": "WAITING", "attempts": 3,
            "lastError": "provider timed out", "nextAttemptAt": "2023-11-14T22:23:20Z",
            "deliveryStatus": "SHIPPED", "trackingNumber": "1Z999", "createdAt": "2023-11-14T22:13:20Z",
            "updatedAt": "2023-11-14T22:18:20Z"}


def uploaded(fake_services) -> fulfillment_pb2.UploadCodesRequest:
    requests = fake_services.requests("UploadCodes")
    assert len(requests) == 1
    return requests[0]


def csv_headers(gw) -> dict[str, str]:
    return {**gw.admin(), "content-type": "text/csv; charset=utf-8"}


# ---- uploads -------------------------------------------------------------------------------------------------

async def test_a_json_upload_sends_the_codes_in_the_credentials_scope(gateway, fake_services):
    fake_services.on("UploadCodes", fulfillment_pb2.UploadCodesResponse(added=2, duplicates=1))
    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=gateway.admin(), json={"codes": [
        {"code": " ABCD-1234 ", "pin": "9999", "expiresAt": "2030-01-31T23:59:59+01:00"},
        {"code": "EFGH-5678"},
        {"code": "IJKL-0000", "pin": None, "expiresAt": None}]})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"added": 2, "duplicates": 1}
    sent = uploaded(fake_services)
    assert (sent.scope.tenant_id, sent.scope.environment, sent.item_id) == \
        (gateway.tenant, common_pb2.ENVIRONMENT_SANDBOX, "gift-card")
    assert [(c.code, c.pin, c.HasField("expires_at")) for c in sent.codes] == \
        [("ABCD-1234", "9999", True), ("EFGH-5678", "", False), ("IJKL-0000", "", False)]
    assert sent.codes[0].expires_at.ToDatetime(tzinfo=UTC) == \
        datetime(2030, 1, 31, 22, 59, 59, tzinfo=UTC)
    md = fake_services.calls[-1].metadata
    assert (md["x-tenant-id"], md["x-environment"]) == (gateway.tenant, "sandbox")


async def test_a_csv_upload_reads_every_line_after_the_header(gateway, fake_services):
    fake_services.on("UploadCodes", fulfillment_pb2.UploadCodesResponse(added=3, duplicates=0))
    body = ("\ufeffcode,pin,expires_at\r\n"
            "ABCD-1234,9999,2030-01-31T23:59:59Z\r\n"
            "\r\n"
            '"EF,GH",,\r\n'
            "IJKL-0000, 42 ,\r\n").encode()
    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=csv_headers(gateway), content=body)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"added": 3, "duplicates": 0}
    sent = uploaded(fake_services)
    assert [(c.code, c.pin, c.HasField("expires_at")) for c in sent.codes] == \
        [("ABCD-1234", "9999", True), ("EF,GH", "", False), ("IJKL-0000", "42", False)]


async def test_a_csv_header_may_leave_out_the_optional_columns(gateway, fake_services):
    fake_services.on("UploadCodes", fulfillment_pb2.UploadCodesResponse(added=2))
    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=csv_headers(gateway),
                                      content=b"CODE\nAAA\nBBB\n")
    assert reply.status_code == 200, reply.text
    assert [c.code for c in uploaded(fake_services).codes] == ["AAA", "BBB"]


@pytest.mark.parametrize(("body", "line", "words"), [
    (f"code,pin,expires_at\nAAA,1,\n{SECRET_CODE},2\n", 3, "expected 3 fields"),
    (f"code,pin,expires_at\nAAA,1,\nBBB,2,\n{SECRET_CODE},3,not-a-date\n", 4, "expires_at"),
    (f"code,pin,expires_at\nAAA,1,\n{SECRET_CODE},3,2030-01-31T23:59:59\n", 3, "timezone"),
    ("code,pin,expires_at\nAAA,1,\n\n   ,2,\n", 4, "code"),
    (f"code,pin,expires_at\n{'X' * 201},1,\n", 2, "code"),
    (f"code,pin,expires_at\nAAA,{'9' * 201},\n", 2, "pin"),
    (f'code,pin,expires_at\nAAA,1,\n"{SECRET_CODE}\nstill open,1,\n', 3, "malformed CSV"),
    (f'code,pin,expires_at\n"A"{SECRET_CODE},1,\n', 2, "malformed CSV"),
    (f"{SECRET_CODE},1,\nAAA,1,\n", 1, "header"),
    ("code,code\nAAA,BBB\n", 1, "header"),
    ("code,pin,expires_at,extra\nAAA,1,,x\n", 1, "header"),
])
async def test_a_malformed_csv_line_is_named_and_nothing_is_sent(gateway, fake_services, body, line, words):
    fake_services.on("UploadCodes", fulfillment_pb2.UploadCodesResponse(added=1))
    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=csv_headers(gateway),
                                      content=body.encode())
    problem = assert_problem(reply, 422, "VALIDATION_ERROR")
    assert problem["detail"].startswith(f"line {line}: "), problem["detail"]
    assert words in problem["detail"]
    assert SECRET_CODE not in reply.text
    assert fake_services.requests("UploadCodes") == []


@pytest.mark.parametrize(("body", "words"), [
    (b"", "no codes"),
    (b"code,pin,expires_at\n\n", "no codes"),
    (b"code,pin\n\xff\xfe,1\n", "not UTF-8"),
])
async def test_a_csv_without_codes_is_refused(gateway, fake_services, body, words):
    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=csv_headers(gateway), content=body)
    assert words in assert_problem(reply, 422, "VALIDATION_ERROR")["detail"]
    assert fake_services.requests("UploadCodes") == []


@pytest.mark.parametrize(("body", "words"), [
    ({"codes": []}, "codes"),
    ({}, "codes"),
    ({"codes": [{"code": "AAA"}, {"code": ""}]}, "codes.1.code"),
    ({"codes": [{"code": SECRET_CODE + "X" * 200}]}, "codes.0.code"),
    ({"codes": [{"code": SECRET_CODE, "expiresAt": "2030-01-31T23:59:59"}]}, "codes.0.expiresAt"),
    ([SECRET_CODE], "dictionary"),
])
async def test_a_bad_json_upload_is_422_without_echoing_codes(gateway, fake_services, body, words):
    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=gateway.admin(), json=body)
    assert words in assert_problem(reply, 422, "VALIDATION_ERROR")["detail"]
    assert SECRET_CODE not in reply.text
    assert fake_services.requests("UploadCodes") == []


async def test_invalid_json_and_other_media_types_are_refused(gateway, fake_services):
    broken = await gateway.client.post("/v1/admin/items/gift-card/codes", content=b'{"codes": [',
                                       headers={**gateway.admin(), "content-type": "application/json"})
    assert "not valid JSON" in assert_problem(broken, 422, "VALIDATION_ERROR")["detail"]
    xml = await gateway.client.post("/v1/admin/items/gift-card/codes", content=b"<codes/>",
                                    headers={**gateway.admin(), "content-type": "application/xml"})
    assert_problem(xml, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert fake_services.requests("UploadCodes") == []


async def test_uploads_are_bounded_to_ten_thousand_codes_and_two_megabytes(gateway, fake_services):
    fake_services.on("UploadCodes", lambda r: fulfillment_pb2.UploadCodesResponse(added=len(r.codes)))
    url = "/v1/admin/items/gift-card/codes"
    at_bound = await gateway.client.post(url, headers=gateway.admin(),
                                         json={"codes": [{"code": f"C{i}"} for i in range(10_000)]})
    assert at_bound.json() == {"added": 10_000, "duplicates": 0}

    over_json = await gateway.client.post(url, headers=gateway.admin(),
                                          json={"codes": [{"code": f"C{i}"} for i in range(10_001)]})
    assert "10000 codes" in assert_problem(over_json, 413, "PAYLOAD_TOO_LARGE")["detail"]
    csv_body = "code\n" + "".join(f"C{i}\n" for i in range(10_001))
    over_csv = await gateway.client.post(url, headers=csv_headers(gateway), content=csv_body.encode())
    assert_problem(over_csv, 413, "PAYLOAD_TOO_LARGE")

    too_big = b"code\n" + b"X" * (2 * 1024 * 1024)
    declared = await gateway.client.post(url, headers=csv_headers(gateway), content=too_big)
    assert "2097152 bytes" in assert_problem(declared, 413, "PAYLOAD_TOO_LARGE")["detail"]

    async def chunks():  # no Content-Length: the bound holds while streaming
        for _ in range(40):
            yield b"X" * 65536
    streamed = await gateway.client.post(url, headers=csv_headers(gateway), content=chunks())
    assert_problem(streamed, 413, "PAYLOAD_TOO_LARGE")
    assert len(fake_services.requests("UploadCodes")) == 1


async def test_codes_never_reach_the_logs(gateway, fake_services, caplog):
    caplog.set_level(logging.DEBUG)
    fake_services.on("UploadCodes", fulfillment_pb2.UploadCodesResponse(added=1))
    ok = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=gateway.admin(),
                                   json={"codes": [{"code": SECRET_CODE, "pin": "PIN-777"}]})
    assert ok.status_code == 200
    fake_services.on("UploadCodes", DomainError(ErrorCode.INTERNAL, "database down"))
    failed = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=csv_headers(gateway),
                                       content=f"code,pin\n{SECRET_CODE},PIN-777\n".encode())
    assert_problem(failed, 500, "INTERNAL")
    assert any(r.getMessage() == "codes uploaded" for r in caplog.records)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert SECRET_CODE not in logged and "PIN-777" not in logged


# ---- pools and jobs ------------------------------------------------------------------------------------------

async def test_the_pool_stats_of_an_item(gateway, fake_services):
    fake_services.on("GetCodePool", fulfillment_pb2.GetCodePoolResponse(
        available=3, assigned=40, expired=2, low_threshold=10, low=True, masked_sample=["AB****34", "EF****78"]))
    reply = await gateway.client.get("/v1/admin/items/gift-card/codes", headers=gateway.admin())
    assert reply.status_code == 200
    assert reply.json() == {"available": 3, "assigned": 40, "expired": 2, "lowThreshold": 10, "ownThreshold": False,
                            "low": True, "maskedSample": ["AB****34", "EF****78"]}
    sent = fake_services.requests("GetCodePool")[0]
    assert (sent.scope.tenant_id, sent.item_id) == (gateway.tenant, "gift-card")


async def test_a_pools_threshold_is_set_and_cleared_and_the_pool_answered(gateway, fake_services):
    fake_services.on("SetCodePoolThreshold", fulfillment_pb2.SetCodePoolThresholdResponse(low_threshold=4,
                                                                                           own_threshold=True))
    fake_services.on("GetCodePool", fulfillment_pb2.GetCodePoolResponse(available=3, low_threshold=4, low=True,
                                                                        own_threshold=True))
    path = "/v1/admin/items/gift-card/codes/threshold"
    reply = await gateway.client.put(path, headers=gateway.admin(), json={"lowThreshold": 4})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["lowThreshold"], reply.json()["ownThreshold"], reply.json()["low"]) == (4, True, True)
    cleared = await gateway.client.put(path, headers=gateway.admin(), json={"lowThreshold": None})
    assert cleared.status_code == 200, cleared.text
    first, second = fake_services.requests("SetCodePoolThreshold")
    assert (first.scope.tenant_id, first.item_id, first.low_threshold) == (gateway.tenant, "gift-card", 4)
    assert first.HasField("low_threshold") and not second.HasField("low_threshold")


@pytest.mark.parametrize("body", [{"lowThreshold": -1}, {"lowThreshold": "many"}, {}])
async def test_a_bad_threshold_is_422_and_sends_nothing(gateway, fake_services, body):
    reply = await gateway.client.put("/v1/admin/items/gift-card/codes/threshold", headers=gateway.admin(), json=body)
    assert_problem(reply, 422, "VALIDATION_ERROR")
    assert fake_services.calls == []


async def test_jobs_are_listed_with_their_filters_and_cursor(gateway, fake_services):
    fake_services.on("ListJobs", lambda r: fulfillment_pb2.ListJobsResponse(
        jobs=[a_job()], next_page_token="" if r.page_token else "page2"))
    first = await gateway.client.get("/v1/admin/fulfillment/jobs", headers=gateway.admin(),
                                     params={"state": "waiting", "stuck": "true", "limit": 5})
    assert first.status_code == 200, first.text
    assert first.json() == {"jobs": [JOB_JSON], "nextCursor": "page2"}
    second = await gateway.client.get("/v1/admin/fulfillment/jobs", headers=gateway.admin(),
                                      params={"cursor": "page2"})
    assert second.json()["nextCursor"] is None
    bare = fulfillment_pb2.Job(redemption_id="rd_2", item_id="v", strategy="code_pool",
                               state=fulfillment_pb2.JOB_STATE_PENDING)
    fake_services.on("ListJobs", fulfillment_pb2.ListJobsResponse(jobs=[bare]))
    third = await gateway.client.get("/v1/admin/fulfillment/jobs", headers=gateway.admin())
    assert third.json()["jobs"][0] == {
        "redemptionId": "rd_2", "itemId": "v", "strategy": "code_pool", "state": "PENDING", "attempts": 0,
        "lastError": None, "nextAttemptAt": None, "deliveryStatus": None, "trackingNumber": None,
        "createdAt": None, "updatedAt": None}
    sent = fake_services.requests("ListJobs")
    assert (sent[0].state, sent[0].stuck_only, sent[0].page_size, sent[0].page_token) == \
        (fulfillment_pb2.JOB_STATE_WAITING, True, 5, "")
    assert (sent[1].state, sent[1].stuck_only, sent[1].page_size, sent[1].page_token) == \
        (fulfillment_pb2.JOB_STATE_UNSPECIFIED, False, 20, "page2")
    assert sent[0].scope.tenant_id == gateway.tenant


@pytest.mark.parametrize("params", [{"state": "stuck"}, {"limit": 0}, {"limit": 101}, {"stuck": "maybe"}])
async def test_bad_job_filters_are_422(gateway, fake_services, params):
    reply = await gateway.client.get("/v1/admin/fulfillment/jobs", headers=gateway.admin(), params=params)
    assert_problem(reply, 422, "VALIDATION_ERROR")
    assert fake_services.requests("ListJobs") == []


async def test_retry_fail_and_advance_map_to_their_rpcs(gateway, fake_services):
    for rpc, response in (("RetryJob", fulfillment_pb2.RetryJobResponse),
                          ("FailJob", fulfillment_pb2.FailJobResponse),
                          ("AdvanceJob", fulfillment_pb2.AdvanceJobResponse)):
        fake_services.on(rpc, response(job=a_job()))
    base = "/v1/admin/fulfillment/jobs/rd_1"
    retried = await gateway.client.post(f"{base}/retry", headers=gateway.admin())
    failed = await gateway.client.post(f"{base}/fail", headers=gateway.admin(), json={"reason": "vendor closed"})
    advanced = await gateway.client.post(f"{base}/advance", headers=gateway.admin(),
                                         json={"outcome": "shipped", "trackingNumber": "1Z999", "note": "DHL"})
    for reply in (retried, failed, advanced):
        assert reply.status_code == 200, reply.text
        assert reply.json() == JOB_JSON
    retry = fake_services.requests("RetryJob")[0]
    assert (retry.scope.tenant_id, retry.scope.environment, retry.redemption_id) == \
        (gateway.tenant, common_pb2.ENVIRONMENT_SANDBOX, "rd_1")
    fail = fake_services.requests("FailJob")[0]
    assert (fail.scope.tenant_id, fail.redemption_id, fail.reason) == (gateway.tenant, "rd_1", "vendor closed")
    advance = fake_services.requests("AdvanceJob")[0]
    assert (advance.scope.tenant_id, advance.redemption_id, advance.outcome, advance.tracking_number,
            advance.note) == (gateway.tenant, "rd_1", fulfillment_pb2.RESULT_OUTCOME_SHIPPED, "1Z999", "DHL")


@pytest.mark.parametrize(("outcome", "value"), [
    ("AWAITING_VENDOR", fulfillment_pb2.RESULT_OUTCOME_AWAITING_VENDOR),
    ("AWAITING_CUSTOMER", fulfillment_pb2.RESULT_OUTCOME_AWAITING_CUSTOMER),
    ("PURCHASED", fulfillment_pb2.RESULT_OUTCOME_PURCHASED),
    ("COMPLETED", fulfillment_pb2.RESULT_OUTCOME_COMPLETED),
    ("FAILED", fulfillment_pb2.RESULT_OUTCOME_FAILED),
    ("DELIVERED", fulfillment_pb2.RESULT_OUTCOME_DELIVERED),
])
async def test_every_outcome_reaches_advance_job(gateway, fake_services, outcome, value):
    fake_services.on("AdvanceJob", fulfillment_pb2.AdvanceJobResponse(job=a_job()))
    reply = await gateway.client.post("/v1/admin/fulfillment/jobs/rd_1/advance", headers=gateway.admin(),
                                      json={"outcome": outcome})
    assert reply.status_code == 200, reply.text
    sent = fake_services.requests("AdvanceJob")[0]
    assert (sent.outcome, sent.tracking_number, sent.note) == (value, "", "")


async def test_ship_and_deliver_are_advance_job(gateway, fake_services):
    fake_services.on("AdvanceJob", fulfillment_pb2.AdvanceJobResponse(job=a_job()))
    shipped = await gateway.client.post("/v1/admin/redemptions/rd_7/ship", headers=gateway.admin(),
                                        json={"trackingNumber": "1Z999"})
    delivered = await gateway.client.post("/v1/admin/redemptions/rd_7/deliver", headers=gateway.admin())
    assert shipped.json() == delivered.json() == JOB_JSON
    ship, deliver = fake_services.requests("AdvanceJob")
    assert (ship.redemption_id, ship.outcome, ship.tracking_number, ship.scope.tenant_id) == \
        ("rd_7", fulfillment_pb2.RESULT_OUTCOME_SHIPPED, "1Z999", gateway.tenant)
    assert (deliver.redemption_id, deliver.outcome) == ("rd_7", fulfillment_pb2.RESULT_OUTCOME_DELIVERED)


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/admin/fulfillment/jobs/rd_1/fail", {}),
    ("/v1/admin/fulfillment/jobs/rd_1/fail", {"reason": ""}),
    ("/v1/admin/fulfillment/jobs/rd_1/advance", {"outcome": "LOST"}),
    ("/v1/admin/fulfillment/jobs/rd_1/advance", {}),
    ("/v1/admin/fulfillment/jobs/rd_1/advance", {"outcome": "SHIPPED", "trackingNumber": "1" * 129}),
    ("/v1/admin/redemptions/rd_1/ship", {}),
])
async def test_bad_job_bodies_are_422_and_send_nothing(gateway, fake_services, path, body):
    reply = await gateway.client.post(path, headers=gateway.admin(), json=body)
    assert_problem(reply, 422, "VALIDATION_ERROR")
    assert fake_services.calls == []


@pytest.mark.parametrize(("method", "path", "rpc", "error", "status", "code"), [
    ("post", "/v1/admin/fulfillment/jobs/rd_9/retry", "RetryJob",
     DomainError(ErrorCode.REDEMPTION_NOT_FOUND, "no job rd_9"), 404, "REDEMPTION_NOT_FOUND"),
    ("post", "/v1/admin/redemptions/rd_9/deliver", "AdvanceJob",
     DomainError(ErrorCode.VALIDATION_ERROR, "a code_pool job is not shipped"), 422, "VALIDATION_ERROR"),
    ("get", "/v1/admin/items/nope/codes", "GetCodePool",
     DomainError(ErrorCode.ITEM_NOT_FOUND, "no item nope"), 404, "ITEM_NOT_FOUND"),
    ("get", "/v1/admin/fulfillment/jobs", "ListJobs", grpc.StatusCode.UNAVAILABLE, 503, "UNAVAILABLE"),
    ("post", "/v1/admin/fulfillment/jobs/rd_9/retry", "RetryJob", grpc.StatusCode.UNIMPLEMENTED, 500, "INTERNAL"),
])
async def test_service_errors_map_to_problems(gateway, fake_services, method, path, rpc, error, status, code):
    fake_services.on(rpc, error)
    reply = await getattr(gateway.client, method)(path, headers=gateway.admin())
    body = assert_problem(reply, status, code)
    if isinstance(error, DomainError) and status < 500:
        assert body["detail"] == error.message


async def test_a_rejected_upload_maps_the_services_reason(gateway, fake_services):
    fake_services.on("UploadCodes", DomainError(ErrorCode.VALIDATION_ERROR, "codes[0].expires_at is in the past"))
    reply = await gateway.client.post("/v1/admin/items/gift-card/codes", headers=gateway.admin(),
                                      json={"codes": [{"code": "AAA", "expiresAt": "2031-01-01T00:00:00Z"}]})
    assert assert_problem(reply, 422, "VALIDATION_ERROR")["detail"] == "codes[0].expires_at is in the past"
    assert len(fake_services.requests("UploadCodes")) == 1  # a mutation is never retried


ADMIN_ROUTES = [
    ("post", "/v1/admin/items/gift-card/codes", {"codes": [{"code": "AAA"}]}),
    ("get", "/v1/admin/items/gift-card/codes", None),
    ("get", "/v1/admin/fulfillment/jobs", None),
    ("post", "/v1/admin/fulfillment/jobs/rd_1/retry", None),
    ("post", "/v1/admin/fulfillment/jobs/rd_1/fail", {"reason": "x"}),
    ("post", "/v1/admin/fulfillment/jobs/rd_1/advance", {"outcome": "DELIVERED"}),
    ("post", "/v1/admin/redemptions/rd_1/ship", {"trackingNumber": "1Z"}),
    ("post", "/v1/admin/redemptions/rd_1/deliver", None),
    ("put", "/v1/admin/items/gift-card/codes/threshold", {"lowThreshold": 3}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
async def test_admin_routes_refuse_other_callers(gateway, fake_services, method, path, body):
    async def send(headers: dict[str, str]):
        kwargs = {"headers": headers} | ({"json": body} if body is not None else {})
        return await gateway.client.request(method.upper(), path, **kwargs)

    assert_problem(await send({"x-api-key": gateway.player_key}), 403, "FORBIDDEN")
    token = await gateway.token("alice")
    assert_problem(await send({"Authorization": f"Bearer {token}"}), 403, "FORBIDDEN")
    assert_problem(await send({}), 401, "UNAUTHENTICATED")
    assert fake_services.calls == []


async def test_every_call_has_the_upstream_deadline(gateway_database, fake_services):
    async def slow(request):
        await asyncio.sleep(1.5)
        return fulfillment_pb2.AdvanceJobResponse(job=a_job())

    fake_services.handlers["AdvanceJob"] = slow
    async for gw in open_gateway(settings_for(gateway_database, fake_services.address,
                                              upstream_timeout_seconds=0.3)):
        started = time.monotonic()
        reply = await gw.client.post("/v1/admin/redemptions/rd_1/deliver", headers=gw.admin())
        assert_problem(reply, 503, "UNAVAILABLE")
        assert time.monotonic() - started < 1.2


# ---- providers' callbacks ------------------------------------------------------------------------------------

async def test_a_callback_forwards_the_raw_bytes_and_signature_headers(gateway, fake_services):
    fake_services.on("ProviderCallback", fulfillment_pb2.ProviderCallbackResponse(job=a_job()))
    raw = b'{ "status" :"delivered",\n  "amount": 1.50, "note": "caf\xc3\xa9" }\r\n\x00\xff'
    reply = await gateway.client.post("/v1/fulfillment/callbacks/rd_1", content=raw, headers={
        "content-type": "application/json", "X-Signature": "sha256=abc123", "X-Timestamp": "1700000000"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"status": "ok"}
    call = fake_services.calls[-1]
    assert call.method == "ProviderCallback"
    assert (call.request.redemption_id, call.request.body, call.request.signature, call.request.timestamp) == \
        ("rd_1", raw, "sha256=abc123", "1700000000")
    assert "x-tenant-id" not in call.metadata  # the job decides the tenant, not the caller


async def test_a_callback_with_a_bad_signature_is_401(gateway, fake_services):
    fake_services.on("ProviderCallback", DomainError(ErrorCode.UNAUTHENTICATED, "bad signature"))
    reply = await gateway.client.post("/v1/fulfillment/callbacks/rd_1", content=b"{}",
                                      headers={"X-Signature": "forged", "X-Timestamp": "1700000000"})
    assert assert_problem(reply, 401, "UNAUTHENTICATED")["detail"] == "bad signature"
    fake_services.on("ProviderCallback", DomainError(ErrorCode.REDEMPTION_NOT_FOUND, "no job rd_2"))
    unknown = await gateway.client.post("/v1/fulfillment/callbacks/rd_2", content=b"{}",
                                        headers={"X-Signature": "s", "X-Timestamp": "1"})
    assert_problem(unknown, 404, "REDEMPTION_NOT_FOUND")
    assert len(fake_services.requests("ProviderCallback")) == 2


@pytest.mark.parametrize("headers", [{}, {"X-Signature": "s"}, {"X-Timestamp": "1"}, {"X-Signature": "",
                                                                                       "X-Timestamp": "1"}])
async def test_an_unsigned_callback_is_401_without_a_call(gateway, fake_services, headers):
    reply = await gateway.client.post("/v1/fulfillment/callbacks/rd_1", content=b"{}", headers=headers)
    assert_problem(reply, 401, "UNAUTHENTICATED")
    assert fake_services.calls == []


async def test_a_callback_body_is_bounded_to_64_kilobytes(gateway, fake_services):
    fake_services.on("ProviderCallback", fulfillment_pb2.ProviderCallbackResponse(job=a_job()))
    headers = {"X-Signature": "s", "X-Timestamp": "1"}
    at_bound = await gateway.client.post("/v1/fulfillment/callbacks/rd_1", content=b"x" * 65536, headers=headers)
    assert at_bound.status_code == 200
    over = await gateway.client.post("/v1/fulfillment/callbacks/rd_1", content=b"x" * 65537, headers=headers)
    assert_problem(over, 413, "PAYLOAD_TOO_LARGE")
    assert len(fake_services.requests("ProviderCallback")) == 1


# ---- the document --------------------------------------------------------------------------------------------

async def test_the_openapi_document_lists_the_fulfillment_routes(gateway):
    doc = (await gateway.client.get("/openapi.json")).json()
    expected = {
        ("post", "/v1/admin/items/{itemId}/codes"), ("get", "/v1/admin/items/{itemId}/codes"),
        ("put", "/v1/admin/items/{itemId}/codes/threshold"), ("get", "/v1/admin/fulfillment/jobs"), ("post", "/v1/admin/fulfillment/jobs/{redemptionId}/retry"),
        ("post", "/v1/admin/fulfillment/jobs/{redemptionId}/fail"),
        ("post", "/v1/admin/fulfillment/jobs/{redemptionId}/advance"),
        ("post", "/v1/admin/redemptions/{id}/ship"), ("post", "/v1/admin/redemptions/{id}/deliver"),
        ("post", "/v1/fulfillment/callbacks/{redemptionId}"),
    }
    listed = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert expected <= listed
    upload = doc["paths"]["/v1/admin/items/{itemId}/codes"]["post"]
    assert {"application/json", "text/csv"} <= set(upload["requestBody"]["content"])
    assert "application/problem+json" in upload["responses"]["413"]["content"]
    for name in ("CodePool", "CodeUploadResult", "FulfillmentJob", "FulfillmentJobList", "JobAdvance"):
        assert name in doc["components"]["schemas"]
    assert json.dumps(doc["components"]["schemas"]["JobAdvance"]).count("SHIPPED") == 1
