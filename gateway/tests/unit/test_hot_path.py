"""What keeps the request path lean: no route and no dependency that FastAPI would run in a worker thread."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from gateway.app import create_app
from gateway.config import Settings


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # how FastAPI keeps an included router
        if included is not None:
            yield from _api_routes(included.routes)


def _calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _is_async(call: Any) -> bool:
    # A security scheme (HTTPBearer, APIKeyHeader) is an object whose __call__ is the dependency.
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)


def test_no_route_or_dependency_runs_in_a_worker_thread() -> None:
    """A plain `def` dependency or route runs in FastAPI's threadpool: on a one-call read that hop cost more than
    the route itself."""
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    routes = {route.path: route for route in _api_routes(app.routes)}
    assert "/v1/redemptions" in routes and "/store/redeem" in routes and len(routes) > 30
    sync = sorted({f"{path}: {getattr(call, '__qualname__', call)}" for path, route in routes.items()
                   for call in _calls(route.dependant) if not _is_async(call)})
    assert sync == []
