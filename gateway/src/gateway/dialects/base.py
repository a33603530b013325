"""What a dialect is: one public API of the gateway (the canonical one, or a product's we replace), with its path
prefix, its routers, and how it renders an error (its status codes, its words, its body shape)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter
from pydantic import BaseModel
from service_kit.errors import DomainError, ErrorCode
from starlette.responses import Response

from gateway.errors import Refusal

# The fields of a request that failed validation: each with its message ({"field": ..., "message": ...}).
FieldErrors = list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    prefix: str                                  # every route of the dialect starts with it
    routers: tuple[APIRouter, ...]
    render_error: Callable[[DomainError], Response]
    # A refusal made before any route ran (a body too large).
    render_refusal: Callable[[Refusal], Response]
    # Error bodies that no route's return type names: components of the OpenAPI document.
    error_models: tuple[type[BaseModel], ...] = ()
    # A request that failed validation, when the dialect says more than render_error of a VALIDATION_ERROR.
    render_invalid: Callable[[str, FieldErrors], Response] | None = None
    # A crash (an unhandled exception), when the dialect answers it otherwise than render_error of an INTERNAL.
    render_crash: Callable[[], Response] | None = None

    def owns(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix.rstrip("/") + "/")

    def invalid(self, detail: str, errors: FieldErrors) -> Response:
        if self.render_invalid is not None:
            return self.render_invalid(detail, errors)
        return self.render_error(DomainError(ErrorCode.VALIDATION_ERROR, detail))

    def crash(self) -> Response:
        if self.render_crash is not None:
            return self.render_crash()
        return self.render_error(DomainError(ErrorCode.INTERNAL, "internal error"))
