"""Price-locked quotes through the canonical API: the quote carries its id and end, a redemption names it as
`quoteId`, and each way a quote is refused answers its own code and status."""

from __future__ import annotations

import pytest
from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

from .test_routes import a_redemption, assert_problem, player_headers


async def test_a_quote_carries_its_id_and_end_and_a_redemption_forwards_it(gateway, fake_services):
    answer = redemption_pb2.QuoteRedemptionResponse(
        eligible=True, item_id="12", variant_id="r20", point_type="coins", cost=500, point_scale=2, balance=900,
        stock_left=3, remaining_allowance=-1, quote_id="0b8c5e0e-3f7c-4c0e-9a8e-1f1f1f1f1f1f")
    answer.quote_expires_at.FromSeconds(1_700_000_300)
    fake_services.on("QuoteRedemption", answer)
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_redemption()))
    headers = await player_headers(gateway)

    quote = await gateway.client.post("/v1/redemptions/quote", json={"offer": "12", "rounds": 20}, headers=headers)
    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert body["quoteId"] == "0b8c5e0e-3f7c-4c0e-9a8e-1f1f1f1f1f1f"
    assert body["expiresAt"] == "2023-11-14T22:18:20Z"
    assert body["variantId"] == "r20" and body["pointsPrice"] == 500

    redeemed = await gateway.client.post("/v1/redemptions", json={"offer": "12", "quoteId": body["quoteId"]},
                                         headers={**headers, "Idempotency-Key": "q-1"})
    assert redeemed.status_code == 201, redeemed.text
    assert fake_services.requests("Redeem")[0].quote_id == body["quoteId"]
    # Without one, none is sent: today's price.
    await gateway.client.post("/v1/redemptions", json={"offer": "12"}, headers=headers)
    assert fake_services.requests("Redeem")[1].quote_id == ""


async def test_a_quote_the_offer_refused_has_no_id(gateway, fake_services):
    fake_services.on("QuoteRedemption", redemption_pb2.QuoteRedemptionResponse(
        eligible=False, reason="OUT_OF_STOCK", item_id="12", point_type="coins", cost=500, stock_left=0))
    body = (await gateway.client.post("/v1/redemptions/quote", json={"offer": "12"},
                                      headers=await player_headers(gateway))).json()
    assert body["quoteId"] is None and body["expiresAt"] is None and body["reason"] == "OUT_OF_STOCK"


@pytest.mark.parametrize(("code", "status"), [
    (ErrorCode.QUOTE_EXPIRED, 422), (ErrorCode.QUOTE_NOT_YOURS, 403), (ErrorCode.QUOTE_ALREADY_USED, 409),
    (ErrorCode.QUOTE_MISMATCH, 422), (ErrorCode.QUOTE_NOT_FOUND, 404)])
async def test_each_refused_quote_answers_its_own_code(gateway, fake_services, code, status):
    fake_services.on("Redeem", DomainError(code, "refused"))
    reply = await gateway.client.post("/v1/redemptions", json={"offer": "12", "quoteId": "q"},
                                      headers=await player_headers(gateway))
    assert_problem(reply, status, code.value)


async def test_a_quote_id_too_long_is_refused_before_any_call(gateway, fake_services):
    reply = await gateway.client.post("/v1/redemptions", json={"offer": "12", "quoteId": "q" * 65},
                                      headers=await player_headers(gateway))
    assert_problem(reply, 422, "VALIDATION_ERROR")
    assert fake_services.requests("Redeem") == []
