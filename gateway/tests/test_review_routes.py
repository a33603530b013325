"""Review holds through the gateway: the admin routes (rules of the tenant and of an item, the holds listed with
their reason, approve, reject), their validation and refusals, and a held redemption in each API's pending shape."""

from __future__ import annotations

from rewards.redemption.v1 import redemption_pb2
from service_kit.errors import DomainError, ErrorCode

from .integration.test_routes import a_redemption, assert_problem, player_headers
from .test_dialect_coins_gateway import a_redemption as coins_redemption
from .test_dialect_coins_gateway import brand  # noqa: F401 (a fixture)
from .test_dialect_coins_gateway import player_headers as coins_headers


def a_hold(**fields) -> redemption_pb2.Redemption:
    r = a_redemption(review_reason="COST_OVER", **fields)
    r.status = redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL
    r.ClearField("fulfillment")
    r.held_at.FromSeconds(1_700_000_001)
    return r


def rule_set(item_id: str = "", **rules) -> redemption_pb2.ReviewRuleSet:
    r = redemption_pb2.ReviewRuleSet(item_id=item_id, rules=redemption_pb2.ReviewRules(**rules))
    r.updated_at.FromSeconds(1_700_000_002)
    return r


async def test_rules_are_set_for_the_tenant_and_an_item_and_listed(gateway, fake_services):
    fake_services.on("SetReviewRules", redemption_pb2.SetReviewRulesResponse(rule_set=rule_set(cost_over=5000)))
    reply = await gateway.client.put("/v1/admin/review-rules", headers=gateway.admin(),
                                     json={"costOver": 5000, "maxRedemptionsPerHour": 3})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"offerId": None, "updatedAt": "2023-11-14T22:13:22Z", "rules": {
        "maxRedemptionsPerHour": 0, "costOver": 5000, "playerYoungerThanDays": 0, "alwaysReview": False}}
    fake_services.on("SetReviewRules", redemption_pb2.SetReviewRulesResponse(
        rule_set=rule_set("12", always_review=True)))
    item = await gateway.client.put("/v1/admin/review-rules/items/12", headers=gateway.admin(),
                                    json={"alwaysReview": True})
    assert item.status_code == 200 and item.json()["offerId"] == "12"
    [tenant, for_item] = fake_services.requests("SetReviewRules")
    assert (tenant.item_id, tenant.rules.cost_over, tenant.rules.max_redemptions_per_hour) == ("", 5000, 3)
    assert (for_item.item_id, for_item.rules.always_review) == ("12", True)
    assert tenant.scope.tenant_id == gateway.tenant

    fake_services.on("ListReviewRules", redemption_pb2.ListReviewRulesResponse(
        rule_sets=[rule_set(cost_over=5000), rule_set("12", always_review=True)]))
    listed = await gateway.client.get("/v1/admin/review-rules", headers=gateway.admin())
    assert [(r["offerId"], r["rules"]["alwaysReview"]) for r in listed.json()["ruleSets"]] == \
        [(None, False), ("12", True)]


async def test_bad_rules_are_a_422_and_reach_no_service(gateway, fake_services):
    for body in ({"costOver": -1}, {"maxRedemptionsPerHour": 10_001}, {"playerYoungerThanDays": "soon"}):
        assert_problem(await gateway.client.put("/v1/admin/review-rules", headers=gateway.admin(), json=body),
                       422, "VALIDATION_ERROR")
    assert fake_services.requests("SetReviewRules") == []


async def test_the_admin_routes_refuse_a_player(gateway, fake_services):
    headers = await player_headers(gateway)
    for method, path in (("get", "/v1/admin/review-rules"), ("get", "/v1/admin/reviews"),
                         ("post", "/v1/admin/reviews/rd_1/approve"), ("post", "/v1/admin/reviews/rd_1/reject")):
        reply = await getattr(gateway.client, method)(path, headers=headers)
        assert reply.status_code in (401, 403), (path, reply.text)
    assert fake_services.requests("ApproveRedemption") == fake_services.requests("RejectRedemption") == []


async def test_holds_are_listed_with_their_reason_and_paged(gateway, fake_services):
    fake_services.on("ListRedemptions", redemption_pb2.ListRedemptionsResponse(redemptions=[a_hold()],
                                                                               next_page_token="t2"))
    reply = await gateway.client.get("/v1/admin/reviews", params={"limit": 1, "cursor": "t1"},
                                     headers=gateway.admin())
    assert reply.status_code == 200, reply.text
    [hold] = reply.json()["redemptions"]
    assert hold["status"] == "AWAITING_APPROVAL" and reply.json()["nextCursor"] == "t2"
    assert hold["review"] == {"reason": "COST_OVER", "heldAt": "2023-11-14T22:13:21Z", "decision": None,
                              "decidedAt": None, "note": None}
    [request] = fake_services.requests("ListRedemptions")
    assert request.status == redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL
    assert (request.page_size, request.page_token, request.player_id) == (1, "t1", "")
    assert request.viewer == redemption_pb2.VIEWER_ADMIN


async def test_approve_and_reject_carry_the_operators_words(gateway, fake_services):
    approved = a_hold(review_decision="approved", review_note="ok")
    approved.status = redemption_pb2.REDEMPTION_STATUS_OPEN
    fake_services.on("ApproveRedemption", redemption_pb2.ApproveRedemptionResponse(redemption=approved))
    reply = await gateway.client.post("/v1/admin/reviews/rd_1/approve", headers=gateway.admin(), json={"note": "ok"})
    assert reply.status_code == 200 and reply.json()["status"] == "OPEN"
    assert reply.json()["review"]["decision"] == "approved"
    rejected = a_hold(review_decision="rejected", failure_code="REVIEW_REJECTED", failure_message="fraud")
    rejected.status = redemption_pb2.REDEMPTION_STATUS_CANCELED
    fake_services.on("RejectRedemption", redemption_pb2.RejectRedemptionResponse(redemption=rejected))
    reply = await gateway.client.post("/v1/admin/reviews/834/reject", headers=gateway.admin(), json={"note": "fraud"})
    assert reply.status_code == 200 and reply.json()["status"] == "CANCELED"
    assert reply.json()["failure"] == {"code": "REVIEW_REJECTED", "message": "fraud"}
    no_body = await gateway.client.post("/v1/admin/reviews/834/reject", headers=gateway.admin())
    assert no_body.status_code == 200
    [approve] = fake_services.requests("ApproveRedemption")
    assert (approve.redemption_id, approve.note) == ("rd_1", "ok")
    assert [(r.redemption_id, r.reason) for r in fake_services.requests("RejectRedemption")] == \
        [("834", "fraud"), ("834", "")]


async def test_a_decision_on_what_is_not_held_is_a_409_with_its_code(gateway, fake_services):
    fake_services.on("ApproveRedemption", DomainError(ErrorCode.REDEMPTION_NOT_HELD, "not held for review"))
    assert_problem(await gateway.client.post("/v1/admin/reviews/rd_1/approve", headers=gateway.admin()),
                   409, "REDEMPTION_NOT_HELD")
    fake_services.on("RejectRedemption", DomainError(ErrorCode.REDEMPTION_NOT_FOUND, "no such redemption"))
    assert_problem(await gateway.client.post("/v1/admin/reviews/rd_9/reject", headers=gateway.admin()),
                   404, "REDEMPTION_NOT_FOUND")
    assert_problem(await gateway.client.post("/v1/admin/reviews/rd_1/reject", headers=gateway.admin(),
                                             json={"note": "x" * 1001}), 422, "VALIDATION_ERROR")


async def test_a_held_redemption_answers_pending_in_the_canonical_and_coins_shapes(gateway, fake_services,
                                                                                  brand):  # noqa: F811
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=a_hold()))
    reply = await gateway.client.post("/v1/redemptions", json={"offer": "12"},
                                      headers={**await player_headers(gateway), "Sandbox-Outcome": "review"})
    assert reply.status_code == 201 and reply.json()["status"] == "AWAITING_APPROVAL"
    assert reply.json()["review"]["reason"] == "COST_OVER" and reply.json()["fulfillment"]["code"] is None
    assert fake_services.requests("Redeem")[0].sandbox_outcome == "review"
    # The coins gateway has no status: a hold is a success without its bonus reference yet, as any pending claim.
    held = coins_redemption(status=redemption_pb2.REDEMPTION_STATUS_AWAITING_APPROVAL,
                            fulfillment=redemption_pb2.Fulfillment(), review_reason="COST_OVER")
    fake_services.on("Redeem", redemption_pb2.RedeemResponse(redemption=held))
    claim = await gateway.client.post(f"/gateway/coins/redeem/v1/{brand}", json={"shop_item_id": "12", "uuid": "u-9"},
                                      headers=await coins_headers(gateway))
    assert claim.status_code == 200, claim.text
    assert claim.json()["status"] == "success" and claim.json()["data"]["financial_ref_id"] is None
