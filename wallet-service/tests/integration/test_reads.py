"""GetBalances and ListTransactions: every point type, newest first, stable and complete cursor pages."""

from __future__ import annotations

import base64
import json
from typing import Any

from rewards.common.v1 import common_pb2
from rewards.wallet.v1 import wallet_pb2
from service_kit.errors import ErrorCode

DEADLINE = 10.0


async def _page(w: Any, player_id: str, page_size: int = 0, token: str = "",
                point_type: str = "") -> wallet_pb2.ListTransactionsResponse:
    return await w.stub.ListTransactions(
        wallet_pb2.ListTransactionsRequest(scope=w.scope, player_id=player_id, point_type=point_type,
                                           page_size=page_size, page_token=token),
        timeout=DEADLINE)


async def test_balances_list_every_point_type_with_zero_for_missing_accounts(w: Any,
                                                                             sandbox: common_pb2.Scope) -> None:
    await w.define("gems")
    await w.define("coins", 2)
    await w.grant("p1", 5, point_type="gems")
    response = await w.stub.GetBalances(wallet_pb2.GetBalancesRequest(scope=w.scope, player_id="p1"),
                                        timeout=DEADLINE)
    assert [(a.point_type, a.balance, a.scale) for a in response.accounts] == [("coins", 0, 2), ("gems", 5, 0)]
    assert await w.balances("stranger") == {"coins": 0, "gems": 0}
    sandboxed = await w.stub.GetBalances(wallet_pb2.GetBalancesRequest(scope=sandbox, player_id="p1"),
                                         timeout=DEADLINE)
    assert list(sandboxed.accounts) == []  # sandbox has no point types of its own yet
    error = await w.refused(w.stub.GetBalances(wallet_pb2.GetBalancesRequest(scope=w.scope, player_id=""),
                                               timeout=DEADLINE))
    assert error.code == ErrorCode.VALIDATION_ERROR


async def test_pages_are_newest_first_complete_and_stable(w: Any) -> None:
    await w.define("gems")
    await w.define("coins", 2)
    for i in range(1, 46):
        await w.grant("p1", i, point_type="gems" if i % 3 else "coins")
    await w.grant("other", 1)
    everything = [row[0] for row in await w.rows(
        "SELECT id FROM ledger_entries WHERE tenant_id = :tenant AND player_id = 'p1' ORDER BY id DESC")]
    assert len(everything) == 45

    first = await _page(w, "p1")
    assert len(first.entries) == 20  # the default page size
    seen, token, pages = [e.id for e in first.entries], first.next_page_token, 1
    # an entry written while paging is newer than every cursor: it never shifts the pages being read
    await w.grant("p1", 1000)
    while token:
        page = await _page(w, "p1", token=token)
        seen += [e.id for e in page.entries]
        token, pages = page.next_page_token, pages + 1
    assert seen == everything and pages == 3

    # the same token always yields the same page
    again = await _page(w, "p1", token=first.next_page_token)
    assert [e.id for e in again.entries] == everything[20:40]

    # an exact multiple of the page size ends without an empty extra page
    coins = await _page(w, "p1", page_size=15, point_type="coins")
    assert [e.point_type for e in coins.entries] == ["coins"] * 15 and coins.next_page_token == ""
    assert [e.amount for e in coins.entries] == list(range(45, 0, -3))


async def test_page_size_is_capped_at_one_hundred(w: Any) -> None:
    await w.define("gems")
    for _ in range(101):
        await w.grant("p1", 1)
    page = await _page(w, "p1", page_size=500)
    assert len(page.entries) == 100 and page.next_page_token
    rest = await _page(w, "p1", page_size=500, token=page.next_page_token)
    assert len(rest.entries) == 1 and rest.next_page_token == ""


async def test_transactions_show_every_kind_of_movement(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100, key="g")
    await w.debit("s1", "p1", 30)
    await w.refund("s1")
    await w.adjust("p1", -5, key="a")
    page = await _page(w, "p1")
    assert [(e.kind, e.amount, e.balance_after) for e in page.entries] == [
        (wallet_pb2.ENTRY_KIND_ADJUSTMENT, -5, 95),
        (wallet_pb2.ENTRY_KIND_REFUND, 30, 100),
        (wallet_pb2.ENTRY_KIND_DEBIT, -30, 70),
        (wallet_pb2.ENTRY_KIND_GRANT, 100, 100),
    ]
    assert (await _page(w, "nobody")).entries == []
    await w.books_balance()


async def test_bad_page_requests_are_refused(w: Any) -> None:
    await w.define("gems")
    for _ in range(3):
        await w.grant("p1", 1)
    token = (await _page(w, "p1", page_size=1)).next_page_token
    forged = base64.urlsafe_b64encode(json.dumps({"before": "1; drop", "q": "x"}).encode()).decode()
    for kwargs, words in [
        ({"token": "not base64!"}, "page_token"),
        ({"token": forged}, "page_token"),
        ({"token": "x" * 201}, "page_token"),
        ({"token": base64.urlsafe_b64encode(b"\xff\xfe").decode()}, "page_token"),
        ({"page_size": -1}, "page_size"),
    ]:
        error = await w.refused(_page(w, "p1", **kwargs))
        assert error.code == ErrorCode.VALIDATION_ERROR
        assert words in error.message
    # a token belongs to its query
    error = await w.refused(_page(w, "p2", token=token))
    assert error.code == ErrorCode.VALIDATION_ERROR and "another query" in error.message
    error = await w.refused(_page(w, "p1", token=token, point_type="gems"))
    assert error.code == ErrorCode.VALIDATION_ERROR
    assert (await w.refused(_page(w, "p1", point_type="stars"))).code == ErrorCode.INVALID_POINT_TYPE
    assert (await w.refused(_page(w, ""))).code == ErrorCode.VALIDATION_ERROR
