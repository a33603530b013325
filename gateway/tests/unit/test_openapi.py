"""The OpenAPI document, as a client generator and a client developer read it: valid, one named component per
shape, explicit operation ids, the errors each route can really answer, a security scheme per credential header,
the response headers a client acts on, and the seed pages' examples (valid against their own schemas)."""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest
from gateway.app import create_app
from gateway.config import Settings
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return create_app(Settings(database_url="postgresql://unused@localhost/openapi")).openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def test_the_document_is_valid_openapi(doc) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.1")


OPERATION_IDS = {
    ("get", "/healthz"): "checkLiveness", ("get", "/readyz"): "checkReadiness",
    ("post", "/v1/auth/token"): "mintPlayerToken",
    ("get", "/v1/items"): "listItems", ("get", "/v1/items/{itemId}"): "getItem",
    ("get", "/v1/wallet/balances"): "getBalances", ("get", "/v1/wallet/transactions"): "listTransactions",
    ("post", "/v1/redemptions"): "createRedemption", ("get", "/v1/redemptions"): "listRedemptions",
    ("post", "/v1/redemptions/quote"): "quoteRedemption", ("get", "/v1/redemptions/{id}"): "getRedemption",
    ("post", "/v1/redemptions/{id}/cancel"): "cancelRedemption",
    ("post", "/v1/admin/items"): "adminCreateItem", ("get", "/v1/admin/items"): "adminListItems",
    ("get", "/v1/admin/items/{id}"): "adminGetItem", ("patch", "/v1/admin/items/{id}"): "adminUpdateItem",
    ("delete", "/v1/admin/items/{id}"): "adminArchiveItem", ("post", "/v1/admin/items/{id}/stock"): "adminAdjustStock",
    ("put", "/v1/admin/point-types/{code}"): "adminDefinePointType",
    ("get", "/v1/admin/point-types"): "adminListPointTypes",
    ("get", "/v1/admin/players/{playerId}"): "adminGetPlayer",
    ("put", "/v1/admin/players/{playerId}"): "adminSetPlayerStatus",
    ("post", "/v1/admin/players/{playerId}/grants"): "adminGrantPoints",
    ("post", "/v1/admin/players/{playerId}/adjustments"): "adminAdjustPoints",
    ("get", "/v1/admin/redemptions"): "adminListRedemptions",
    ("get", "/v1/admin/redemptions/{id}"): "adminGetRedemption",
    ("post", "/v1/admin/redemptions/{id}/cancel"): "adminCancelRedemption",
    ("get", "/v1/admin/code-reveals"): "adminListCodeReveals",
    ("get", "/v1/admin/review-rules"): "adminListReviewRules",
    ("put", "/v1/admin/review-rules"): "adminSetReviewRules",
    ("put", "/v1/admin/review-rules/items/{id}"): "adminSetItemReviewRules",
    ("get", "/v1/admin/reviews"): "adminListReviews",
    ("post", "/v1/admin/reviews/{id}/approve"): "adminApproveRedemption",
    ("post", "/v1/admin/reviews/{id}/reject"): "adminRejectRedemption",
    ("post", "/v1/admin/items/{itemId}/codes"): "adminUploadCodes",
    ("get", "/v1/admin/items/{itemId}/codes"): "adminGetCodePool",
    ("put", "/v1/admin/items/{itemId}/codes/threshold"): "adminSetCodePoolThreshold",
    ("get", "/v1/events"): "listEvents",
    ("post", "/v1/admin/webhooks"): "adminCreateWebhookEndpoint",
    ("get", "/v1/admin/webhooks"): "adminListWebhookEndpoints",
    ("get", "/v1/admin/webhooks/{id}"): "adminGetWebhookEndpoint",
    ("patch", "/v1/admin/webhooks/{id}"): "adminUpdateWebhookEndpoint",
    ("delete", "/v1/admin/webhooks/{id}"): "adminDeleteWebhookEndpoint",
    ("post", "/v1/admin/webhooks/{id}/rotate-secret"): "adminRotateWebhookSecret",
    ("get", "/v1/admin/webhooks/{id}/attempts"): "adminListWebhookAttempts",
    ("post", "/v1/admin/webhooks/{id}/resend"): "adminResendWebhookEvent",
    ("get", "/v1/admin/fulfillment/jobs"): "adminListFulfillmentJobs",
    ("post", "/v1/admin/fulfillment/jobs/{redemptionId}/retry"): "adminRetryFulfillmentJob",
    ("post", "/v1/admin/fulfillment/jobs/{redemptionId}/fail"): "adminFailFulfillmentJob",
    ("post", "/v1/admin/fulfillment/jobs/{redemptionId}/advance"): "adminAdvanceFulfillmentJob",
    ("post", "/v1/admin/redemptions/{id}/ship"): "adminShipRedemption",
    ("post", "/v1/admin/redemptions/{id}/deliver"): "adminDeliverRedemption",
    ("post", "/v1/fulfillment/callbacks/{redemptionId}"): "receiveProviderCallback",
    ("post", "/store/redeem"): "gemsStoreRedeem",
    ("post", "/gateway/coins/redeem/{version}/{brand_id}"): "coinsGatewayRedeemPoints",
    ("get", "/api/v1/marketplace/user/{userKey}/gifts"): "marketplaceBrowseGifts",
    ("get", "/api/v1/marketplace/user/{userKey}/gifts/{giftId}"): "marketplaceGetGift",
    ("post", "/api/v1/marketplace/user/{userKey}/redeem"): "marketplaceRedeemGift",
    ("get", "/api/v1/marketplace/user/{userKey}/redemptions"): "marketplaceRedemptionHistory",
}


def test_every_operation_has_its_explicit_id(doc) -> None:
    ids = {(method, path): op["operationId"] for method, path, op in operations(doc)}
    assert ids == OPERATION_IDS
    assert len(set(ids.values())) == len(ids)


def test_every_schema_has_one_unique_name_and_title(doc) -> None:
    schemas = doc["components"]["schemas"]
    titles = collections.Counter(schema.get("title") for schema in schemas.values())
    assert not [t for t, n in titles.items() if n > 1]
    assert {name: s.get("title") for name, s in schemas.items() if s.get("title") != name} == {}
    # No module-mangled names (gateway__schemas__ShippingAddress) nor input/output twins (ShippingAddress-Input).
    assert not [name for name in schemas if "__" in name or name.endswith(("-Input", "-Output"))]
    assert {"ShippingAddress", "GemsStoreShippingAddress", "CoinsGatewayShippingAddress"} <= set(schemas)
    # Every $ref of the document resolves.
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in doc["components"][section], ref


ERROR_COMPONENTS = {"/v1/": "Problem", "/store/": "GemsStoreError", "/api/v1/marketplace/": "MarketplaceProblemDetails"}


def _error_schema(response: dict[str, Any]) -> tuple[str, str]:
    [(media_type, content)] = response["content"].items()
    return media_type, content["schema"]["$ref"].removeprefix(REF)


def test_every_error_is_a_named_component_in_its_api_shape(doc) -> None:
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            media_type, name = _error_schema(response)
            if path.startswith("/gateway/coins/"):
                assert (media_type, name) == ("application/json", "ClaimError" if int(status) >= 500 else "ClaimFail")
            elif path == "/readyz":
                assert (media_type, name) == ("application/problem+json", "NotReady")
            else:
                prefix = next(p for p in ERROR_COMPONENTS if path.startswith(p))
                expected = "application/json" if prefix == "/store/" else "application/problem+json"
                assert (media_type, name) == (expected, ERROR_COMPONENTS[prefix]), (method, path, status)


def _statuses(doc: dict[str, Any], method: str, path: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"])


def test_each_route_lists_the_errors_it_can_answer(doc) -> None:
    assert _statuses(doc, "post", "/v1/redemptions") == {"200", "201", "401", "403", "404", "409", "413", "422",
                                                         "429", "503"}
    assert _statuses(doc, "get", "/v1/items") == {"200", "401", "422", "429", "503"}
    assert _statuses(doc, "get", "/v1/redemptions/{id}") == {"200", "401", "404", "422", "429", "503"}
    assert _statuses(doc, "post", "/v1/redemptions/{id}/cancel") == {"200", "401", "404", "409", "413", "422", "429",
                                                                     "503"}
    assert _statuses(doc, "get", "/v1/admin/point-types") == {"200", "401", "403", "429", "503"}
    assert _statuses(doc, "get", "/healthz") == {"200"}
    # The providers' callbacks carry no credential: no rate limit.
    assert "429" not in _statuses(doc, "post", "/v1/fulfillment/callbacks/{redemptionId}")
    assert _statuses(doc, "post", "/store/redeem") == {"200", "400", "401", "402", "403", "409", "413", "422", "429",
                                                       "503"}
    # The marketplace answers a bad parameter 400, never FastAPI's 422.
    assert "422" not in _statuses(doc, "get", "/api/v1/marketplace/user/{userKey}/gifts")
    # Not the same set on every route.
    assert len({frozenset(op["responses"]) for _, _, op in operations(doc)}) > 10
    redeem = doc["paths"]["/v1/redemptions"]["post"]["responses"]
    assert "INSUFFICIENT_POINTS" in redeem["422"]["description"]
    assert "IDEMPOTENCY_KEY_IN_PROGRESS" in redeem["409"]["description"]


def test_one_security_scheme_per_credential_header(doc) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["playerBearer"] == {"type": "http", "scheme": "bearer",
                                       "description": schemes["playerBearer"]["description"]}
    headers = {name: (s["in"], s["name"]) for name, s in schemes.items() if s["type"] == "apiKey"}
    assert headers == {"playerToken": ("header", "x-auth-token"), "apiKey": ("header", "x-api-key"),
                       "clientId": ("header", "x-client-id"), "clientSecret": ("header", "x-client-secret")}
    security = {(method, path): op.get("security") for method, path, op in operations(doc)}
    backend = [{"apiKey": []}, {"clientId": [], "clientSecret": []}]
    assert security[("post", "/v1/redemptions")] == [{"playerBearer": []}, {"playerToken": []}, *backend]
    assert security[("get", "/v1/admin/items")] == backend
    assert security[("post", "/store/redeem")] == [{"clientId": [], "clientSecret": [], "playerBearer": []}]
    assert security[("post", "/gateway/coins/redeem/{version}/{brand_id}")] == [{"playerToken": []},
                                                                                 {"playerBearer": []}]
    assert security[("post", "/api/v1/marketplace/user/{userKey}/redeem")] == [{"apiKey": []}]
    assert security[("post", "/v1/fulfillment/callbacks/{redemptionId}")] == []
    # A client id never goes without its secret.
    for requirements in security.values():
        for requirement in requirements or []:
            assert ("clientId" in requirement) == ("clientSecret" in requirement)


def test_the_response_headers_are_declared(doc) -> None:
    assert set(doc["components"]["headers"]) == {"X-Request-Id", "Retry-After", "Idempotent-Replayed",
                                                 "WWW-Authenticate"}
    redeem = doc["paths"]["/v1/redemptions"]["post"]["responses"]
    assert set(redeem["200"]["headers"]) == {"X-Request-Id", "Idempotent-Replayed"}
    assert "Retry-After" in redeem["409"]["headers"] and "Retry-After" in redeem["503"]["headers"]
    assert "Retry-After" in redeem["429"]["headers"]
    assert "WWW-Authenticate" in redeem["401"]["headers"]
    assert "Retry-After" not in redeem["404"]["headers"]
    assert "Idempotent-Replayed" in doc["paths"]["/store/redeem"]["post"]["responses"]["200"]["headers"]
    assert "Idempotent-Replayed" in \
        doc["paths"]["/api/v1/marketplace/user/{userKey}/redeem"]["post"]["responses"]["201"]["headers"]
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if path not in ("/healthz", "/readyz") or int(status) >= 400:
                assert "X-Request-Id" in response.get("headers", {}), (method, path, status)


def test_the_seed_pages_examples_are_in_the_document_and_valid(doc) -> None:
    schemas = doc["components"]["schemas"]
    assert {"store_item_id": 12, "shipping_address": None} in schemas["StoreRedeemRequest"]["examples"]
    assert schemas["StoreRedemption"]["examples"][0] == {
        "id": 834, "status": "fulfilled", "gem_cost_at_time": 150,
        "fulfillment_data": {"code": "AMZN-XXXX-YYYY", "pin": "1234"}}
    assert schemas["ClaimSuccess"]["examples"][0]["data"]["new_balance"] == "150.50"
    assert schemas["RedeemPointsRequest"]["examples"][0]["uuid"] == "unique-idempotency-key-123"
    assert schemas["GiftRedemption"]["examples"][0]["giftName"] == "Premium Headphones"
    assert schemas["RedeemGift"]["examples"][0]["deliveryCity"] == "Riyadh"
    with_examples = [name for name, schema in schemas.items() if "examples" in schema]
    assert {"NewRedemption", "Redemption", "Problem", "GemsStoreError", "ClaimFail", "ClaimError",
            "MarketplaceProblemDetails"} <= set(with_examples)
    for name in with_examples:
        validator = OAS31Validator({"$ref": REF + name, "components": doc["components"]})
        for example in schemas[name]["examples"]:
            errors = [e.message for e in validator.iter_errors(example)]
            assert not errors, (name, example, errors)
