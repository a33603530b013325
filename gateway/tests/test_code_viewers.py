"""Who the gateway says reads a redemption's code (redemption-service reveals it to the player and the back end,
masks it for admins), and the admin route over the code-reveal audit; against the in-process fake services."""

from __future__ import annotations

from rewards.redemption.v1 import redemption_pb2 as r


def a_redemption(code: str = "GIFT-1234-5678", pin: str = "1234", masked: bool = False) -> r.Redemption:
    redemption = r.Redemption(
        id="rd_1", number=834, player_id="alice", item_id="gift-card", item_name="Gift card", point_type="coins",
        cost=100, status=r.REDEMPTION_STATUS_COMPLETED,
        fulfillment=r.Fulfillment(code=code, pin=pin, masked=masked))
    redemption.created_at.FromSeconds(1_700_000_000)
    return redemption


def only(fake_services, method: str):  # type: ignore[no-untyped-def]
    [request] = fake_services.requests(method)
    return request


async def test_a_player_token_reads_as_the_player(gateway, fake_services) -> None:  # type: ignore[no-untyped-def]
    fake_services.on("GetRedemption", r.GetRedemptionResponse(redemption=a_redemption()))
    fake_services.on("ListRedemptions", r.ListRedemptionsResponse(redemptions=[a_redemption()]))
    headers = {"authorization": f"Bearer {await gateway.token('alice')}"}
    got = await gateway.client.get("/v1/redemptions/rd_1", headers=headers)
    assert got.status_code == 200, got.text
    assert got.json()["fulfillment"]["code"] == "GIFT-1234-5678"
    request = only(fake_services, "GetRedemption")
    assert (request.viewer, request.viewer_id, request.player_id) == (r.VIEWER_PLAYER, "alice", "alice")
    listed = await gateway.client.get("/v1/redemptions", headers=headers)
    assert listed.status_code == 200, listed.text
    request = only(fake_services, "ListRedemptions")
    assert (request.viewer, request.viewer_id, request.player_id) == (r.VIEWER_PLAYER, "alice", "alice")


async def test_a_back_end_acting_for_a_player_reads_and_redeems_as_the_back_end(gateway, fake_services) -> None:  # type: ignore[no-untyped-def]
    fake_services.on("GetRedemption", r.GetRedemptionResponse(redemption=a_redemption()))
    fake_services.on("Redeem", r.RedeemResponse(redemption=a_redemption()))
    got = await gateway.client.get("/v1/redemptions/rd_1", params={"externalUserID": "alice"},
                                   headers={"x-api-key": gateway.player_key})
    assert got.status_code == 200, got.text
    request = only(fake_services, "GetRedemption")
    key_id = gateway.player_key.split(".", 1)[0]
    assert request.viewer == r.VIEWER_BACKEND and request.player_id == "alice"
    assert request.viewer_id.startswith("api_key:") and request.viewer_id.removeprefix("api_key:") in key_id
    assert gateway.player_key.split(".", 1)[1] not in request.viewer_id, "never the secret"

    redeemed = await gateway.client.post("/v1/redemptions", json={"offer": "gift-card", "externalUserID": "alice"},
                                         headers={"x-client-id": gateway.client_id,
                                                  "x-client-secret": gateway.client_secret})
    assert redeemed.status_code == 201, redeemed.text
    request = only(fake_services, "Redeem")
    assert (request.viewer, request.viewer_id) == (r.VIEWER_BACKEND, f"client:{gateway.client_id}")


async def test_a_player_redeeming_with_a_token_is_the_viewer(gateway, fake_services) -> None:  # type: ignore[no-untyped-def]
    fake_services.on("Redeem", r.RedeemResponse(redemption=a_redemption()))
    redeemed = await gateway.client.post("/v1/redemptions", json={"offer": "gift-card"},
                                         headers={"authorization": f"Bearer {await gateway.token('alice')}"})
    assert redeemed.status_code == 201, redeemed.text
    request = only(fake_services, "Redeem")
    assert (request.viewer, request.viewer_id) == (r.VIEWER_PLAYER, "alice")


async def test_admin_routes_read_as_admin_and_show_the_masked_code(gateway, fake_services) -> None:  # type: ignore[no-untyped-def]
    masked = a_redemption("****-****-5678", "****", masked=True)
    fake_services.on("GetRedemption", r.GetRedemptionResponse(redemption=masked))
    fake_services.on("ListRedemptions", r.ListRedemptionsResponse(redemptions=[masked]))
    got = await gateway.client.get("/v1/admin/redemptions/rd_1", headers=gateway.admin())
    assert got.status_code == 200, got.text
    assert got.json()["fulfillment"]["code"] == "****-****-5678"
    listed = await gateway.client.get("/v1/admin/redemptions", headers=gateway.admin())
    assert listed.status_code == 200, listed.text
    for method in ("GetRedemption", "ListRedemptions"):
        request = only(fake_services, method)
        assert request.viewer == r.VIEWER_ADMIN and request.viewer_id.startswith("api_key:")


async def test_the_admin_route_lists_code_reveals_paged_and_filtered(gateway, fake_services) -> None:  # type: ignore[no-untyped-def]
    reveal = r.CodeReveal(id=7, redemption_id="rd_1", viewer=r.VIEWER_BACKEND, viewer_id="client:cl_1",
                          action="get")
    reveal.revealed_at.FromSeconds(1_700_000_000)
    fake_services.on("ListCodeReveals", r.ListCodeRevealsResponse(reveals=[reveal], next_page_token="next"))
    reply = await gateway.client.get("/v1/admin/code-reveals",
                                     params={"redemptionId": "rd_1", "limit": 1, "cursor": "c1"},
                                     headers=gateway.admin())
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"reveals": [{"id": 7, "redemptionId": "rd_1", "viewer": "backend",
                                         "viewerId": "client:cl_1", "action": "get",
                                         "revealedAt": "2023-11-14T22:13:20Z"}],
                            "nextCursor": "next"}
    request = only(fake_services, "ListCodeReveals")
    assert (request.redemption_id, request.page_size, request.page_token) == ("rd_1", 1, "c1")
    assert request.scope.tenant_id == gateway.tenant


async def test_the_code_reveals_route_is_for_admins_only(gateway, fake_services) -> None:  # type: ignore[no-untyped-def]
    fake_services.on("ListCodeReveals", r.ListCodeRevealsResponse())
    not_admin = await gateway.client.get("/v1/admin/code-reveals", headers={"x-api-key": gateway.player_key})
    assert not_admin.status_code == 403
    player = await gateway.client.get("/v1/admin/code-reveals",
                                      headers={"authorization": f"Bearer {await gateway.token('alice')}"})
    assert player.status_code == 403
    bad = await gateway.client.get("/v1/admin/code-reveals", params={"limit": 0}, headers=gateway.admin())
    assert bad.status_code == 422
    assert fake_services.requests("ListCodeReveals") == []
