"""A player's balances and ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from rewards.wallet.v1 import wallet_pb2

from gateway.auth import CurrentPlayer
from gateway.openapi import PLAYER_OR_BACKEND, problems, security
from gateway.routes import Cursor, Limit, Services, next_cursor
from gateway.schemas import Balances, Transaction, TransactionList, WalletBalance

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])


@router.get("/balances", response_model=Balances, operation_id="getBalances",
            openapi_extra=security(PLAYER_OR_BACKEND), responses=problems(401, 422, 503))
async def get_balances(player: CurrentPlayer, services: Services) -> Balances:
    reply = await services.wallet.get_balances(wallet_pb2.GetBalancesRequest(
        scope=player.scope.to_proto(), player_id=player.player_id))
    return Balances(player_id=player.player_id, balances=[WalletBalance.from_proto(a) for a in reply.accounts])


@router.get("/transactions", response_model=TransactionList, operation_id="listTransactions",
            openapi_extra=security(PLAYER_OR_BACKEND), responses=problems(401, 422, 503))
async def list_transactions(
    player: CurrentPlayer, services: Services, limit: Limit = 20, cursor: Cursor = None,
    point_type: Annotated[str | None, Query(alias="pointType", max_length=32)] = None,
) -> TransactionList:
    reply = await services.wallet.list_transactions(wallet_pb2.ListTransactionsRequest(
        scope=player.scope.to_proto(), player_id=player.player_id, point_type=point_type or "", page_size=limit,
        page_token=cursor or ""))
    return TransactionList(transactions=[Transaction.from_proto(e) for e in reply.entries],
                           next_cursor=next_cursor(reply.next_page_token))
