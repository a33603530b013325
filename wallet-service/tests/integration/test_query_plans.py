"""Every statement of the wallet's hot paths reads its tables through an index (service_kit.query_plans): a
debit, a refund, a grant, the balances and a page of the ledger, as the service issues them."""

from __future__ import annotations

import uuid

from rewards.wallet.v1 import wallet_pb2
from service_kit.query_plans import captured_statements, tables_read_without_index


async def test_the_hot_statements_use_indexes(w) -> None:  # type: ignore[no-untyped-def]
    await w.define("gems")
    await w.grant("p1", 500)
    with captured_statements(w.engine) as statements:
        await w.grant("p1", 100)
        saga = str(uuid.uuid4())
        await w.debit(saga, "p1", 40)
        await w.refund(saga)
        await w.refund(str(uuid.uuid4()))          # a refund before its debit: the tombstone path
        await w.balances("p1")
        await w.stub.ListTransactions(wallet_pb2.ListTransactionsRequest(scope=w.scope, player_id="p1",
                                                                         page_size=20), timeout=5)
    assert len(statements) >= 10, [s.sql for s in statements]
    assert await tables_read_without_index(w.engine, statements) == []
