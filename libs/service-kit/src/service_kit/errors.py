"""The platform's stable error codes, carried between services as gRPC rich status.

A service raises DomainError(ErrorCode.X, "message"); the server interceptor turns it into a status whose
details hold a google.rpc.ErrorInfo with reason X; a client turns an RpcError back with from_rpc_error().
The gateway maps each code to each API's HTTP status and words.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "rewards.v1"


class ErrorCode(enum.StrEnum):
    ITEM_NOT_FOUND = "ITEM_NOT_FOUND"
    ITEM_UNAVAILABLE = "ITEM_UNAVAILABLE"
    ITEM_NOT_ELIGIBLE = "ITEM_NOT_ELIGIBLE"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    LIMIT_REACHED = "LIMIT_REACHED"
    REDEMPTION_ALREADY_EXISTS = "REDEMPTION_ALREADY_EXISTS"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    INVALID_POINT_TYPE = "INVALID_POINT_TYPE"
    INVALID_ROUNDS_SELECTION = "INVALID_ROUNDS_SELECTION"
    GAME_NOT_AVAILABLE = "GAME_NOT_AVAILABLE"
    SHIPPING_ADDRESS_REQUIRED = "SHIPPING_ADDRESS_REQUIRED"
    CUSTOMER_INFO_REQUIRED = "CUSTOMER_INFO_REQUIRED"
    PLAYER_NOT_FOUND = "PLAYER_NOT_FOUND"
    PLAYER_INACTIVE = "PLAYER_INACTIVE"
    REDEMPTION_NOT_FOUND = "REDEMPTION_NOT_FOUND"
    REDEMPTION_NOT_CANCELLABLE = "REDEMPTION_NOT_CANCELLABLE"
    # An operator's approve or reject of a redemption that is not held for review (never held, or decided the
    # other way).
    REDEMPTION_NOT_HELD = "REDEMPTION_NOT_HELD"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_CONFLICT = "IDEMPOTENCY_KEY_CONFLICT"
    IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
    OUT_OF_CODES = "OUT_OF_CODES"
    # A redeem naming a price-locked quote (POST /v1/redemptions/quote): unknown, past its validity, another
    # player's, held by another redemption, or for another item, variant or point type than the redeem names.
    QUOTE_NOT_FOUND = "QUOTE_NOT_FOUND"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    QUOTE_NOT_YOURS = "QUOTE_NOT_YOURS"
    QUOTE_ALREADY_USED = "QUOTE_ALREADY_USED"
    QUOTE_MISMATCH = "QUOTE_MISMATCH"
    # A forced outcome (the Sandbox-Outcome header, an item's `sandbox_outcome`) asked for in the live environment.
    SANDBOX_ONLY = "SANDBOX_ONLY"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


# The gRPC status each code travels with: callers that only read the status code still get it roughly right.
GRPC_CODE: dict[ErrorCode, grpc.StatusCode] = {
    ErrorCode.ITEM_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.PLAYER_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.REDEMPTION_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.QUOTE_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.QUOTE_EXPIRED: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorCode.QUOTE_NOT_YOURS: grpc.StatusCode.PERMISSION_DENIED,
    ErrorCode.QUOTE_ALREADY_USED: grpc.StatusCode.ALREADY_EXISTS,
    ErrorCode.QUOTE_MISMATCH: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.SANDBOX_ONLY: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorCode.REDEMPTION_NOT_HELD: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorCode.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    ErrorCode.REDEMPTION_ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    ErrorCode.IDEMPOTENCY_KEY_CONFLICT: grpc.StatusCode.ALREADY_EXISTS,
    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: grpc.StatusCode.ABORTED,
    ErrorCode.VALIDATION_ERROR: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.INVALID_POINT_TYPE: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.INVALID_ROUNDS_SELECTION: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.SHIPPING_ADDRESS_REQUIRED: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.CUSTOMER_INFO_REQUIRED: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorCode.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    ErrorCode.ITEM_NOT_ELIGIBLE: grpc.StatusCode.PERMISSION_DENIED,
    ErrorCode.RATE_LIMITED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorCode.INTERNAL: grpc.StatusCode.INTERNAL,
}


class DomainError(Exception):
    """A refusal with a stable code. Raised anywhere in a service; turned into a rich status at the edge."""

    def __init__(self, code: ErrorCode, message: str = "", metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message or code.value)
        self.code = code
        self.message = message or code.value
        self.metadata = dict(metadata or {})

    @property
    def grpc_code(self) -> grpc.StatusCode:
        return GRPC_CODE.get(self.code, grpc.StatusCode.FAILED_PRECONDITION)

    def to_status(self) -> grpc.Status:
        info = error_details_pb2.ErrorInfo(reason=self.code.value, domain=ERROR_DOMAIN, metadata=self.metadata)
        status = status_pb2.Status(code=self.grpc_code.value[0], message=self.message)
        status.details.add().Pack(info)
        return rpc_status.to_status(status)

    def __repr__(self) -> str:
        return f"DomainError({self.code.value}, {self.message!r})"


def from_rpc_error(exc: grpc.RpcError) -> DomainError | None:
    """The DomainError a call failed with, or None when the status carries no ErrorInfo of ours."""
    status = rpc_status.from_call(exc) if hasattr(exc, "trailing_metadata") else None
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.domain == ERROR_DOMAIN:
                try:
                    code = ErrorCode(info.reason)
                except ValueError:
                    return None
                return DomainError(code, status.message, dict(info.metadata))
    return None


__all__ = ["ERROR_DOMAIN", "DomainError", "ErrorCode", "code_pb2", "from_rpc_error"]
