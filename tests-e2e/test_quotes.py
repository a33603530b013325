"""Price-locked quotes on the running system: a quote's `quoteId` pays the quoted price and variant after the
offer's price went up, once; another player, a second use, an expired quote and another offer are refused with
their own codes and charge nothing; a redemption that failed for want of points leaves the quote usable."""

from __future__ import annotations

from typing import Any

import httpx


def _balance(gateway: httpx.Client, headers: dict[str, str]) -> int:
    r = gateway.get("/v1/wallet/balances", headers=headers)
    assert r.status_code == 200, r.text
    return next(b["amount"] for b in r.json()["balances"] if b["pointType"] == "gems")


def _quote(gateway: httpx.Client, headers: dict[str, str], offer: str, **extra: Any) -> dict[str, Any]:
    r = gateway.post("/v1/redemptions/quote", json={"offer": offer, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _redeem(gateway: httpx.Client, headers: dict[str, str], offer: str, key: str, **extra: Any) -> httpx.Response:
    return gateway.post("/v1/redemptions", json={"offer": offer, **extra},
                        headers={**headers, "Idempotency-Key": key})


def test_a_quote_locks_the_price_and_variant_once(gateway, operator, databases) -> None:
    item = operator.create_item(prices=[{"pointType": "gems", "amount": 10}],
                                variants=[{"id": "small", "name": "Small", "prices": [{"pointType": "gems", "amount": 7}]},
                                          {"id": "large", "name": "Large"}])
    other = operator.create_item()
    player, headers = operator.new_player(gems=100)
    quote = _quote(gateway, headers, item["id"], variantId="small")
    assert quote["eligible"] and quote["pointsPrice"] == 7 and quote["quoteId"] and quote["expiresAt"]

    raised = operator.http.patch(f"/v1/admin/items/{item['id']}", json={
        "variants": [{"id": "small", "name": "Small", "prices": [{"pointType": "gems", "amount": 30}]},
                     {"id": "large", "name": "Large"}]})
    assert raised.status_code == 200, raised.text
    assert _quote(gateway, headers, item["id"], variantId="small")["pointsPrice"] == 30   # today's price

    # The quote names the variant: the redemption need not.
    paid = _redeem(gateway, headers, item["id"], f"{player}-1", quoteId=quote["quoteId"])
    assert paid.status_code == 201, paid.text
    assert paid.json()["offer"]["pointsPrice"] == 7 and paid.json()["variantId"] == "small"
    assert _balance(gateway, headers) == 93

    # The same key again is the replay of that redemption, not a second use.
    replay = _redeem(gateway, headers, item["id"], f"{player}-1", quoteId=quote["quoteId"])
    assert replay.status_code == 200 and replay.json()["id"] == paid.json()["id"]

    def refused(reply: httpx.Response, status: int, code: str) -> None:
        assert reply.status_code == status, reply.text
        assert reply.json()["code"] == code and reply.json()["requestId"]

    refused(_redeem(gateway, headers, item["id"], f"{player}-2", quoteId=quote["quoteId"]), 409,
            "QUOTE_ALREADY_USED")
    intruder, intruder_headers = operator.new_player(gems=100)
    refused(_redeem(gateway, intruder_headers, item["id"], f"{intruder}-1", quoteId=quote["quoteId"]), 403,
            "QUOTE_NOT_YOURS")
    fresh = _quote(gateway, headers, item["id"], variantId="small")
    refused(_redeem(gateway, headers, other["id"], f"{player}-3", quoteId=fresh["quoteId"]), 422, "QUOTE_MISMATCH")
    refused(_redeem(gateway, headers, item["id"], f"{player}-4", quoteId=fresh["quoteId"], variantId="large"), 422,
            "QUOTE_MISMATCH")
    refused(_redeem(gateway, headers, item["id"], f"{player}-5", quoteId="no-such-quote"), 404, "QUOTE_NOT_FOUND")
    databases.rows("catalog", "UPDATE price_locks SET expires_at = now() - interval '1 second' "
                              f"WHERE id = '{fresh['quoteId']}'")
    refused(_redeem(gateway, headers, item["id"], f"{player}-6", quoteId=fresh["quoteId"]), 422, "QUOTE_EXPIRED")
    # None of the refusals charged anything.
    assert _balance(gateway, headers) == 93 and _balance(gateway, intruder_headers) == 100


def test_a_quote_outlives_a_redemption_that_failed_for_want_of_points(gateway, operator) -> None:
    item = operator.create_item(prices=[{"pointType": "gems", "amount": 20}])
    player, headers = operator.new_player(gems=15)
    quote = _quote(gateway, headers, item["id"])
    assert not quote["eligible"] and quote["reason"] == "INSUFFICIENT_POINTS" and quote["quoteId"]
    operator.http.patch(f"/v1/admin/items/{item['id']}", json={"prices": [{"pointType": "gems", "amount": 50}]})

    short = _redeem(gateway, headers, item["id"], f"{player}-1", quoteId=quote["quoteId"])
    assert short.status_code == 422 and short.json()["code"] == "INSUFFICIENT_POINTS", short.text
    operator.grant(player, 10)
    paid = _redeem(gateway, headers, item["id"], f"{player}-2", quoteId=quote["quoteId"])
    assert paid.status_code == 201, paid.text
    assert paid.json()["offer"]["pointsPrice"] == 20 and _balance(gateway, headers) == 5
