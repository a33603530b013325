"""The typed client generated from the OpenAPI document (clients/python, `make clients`) against the real
processes, as a client developer would use it: redeem, page the history and cancel on the canonical API, and
redeem (and page the history where the API has one) on the gem store, the coins gateway and the marketplace. Every
answer is parsed into the document's own models; an answer the document does not list raises (the client is
made with raise_on_unexpected_status)."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

import httpx
import pytest
from rewards_gateway_client import AuthenticatedClient
from rewards_gateway_client.api.admin_fulfillment import admin_upload_codes
from rewards_gateway_client.api.coins_gateway_seed_001 import coins_gateway_redeem_points
from rewards_gateway_client.api.gems_store_seed_000 import gems_store_redeem
from rewards_gateway_client.api.marketplace_seed_002 import marketplace_redeem_gift, marketplace_redemption_history
from rewards_gateway_client.api.redemptions import cancel_redemption, create_redemption, list_redemptions
from rewards_gateway_client.models import (
    AdminUploadCodesJsonBody,
    AdminUploadCodesJsonBodyCodeInput,
    CancelRequest,
    ClaimSuccess,
    CodeUploadResult,
    GemsStoreError,
    GiftRedemption,
    NewRedemption,
    Problem,
    RedeemGift,
    RedeemPointsRequest,
    Redemption,
    RedemptionList,
    RedemptionPage,
    StoreRedeemRequest,
    StoreRedemption,
)

TIMEOUT = httpx.Timeout(20.0)


def _client(platform, token: str, prefix: str = "Bearer", header: str = "Authorization",
            **headers: str) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=platform.gateway_url, token=token, prefix=prefix, auth_header_name=header,
                               headers=headers, timeout=TIMEOUT, raise_on_unexpected_status=True)


@pytest.fixture(scope="module")
def admin(platform, demo):
    with _client(platform, demo["api_key"], prefix="", header="x-api-key") as client:
        yield client


def _voucher(operator, admin, point_type: str = "gems", price: int = 10, codes: int = 10,
             item_id: str | None = None) -> str:
    """A code-pool item (completes inside the redeem call), its codes uploaded through the generated client."""
    item = operator.create_item(id=item_id or f"it-{uuid.uuid4().hex[:10]}", name="Client voucher",
                                prices=[{"pointType": point_type, "amount": price}], stock=codes,
                                fulfillmentStrategy="code_pool")
    pool = AdminUploadCodesJsonBody(codes=[AdminUploadCodesJsonBodyCodeInput(code=f"GEN-{uuid.uuid4().hex[:10]}",
                                                                             pin=f"{i:04d}") for i in range(codes)])
    uploaded = admin_upload_codes.sync(item["id"], client=admin, body=pool)
    assert isinstance(uploaded, CodeUploadResult) and uploaded.added == codes
    return str(item["id"])


def _pages(fetch: Any) -> list[Any]:
    """Every element of a cursor-paginated list, one page at a time."""
    seen: list[Any] = []
    cursor = None
    for _ in range(50):
        page = fetch(cursor)
        seen.extend(page.redemptions if isinstance(page, RedemptionList) else page.items)
        cursor = page.next_cursor
        if not cursor:
            return seen
    raise AssertionError("the history did not end within 50 pages")


def test_the_canonical_api_redeems_pages_and_cancels(platform, operator, admin) -> None:
    voucher = _voucher(operator, admin)
    slow = operator.create_item(prices=[{"pointType": "gems", "amount": 25}])["id"]  # manual: stays OPEN
    player, _ = operator.new_player(gems=200)
    with _client(platform, operator.token(player)) as client:
        key = uuid.uuid4().hex
        first = create_redemption.sync_detailed(client=client, body=NewRedemption(offer=voucher), idempotency_key=key)
        assert first.status_code == HTTPStatus.CREATED and isinstance(first.parsed, Redemption)
        assert first.parsed.status == "COMPLETED" and first.parsed.fulfillment.code
        again = create_redemption.sync_detailed(client=client, body=NewRedemption(offer=voucher), idempotency_key=key)
        assert again.status_code == HTTPStatus.OK and again.headers["Idempotent-Replayed"] == "true"
        assert again.parsed.id == first.parsed.id
        opened = create_redemption.sync(client=client, body=NewRedemption(offer=slow), idempotency_key=uuid.uuid4().hex)
        assert isinstance(opened, Redemption) and opened.status in ("OPEN", "AWAITING_VENDOR")
        create_redemption.sync(client=client, body=NewRedemption(offer=voucher), idempotency_key=uuid.uuid4().hex)

        history = _pages(lambda cursor: list_redemptions.sync(client=client, limit=1, cursor=cursor))
        assert len(history) == 3 and {r.id for r in history} >= {first.parsed.id, opened.id}
        assert all(r.player_id == player for r in history)

        canceled = cancel_redemption.sync(opened.id, client=client, body=CancelRequest(reason="changed my mind"))
        assert isinstance(canceled, Redemption) and canceled.status == "CANCELED"
        refused = cancel_redemption.sync_detailed(first.parsed.id, client=client, body=CancelRequest())
        assert refused.status_code == HTTPStatus.CONFLICT and isinstance(refused.parsed, Problem)
        assert refused.parsed.code == "REDEMPTION_NOT_CANCELLABLE"
        assert refused.parsed.request_id == refused.headers["x-request-id"]
        dear = operator.create_item(prices=[{"pointType": "gems", "amount": 10_000}])["id"]
        poor = create_redemption.sync_detailed(client=client, body=NewRedemption(offer=dear),
                                               idempotency_key=uuid.uuid4().hex)
    assert poor.status_code == HTTPStatus.UNPROCESSABLE_ENTITY and poor.parsed.code == "INSUFFICIENT_POINTS"


def test_the_gems_store_redeems(platform, operator, admin, demo) -> None:
    voucher = _voucher(operator, admin, price=150, item_id=str(uuid.uuid4().int % 10**12))
    player, _ = operator.new_player(gems=200)
    with _client(platform, operator.token(player), **{"x-client-id": demo["client_id"],
                                                       "x-client-secret": demo["client_secret"]}) as client:
        key = f"{player}:{voucher}:order-1"
        redeemed = gems_store_redeem.sync_detailed(client=client, body=StoreRedeemRequest(store_item_id=int(voucher)),
                                                   idempotency_key=key)
        assert redeemed.status_code == HTTPStatus.OK and isinstance(redeemed.parsed, StoreRedemption)
        assert redeemed.parsed.status == "fulfilled" and redeemed.parsed.gem_cost_at_time == 150
        assert redeemed.parsed.fulfillment_data.code.startswith("GEN-")
        replay = gems_store_redeem.sync_detailed(client=client, body=StoreRedeemRequest(store_item_id=int(voucher)),
                                                 idempotency_key=key)
        assert replay.headers["Idempotent-Replayed"] == "true" and replay.parsed.id == redeemed.parsed.id
        broke = gems_store_redeem.sync_detailed(client=client, body=StoreRedeemRequest(store_item_id=int(voucher)),
                                                idempotency_key=f"{key}-2")
    assert broke.status_code == HTTPStatus.PAYMENT_REQUIRED and isinstance(broke.parsed, GemsStoreError)
    assert broke.parsed.code == "INSUFFICIENT_BALANCE"


def test_the_coins_gateway_redeems(platform, operator, admin, demo) -> None:
    voucher = _voucher(operator, admin, point_type="coins", price=10_000, item_id=uuid.uuid4().hex[:24])
    player = f"p-{uuid.uuid4().hex[:12]}"
    operator.grant(player, 25_050, "coins")
    with _client(platform, operator.token(player), prefix="", header="x-auth-token") as client:
        body = RedeemPointsRequest(shop_item_id=voucher, uuid=uuid.uuid4().hex, comment="through the client")
        claimed = coins_gateway_redeem_points.sync(version="v1", brand_id=demo["brand_id"], client=client, body=body)
        assert isinstance(claimed, ClaimSuccess) and claimed.status == "success"
        assert claimed.data.amount == "100.00" and claimed.data.new_balance == "150.50"
        assert claimed.data.already_processed is False
        again = coins_gateway_redeem_points.sync(version="v1", brand_id=demo["brand_id"], client=client, body=body)
        assert again.data.already_processed is True and again.data.transaction_id == claimed.data.transaction_id


def test_the_marketplace_redeems_and_pages_the_history(platform, operator, admin) -> None:
    gift = _voucher(operator, admin, price=20)
    user, _ = operator.new_player(gems=100)
    records = []
    for _ in range(3):
        record = marketplace_redeem_gift.sync(user, client=admin, body=RedeemGift(gift_id=gift),
                                              idempotency_key=uuid.uuid4().hex)
        assert isinstance(record, GiftRedemption) and record.order_status == "Completed"
        assert record.user_id == user and record.points_spent == 20
        records.append(record.id)
    pages = []

    def page(cursor: str | None) -> RedemptionPage:
        answer = marketplace_redemption_history.sync(user, client=admin, page_size=2, cursor=cursor)
        assert isinstance(answer, RedemptionPage)
        pages.append(answer)
        return answer

    history = _pages(page)
    assert len(pages) == 2 and sorted(r.id for r in history) == sorted(records)
