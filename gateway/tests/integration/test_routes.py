"""The HTTP <-> gRPC mapping of the canonical API, against in-process fake services."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import grpc
import pytest
from gateway.errors import CANONICAL
from rewards.catalog.v1 import catalog_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode

from ..conftest import open_gateway, settings_for

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id", "requestId"}


def assert_problem(reply, status: int, code: str) -> dict:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status and body["code"] == code
    assert body["requestId"] == body["request_id"] == reply.headers["x-request-id"]
    return body


def a_redemption(**fields) -> redemption_pb2.Redemption:
    r = redemption_pb2.Redemption(
        id="rd_1", number=834, player_id="alice", item_id="gift-card", item_name="Gift card", point_type="coins",
        cost=15050, point_scale=2, status=redemption_pb2.REDEMPTION_STATUS_COMPLETED,
        fulfillment=redemption_pb2.Fulfillment(code="ABCD-1234", pin="9999"), debit_transaction_id=77,
        balance_after=4950, **fields)
    r.created_at.FromSeconds(1_700_000_000)
    return r


async def player_headers(gw, player: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {await gw.token(player)}"}


async def test_balances_have_the_exact_shape(gateway, fake_services):
    expiring = wallet_pb2.Lot(id=3, remaining=5000, granted=6000)
    expiring.expires_at.FromSeconds(1_800_000_000)
    expiring.created_at.FromSeconds(1_700_000_000)
    never = wallet_pb2.Lot(id=1, remaining=10050, granted=10050)
    never.created_at.FromSeconds(1_600_000_000)
    fake_services.on("GetBalances", wallet_pb2.GetBalancesResponse(accounts=[
        wallet_pb2.Account(point_type="coins", balance=15050, scale=2, lots=[expiring, never],
                           expiring_within_30_days=5000),
        wallet_pb2.Account(point_type="gems", balance=7, scale=0)]))
    reply = await gateway.client.get("/v1/wallet/balances", headers=await player_headers(gateway))
    assert reply.status_code == 200
    assert reply.json() == {"playerId": "alice", "balances": [
        {"pointType": "coins", "amount": 15050, "scale": 2, "display": "150.50", "lots": [
            {"id": 3, "amount": 5000, "display": "50.00", "granted": 6000, "expiresAt": "2027-01-15T08:00:00Z",
             "createdAt": "2023-11-14T22:13:20Z"},
            {"id": 1, "amount": 10050, "display": "100.50", "granted": 10050, "expiresAt": None,
             "createdAt": "2020-09-13T12:26:40Z"}],
         "expiringWithin30Days": 5000, "expiringWithin30DaysDisplay": "50.00"},
        {"pointType": "gems", "amount": 7, "scale": 0, "display": "7", "lots": [], "expiringWithin30Days": 0,
         "expiringWithin30DaysDisplay": "0"}]}


async def test_transactions_page_through_the_ledger(gateway, fake_services):
    entry = wallet_pb2.LedgerEntry(id=5, player_id="alice", point_type="coins", kind=wallet_pb2.ENTRY_KIND_DEBIT,
                                   amount=-250, balance_after=100, reference="saga-1", scale=2)
    fake_services.on("ListTransactions", lambda r: wallet_pb2.ListTransactionsResponse(
        entries=[entry], next_page_token="" if r.page_token else "page2"))
    headers = await player_headers(gateway)
    first = await gateway.client.get("/v1/wallet/transactions", params={"limit": 1, "pointType": "coins"},
                                     headers=headers)
    assert first.status_code == 200
    body = first.json()
    assert body["nextCursor"] == "page2"
    assert body["transactions"][0] | {} == body["transactions"][0]
    assert {k: body["transactions"][0][k] for k in ("id", "kind", "amount", "display", "balanceAfter")} == \
        {"id": 5, "kind": "debit", "amount": -250, "display": "-2.50", "balanceAfter": 100}
    second = await gateway.client.get("/v1/wallet/transactions", params={"cursor": "page2"}, headers=headers)
    assert second.json()["nextCursor"] is None
    requests = fake_services.requests("ListTransactions")
    assert (requests[0].page_size, requests[0].point_type, requests[1].page_token) == (1, "coins", "page2")


async def test_items_are_those_the_player_may_redeem(gateway, fake_services):
    item = catalog_pb2.Item(id="12", name="Mug", prices=[catalog_pb2.Price(point_type="gems", amount=300)],
                            stock=4, per_player_limit=1, status=catalog_pb2.ITEM_STATUS_ACTIVE)
    fake_services.on("ListItems", catalog_pb2.ListItemsResponse(items=[item]))
    fake_services.on("GetItem", catalog_pb2.GetItemResponse(item=item, player_redeemed_count=1))
    headers = await player_headers(gateway)
    listed = await gateway.client.get("/v1/items", params={"limit": 5}, headers=headers)
    assert listed.status_code == 200
    first = listed.json()["items"][0]
    assert (first["id"], first["pointsPrice"], first["pointType"], first["stock"]) == ("12", 300, "gems", 4)
    assert listed.json()["nextCursor"] is None
    one = await gateway.client.get("/v1/items/12", headers=headers)
    assert one.json()["redeemedCount"] == 1
    assert fake_services.requests("ListItems")[0].player.player_id == "alice"
    assert fake_services.requests("GetItem")[0].item_id == "12"
    missing = await gateway.client.get("/v1/items", params={"limit": 0}, headers=headers)
    assert_problem(missing, 422, "VALIDATION_ERROR")


async def test_redeem_maps_the_body_and_answers_201_then_a_replay_200(gateway, fake_services):
    replays = iter([False, True])
    fake_services.on("Redeem", lambda r: redemption_pb2.RedeemResponse(
        redemption=a_redemption(), replayed=next(replays)))
    headers = {**await player_headers(gateway), "Idempotency-Key": "k-1", "X-Request-Id": "trace-42"}
    body = {"offer": "gift-card", "variantId": "v20", "rounds": 20, "pointType": "coins",
            "shippingAddress": {"name": "A", "line1": "1 Road", "city": "Paris", "postalCode": "75001",
                                "country": "FR"},
            "customerInfo": {"email": "a@example.com"}, "comment": "thanks", "triggerSource": "CAMPAIGN",
            "triggerDetails": {"campaign": 7}}
    first = await gateway.client.post("/v1/redemptions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    r = first.json()
    assert r["id"] == "rd_1" and r["number"] == 834 and r["status"] == "COMPLETED"
    assert r["offer"] == {"id": "gift-card", "name": "Gift card", "imageUrl": None, "pointsPrice": 15050,
                          "pointType": "coins"}
    assert r["display"] == "150.50" and r["transactionId"] == 77 and r["balanceAfter"] == 4950
    assert r["fulfillment"]["code"] == "ABCD-1234" and r["fulfillment"]["pin"] == "9999"
    assert r["failure"] is None and r["startAt"] is None and r["endAt"] is None
    assert r["createdAt"].startswith("2023-11-14T22:13:20")
    again = await gateway.client.post("/v1/redemptions", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"

    sent = fake_services.requests("Redeem")[0]
    assert (sent.item_id, sent.variant_id, sent.rounds, sent.point_type) == ("gift-card", "v20", 20, "coins")
    assert sent.idempotency_key == "k-1" and sent.comment == "thanks" and sent.trigger_source == "CAMPAIGN"
    assert sent.shipping_address.postal_code == "75001" and sent.customer_info.email == "a@example.com"
    assert sent.trigger_details["campaign"] == 7
    metadata = next(c.metadata for c in fake_services.calls if c.method == "Redeem")
    assert metadata["x-request-id"] == "trace-42"


async def test_quote_get_list_and_cancel(gateway, fake_services):
    fake_services.on("QuoteRedemption", redemption_pb2.QuoteRedemptionResponse(
        eligible=False, reason="INSUFFICIENT_BALANCE", item_id="12", point_type="coins", cost=500, point_scale=2,
        balance=120, stock_left=-1, remaining_allowance=2, shipping_address_required=True))
    fake_services.on("GetRedemption", redemption_pb2.GetRedemptionResponse(redemption=a_redemption()))
    fake_services.on("ListRedemptions", redemption_pb2.ListRedemptionsResponse(redemptions=[a_redemption()]))
    canceled = a_redemption(failure_code="INSUFFICIENT_BALANCE", failure_message="no points")
    canceled.status = redemption_pb2.REDEMPTION_STATUS_CANCELED
    fake_services.on("CancelRedemption", redemption_pb2.CancelRedemptionResponse(redemption=canceled))
    headers = await player_headers(gateway)

    quote = await gateway.client.post("/v1/redemptions/quote", json={"itemId": "12"}, headers=headers)
    assert quote.status_code == 200
    q = quote.json()
    assert q["eligible"] is False and q["reason"] == "INSUFFICIENT_POINTS"
    assert (q["display"], q["balanceDisplay"], q["stockLeft"], q["remainingAllowance"]) == ("5.00", "1.20", None, 2)

    got = await gateway.client.get("/v1/redemptions/834", headers=headers)
    assert got.status_code == 200 and got.json()["number"] == 834
    assert fake_services.requests("GetRedemption")[0].redemption_id == "834"
    assert fake_services.requests("GetRedemption")[0].player_id == "alice"

    listed = await gateway.client.get("/v1/redemptions", params={"status": "open", "limit": 100}, headers=headers)
    assert listed.status_code == 200 and listed.json()["nextCursor"] is None
    sent = fake_services.requests("ListRedemptions")[0]
    assert (sent.status, sent.page_size, sent.player_id) == (redemption_pb2.REDEMPTION_STATUS_OPEN, 100, "alice")
    default = await gateway.client.get("/v1/redemptions", headers=headers)
    assert default.status_code == 200 and fake_services.requests("ListRedemptions")[1].page_size == 20
    assert_problem(await gateway.client.get("/v1/redemptions", params={"limit": 101}, headers=headers),
                   422, "VALIDATION_ERROR")
    assert_problem(await gateway.client.get("/v1/redemptions", params={"status": "LOST"}, headers=headers),
                   422, "VALIDATION_ERROR")

    cancel = await gateway.client.post("/v1/redemptions/rd_1/cancel", headers=headers)
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "CANCELED"
    assert cancel.json()["failure"] == {"code": "INSUFFICIENT_POINTS", "message": "no points"}
    assert fake_services.requests("CancelRedemption")[0].player_id == "alice"


EXPECTED = {
    ErrorCode.INSUFFICIENT_BALANCE: (422, "INSUFFICIENT_POINTS"),
    ErrorCode.ITEM_UNAVAILABLE: (422, "OFFER_UNAVAILABLE"),
    ErrorCode.REDEMPTION_ALREADY_EXISTS: (409, "REDEMPTION_ALREADY_EXISTS"),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: (422, "IDEMPOTENCY_KEY_REUSED"),
    ErrorCode.IDEMPOTENCY_KEY_CONFLICT: (409, "IDEMPOTENCY_KEY_CONFLICT"),
    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS: (409, "IDEMPOTENCY_KEY_IN_PROGRESS"),
    ErrorCode.ITEM_NOT_FOUND: (404, "ITEM_NOT_FOUND"),
    ErrorCode.REDEMPTION_NOT_FOUND: (404, "REDEMPTION_NOT_FOUND"),
    ErrorCode.PLAYER_NOT_FOUND: (404, "PLAYER_NOT_FOUND"),
    ErrorCode.ITEM_NOT_ELIGIBLE: (403, "ITEM_NOT_ELIGIBLE"),
    ErrorCode.OUT_OF_STOCK: (409, "OUT_OF_STOCK"),
    ErrorCode.LIMIT_REACHED: (409, "LIMIT_REACHED"),
    ErrorCode.INVALID_POINT_TYPE: (422, "INVALID_POINT_TYPE"),
    ErrorCode.INVALID_ROUNDS_SELECTION: (422, "INVALID_ROUNDS_SELECTION"),
    ErrorCode.SHIPPING_ADDRESS_REQUIRED: (422, "SHIPPING_ADDRESS_REQUIRED"),
    ErrorCode.CUSTOMER_INFO_REQUIRED: (422, "CUSTOMER_INFO_REQUIRED"),
    ErrorCode.VALIDATION_ERROR: (422, "VALIDATION_ERROR"),
    ErrorCode.PLAYER_INACTIVE: (403, "PLAYER_INACTIVE"),
    ErrorCode.REDEMPTION_NOT_CANCELLABLE: (409, "REDEMPTION_NOT_CANCELLABLE"),
    ErrorCode.RATE_LIMITED: (429, "RATE_LIMITED"),
    ErrorCode.UNAVAILABLE: (503, "UNAVAILABLE"),
    ErrorCode.INTERNAL: (500, "INTERNAL"),
}


async def test_each_service_reason_becomes_its_canonical_problem(gateway, fake_services):
    headers = {**await player_headers(gateway), "Idempotency-Key": "k"}
    for code, (status, public) in EXPECTED.items():
        fake_services.on("Redeem", DomainError(code, f"refused: {code.value}"))
        reply = await gateway.client.post("/v1/redemptions", json={"offer": "12"}, headers=headers)
        body = assert_problem(reply, status, public)
        if status < 500:
            assert body["detail"] == f"refused: {code.value}"
        if code in (ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, ErrorCode.RATE_LIMITED):
            assert reply.headers["retry-after"] == "1"
    assert all(code in CANONICAL for code in ErrorCode)


async def test_a_service_may_say_when_to_retry(gateway, fake_services):
    fake_services.on("Redeem", DomainError(ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, "busy", {"retry_after": "3"}))
    reply = await gateway.client.post("/v1/redemptions", json={"offer": "12"},
                                      headers={**await player_headers(gateway), "Idempotency-Key": "k"})
    assert_problem(reply, 409, "IDEMPOTENCY_KEY_IN_PROGRESS")
    assert reply.headers["retry-after"] == "3"


async def test_a_status_without_a_reason_is_mapped_by_its_grpc_code(gateway, fake_services):
    headers = await player_headers(gateway)
    # An unimplemented RPC is our fault: a 500 INTERNAL problem, without the upstream's words.
    internal = assert_problem(await gateway.client.get("/v1/wallet/balances", headers=headers), 500, "INTERNAL")
    assert "fake" not in internal["detail"]
    # A bare INVALID_ARGUMENT (no ErrorInfo) is still the caller's bad input: 422, never a 500.
    fake_services.on("GetBalances", grpc.StatusCode.INVALID_ARGUMENT)
    assert_problem(await gateway.client.get("/v1/wallet/balances", headers=headers), 422, "VALIDATION_ERROR")


async def test_a_service_that_is_down_is_a_503(gateway_database, fake_services):
    from local_runner.infra import free_port

    dead = f"127.0.0.1:{free_port()}"
    settings = settings_for(gateway_database, fake_services.address, redemption_addr=dead, wallet_addr=dead,
                            upstream_timeout_seconds=1)
    async for gw in open_gateway(settings):
        headers = await player_headers(gw)
        redeem = await gw.client.post("/v1/redemptions", json={"offer": "12"}, headers=headers)
        assert_problem(redeem, 503, "UNAVAILABLE")
        assert_problem(await gw.client.get("/v1/wallet/balances", headers=headers), 503, "UNAVAILABLE")
        ready = await gw.client.get("/readyz")
        body = assert_problem(ready, 503, "UNAVAILABLE")
        assert body["failing"] == ["wallet", "redemption"]
        assert body["checks"] == {"database": True, "catalog": True, "wallet": False, "redemption": False,
                                  "fulfillment": True}


async def test_health_and_readiness(gateway):
    assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_request_ids_are_echoed_validated_or_made(gateway):
    sent = await gateway.client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert sent.headers["x-request-id"] == "abc-123"
    made = await gateway.client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    too_long = await gateway.client.get("/healthz", headers={"X-Request-Id": "a" * 129})
    assert too_long.headers["x-request-id"] != "a" * 129
    error = await gateway.client.get("/v1/wallet/balances", headers={"X-Request-Id": "err-1"})
    assert assert_problem(error, 401, "UNAUTHENTICATED")["requestId"] == "err-1"


async def test_framework_errors_are_problems_too(gateway):
    headers = await player_headers(gateway)
    assert_problem(await gateway.client.get("/v1/nowhere"), 404, "NOT_FOUND")
    assert_problem(await gateway.client.delete("/v1/wallet/balances", headers=headers), 405, "METHOD_NOT_ALLOWED")
    missing_offer = await gateway.client.post("/v1/redemptions", json={"rounds": 3}, headers=headers)
    body = assert_problem(missing_offer, 422, "VALIDATION_ERROR")
    assert "offer" in body["detail"]
    broken = await gateway.client.post("/v1/redemptions", content=b"{not json",
                                       headers={**headers, "content-type": "application/json"})
    assert_problem(broken, 422, "VALIDATION_ERROR")
    wrong_type = await gateway.client.post("/v1/redemptions", json={"offer": "1", "rounds": "many"}, headers=headers)
    assert_problem(wrong_type, 422, "VALIDATION_ERROR")


async def test_admin_items_stock_points_and_players(gateway, fake_services):
    gw = gateway
    stored = {}

    def create(request):
        stored["item"] = request.item
        item = catalog_pb2.Item()
        item.CopyFrom(request.item)
        item.id = item.id or "generated"
        return catalog_pb2.CreateItemResponse(item=item)

    fake_services.on("CreateItem", create)
    fake_services.on("UpdateItem", lambda r: catalog_pb2.UpdateItemResponse(item=r.item))
    fake_services.on("ArchiveItem", lambda r: catalog_pb2.ArchiveItemResponse(
        item=catalog_pb2.Item(id=r.item_id, status=catalog_pb2.ITEM_STATUS_DELETED)))
    fake_services.on("AdjustStock", lambda r: catalog_pb2.AdjustStockResponse(
        item=catalog_pb2.Item(id=r.item_id, stock=10 + r.delta)))
    created = await gw.client.post("/v1/admin/items", headers=gw.admin(), json={
        "id": "507f1f77bcf86cd799439011", "name": "Free spins", "prices": [{"pointType": "gems", "amount": 50}],
        "variants": [{"id": "v20", "rounds": 20, "prices": [{"pointType": "gems", "amount": 40}]}],
        "stock": 10, "fulfillmentStrategy": "FREE_ROUNDS", "fulfillmentConfig": {"gameId": "g1", "bet": 20},
        "targeting": {"private": True, "segments": ["vip"], "minLevel": 5}, "shippingAddressRequired": False})
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["id"] == "507f1f77bcf86cd799439011" and item["status"] == "ACTIVE"
    assert item["fulfillmentStrategy"] == "free_rounds" and item["fulfillmentConfig"] == {"gameId": "g1", "bet": 20}
    assert item["targeting"] == {"private": True, "segments": ["vip"], "countries": [], "minLevel": 5}
    assert stored["item"].variants[0].rounds == 20 and stored["item"].stock == 10
    assert item["lowStockThreshold"] is None and not stored["item"].HasField("low_stock_threshold")

    patched = await gw.client.patch("/v1/admin/items/12", headers=gw.admin(),
                                    json={"name": "Renamed", "availableUntil": None})
    assert patched.status_code == 200
    update = fake_services.requests("UpdateItem")[0]
    assert sorted(update.update_mask) == ["available_until", "name"] and update.item.id == "12"
    # An item's own low-stock threshold (item.stock_low), and null to follow the catalog's setting again.
    own = await gw.client.patch("/v1/admin/items/12", headers=gw.admin(), json={"lowStockThreshold": 3})
    assert own.status_code == 200 and own.json()["lowStockThreshold"] == 3
    cleared = await gw.client.patch("/v1/admin/items/12", headers=gw.admin(), json={"lowStockThreshold": None})
    assert cleared.status_code == 200 and cleared.json()["lowStockThreshold"] is None
    set_it, clear_it = fake_services.requests("UpdateItem")[1:3]
    assert set_it.update_mask == ["low_stock_threshold"] and set_it.item.low_stock_threshold == 3
    assert clear_it.update_mask == ["low_stock_threshold"] and not clear_it.item.HasField("low_stock_threshold")
    negative = await gw.client.patch("/v1/admin/items/12", headers=gw.admin(), json={"lowStockThreshold": -1})
    assert_problem(negative, 422, "VALIDATION_ERROR")

    archived = await gw.client.delete("/v1/admin/items/12", headers=gw.admin())
    assert archived.json()["status"] == "DELETED"

    no_key = await gw.client.post("/v1/admin/items/12/stock", headers=gw.admin(), json={"delta": 5})
    assert_problem(no_key, 422, "VALIDATION_ERROR")
    stock = await gw.client.post("/v1/admin/items/12/stock", json={"delta": 5, "reason": "restock"},
                                 headers={**gw.admin(), "Idempotency-Key": "s-1"})
    assert stock.status_code == 200 and stock.json()["stock"] == 15
    assert fake_services.requests("AdjustStock")[0].idempotency_key == "s-1"

    fake_services.on("DefinePointType", lambda r: wallet_pb2.DefinePointTypeResponse(point_type=r.point_type))
    defined = await gw.client.put("/v1/admin/point-types/coins", json={"name": "Coins", "scale": 2},
                                  headers=gw.admin())
    assert defined.json() == {"code": "coins", "name": "Coins", "scale": 2, "lifetimeSeconds": 0}
    lived = await gw.client.put("/v1/admin/point-types/coins", json={"name": "Coins", "scale": 2,
                                                                     "lifetimeSeconds": 86400}, headers=gw.admin())
    assert lived.json()["lifetimeSeconds"] == 86400
    assert fake_services.requests("DefinePointType")[-1].point_type.lifetime_seconds == 86400
    assert_problem(await gw.client.put("/v1/admin/point-types/coins", json={"name": "Coins", "scale": 9},
                                       headers=gw.admin()), 422, "VALIDATION_ERROR")

    replays = iter([False, True])
    fake_services.on("GrantPoints", lambda r: wallet_pb2.GrantPointsResponse(
        entry=wallet_pb2.LedgerEntry(id=1, player_id=r.player_id, point_type=r.point_type, amount=r.amount,
                                     balance_after=r.amount, kind=wallet_pb2.ENTRY_KIND_GRANT, scale=2),
        replayed=next(replays)))
    grant = {"pointType": "coins", "amount": 15050, "description": "welcome"}
    headers = {**gw.admin(), "Idempotency-Key": "g-1"}
    first = await gw.client.post("/v1/admin/players/bob/grants", json=grant, headers=headers)
    assert first.status_code == 201 and first.json()["transaction"]["display"] == "150.50"
    again = await gw.client.post("/v1/admin/players/bob/grants", json=grant, headers=headers)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert_problem(await gw.client.post("/v1/admin/players/bob/grants", json={**grant, "amount": 0},
                                        headers=headers), 422, "VALIDATION_ERROR")
    assert_problem(await gw.client.post("/v1/admin/players/bob/grants", json=grant, headers=gw.admin()),
                   422, "VALIDATION_ERROR")
    assert len(fake_services.requests("GrantPoints")) == 2
    fake_services.on("GrantPoints", lambda r: wallet_pb2.GrantPointsResponse(
        entry=wallet_pb2.LedgerEntry(id=2, player_id=r.player_id, point_type=r.point_type, amount=r.amount,
                                     balance_after=r.amount, kind=wallet_pb2.ENTRY_KIND_GRANT, scale=2)))
    expiring = await gw.client.post("/v1/admin/players/bob/grants", headers={**gw.admin(), "Idempotency-Key": "g-2"},
                                    json={**grant, "expiresAt": "2030-01-01T00:00:00+02:00"})
    assert expiring.status_code == 201, expiring.text
    sent = fake_services.requests("GrantPoints")[-1]
    assert sent.expires_at.ToDatetime(tzinfo=UTC) == datetime(2029, 12, 31, 22, tzinfo=UTC)
    assert not fake_services.requests("GrantPoints")[0].HasField("expires_at")
    assert_problem(await gw.client.post("/v1/admin/players/bob/grants", headers={**gw.admin(), "Idempotency-Key": "g-3"},
                                        json={**grant, "expiresAt": "2030-01-01T00:00:00"}), 422, "VALIDATION_ERROR")
    assert len(fake_services.requests("GrantPoints")) == 3

    fake_services.on("UpsertPlayer", lambda r: wallet_pb2.UpsertPlayerResponse(player_id=r.player_id,
                                                                               status=r.status))
    suspended = await gw.client.put("/v1/admin/players/bob", json={"status": "suspended"}, headers=gw.admin())
    assert suspended.json()["status"] == "SUSPENDED"

    fake_services.on("ListRedemptions", redemption_pb2.ListRedemptionsResponse(
        redemptions=[a_redemption()], next_page_token="more"))
    listed = await gw.client.get("/v1/admin/redemptions", params={"playerId": "alice"}, headers=gw.admin())
    assert listed.json()["nextCursor"] == "more"
    assert fake_services.requests("ListRedemptions")[0].player_id == "alice"


async def test_the_openapi_document_lists_every_route(gateway):
    doc = (await gateway.client.get("/openapi.json")).json()
    expected = {
        ("get", "/healthz"), ("get", "/readyz"), ("post", "/v1/auth/token"),
        ("get", "/v1/items"), ("get", "/v1/items/{itemId}"),
        ("get", "/v1/wallet/balances"), ("get", "/v1/wallet/transactions"),
        ("post", "/v1/redemptions"), ("get", "/v1/redemptions"), ("get", "/v1/redemptions/{id}"),
        ("post", "/v1/redemptions/{id}/cancel"), ("post", "/v1/redemptions/quote"),
        ("post", "/v1/admin/items"), ("get", "/v1/admin/items"), ("get", "/v1/admin/items/{id}"),
        ("patch", "/v1/admin/items/{id}"), ("delete", "/v1/admin/items/{id}"),
        ("post", "/v1/admin/items/{id}/stock"), ("put", "/v1/admin/point-types/{code}"),
        ("get", "/v1/admin/point-types"), ("post", "/v1/admin/players/{playerId}/grants"),
        ("post", "/v1/admin/players/{playerId}/adjustments"), ("put", "/v1/admin/players/{playerId}"),
        ("get", "/v1/admin/redemptions"), ("post", "/v1/admin/redemptions/{id}/cancel"),
    }
    listed = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert expected <= listed
    for name in ("Redemption", "Balances", "Item", "NewRedemption", "Quote", "TokenResponse"):
        assert name in doc["components"]["schemas"]
    assert "application/problem+json" in doc["paths"]["/v1/redemptions"]["post"]["responses"]["422"]["content"]


@pytest.mark.parametrize("status", [grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE])
async def test_bare_transport_statuses_are_503(gateway, fake_services, status):
    fake_services.on("CancelRedemption", status)
    reply = await gateway.client.post("/v1/redemptions/1/cancel", headers=await player_headers(gateway))
    assert_problem(reply, 503, "UNAVAILABLE")
    assert len(fake_services.requests("CancelRedemption")) == 1  # a mutation is never retried here


async def test_every_call_has_a_deadline(gateway_database, fake_services):
    import asyncio
    import time

    async def slow(request):
        await asyncio.sleep(1.5)
        return redemption_pb2.RedeemResponse(redemption=a_redemption())

    fake_services.handlers["Redeem"] = slow
    settings = settings_for(gateway_database, fake_services.address, redeem_timeout_seconds=0.3)
    async for gw in open_gateway(settings):
        started = time.monotonic()
        reply = await gw.client.post("/v1/redemptions", json={"offer": "12"}, headers=await player_headers(gw))
        assert_problem(reply, 503, "UNAVAILABLE")
        assert time.monotonic() - started < 1.2
