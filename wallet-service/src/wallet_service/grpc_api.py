"""The WalletService servicer: proto <-> repository calls, nothing else."""

from __future__ import annotations

from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import async_sessionmaker

from wallet_service import repository


class WalletApi(wallet_pb2_grpc.WalletServiceServicer):
    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions

    async def DefinePointType(self, request, context):  # type: ignore[no-untyped-def]
        scope = Scope.from_proto(request.scope)
        pt = request.point_type
        if not pt.code or not 0 <= pt.scale <= 6:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "point_type.code is required and scale must be 0..6")
        async with self.sessions.begin() as session:
            await repository.define_point_type(session, scope, pt.code, pt.name or pt.code, pt.scale)
        return wallet_pb2.DefinePointTypeResponse(point_type=pt)

    async def GrantPoints(self, request, context):  # type: ignore[no-untyped-def]
        scope = Scope.from_proto(request.scope)
        if not request.player_id or not request.point_type or request.amount <= 0 or not request.idempotency_key:
            raise DomainError(ErrorCode.VALIDATION_ERROR,
                              "player_id, point_type, a positive amount and idempotency_key are required")
        async with self.sessions.begin() as session:
            entry, replayed = await repository.grant(session, scope, request.player_id, request.point_type,
                                                     request.amount, request.idempotency_key, request.description)
        return wallet_pb2.GrantPointsResponse(entry=entry, replayed=replayed)

    async def GetBalances(self, request, context):  # type: ignore[no-untyped-def]
        scope = Scope.from_proto(request.scope)
        async with self.sessions() as session:
            accounts = await repository.balances(session, scope, request.player_id)
        return wallet_pb2.GetBalancesResponse(accounts=accounts)
