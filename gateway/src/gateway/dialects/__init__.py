"""The gateway's APIs, each a Dialect (gateway.dialects.base): the canonical one (seed 003) and the public APIs of
the products we replace (../shared/seeds), each a thin translation layer over the same upstream gRPC calls, with
no business logic of its own.

A dialect module defines DIALECT: its path prefix, its routers, and how it renders an error (its status codes,
its words, its body shape), a failed validation, a crash, and a refusal made before any route ran (a body too
large). The app mounts the routers of every dialect in DIALECTS, and every layer that answers an error (the
app's handlers, the edge, the body and rate limits) renders it with the renderer of the dialect whose prefix has
the request's path: the canonical one when none has (a probe, a path no route has).
"""

from __future__ import annotations

from gateway.dialects import canonical, coins_gateway, gems_store, marketplace
from gateway.dialects.base import Dialect

# The canonical API first: its routes are matched, and its error bodies listed in the OpenAPI document, first.
DIALECTS: list[Dialect] = [canonical.DIALECT, gems_store.DIALECT, coins_gateway.DIALECT, marketplace.DIALECT]


def dialect_for(path: str) -> Dialect | None:
    """The API whose prefix has the path, if any."""
    for dialect in DIALECTS:
        if dialect.owns(path):
            return dialect
    return None


def answering_dialect(path: str) -> Dialect:
    """The API that answers an error on the path: its own, else the canonical one."""
    return dialect_for(path) or canonical.DIALECT
