"""Text fields of a request, checked the same way in every service: required (not empty, not only blanks),
bounded in characters and free of NUL (PostgreSQL text cannot store it; the kit's server already refuses any
request holding one, grpc_server.py, and this holds for callers that are not behind it), refused with
VALIDATION_ERROR naming the field."""

from __future__ import annotations

from service_kit.errors import DomainError, ErrorCode


def require_text(value: str, name: str, max_length: int) -> str:
    """`value`, present and at most `max_length` characters; else VALIDATION_ERROR naming `name`."""
    if not value or not value.strip():
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} is required")
    return optional_text(value, name, max_length)


def optional_text(value: str, name: str, max_length: int) -> str:
    """`value` (may be empty), at most `max_length` characters; else VALIDATION_ERROR naming `name`."""
    if len(value) > max_length:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} must be at most {max_length} characters")
    if "\x00" in value:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} must not contain NUL characters")
    return value
