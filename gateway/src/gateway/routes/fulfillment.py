"""Fulfillment routes: operators' code pools and jobs (admin credential; tenant and environment from it), and the
providers' signed callbacks (public: the fulfillment service checks the HMAC signature against the job's provider,
and the tenant comes from the job, never from the caller).

Voucher codes are secrets: they are never logged, and no error message repeats one."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from pydantic import ValidationError
from rewards.common.v1 import common_pb2
from rewards.fulfillment.v1 import fulfillment_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope

from gateway.auth import AdminCaller
from gateway.openapi import BACKEND, PUBLIC, problems, security
from gateway.repository import Credential
from gateway.routes import Cursor, Limit, Services, next_cursor
from gateway.schemas import (
    JOB_STATE_VALUES,
    MAX_CODES_PER_UPLOAD,
    OUTCOME_VALUES,
    CallbackReceipt,
    CodeInput,
    CodePool,
    CodePoolThreshold,
    CodeUpload,
    CodeUploadResult,
    FulfillmentJob,
    FulfillmentJobList,
    JobAdvance,
    JobFailure,
    Shipment,
)

log = logging.getLogger("gateway.fulfillment")

UPLOAD_CODES_PATH = "/v1/admin/items/{itemId}/codes"   # its body limit is MAX_UPLOAD_BODY_BYTES (2 MiB by default)
MAX_CALLBACK_BYTES = 64 * 1024
CSV_COLUMNS = ("code", "pin", "expires_at")
JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv"
# Enough to fix a file; thousands of messages for a file of bad lines help nobody.
MAX_REPORTED_ERRORS = 5

router = APIRouter()
ADMIN = security(BACKEND)
_FORBIDDEN = "FORBIDDEN: not an admin credential"

ItemId = Annotated[str, Path(alias="itemId", min_length=1, max_length=128)]
JobId = Annotated[str, Path(alias="redemptionId", min_length=1, max_length=128)]
RedemptionId = Annotated[str, Path(alias="id", min_length=1, max_length=128)]


def _scope(caller: Credential) -> common_pb2.Scope:
    return Scope(caller.tenant_id, caller.environment).to_proto()


# ---- request bodies read by hand (two media types; raw bytes for signatures) ---------------------------------

def _too_large(detail: str) -> HTTPException:
    return HTTPException(413, detail)  # app._http_error answers it as problem+json PAYLOAD_TOO_LARGE


async def bounded_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be longer than limit (never buffered past it)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(f"the body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(f"the body is larger than {limit} bytes")
    return bytes(body)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _invalid(detail: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR, detail)


def _too_many_codes() -> HTTPException:
    return _too_large(f"at most {MAX_CODES_PER_UPLOAD} codes per upload")


def _describe(exc: ValidationError, where: str = "", names: dict[str, str] | None = None) -> str:
    """Pydantic's errors without the offending input (it may be a code)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for e in errors[:MAX_REPORTED_ERRORS]:
        field = ".".join((names or {}).get(str(p), str(p)) for p in e["loc"])
        parts.append(f"{where}{field + ': ' if field else ''}{e['msg']}")
    if len(errors) > MAX_REPORTED_ERRORS:
        parts.append(f"and {len(errors) - MAX_REPORTED_ERRORS} more")
    return "; ".join(parts)


def codes_from_json(body: bytes) -> list[CodeInput]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _invalid("the body is not valid JSON") from None
    if isinstance(data, dict) and isinstance(data.get("codes"), list) and len(data["codes"]) > MAX_CODES_PER_UPLOAD:
        raise _too_many_codes()
    try:
        return CodeUpload.model_validate(data).codes
    except ValidationError as exc:
        raise _invalid(_describe(exc)) from None


_CSV_NAMES = {"expiresAt": "expires_at"}


def _csv_header(row: list[str]) -> tuple[str, ...]:
    columns = tuple(name.strip().lower() for name in row)
    if "code" not in columns or not set(columns) <= set(CSV_COLUMNS) or len(set(columns)) != len(columns):
        raise _invalid("line 1: the first line must be the header code,pin,expires_at (pin and expires_at may be "
                       "left out)")
    return columns


def codes_from_csv(body: bytes) -> list[CodeInput]:
    """Lines code,pin,expires_at after a header line; blank lines are skipped. Errors name the line (1 is the
    header); a quoted field may span lines, and its record is named by its first line."""
    try:
        text = body.decode("utf-8-sig")  # spreadsheets often write a byte-order mark
    except UnicodeDecodeError as exc:
        raise _invalid(f"the CSV is not UTF-8 (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: tuple[str, ...] | None = None
    codes: list[CodeInput] = []
    end = 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not any(field.strip() for field in row):
                continue
            if columns is None:
                columns = _csv_header(row)
                continue
            if len(row) != len(columns):
                raise _invalid(f"line {start}: expected {len(columns)} fields ({','.join(columns)}), "
                               f"found {len(row)}")
            if len(codes) == MAX_CODES_PER_UPLOAD:
                raise _too_many_codes()
            # An empty pin or expires_at means none; an empty code is reported as too short.
            fields = {name: value for name, value in zip(columns, row) if name == "code" or value.strip()}
            try:
                codes.append(CodeInput.model_validate(fields))
            except ValidationError as exc:
                raise _invalid(_describe(exc, f"line {start}: ", _CSV_NAMES)) from None
    except csv.Error as exc:
        # The record that failed starts on the line after the last one read.
        raise _invalid(f"line {end + 1}: malformed CSV ({exc})") from None
    if not codes:
        raise _invalid("the CSV has no codes: a header line code,pin,expires_at, then one code a line")
    return codes


def _code_input_schema() -> dict[str, Any]:
    return CodeInput.model_json_schema(by_alias=True)


_UPLOAD_DOC: dict[str, Any] = {
    **ADMIN,
    "requestBody": {
        "required": True,
        "description": f"At most {MAX_CODES_PER_UPLOAD} codes and MAX_UPLOAD_BODY_BYTES (2 MiB by default; else "
                       "413).",
        "content": {
            JSON_MEDIA_TYPE: {"schema": {
                "type": "object", "required": ["codes"],
                "properties": {"codes": {"type": "array", "minItems": 1, "maxItems": MAX_CODES_PER_UPLOAD,
                                         "items": _code_input_schema()}}}},
            # format binary: a file to upload (Swagger UI offers a file picker; generated clients take a file).
            CSV_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"},
                             "example": "code,pin,expires_at\nABCD-1234,9999,2027-01-31T23:59:59Z\nEFGH-5678,,\n"},
        },
    },
}
_UPLOAD_ERRORS = problems(
    401, 422, 503, s403=_FORBIDDEN, s404="ITEM_NOT_FOUND",
    s413=f"More than {MAX_CODES_PER_UPLOAD} codes, or a body over MAX_UPLOAD_BODY_BYTES (2 MiB by default)",
    s415="UNSUPPORTED_MEDIA_TYPE: neither application/json nor text/csv")
_JOB_ERRORS = problems(401, 422, 503, s403=_FORBIDDEN, s404="NOT_FOUND: no job for this redemption",
                       s409="the job's state does not allow it (a finished job)")


# ---- code pools ----------------------------------------------------------------------------------------------

@router.post(UPLOAD_CODES_PATH, response_model=CodeUploadResult, tags=["admin: fulfillment"],
             operation_id="adminUploadCodes", openapi_extra=_UPLOAD_DOC, responses=_UPLOAD_ERRORS)
async def upload_codes(item_id: ItemId, request: Request, caller: AdminCaller,
                       services: Services) -> CodeUploadResult:
    """Adds voucher codes to the item's pool, as JSON `{"codes": [{"code", "pin", "expiresAt"}]}` or as CSV
    (`text/csv`, header `code,pin,expires_at`). Codes the pool already holds count as duplicates."""
    media_type = _media_type(request)
    if media_type != CSV_MEDIA_TYPE and media_type != JSON_MEDIA_TYPE and not media_type.endswith("+json"):
        raise HTTPException(415, f"send the codes as {JSON_MEDIA_TYPE} or {CSV_MEDIA_TYPE}")
    body = await bounded_body(request, request.app.state.settings.max_upload_body_bytes)
    codes = codes_from_csv(body) if media_type == CSV_MEDIA_TYPE else codes_from_json(body)
    reply = await services.fulfillment.upload_codes(fulfillment_pb2.UploadCodesRequest(
        scope=_scope(caller), item_id=item_id, codes=[c.to_proto() for c in codes]))
    log.info("codes uploaded", extra={"item_id": item_id, "received": len(codes), "added": reply.added,
                                      "duplicates": reply.duplicates})
    return CodeUploadResult(added=reply.added, duplicates=reply.duplicates)


@router.get("/v1/admin/items/{itemId}/codes", response_model=CodePool, tags=["admin: fulfillment"],
            operation_id="adminGetCodePool", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN, s404="ITEM_NOT_FOUND"))
async def get_code_pool(item_id: ItemId, caller: AdminCaller, services: Services) -> CodePool:
    reply = await services.fulfillment.get_code_pool(fulfillment_pb2.GetCodePoolRequest(
        scope=_scope(caller), item_id=item_id))
    return CodePool.from_proto(reply)


@router.put("/v1/admin/items/{itemId}/codes/threshold", response_model=CodePool, tags=["admin: fulfillment"],
            operation_id="adminSetCodePoolThreshold", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN))
async def set_code_pool_threshold(item_id: ItemId, body: CodePoolThreshold, caller: AdminCaller,
                                  services: Services) -> CodePool:
    """Sets the pool's own low threshold (`{"lowThreshold": 5}`), or clears it (`null`: the fulfillment
    service's LOW_POOL_THRESHOLD again): the pool is low below it, and the claim that crosses it tells a
    `code_pool.low` event. Answers the pool's status."""
    scope = _scope(caller)
    request = fulfillment_pb2.SetCodePoolThresholdRequest(scope=scope, item_id=item_id)
    if body.low_threshold is not None:
        request.low_threshold = body.low_threshold
    await services.fulfillment.set_code_pool_threshold(request)
    log.info("code pool threshold set", extra={"item_id": item_id, "low_threshold": body.low_threshold})
    reply = await services.fulfillment.get_code_pool(fulfillment_pb2.GetCodePoolRequest(scope=scope, item_id=item_id))
    return CodePool.from_proto(reply)


# ---- jobs ----------------------------------------------------------------------------------------------------

def _job_state(state: str | None) -> int:
    if not state:
        return fulfillment_pb2.JOB_STATE_UNSPECIFIED
    value = JOB_STATE_VALUES.get(state.upper())
    if value is None:
        raise _invalid(f"state must be one of {', '.join(JOB_STATE_VALUES)}")
    return value


@router.get("/v1/admin/fulfillment/jobs", response_model=FulfillmentJobList, tags=["admin: fulfillment"],
            operation_id="adminListFulfillmentJobs", openapi_extra=ADMIN,
            responses=problems(401, 422, 503, s403=_FORBIDDEN))
async def list_jobs(
    caller: AdminCaller, services: Services, limit: Limit = 20, cursor: Cursor = None,
    state: Annotated[str | None, Query(max_length=32, description="PENDING, RUNNING, WAITING, SUCCEEDED or "
                                                                  "FAILED")] = None,
    stuck: Annotated[bool, Query(description="only jobs pending or running past the service's stuck bound")] = False,
) -> FulfillmentJobList:
    reply = await services.fulfillment.list_jobs(fulfillment_pb2.ListJobsRequest(
        scope=_scope(caller), state=_job_state(state), stuck_only=stuck, page_size=limit, page_token=cursor or ""))
    return FulfillmentJobList(jobs=[FulfillmentJob.from_proto(j) for j in reply.jobs],
                              next_cursor=next_cursor(reply.next_page_token))


@router.post("/v1/admin/fulfillment/jobs/{redemptionId}/retry", response_model=FulfillmentJob,
             tags=["admin: fulfillment"], operation_id="adminRetryFulfillmentJob", openapi_extra=ADMIN,
             responses=_JOB_ERRORS)
async def retry_job(redemption_id: JobId, caller: AdminCaller, services: Services) -> FulfillmentJob:
    """Runs the job again now."""
    reply = await services.fulfillment.retry_job(fulfillment_pb2.RetryJobRequest(
        scope=_scope(caller), redemption_id=redemption_id))
    return FulfillmentJob.from_proto(reply.job)


@router.post("/v1/admin/fulfillment/jobs/{redemptionId}/fail", response_model=FulfillmentJob,
             tags=["admin: fulfillment"], operation_id="adminFailFulfillmentJob", openapi_extra=ADMIN,
             responses={**_JOB_ERRORS, **problems(413)})
async def fail_job(redemption_id: JobId, body: JobFailure, caller: AdminCaller, services: Services) -> FulfillmentJob:
    """Gives up on the job: the redemption is refunded and canceled with this reason."""
    reply = await services.fulfillment.fail_job(fulfillment_pb2.FailJobRequest(
        scope=_scope(caller), redemption_id=redemption_id, reason=body.reason))
    return FulfillmentJob.from_proto(reply.job)


async def _advance(services: Services, caller: Credential, redemption_id: str, outcome: str,
                   tracking_number: str | None = None, note: str | None = None) -> FulfillmentJob:
    reply = await services.fulfillment.advance_job(fulfillment_pb2.AdvanceJobRequest(
        scope=_scope(caller), redemption_id=redemption_id, outcome=OUTCOME_VALUES[outcome],
        tracking_number=tracking_number or "", note=note or ""))
    return FulfillmentJob.from_proto(reply.job)


@router.post("/v1/admin/fulfillment/jobs/{redemptionId}/advance", response_model=FulfillmentJob,
             tags=["admin: fulfillment"], operation_id="adminAdvanceFulfillmentJob", openapi_extra=ADMIN,
             responses={**_JOB_ERRORS, **problems(413)})
async def advance_job(redemption_id: JobId, body: JobAdvance, caller: AdminCaller,
                      services: Services) -> FulfillmentJob:
    """Moves a physical or manual fulfillment on (awaiting vendor, purchased, shipped, delivered, completed...)."""
    return await _advance(services, caller, redemption_id, body.outcome, body.tracking_number, body.note)


@router.post("/v1/admin/redemptions/{id}/ship", response_model=FulfillmentJob, tags=["admin: fulfillment"],
             operation_id="adminShipRedemption", openapi_extra=ADMIN, responses={**_JOB_ERRORS, **problems(413)})
async def ship_redemption(redemption_id: RedemptionId, body: Shipment, caller: AdminCaller,
                          services: Services) -> FulfillmentJob:
    return await _advance(services, caller, redemption_id, "SHIPPED", body.tracking_number)


@router.post("/v1/admin/redemptions/{id}/deliver", response_model=FulfillmentJob, tags=["admin: fulfillment"],
             operation_id="adminDeliverRedemption", openapi_extra=ADMIN, responses=_JOB_ERRORS)
async def deliver_redemption(redemption_id: RedemptionId, caller: AdminCaller, services: Services) -> FulfillmentJob:
    return await _advance(services, caller, redemption_id, "DELIVERED")


# ---- providers' callbacks ------------------------------------------------------------------------------------

_CALLBACK_DOC: dict[str, Any] = {
    **security(PUBLIC),
    "requestBody": {
        "required": True,
        "description": f"The provider's body, at most {MAX_CALLBACK_BYTES} bytes, forwarded byte for byte: the "
                       "signature covers these exact bytes.",
        "content": {JSON_MEDIA_TYPE: {"schema": {"type": "object"}}},
    },
}


@router.post("/v1/fulfillment/callbacks/{redemptionId}", response_model=CallbackReceipt,
             tags=["fulfillment callbacks"], operation_id="receiveProviderCallback", openapi_extra=_CALLBACK_DOC,
             responses=problems(422, 503, limited=False, s401="X-Signature or X-Timestamp missing, or the signature does not verify",
                                s404="NOT_FOUND: no job for this redemption",
                                s413=f"The body is larger than {MAX_CALLBACK_BYTES} bytes"))
async def provider_callback(
    redemption_id: JobId, request: Request, services: Services,
    signature: Annotated[str | None, Header(alias="X-Signature", max_length=512)] = None,
    timestamp: Annotated[str | None, Header(alias="X-Timestamp", max_length=64)] = None,
) -> CallbackReceipt:
    """A provider's signed callback for a job it accepted. No credential: the fulfillment service verifies the HMAC
    signature (X-Signature over X-Timestamp and the raw body) with the job's provider secret; 401 otherwise."""
    if not signature or not timestamp:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "X-Signature and X-Timestamp are required")
    body = await bounded_body(request, MAX_CALLBACK_BYTES)
    await services.fulfillment.provider_callback(fulfillment_pb2.ProviderCallbackRequest(
        redemption_id=redemption_id, body=body, signature=signature, timestamp=timestamp))
    return CallbackReceipt()
