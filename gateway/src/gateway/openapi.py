"""The OpenAPI document, for people and for client generators: every error shape as one named component (the
canonical Problem, and each dialect's own), per-route error responses, the response headers a client acts on,
one security scheme per credential header, and which credentials each route really takes.

Most of it is declared where FastAPI looks: each route's `operation_id=` and `responses=`, the models' titles and
examples, the security dependencies' `scheme_name`. What FastAPI cannot say from there, `openapi_document` does
once, when the document is first asked for (never per request):
- it adds the components that no route's return type names: the problem+json bodies (FastAPI writes a response
  `model` under application/json only) and the shared response headers;
- a security requirement that needs several headers at once (the gem store's client id AND secret AND player
  token): FastAPI lists each security dependency as an alternative, so a route declares its requirements in
  `openapi_extra={"security": ...}` and that list replaces FastAPI's;
- it drops the 422 FastAPI adds in its own shape to a route that declares none (no route answers that shape),
  puts back the nulls of the models' examples (FastAPI's encoder drops every None), and lists X-Request-Id on
  every response (the edge middleware sets it on all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from gateway.errors import PROBLEM_MEDIA_TYPE

SCHEMAS = "#/components/schemas/"
HEADERS = "#/components/headers/"

# ---- security schemes: one per credential header ---------------------------------------------------------------

PLAYER_BEARER = "playerBearer"          # Authorization: Bearer <player token>
PLAYER_TOKEN = "playerToken"            # x-auth-token: <player token>
API_KEY = "apiKey"                      # x-api-key: a back end's API key
CLIENT_ID = "clientId"                  # x-client-id + x-client-secret: a back end's client credentials
CLIENT_SECRET = "clientSecret"

# Security requirements (OpenAPI: any one object of the list; every scheme of an object together).
BACKEND: list[dict[str, list[str]]] = [{API_KEY: []}, {CLIENT_ID: [], CLIENT_SECRET: []}]
PLAYER_OR_BACKEND: list[dict[str, list[str]]] = [{PLAYER_BEARER: []}, {PLAYER_TOKEN: []}, *BACKEND]
GEMS_STORE: list[dict[str, list[str]]] = [{CLIENT_ID: [], CLIENT_SECRET: [], PLAYER_BEARER: []}]
COINS_GATEWAY: list[dict[str, list[str]]] = [{PLAYER_TOKEN: []}, {PLAYER_BEARER: []}]
MARKETPLACE: list[dict[str, list[str]]] = [{API_KEY: []}]
PUBLIC: list[dict[str, list[str]]] = []


def security(requirements: list[dict[str, list[str]]]) -> dict[str, Any]:
    """openapi_extra of a route: the credentials it takes (see the module's docstring)."""
    return {"security": requirements}


# ---- response headers ------------------------------------------------------------------------------------------

RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {"description": "The request id: the caller's X-Request-Id when sane, else a new one. Quote it "
                                    "to support; every log line of the request carries it.",
                     "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before trying again: the same request can succeed then.",
                    "schema": {"type": "integer", "minimum": 0}},
    "Idempotent-Replayed": {"description": "true: this is the stored answer of an earlier request with the same "
                                           "Idempotency-Key; nothing was charged again.",
                            "schema": {"type": "string", "enum": ["true"]}},
    "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}},
}


def headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": HEADERS + name} for name in ("X-Request-Id", *names)}


def replayed(model: type[BaseModel], description: str) -> dict[str, Any]:
    """The answer of a replayed Idempotency-Key: the first result, marked Idempotent-Replayed."""
    return {"model": model, "description": description, "headers": headers("Idempotent-Replayed")}


# ---- examples ------------------------------------------------------------------------------------------------

# The examples of each model, by its schema's title, as json_schema_extra put them: FastAPI encodes its document
# without None values (exclude_none), which would strip the nulls the seed pages' examples show, so
# openapi_document puts them back as given.
_EXAMPLES: dict[str, list[Any]] = {}


def examples(*items: Any) -> Callable[[dict[str, Any], type[BaseModel]], None]:
    """json_schema_extra of a model: its examples, nulls included."""
    def extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
        schema["examples"] = list(items)
        _EXAMPLES[schema.get("title", model.__name__)] = list(items)

    return extra


# ---- the canonical API's errors: problem+json --------------------------------------------------------------------

class FieldProblem(BaseModel):
    model_config = ConfigDict(title="FieldProblem")

    field: str = Field(description="where: body.offer, query.limit, header.Idempotency-Key...")
    message: str


class Problem(BaseModel):
    """An error of the canonical API (RFC 9457 problem details). Branch on `code`, never on `detail`."""

    model_config = ConfigDict(title="Problem", json_schema_extra=examples({
        "type": "urn:rewards:problem:insufficient-points", "title": "Insufficient points", "status": 422,
        "detail": "balance 40 is below the price 150", "code": "INSUFFICIENT_POINTS",
        "request_id": "8f14e45fceea167a5a36dedd4bea2543", "requestId": "8f14e45fceea167a5a36dedd4bea2543"}))

    type: str = Field(description="urn:rewards:problem:<code in kebab case>")
    title: str
    status: int
    detail: str
    code: str = Field(description="the stable error code (seed 003's words): INSUFFICIENT_POINTS, "
                                  "OFFER_UNAVAILABLE, REDEMPTION_ALREADY_EXISTS, IDEMPOTENCY_KEY_REUSED, ...")
    request_id: str
    requestId: str = Field(description="the same request id, in camelCase")
    errors: list[FieldProblem] | None = Field(default=None, description="VALIDATION_ERROR only: each bad field")


class NotReady(Problem):
    """GET /readyz when something it depends on does not answer."""

    model_config = ConfigDict(title="NotReady", json_schema_extra=examples({
        "type": "urn:rewards:problem:unavailable", "title": "Not ready", "status": 503,
        "detail": "not ready: wallet", "code": "UNAVAILABLE", "request_id": "8f14e45fceea167a5a36dedd4bea2543",
        "requestId": "8f14e45fceea167a5a36dedd4bea2543",
        "checks": {"database": True, "catalog": True, "wallet": False, "redemption": True, "fulfillment": True},
        "failing": ["wallet"]}))

    checks: dict[str, bool]
    failing: list[str]


def problem(description: str, *header_names: str, schema: str = "Problem") -> dict[str, Any]:
    return {"description": description, "headers": headers(*header_names),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": SCHEMAS + schema}}}}


# The canonical statuses, and what each says whatever the route.
_CANONICAL = {
    401: ("UNAUTHENTICATED: no credential, or an invalid, expired or revoked one", ("WWW-Authenticate",)),
    403: ("", ()),
    404: ("", ()),
    409: ("", ()),
    413: ("PAYLOAD_TOO_LARGE: the body is larger than MAX_BODY_BYTES (64 KiB by default)", ()),
    415: ("", ()),
    422: ("VALIDATION_ERROR: a field is missing or out of bounds (`errors` names each)", ()),
    429: ("RATE_LIMITED: more requests from this credential than RATE_LIMIT_PER_SECOND allows; retry later",
          ("Retry-After",)),
    503: ("UNAVAILABLE: a service or the database is unavailable; nothing changed; retry after Retry-After",
          ("Retry-After",)),
}


def problems(*statuses: int, limited: bool = True, **codes: str) -> dict[int | str, dict[str, Any]]:
    """The canonical error responses of one route: each status it can answer, with the codes it answers there
    beyond the generic ones (keyword `s409="OUT_OF_STOCK, ..."`, or a plain status for the generic text; a text
    that names Retry-After declares the header), and 429 when its caller sends a credential (`limited`: the rate
    limit, when RATE_LIMIT_PER_SECOND sets one)."""
    wanted = sorted({*statuses, *(int(k.removeprefix("s")) for k in codes), *((429,) if limited else ())})
    out: dict[int | str, dict[str, Any]] = {}
    for status in wanted:
        generic, names = _CANONICAL[status]
        specific = codes.get(f"s{status}", "")
        extra = ("Retry-After",) if "Retry-After" in specific and "Retry-After" not in names else ()
        out[status] = problem("; ".join(p for p in (specific, generic) if p), *names, *extra)
    return out


# ---- building the document once ----------------------------------------------------------------------------------

def component_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """The models' JSON Schemas as components, named by their titles, nested models included."""
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template=SCHEMAS + "{model}")
    return dict(top.get("$defs", {}))


def operation_id(route: APIRoute) -> str:
    """The id of a route that names none: its function's name in camelCase (the app's routes all name theirs;
    the test of the document holds the list)."""
    head, *rest = route.name.split("_")
    return head + "".join(part.title() for part in rest)


def openapi_document(app: FastAPI, error_models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    """error_models: every API's error bodies (gateway.dialects.base.Dialect.error_models), in order."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                      description=app.description, routes=app.routes, tags=app.openapi_tags,
                      separate_input_output_schemas=app.separate_input_output_schemas)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(component_schemas(*error_models))
    components["headers"] = RESPONSE_HEADERS
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, APIRoute) and original.include_in_schema and original.openapi_extra \
                and "security" in original.openapi_extra:
            for method in route.methods or ():
                doc["paths"][route.path_format][method.lower()]["security"] = original.openapi_extra["security"]
    # FastAPI adds a 422 of its own shape (HTTPValidationError) to every route that declares none: the app's
    # validation handler never answers it (each API renders a validation error in its own shape: a 400 of the
    # marketplace), so it is not listed.
    for operations in doc["paths"].values():
        for operation in operations.values():
            refused = operation["responses"].get("422", {}).get("content", {}).get("application/json", {})
            if refused.get("schema", {}).get("$ref") == SCHEMAS + "HTTPValidationError":
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    for name, items in _EXAMPLES.items():
        if name in components["schemas"]:
            components["schemas"][name]["examples"] = items
    # The edge middleware (gateway.edge) sets X-Request-Id on every response of every route.
    for operations in doc["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                response.setdefault("headers", {}).setdefault("X-Request-Id", {"$ref": HEADERS + "X-Request-Id"})
    app.openapi_schema = doc
    return doc
