"""Typed clients of catalog-service, wallet-service and fulfillment-service. Every call has a deadline; every call here is keyed by the
saga id or is a read, so each is retried on transient failures. A refusal comes back as the service's DomainError;
a transport failure or an unexpected status as DomainError(UNAVAILABLE)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import grpc
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.errors import DomainError, ErrorCode, from_rpc_error
from service_kit.grpc_client import call_idempotent, call_metadata
from service_kit.scope import Scope

T = TypeVar("T")

log = logging.getLogger(__name__)

_PASSED_THROUGH_AS_UNAVAILABLE = frozenset({ErrorCode.INTERNAL, ErrorCode.UNAVAILABLE})
# Retries stop well before a stale saga would be recovered (SAGA_STALE_SECONDS, 30 s by default).
_RETRY_BUDGET_SECONDS = 8.0


class Catalog(Protocol):
    async def check_eligibility(self, request: catalog_pb2.CheckEligibilityRequest
                                ) -> catalog_pb2.CheckEligibilityResponse: ...

    async def reserve_stock(self, request: catalog_pb2.ReserveStockRequest) -> catalog_pb2.ReserveStockResponse: ...

    async def release_stock(self, scope: Scope, saga_id: str, reason: str) -> bool: ...


class Wallet(Protocol):
    async def get_player(self, scope: Scope, player_id: str) -> wallet_pb2.GetPlayerResponse: ...

    async def get_balances(self, scope: Scope, player_id: str) -> list[wallet_pb2.Account]: ...

    async def debit_points(self, scope: Scope, saga_id: str, player_id: str, point_type: str, amount: int,
                           description: str) -> wallet_pb2.LedgerEntry: ...

    async def refund_points(self, scope: Scope, saga_id: str, reason: str) -> bool: ...


class Fulfillment(Protocol):
    async def void_job(self, scope: Scope, redemption_id: str, reason: str) -> fulfillment_pb2.VoidJobResponse: ...

    async def fulfil_now(self, job: fulfillment_pb2.FulfillmentJob,
                         timeout_seconds: float) -> fulfillment_pb2.FulfillmentResult | None: ...


async def _call(service: str, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call_idempotent(call, attempts=3, total_seconds=_RETRY_BUDGET_SECONDS)
    except grpc.aio.AioRpcError as exc:
        refusal = from_rpc_error(exc)
        if refusal is not None and refusal.code not in _PASSED_THROUGH_AS_UNAVAILABLE:
            raise refusal from None
        raise DomainError(ErrorCode.UNAVAILABLE,
                          f"{service} failed: {exc.code().name} {exc.details() or ''}".strip()) from None


class CatalogClient:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float) -> None:
        self._stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        self._timeout = timeout_seconds

    async def check_eligibility(self, request: catalog_pb2.CheckEligibilityRequest
                                ) -> catalog_pb2.CheckEligibilityResponse:
        return await _call("catalog", lambda: self._stub.CheckEligibility(
            request, timeout=self._timeout, metadata=call_metadata()))

    async def reserve_stock(self, request: catalog_pb2.ReserveStockRequest) -> catalog_pb2.ReserveStockResponse:
        return await _call("catalog", lambda: self._stub.ReserveStock(
            request, timeout=self._timeout, metadata=call_metadata()))

    async def release_stock(self, scope: Scope, saga_id: str, reason: str) -> bool:
        request = catalog_pb2.ReleaseStockRequest(scope=scope.to_proto(), saga_id=saga_id, reason=reason)
        response = await _call("catalog", lambda: self._stub.ReleaseStock(
            request, timeout=self._timeout, metadata=call_metadata()))
        return response.released


class WalletClient:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float) -> None:
        self._stub = wallet_pb2_grpc.WalletServiceStub(channel)
        self._timeout = timeout_seconds

    async def get_player(self, scope: Scope, player_id: str) -> wallet_pb2.GetPlayerResponse:
        request = wallet_pb2.GetPlayerRequest(scope=scope.to_proto(), player_id=player_id)
        return await _call("wallet", lambda: self._stub.GetPlayer(
            request, timeout=self._timeout, metadata=call_metadata()))

    async def get_balances(self, scope: Scope, player_id: str) -> list[wallet_pb2.Account]:
        request = wallet_pb2.GetBalancesRequest(scope=scope.to_proto(), player_id=player_id)
        response = await _call("wallet", lambda: self._stub.GetBalances(
            request, timeout=self._timeout, metadata=call_metadata()))
        return list(response.accounts)

    async def debit_points(self, scope: Scope, saga_id: str, player_id: str, point_type: str, amount: int,
                           description: str) -> wallet_pb2.LedgerEntry:
        request = wallet_pb2.DebitPointsRequest(scope=scope.to_proto(), saga_id=saga_id, player_id=player_id,
                                                point_type=point_type, amount=amount, description=description)
        response = await _call("wallet", lambda: self._stub.DebitPoints(
            request, timeout=self._timeout, metadata=call_metadata()))
        return response.entry

    async def refund_points(self, scope: Scope, saga_id: str, reason: str) -> bool:
        request = wallet_pb2.RefundPointsRequest(scope=scope.to_proto(), saga_id=saga_id, reason=reason)
        response = await _call("wallet", lambda: self._stub.RefundPoints(
            request, timeout=self._timeout, metadata=call_metadata()))
        return response.refunded



class FulfillmentClient:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float) -> None:
        self._stub = fulfillment_pb2_grpc.FulfillmentServiceStub(channel)
        self._timeout = timeout_seconds

    async def void_job(self, scope: Scope, redemption_id: str, reason: str) -> fulfillment_pb2.VoidJobResponse:
        """Voiding is idempotent on the redemption id, so it is retried like the others."""
        request = fulfillment_pb2.VoidJobRequest(scope=scope.to_proto(), redemption_id=redemption_id, reason=reason)
        return await _call("fulfillment", lambda: self._stub.VoidJob(
            request, timeout=self._timeout, metadata=call_metadata()))

    async def fulfil_now(self, job: fulfillment_pb2.FulfillmentJob,
                         timeout_seconds: float) -> fulfillment_pb2.FulfillmentResult | None:
        """The job's result at once, or None: no result yet (voided, in progress), or any failure of the call.
        One attempt with a short deadline, no retry: the job is in the outbox, and its durable path (JetStream)
        finishes what this call could not."""
        request = fulfillment_pb2.FulfilNowRequest(job=job)
        try:
            response = await self._stub.FulfilNow(request, timeout=timeout_seconds, metadata=call_metadata())
        except grpc.aio.AioRpcError as exc:
            log.warning("inline fulfilment failed; the job goes the durable way",
                        extra={"redemption_id": job.redemption_id, "grpc_code": exc.code().name})
            return None
        return response.result if response.HasField("result") else None
