"""The canonical API's words for the platform's error codes (seed 003), and the problem+json body (RFC 9457)
every error answers with. One table: another dialect (seeds 000-002) maps the same DomainErrors with its own."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from service_kit.errors import DomainError, ErrorCode
from service_kit.logs import request_id_var
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class PublicError:
    status: int
    code: str      # the word this API answers with
    title: str


def _e(status: int, code: str, title: str) -> PublicError:
    return PublicError(status, code, title)


CANONICAL: dict[ErrorCode, PublicError] = {
    ErrorCode.ITEM_NOT_FOUND: _e(404, "ITEM_NOT_FOUND", "Offer not found"),
    ErrorCode.ITEM_UNAVAILABLE: _e(422, "OFFER_UNAVAILABLE", "Offer unavailable"),
    ErrorCode.ITEM_NOT_ELIGIBLE: _e(403, "ITEM_NOT_ELIGIBLE", "Not eligible for this offer"),
    ErrorCode.OUT_OF_STOCK: _e(409, "OUT_OF_STOCK", "Out of stock"),
    ErrorCode.LIMIT_REACHED: _e(409, "LIMIT_REACHED", "Redemption limit reached"),
    ErrorCode.REDEMPTION_ALREADY_EXISTS: _e(409, "REDEMPTION_ALREADY_EXISTS", "Already redeemed"),
    ErrorCode.INSUFFICIENT_BALANCE: _e(422, "INSUFFICIENT_POINTS", "Insufficient points"),
    ErrorCode.INVALID_POINT_TYPE: _e(422, "INVALID_POINT_TYPE", "Invalid point type"),
    ErrorCode.INVALID_ROUNDS_SELECTION: _e(422, "INVALID_ROUNDS_SELECTION", "Invalid rounds selection"),
    ErrorCode.GAME_NOT_AVAILABLE: _e(422, "GAME_NOT_AVAILABLE", "Game not available"),
    ErrorCode.SHIPPING_ADDRESS_REQUIRED: _e(422, "SHIPPING_ADDRESS_REQUIRED", "Shipping address required"),
    ErrorCode.CUSTOMER_INFO_REQUIRED: _e(422, "CUSTOMER_INFO_REQUIRED", "Customer info required"),
    ErrorCode.PLAYER_NOT_FOUND: _e(404, "PLAYER_NOT_FOUND", "Player not found"),
    ErrorCode.PLAYER_INACTIVE: _e(403, "PLAYER_INACTIVE", "Player inactive"),
    ErrorCode.REDEMPTION_NOT_FOUND: _e(404, "REDEMPTION_NOT_FOUND", "Redemption not found"),
    ErrorCode.REDEMPTION_NOT_CANCELLABLE: _e(409, "REDEMPTION_NOT_CANCELLABLE", "Redemption not cancellable"),
    ErrorCode.REDEMPTION_NOT_HELD: _e(409, "REDEMPTION_NOT_HELD", "Redemption not held for review"),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: _e(422, "IDEMPOTENCY_KEY_REUSED", "Idempotency key reused"),
    ErrorCode.IDEMPOTENCY_KEY_CONFLICT: _e(409, "IDEMPOTENCY_KEY_CONFLICT", "Idempotency key conflict"),
    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: _e(409, "IDEMPOTENCY_KEY_IN_PROGRESS", "Request still in progress"),
    ErrorCode.OUT_OF_CODES: _e(409, "OUT_OF_CODES", "Out of codes"),
    ErrorCode.QUOTE_NOT_FOUND: _e(404, "QUOTE_NOT_FOUND", "Quote not found"),
    ErrorCode.QUOTE_EXPIRED: _e(422, "QUOTE_EXPIRED", "Quote expired"),
    ErrorCode.QUOTE_NOT_YOURS: _e(403, "QUOTE_NOT_YOURS", "Quote belongs to another player"),
    ErrorCode.QUOTE_ALREADY_USED: _e(409, "QUOTE_ALREADY_USED", "Quote already used"),
    ErrorCode.QUOTE_MISMATCH: _e(422, "QUOTE_MISMATCH", "Quote is for another offer"),
    ErrorCode.SANDBOX_ONLY: _e(403, "SANDBOX_ONLY", "Forced outcomes are for the sandbox only"),
    ErrorCode.NOT_FOUND: _e(404, "NOT_FOUND", "Not found"),
    ErrorCode.ALREADY_EXISTS: _e(409, "ALREADY_EXISTS", "Already exists"),
    ErrorCode.VALIDATION_ERROR: _e(422, "VALIDATION_ERROR", "Invalid request"),
    ErrorCode.UNAUTHENTICATED: _e(401, "UNAUTHENTICATED", "Authentication required"),
    ErrorCode.FORBIDDEN: _e(403, "FORBIDDEN", "Forbidden"),
    ErrorCode.RATE_LIMITED: _e(429, "RATE_LIMITED", "Too many requests"),
    ErrorCode.UNAVAILABLE: _e(503, "UNAVAILABLE", "Service unavailable"),
    ErrorCode.INTERNAL: _e(500, "INTERNAL", "Internal error"),
}

# Errors FastAPI and Starlette raise themselves (no route, wrong method...), by HTTP status.
BY_STATUS: dict[int, str] = {400: "VALIDATION_ERROR", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                             405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE", 413: "PAYLOAD_TOO_LARGE",
                             415: "UNSUPPORTED_MEDIA_TYPE", 422: "VALIDATION_ERROR", 429: "RATE_LIMITED",
                             500: "INTERNAL", 503: "UNAVAILABLE"}

# Codes a client should come back for later, and when by default.
RETRY_AFTER_DEFAULT = {ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: "1", ErrorCode.RATE_LIMITED: "1",
                       ErrorCode.UNAVAILABLE: "1"}


def retry_after_headers(exc: DomainError) -> dict[str, str]:
    """A Retry-After header when the service gave a hint in ErrorInfo metadata ("retry_after_seconds"; any code,
    e.g. a cancel refused while the item is being delivered) or the code always means "later"."""
    hint = exc.metadata.get("retry_after_seconds") or exc.metadata.get("retry_after")
    if hint:
        return {"Retry-After": str(hint)}
    if exc.code in RETRY_AFTER_DEFAULT:
        return {"Retry-After": RETRY_AFTER_DEFAULT[exc.code]}
    return {}


def public_code(code: str) -> str:
    """The canonical word for a service reason carried as data (a redemption's failure code)."""
    try:
        return CANONICAL[ErrorCode(code)].code
    except ValueError:
        return code


def problem_body(status: int, code: str, detail: str, title: str | None = None,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    rid = request_id_var.get()
    body: dict[str, Any] = {
        "type": f"urn:rewards:problem:{code.lower().replace('_', '-')}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": rid,
        "requestId": rid,
    }
    if extra:
        body.update(extra)
    return body


def problem_response(status: int, code: str, detail: str, title: str | None = None,
                     headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, code, detail, title, extra), status_code=status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=headers)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused before any route ran, for a reason no service names (a body too large): every API
    renders it in its own shape, with this status and code."""

    status: int
    code: str
    detail: str
    path: str


def validation_response(detail: str, errors: list[dict[str, str]]) -> JSONResponse:
    """A request that failed validation: the summary, and each bad field in `errors`."""
    return problem_response(422, "VALIDATION_ERROR", detail, "Invalid request", extra={"errors": errors})


def crash_response() -> JSONResponse:
    """An unhandled exception: nothing of it is said."""
    return problem_response(500, "INTERNAL", "internal error")


def refusal_response(refusal: Refusal) -> JSONResponse:
    return problem_response(refusal.status, refusal.code, refusal.detail)


def detail_shown(exc: DomainError, status: int) -> bool:
    """The one rule of every API for an error's message: a 5xx's is hidden (it may name internals: a crash, a
    service's bug), except UNAVAILABLE's (it says what is down, to wait for); the status is the API's own."""
    return status < 500 or exc.code is ErrorCode.UNAVAILABLE


def domain_error_response(exc: DomainError) -> JSONResponse:
    public = CANONICAL.get(exc.code, CANONICAL[ErrorCode.INTERNAL])
    headers = retry_after_headers(exc)
    detail = exc.message if detail_shown(exc, public.status) else public.title
    return problem_response(public.status, public.code, detail, public.title, headers)
