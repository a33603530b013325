"""Dialects: the public APIs of the products we replace (../shared/seeds), each a thin translation layer over
the same upstream gRPC calls as the canonical API, with no business logic of its own.

A dialect module defines DIALECT: its path prefix, its router, and how it renders an error (its status codes,
its words, its body shape) and a refusal made before any route ran (a body too large). The app mounts every router
in DIALECTS, and its error handlers render any error raised under a dialect's prefix with that dialect's renderer
instead of canonical problem+json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter
from pydantic import BaseModel
from service_kit.errors import DomainError
from starlette.responses import Response

from gateway.errors import Refusal


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    prefix: str                                  # every route of the dialect starts with it
    router: APIRouter
    render_error: Callable[[DomainError], Response]
    render_refusal: Callable[[Refusal], Response]
    # Error bodies that no route's return type names (problem+json): components of the OpenAPI document.
    error_models: tuple[type[BaseModel], ...] = ()


def _all() -> list[Dialect]:
    # Imported here: each dialect module imports Dialect from this one.
    from gateway.dialects import coins_gateway, gems_store, marketplace

    return [gems_store.DIALECT, coins_gateway.DIALECT, marketplace.DIALECT]


DIALECTS: list[Dialect] = _all()


def dialect_for(path: str) -> Dialect | None:
    for dialect in DIALECTS:
        if path == dialect.prefix or path.startswith(dialect.prefix.rstrip("/") + "/"):
            return dialect
    return None
