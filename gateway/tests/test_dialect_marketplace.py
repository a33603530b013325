"""Seed 002's dialect against in-process fake services: the body -> RedeemRequest mapping, the record it answers,
and each service reason's ProblemDetails status."""

from __future__ import annotations

import pytest
from rewards.catalog.v1 import catalog_pb2
from rewards.common.v1 import common_pb2
from rewards.redemption.v1 import redemption_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import DomainError, ErrorCode

BASE = "/api/v1/marketplace/user/u-1"
PAGE_BODY = {"giftId": "g-1", "customerName": "Ahmed Mohammed", "customerPhone": "+966500000001",
             "deliveryName": "Ahmed Mohammed", "deliveryPhone": "+966500000001", "deliveryCity": "Riyadh",
             "deliveryAddress": "123 Main Street, Al Olaya District"}


def a_redemption(request: redemption_pb2.RedeemRequest) -> redemption_pb2.RedeemResponse:
    r = redemption_pb2.Redemption(
        id="c1d2", player_id=request.player.player_id, item_id=request.item_id, item_name="Premium Headphones",
        item_image_url="https://example.com/headphones.png", point_type="gems", cost=500, face_value=5_000,
        face_currency="SAR", status=redemption_pb2.REDEMPTION_STATUS_COMPLETED,
        delivery_status=redemption_pb2.DELIVERY_STATUS_PENDING, redemption_message="Enjoy your new headphones!",
        shipping_address=request.shipping_address, customer_info=request.customer_info,
        fulfillment=redemption_pb2.Fulfillment(code="AB-1", pin="0042"))
    r.created_at.FromSeconds(1_774_195_200)
    r.completed_at.FromSeconds(1_774_195_201)
    return redemption_pb2.RedeemResponse(redemption=r)


async def test_the_page_body_becomes_our_customer_info_and_shipping_address(gateway, fake_services):
    fake_services.on("Redeem", a_redemption)

    reply = await gateway.client.post(f"{BASE}/redeem", json=PAGE_BODY, headers={"x-api-key": gateway.player_key})

    assert reply.status_code == 201, reply.text
    sent = fake_services.requests("Redeem")[0]
    assert (sent.item_id, sent.point_type, sent.player.player_id) == ("g-1", "", "u-1")
    assert sent.scope == common_pb2.Scope(tenant_id=gateway.tenant, environment=common_pb2.ENVIRONMENT_SANDBOX)
    assert list(sent.player.segments) == [] and sent.player.country == ""  # no token: no targeting claims
    assert sent.customer_info == common_pb2.CustomerInfo(name="Ahmed Mohammed", phone="+966500000001")
    assert sent.shipping_address == common_pb2.ShippingAddress(
        name="Ahmed Mohammed", phone="+966500000001", city="Riyadh", line1="123 Main Street, Al Olaya District",
        country="SA")
    assert reply.json() == {
        "id": "c1d2", "giftId": "g-1", "userId": "u-1", "giftName": "Premium Headphones",
        "giftImageUrl": "https://example.com/headphones.png", "pointsSpent": 500, "sarValue": 50,
        "pointId": "gems", "redemptionValue": "AB-1 PIN 0042", "orderStatus": "Completed",
        "deliveryStatus": "Pending", **{k: v for k, v in PAGE_BODY.items() if k != "giftId"},
        "createdAt": "2026-03-22T16:00:00Z", "completedAt": "2026-03-22T16:00:01Z", "cancelledAt": None,
        "redemptionMessage": "Enjoy your new headphones!"}


async def test_incomplete_customer_or_delivery_fields_are_not_sent(gateway, fake_services):
    fake_services.on("Redeem", a_redemption)
    body = {"giftId": "g-1", "pointId": "coins", "customerName": "Only a name", "deliveryCity": "Riyadh"}

    reply = await gateway.client.post(f"{BASE}/redeem", json=body, headers={"x-api-key": gateway.player_key})

    assert reply.status_code == 201, reply.text
    sent = fake_services.requests("Redeem")[0]
    assert sent.point_type == "coins"
    assert not sent.HasField("customer_info") and not sent.HasField("shipping_address")


@pytest.mark.parametrize("code,status", [
    (ErrorCode.PLAYER_NOT_FOUND, 403), (ErrorCode.ITEM_NOT_FOUND, 404), (ErrorCode.PLAYER_INACTIVE, 403),
    (ErrorCode.ITEM_NOT_ELIGIBLE, 403), (ErrorCode.ITEM_UNAVAILABLE, 400), (ErrorCode.INVALID_POINT_TYPE, 400),
    (ErrorCode.LIMIT_REACHED, 400), (ErrorCode.REDEMPTION_ALREADY_EXISTS, 400), (ErrorCode.OUT_OF_STOCK, 400),
    (ErrorCode.INSUFFICIENT_BALANCE, 400), (ErrorCode.CUSTOMER_INFO_REQUIRED, 400),
    (ErrorCode.SHIPPING_ADDRESS_REQUIRED, 400), (ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, 409),
    (ErrorCode.UNAVAILABLE, 503), (ErrorCode.INTERNAL, 500),
])
async def test_each_reason_is_a_problem_details_with_the_page_status(gateway, fake_services, code, status):
    fake_services.on("Redeem", DomainError(code, "refused"))

    reply = await gateway.client.post(f"{BASE}/redeem", json={"giftId": "g-1"},
                                      headers={"x-api-key": gateway.player_key})

    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "traceId", "requestId"}
    assert (body["status"], body["code"], body["instance"]) == (status, code.value, f"{BASE}/redeem")
    assert body["traceId"] == body["requestId"] == reply.headers["x-request-id"]
    assert body["detail"] == ("An unexpected error occurred." if code is ErrorCode.INTERNAL else "refused")


async def test_a_key_is_required_and_a_token_is_not_one(gateway, fake_services):
    no_key = await gateway.client.get(f"{BASE}/gifts")
    token = await gateway.client.get(f"{BASE}/gifts",
                                     headers={"Authorization": f"Bearer {await gateway.token('u-1')}"})
    for reply in (no_key, token):
        assert reply.status_code == 401 and reply.json()["code"] == "UNAUTHENTICATED"
    assert fake_services.calls == []


async def test_browse_checks_the_user_then_lists_with_no_claims(gateway, fake_services):
    fake_services.on("GetPlayer", wallet_pb2.GetPlayerResponse(player_id="u-1",
                                                               status=wallet_pb2.PLAYER_STATUS_ACTIVE))
    fake_services.on("ListItems", catalog_pb2.ListItemsResponse(items=[catalog_pb2.Item(
        id="g-1", name="Gift", prices=[catalog_pb2.Price(point_type="gems", amount=70)], stock=5,
        face_value=1_005)], next_page_token="t2"))

    reply = await gateway.client.get(f"{BASE}/gifts", params={"pageSize": 5},
                                     headers={"x-api-key": gateway.player_key})

    assert reply.status_code == 200, reply.text
    gift = reply.json()["items"][0]
    assert (gift["points"], gift["pointId"], gift["sarValue"], gift["stock"]) == (70, "gems", 10.05, 5)
    assert reply.json()["nextCursor"] == "t2"
    listed = fake_services.requests("ListItems")[0]
    assert (listed.page_size, listed.player.player_id, list(listed.player.segments)) == (5, "u-1", [])


async def test_an_unknown_user_is_403_on_every_route_as_the_page_lists(gateway, fake_services):
    # The page's redeem answers 201, 400 or 403; its first check is that the user exists and is active.
    unknown = DomainError(ErrorCode.PLAYER_NOT_FOUND, "no player 'u-1'")
    fake_services.on("GetPlayer", unknown)
    fake_services.on("Redeem", unknown)
    headers = {"x-api-key": gateway.player_key}
    replies = [await gateway.client.post(f"{BASE}/redeem", json={"giftId": "g-1"}, headers=headers),
               await gateway.client.get(f"{BASE}/gifts", headers=headers),
               await gateway.client.get(f"{BASE}/gifts/g-1", headers=headers),
               await gateway.client.get(f"{BASE}/redemptions", headers=headers)]
    for reply in replies:
        assert reply.status_code == 403, reply.text
        body = reply.json()
        assert (body["status"], body["code"], body["title"]) == (403, "PLAYER_NOT_FOUND", "User not found")
        assert body["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.4"
        assert body["instance"] == reply.request.url.path


def a_delivery(status: int, delivery: int = redemption_pb2.DELIVERY_STATUS_PENDING):
    def answer(request: redemption_pb2.RedeemRequest) -> redemption_pb2.RedeemResponse:
        reply = a_redemption(request)
        reply.redemption.status = status
        reply.redemption.delivery_status = delivery
        reply.redemption.ClearField("completed_at")
        reply.redemption.ClearField("fulfillment")
        return reply
    return answer


@pytest.mark.parametrize("status,delivery,order_status", [
    # Something to deliver: the order completes when the points are taken; deliveryStatus follows the shipment.
    (redemption_pb2.REDEMPTION_STATUS_OPEN, redemption_pb2.DELIVERY_STATUS_PENDING, "Completed"),
    (redemption_pb2.REDEMPTION_STATUS_AWAITING_VENDOR, redemption_pb2.DELIVERY_STATUS_PENDING, "Completed"),
    (redemption_pb2.REDEMPTION_STATUS_PURCHASED, redemption_pb2.DELIVERY_STATUS_SHIPPED, "Completed"),
    (redemption_pb2.REDEMPTION_STATUS_SUBMITTED, redemption_pb2.DELIVERY_STATUS_PENDING, "Pending"),  # not charged
    (redemption_pb2.REDEMPTION_STATUS_CANCELED, redemption_pb2.DELIVERY_STATUS_PENDING, "Cancelled"),
    # Nothing to deliver: pending until the voucher or bonus is there.
    (redemption_pb2.REDEMPTION_STATUS_OPEN, redemption_pb2.DELIVERY_STATUS_UNSPECIFIED, "Pending"),
    (redemption_pb2.REDEMPTION_STATUS_AWAITING_VENDOR, redemption_pb2.DELIVERY_STATUS_UNSPECIFIED, "Pending"),
    # Held for review: paid but not confirmed, pending until an operator approves (with a delivery too).
    (redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL, redemption_pb2.DELIVERY_STATUS_PENDING, "Pending"),
    (redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL, redemption_pb2.DELIVERY_STATUS_UNSPECIFIED, "Pending"),
])
async def test_an_order_with_delivery_is_completed_once_paid(gateway, fake_services, status, delivery,
                                                             order_status):
    fake_services.on("Redeem", a_delivery(status, delivery))

    reply = await gateway.client.post(f"{BASE}/redeem", json=PAGE_BODY, headers={"x-api-key": gateway.player_key})

    assert reply.status_code == 201, reply.text
    record = reply.json()
    assert record["orderStatus"] == order_status
    # The page's example: Completed, with completedAt, while the delivery is still Pending.
    assert record["completedAt"] == ("2026-03-22T16:00:00Z" if order_status == "Completed" else None)


async def test_the_pages_example_of_a_gift_with_delivery(gateway, fake_services):
    fake_services.on("Redeem", a_delivery(redemption_pb2.REDEMPTION_STATUS_OPEN))

    reply = await gateway.client.post(f"{BASE}/redeem", json=PAGE_BODY, headers={"x-api-key": gateway.player_key})

    record = reply.json()
    assert (record["orderStatus"], record["deliveryStatus"], record["redemptionValue"]) == (
        "Completed", "Pending", None)
    assert record["cancelledAt"] is None and record["completedAt"] is not None
