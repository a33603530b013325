"""The WalletService servicer: proto <-> domain, nothing else. DomainError travels up to the kit's interceptor,
which turns it into a rich status."""

from __future__ import annotations

from datetime import UTC

import grpc
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.errors import DomainError, ErrorCode
from service_kit.failpoints import failpoint, stall_point
from service_kit.scope import Scope

from wallet_service.domain import Account, EntryKind, LedgerEntry, Lot, PlayerStatus, PointType
from wallet_service.wallet import Wallet

_KIND_TO_PROTO = {
    EntryKind.GRANT: wallet_pb2.ENTRY_KIND_GRANT,
    EntryKind.DEBIT: wallet_pb2.ENTRY_KIND_DEBIT,
    EntryKind.REFUND: wallet_pb2.ENTRY_KIND_REFUND,
    EntryKind.ADJUSTMENT: wallet_pb2.ENTRY_KIND_ADJUSTMENT,
    EntryKind.EXPIRE: wallet_pb2.ENTRY_KIND_EXPIRE,
}
_STATUS_TO_PROTO = {
    PlayerStatus.ACTIVE: wallet_pb2.PLAYER_STATUS_ACTIVE,
    PlayerStatus.SUSPENDED: wallet_pb2.PLAYER_STATUS_SUSPENDED,
}
_STATUS_FROM_PROTO: dict[int, PlayerStatus | None] = {
    wallet_pb2.PLAYER_STATUS_UNSPECIFIED: None,
    wallet_pb2.PLAYER_STATUS_ACTIVE: PlayerStatus.ACTIVE,
    wallet_pb2.PLAYER_STATUS_SUSPENDED: PlayerStatus.SUSPENDED,
}


def _scope(request) -> Scope:  # type: ignore[no-untyped-def]
    return Scope.from_proto(request.scope)   # the tenant bound is checked there


def _point_type(pt: PointType) -> wallet_pb2.PointType:
    return wallet_pb2.PointType(code=pt.code, name=pt.name, scale=pt.scale, lifetime_seconds=pt.lifetime_seconds)


def _lot(lot: Lot) -> wallet_pb2.Lot:
    message = wallet_pb2.Lot(id=lot.id, remaining=lot.remaining, granted=lot.granted)
    if lot.expires_at is not None:
        message.expires_at.FromDatetime(lot.expires_at)
    message.created_at.FromDatetime(lot.created_at)
    return message


def _account(account: Account) -> wallet_pb2.Account:
    return wallet_pb2.Account(point_type=account.point_type, balance=account.balance, scale=account.scale,
                              lots=[_lot(lot) for lot in account.lots],
                              expiring_within_30_days=account.expiring_soon)


def _entry(entry: LedgerEntry) -> wallet_pb2.LedgerEntry:
    message = wallet_pb2.LedgerEntry(
        id=entry.id, player_id=entry.player_id, point_type=entry.point_type, kind=_KIND_TO_PROTO[entry.kind],
        amount=entry.amount, balance_after=entry.balance_after, reference=entry.reference,
        description=entry.description, scale=entry.scale)
    message.created_at.FromDatetime(entry.created_at)
    return message


class WalletApi(wallet_pb2_grpc.WalletServiceServicer):
    def __init__(self, wallet: Wallet) -> None:
        self.wallet = wallet

    async def DefinePointType(self, request: wallet_pb2.DefinePointTypeRequest,
                              context: grpc.aio.ServicerContext) -> wallet_pb2.DefinePointTypeResponse:
        pt = request.point_type
        stored = await self.wallet.define_point_type(_scope(request), pt.code, pt.name, pt.scale,
                                                     pt.lifetime_seconds)
        return wallet_pb2.DefinePointTypeResponse(point_type=_point_type(stored))

    async def ListPointTypes(self, request: wallet_pb2.ListPointTypesRequest,
                             context: grpc.aio.ServicerContext) -> wallet_pb2.ListPointTypesResponse:
        types = await self.wallet.list_point_types(_scope(request))
        return wallet_pb2.ListPointTypesResponse(point_types=[_point_type(pt) for pt in types])

    async def UpsertPlayer(self, request: wallet_pb2.UpsertPlayerRequest,
                           context: grpc.aio.ServicerContext) -> wallet_pb2.UpsertPlayerResponse:
        scope = _scope(request)
        if request.status not in _STATUS_FROM_PROTO:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"status {request.status} is not a player status")
        status = await self.wallet.upsert_player(scope, request.player_id, _STATUS_FROM_PROTO[request.status])
        return wallet_pb2.UpsertPlayerResponse(player_id=request.player_id, status=_STATUS_TO_PROTO[status])

    async def GetPlayer(self, request: wallet_pb2.GetPlayerRequest,
                        context: grpc.aio.ServicerContext) -> wallet_pb2.GetPlayerResponse:
        player = await self.wallet.get_player(_scope(request), request.player_id)
        response = wallet_pb2.GetPlayerResponse(player_id=player.player_id, status=_STATUS_TO_PROTO[player.status],
                                                accounts=[_account(a) for a in player.accounts])
        if player.created_at is not None:
            response.created_at.FromDatetime(player.created_at)
        return response

    async def GrantPoints(self, request: wallet_pb2.GrantPointsRequest,
                          context: grpc.aio.ServicerContext) -> wallet_pb2.GrantPointsResponse:
        expires_at = (request.expires_at.ToDatetime(tzinfo=UTC) if request.HasField("expires_at") else None)
        result = await self.wallet.grant_points(_scope(request), request.player_id,
                                                request.point_type, request.amount, request.idempotency_key,
                                                request.description, expires_at)
        return wallet_pb2.GrantPointsResponse(entry=_entry(result.entry), replayed=result.replayed)

    async def AdjustPoints(self, request: wallet_pb2.AdjustPointsRequest,
                           context: grpc.aio.ServicerContext) -> wallet_pb2.AdjustPointsResponse:
        result = await self.wallet.adjust_points(_scope(request), request.player_id,
                                                 request.point_type, request.amount, request.idempotency_key,
                                                 request.description)
        return wallet_pb2.AdjustPointsResponse(entry=_entry(result.entry), replayed=result.replayed)

    async def DebitPoints(self, request: wallet_pb2.DebitPointsRequest,
                          context: grpc.aio.ServicerContext) -> wallet_pb2.DebitPointsResponse:
        result = await self.wallet.debit_points(_scope(request), request.saga_id,
                                                request.player_id, request.point_type, request.amount,
                                                request.description)
        # Committed, not yet answered: a crash or a late answer here is the caller's hardest case.
        failpoint("wallet.after_debit_commit")
        await stall_point("wallet.slow_debit")
        return wallet_pb2.DebitPointsResponse(entry=_entry(result.entry), replayed=result.replayed)

    async def RefundPoints(self, request: wallet_pb2.RefundPointsRequest,
                           context: grpc.aio.ServicerContext) -> wallet_pb2.RefundPointsResponse:
        refund = await self.wallet.refund_debit(_scope(request), request.saga_id, request.reason)
        failpoint("wallet.after_refund_commit")
        response = wallet_pb2.RefundPointsResponse(refunded=refund.refunded, replayed=refund.replayed)
        if refund.entry is not None:
            response.entry.CopyFrom(_entry(refund.entry))
        return response

    async def GetBalances(self, request: wallet_pb2.GetBalancesRequest,
                          context: grpc.aio.ServicerContext) -> wallet_pb2.GetBalancesResponse:
        accounts = await self.wallet.balances(_scope(request), request.player_id)
        return wallet_pb2.GetBalancesResponse(accounts=[_account(a) for a in accounts])

    async def ListTransactions(self, request: wallet_pb2.ListTransactionsRequest,
                               context: grpc.aio.ServicerContext) -> wallet_pb2.ListTransactionsResponse:
        page = await self.wallet.transactions(_scope(request), request.player_id,
                                              request.point_type, request.page_size, request.page_token)
        return wallet_pb2.ListTransactionsResponse(entries=[_entry(e) for e in page.entries],
                                                   next_page_token=page.next_page_token)
