"""Round trips to PostgreSQL per call of the hot path, through the real servicer, held to the measured counts.

A redemption's debit is one statement in autocommit (no BEGIN, no COMMIT, no advisory lock); the budget is 3,
and any statement added to these paths fails here. The SQLAlchemy engine must send nothing meanwhile: a hot
path that slipped back onto it would cost ~0.73 ms of client CPU per statement instead of ~0.065 ms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rewards.wallet.v1 import wallet_pb2
from service_kit.pgpool import RoundTrips
from service_kit.query_plans import captured_statements

DEADLINE = 10.0
DEBIT_BUDGET = 3   # BEGIN and COMMIT included


async def _trips(w: Any, call: Awaitable[object]) -> RoundTrips:
    with captured_statements(w.engine) as on_engine, w.pool.counting() as trips:
        await call
    assert on_engine == [], [s.sql for s in on_engine]
    return trips


async def test_a_first_debit_is_one_round_trip(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    trips = await _trips(w, w.debit("saga-1", "p1", 30))
    assert trips.count <= DEBIT_BUDGET, trips.statements
    assert trips.count == 1, trips.statements
    assert trips.statements[0].startswith("WITH player AS")
    assert await w.stored_balance("p1") == 70


async def test_a_refund_is_one_round_trip_and_so_is_a_tombstone(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    await w.debit("saga-1", "p1", 30)
    assert (await _trips(w, w.refund("saga-1"))).count == 1
    assert (await _trips(w, w.refund("saga-never-debited"))).count == 1
    assert await w.stored_balance("p1") == 100


async def test_replays_and_refusals_read_the_saga_once_more(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    await w.debit("saga-1", "p1", 30)
    await w.refund("saga-1")
    await w.refund("saga-late")
    assert (await _trips(w, w.debit("saga-1", "p1", 30))).count == 2           # replay
    assert (await _trips(w, w.refund("saga-1"))).count == 2                    # replay
    assert (await _trips(w, w.refund("saga-late"))).count == 2                 # the tombstone again
    assert (await _trips(w, w.refused(w.debit("saga-late", "p1", 30)))).count == 2
    assert (await _trips(w, w.refused(w.debit("saga-2", "p1", 1000)))).count == 2  # insufficient
    assert (await _trips(w, w.refused(w.debit("saga-3", "ghost", 1)))).count == 1  # unknown player


async def test_the_reads_of_a_page_view_are_one_round_trip_each(w: Any) -> None:
    await w.define("gems")
    await w.grant("p1", 100)
    await w.debit("saga-1", "p1", 30)
    scope = w.scope
    # Callables: a grpc.aio call starts when it is made, and each must start inside its own count.
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "GetBalances": lambda: w.stub.GetBalances(wallet_pb2.GetBalancesRequest(scope=scope, player_id="p1"),
                                                  timeout=DEADLINE),
        "ListTransactions": lambda: w.stub.ListTransactions(
            wallet_pb2.ListTransactionsRequest(scope=scope, player_id="p1", page_size=20), timeout=DEADLINE),
        "ListTransactions of a type": lambda: w.stub.ListTransactions(
            wallet_pb2.ListTransactionsRequest(scope=scope, player_id="p1", point_type="gems", page_size=20),
            timeout=DEADLINE),
        "GetPlayer": lambda: w.stub.GetPlayer(wallet_pb2.GetPlayerRequest(scope=scope, player_id="p1"),
                                              timeout=DEADLINE),
    }
    counts = {name: (await _trips(w, call())).count for name, call in calls.items()}
    assert counts == dict.fromkeys(calls, 1)


async def test_a_debit_and_its_refund_over_several_lots_are_still_one_round_trip_each(w: Any) -> None:
    await w.define("gems")
    soon = datetime.now(UTC) + timedelta(days=1)
    for days, amount in ((0, 20), (2, 30), (None, 50)):
        await w.grant("p1", amount, expires_at=None if days is None else soon + timedelta(days=days))
    trips = await _trips(w, w.debit("saga-lots", "p1", 70))
    assert trips.count == 1, trips.statements
    assert (await _trips(w, w.refund("saga-lots"))).count == 1
    assert await w.stored_balance("p1") == 100
