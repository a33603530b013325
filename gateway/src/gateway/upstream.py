"""Typed clients of the services. Every call has a deadline and carries the request id, tenant, environment and
player in metadata; a failure comes back as a DomainError (the service's reason, or UNAVAILABLE when the service
could not be reached), so every HTTP dialect maps the same errors with its own table. Only reads are retried."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rewards.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from rewards.common.v1 import common_pb2
from rewards.events.v1 import events_pb2, events_pb2_grpc
from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from rewards.redemption.v1 import redemption_pb2, redemption_pb2_grpc
from rewards.wallet.v1 import wallet_pb2, wallet_pb2_grpc
from service_kit.errors import DomainError, ErrorCode, from_rpc_error
from service_kit.grpc_client import call_idempotent, call_metadata, open_channel
from service_kit.mtls import TlsFiles, tls_of

from gateway.config import Settings

log = logging.getLogger("gateway.upstream")

R = TypeVar("R", bound=Message)

_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                          grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED})
_BY_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: ErrorCode.VALIDATION_ERROR,
              grpc.StatusCode.NOT_FOUND: ErrorCode.NOT_FOUND,
              grpc.StatusCode.ALREADY_EXISTS: ErrorCode.ALREADY_EXISTS,
              grpc.StatusCode.PERMISSION_DENIED: ErrorCode.FORBIDDEN}
_ENV_NAMES = {common_pb2.ENVIRONMENT_LIVE: "live", common_pb2.ENVIRONMENT_SANDBOX: "sandbox"}


# How gRPC words a message over its size limit (the sender's or the receiver's), a RESOURCE_EXHAUSTED.
_MESSAGE_TOO_LARGE = "message larger than max"


def to_domain_error(exc: grpc.aio.AioRpcError, service: str) -> DomainError:
    found = from_rpc_error(exc)
    if found is not None:
        return found
    code = exc.code()
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and _MESSAGE_TOO_LARGE in (exc.details() or "").lower():
        # The same request fails the same way every time: a refusal of its size, never "try again". Logged: the
        # gateway's own bounds (body size, free-form objects) should have stopped it first.
        log.warning("upstream message too large", extra={"service": service, "details": exc.details()})
        return DomainError(ErrorCode.VALIDATION_ERROR, f"the request, or its answer, is larger than the {service} "
                                                       "service accepts")
    if code in _UNREACHABLE:
        return DomainError(ErrorCode.UNAVAILABLE, f"{service} is unavailable ({code.name}); try again")
    if code in _BY_STATUS:
        return DomainError(_BY_STATUS[code], exc.details() or code.name)
    log.error("upstream failed", extra={"service": service, "grpc_code": code.name, "details": exc.details()})
    return DomainError(ErrorCode.INTERNAL, f"{service} failed")


def context_metadata(request: Message) -> dict[str, str]:
    """Who is acting, for the services' logs and checks; the request body stays the source of truth."""
    md: dict[str, str] = {}
    scope = getattr(request, "scope", None)
    if isinstance(scope, common_pb2.Scope) and scope.tenant_id:
        md["x-tenant-id"] = scope.tenant_id
        md["x-environment"] = _ENV_NAMES.get(scope.environment, "")
    player = getattr(request, "player", None)
    if isinstance(player, common_pb2.PlayerContext) and player.player_id:
        md["x-player-id"] = player.player_id
        if player.client_ip:
            md["x-client-ip"] = player.client_ip
    return md


class ServiceClient:
    """One service's channel and stub, with the deadline and error translation every call shares."""

    def __init__(self, name: str, target: str, stub_class: Callable[[grpc.aio.Channel], Any],
                 timeout: float, tls: TlsFiles | None = None) -> None:
        self.name = name
        self.target = target
        self.timeout = timeout
        # With mutual TLS the server's certificate must name the service ("catalog-service", ...).
        self.channel = open_channel(target, tls=tls, server_name=f"{name}-service")
        self.stub = stub_class(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    async def call(self, rpc: str, request: R, *, read: bool = False, timeout: float | None = None) -> Any:
        method = getattr(self.stub, rpc)
        metadata = call_metadata(context_metadata(request))
        deadline = timeout or self.timeout

        def once() -> Awaitable[Any]:
            return method(request, timeout=deadline, metadata=metadata)

        try:
            if read:
                return await call_idempotent(once, attempts=3, total_seconds=deadline)
            return await once()
        except grpc.aio.AioRpcError as exc:
            raise to_domain_error(exc, self.name) from None

    async def serving(self, timeout: float = 1.0) -> bool:
        try:
            reply = await self.health.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout,
                                            metadata=call_metadata())
        except grpc.aio.AioRpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    async def close(self) -> None:
        await self.channel.close()


class CatalogClient(ServiceClient):
    def __init__(self, target: str, timeout: float, tls: TlsFiles | None = None) -> None:
        super().__init__("catalog", target, catalog_pb2_grpc.CatalogServiceStub, timeout, tls)

    async def create_item(self, r: catalog_pb2.CreateItemRequest) -> catalog_pb2.CreateItemResponse:
        return await self.call("CreateItem", r)

    async def update_item(self, r: catalog_pb2.UpdateItemRequest) -> catalog_pb2.UpdateItemResponse:
        return await self.call("UpdateItem", r)

    async def archive_item(self, r: catalog_pb2.ArchiveItemRequest) -> catalog_pb2.ArchiveItemResponse:
        return await self.call("ArchiveItem", r)

    async def adjust_stock(self, r: catalog_pb2.AdjustStockRequest) -> catalog_pb2.AdjustStockResponse:
        return await self.call("AdjustStock", r)

    async def get_item(self, r: catalog_pb2.GetItemRequest) -> catalog_pb2.GetItemResponse:
        return await self.call("GetItem", r, read=True)

    async def list_items(self, r: catalog_pb2.ListItemsRequest) -> catalog_pb2.ListItemsResponse:
        return await self.call("ListItems", r, read=True)


class WalletClient(ServiceClient):
    def __init__(self, target: str, timeout: float, tls: TlsFiles | None = None) -> None:
        super().__init__("wallet", target, wallet_pb2_grpc.WalletServiceStub, timeout, tls)

    async def define_point_type(self, r: wallet_pb2.DefinePointTypeRequest) -> wallet_pb2.DefinePointTypeResponse:
        return await self.call("DefinePointType", r)

    async def list_point_types(self, r: wallet_pb2.ListPointTypesRequest) -> wallet_pb2.ListPointTypesResponse:
        return await self.call("ListPointTypes", r, read=True)

    async def upsert_player(self, r: wallet_pb2.UpsertPlayerRequest) -> wallet_pb2.UpsertPlayerResponse:
        return await self.call("UpsertPlayer", r)

    async def get_player(self, r: wallet_pb2.GetPlayerRequest) -> wallet_pb2.GetPlayerResponse:
        return await self.call("GetPlayer", r, read=True)

    async def grant_points(self, r: wallet_pb2.GrantPointsRequest) -> wallet_pb2.GrantPointsResponse:
        return await self.call("GrantPoints", r)

    async def adjust_points(self, r: wallet_pb2.AdjustPointsRequest) -> wallet_pb2.AdjustPointsResponse:
        return await self.call("AdjustPoints", r)

    async def get_balances(self, r: wallet_pb2.GetBalancesRequest) -> wallet_pb2.GetBalancesResponse:
        return await self.call("GetBalances", r, read=True)

    async def list_transactions(self, r: wallet_pb2.ListTransactionsRequest) -> wallet_pb2.ListTransactionsResponse:
        return await self.call("ListTransactions", r, read=True)


class RedemptionClient(ServiceClient):
    def __init__(self, target: str, timeout: float, redeem_timeout: float, tls: TlsFiles | None = None) -> None:
        super().__init__("redemption", target, redemption_pb2_grpc.RedemptionServiceStub, timeout, tls)
        self.redeem_timeout = redeem_timeout

    async def redeem(self, r: redemption_pb2.RedeemRequest) -> redemption_pb2.RedeemResponse:
        # Never retried here: the caller holds the idempotency key and retries with it.
        return await self.call("Redeem", r, timeout=self.redeem_timeout)

    async def quote(self, r: redemption_pb2.QuoteRedemptionRequest) -> redemption_pb2.QuoteRedemptionResponse:
        return await self.call("QuoteRedemption", r, read=True)

    async def get(self, r: redemption_pb2.GetRedemptionRequest) -> redemption_pb2.GetRedemptionResponse:
        return await self.call("GetRedemption", r, read=True)

    async def list(self, r: redemption_pb2.ListRedemptionsRequest) -> redemption_pb2.ListRedemptionsResponse:
        return await self.call("ListRedemptions", r, read=True)

    async def cancel(self, r: redemption_pb2.CancelRedemptionRequest) -> redemption_pb2.CancelRedemptionResponse:
        return await self.call("CancelRedemption", r)

    async def list_code_reveals(self, r: redemption_pb2.ListCodeRevealsRequest
                                ) -> redemption_pb2.ListCodeRevealsResponse:
        return await self.call("ListCodeReveals", r, read=True)

    async def set_review_rules(self, r: redemption_pb2.SetReviewRulesRequest
                               ) -> redemption_pb2.SetReviewRulesResponse:
        return await self.call("SetReviewRules", r)

    async def list_review_rules(self, r: redemption_pb2.ListReviewRulesRequest
                                ) -> redemption_pb2.ListReviewRulesResponse:
        return await self.call("ListReviewRules", r, read=True)

    async def approve(self, r: redemption_pb2.ApproveRedemptionRequest) -> redemption_pb2.ApproveRedemptionResponse:
        return await self.call("ApproveRedemption", r)

    async def reject(self, r: redemption_pb2.RejectRedemptionRequest) -> redemption_pb2.RejectRedemptionResponse:
        return await self.call("RejectRedemption", r)


class FulfillmentClient(ServiceClient):
    def __init__(self, target: str, timeout: float, tls: TlsFiles | None = None) -> None:
        super().__init__("fulfillment", target, fulfillment_pb2_grpc.FulfillmentServiceStub, timeout, tls)

    async def upload_codes(self, r: fulfillment_pb2.UploadCodesRequest) -> fulfillment_pb2.UploadCodesResponse:
        # Not retried: a repeat would be harmless (duplicates are counted) but would misreport what was added.
        return await self.call("UploadCodes", r)

    async def get_code_pool(self, r: fulfillment_pb2.GetCodePoolRequest) -> fulfillment_pb2.GetCodePoolResponse:
        return await self.call("GetCodePool", r, read=True)

    async def set_code_pool_threshold(self, r: fulfillment_pb2.SetCodePoolThresholdRequest
                                      ) -> fulfillment_pb2.SetCodePoolThresholdResponse:
        return await self.call("SetCodePoolThreshold", r, read=True)   # idempotent: it sets a value

    async def list_jobs(self, r: fulfillment_pb2.ListJobsRequest) -> fulfillment_pb2.ListJobsResponse:
        return await self.call("ListJobs", r, read=True)

    async def retry_job(self, r: fulfillment_pb2.RetryJobRequest) -> fulfillment_pb2.RetryJobResponse:
        return await self.call("RetryJob", r)

    async def fail_job(self, r: fulfillment_pb2.FailJobRequest) -> fulfillment_pb2.FailJobResponse:
        return await self.call("FailJob", r)

    async def advance_job(self, r: fulfillment_pb2.AdvanceJobRequest) -> fulfillment_pb2.AdvanceJobResponse:
        return await self.call("AdvanceJob", r)

    async def provider_callback(self, r: fulfillment_pb2.ProviderCallbackRequest
                                ) -> fulfillment_pb2.ProviderCallbackResponse:
        # Never retried here: the provider retries its own callback.
        return await self.call("ProviderCallback", r)


class EventsClient(ServiceClient):
    def __init__(self, target: str, timeout: float, tls: TlsFiles | None = None) -> None:
        super().__init__("events", target, events_pb2_grpc.EventsServiceStub, timeout, tls)

    async def list_events(self, r: events_pb2.ListEventsRequest) -> events_pb2.ListEventsResponse:
        return await self.call("ListEvents", r, read=True)

    async def create_webhook_endpoint(self, r: events_pb2.CreateWebhookEndpointRequest
                                      ) -> events_pb2.CreateWebhookEndpointResponse:
        # Never retried: a repeat would make a second endpoint.
        return await self.call("CreateWebhookEndpoint", r)

    async def list_webhook_endpoints(self, r: events_pb2.ListWebhookEndpointsRequest
                                     ) -> events_pb2.ListWebhookEndpointsResponse:
        return await self.call("ListWebhookEndpoints", r, read=True)

    async def get_webhook_endpoint(self, r: events_pb2.GetWebhookEndpointRequest
                                   ) -> events_pb2.GetWebhookEndpointResponse:
        return await self.call("GetWebhookEndpoint", r, read=True)

    async def update_webhook_endpoint(self, r: events_pb2.UpdateWebhookEndpointRequest
                                      ) -> events_pb2.UpdateWebhookEndpointResponse:
        return await self.call("UpdateWebhookEndpoint", r)

    async def rotate_webhook_secret(self, r: events_pb2.RotateWebhookSecretRequest
                                    ) -> events_pb2.RotateWebhookSecretResponse:
        return await self.call("RotateWebhookSecret", r)

    async def delete_webhook_endpoint(self, r: events_pb2.DeleteWebhookEndpointRequest
                                      ) -> events_pb2.DeleteWebhookEndpointResponse:
        return await self.call("DeleteWebhookEndpoint", r)

    async def list_webhook_attempts(self, r: events_pb2.ListWebhookAttemptsRequest
                                    ) -> events_pb2.ListWebhookAttemptsResponse:
        return await self.call("ListWebhookAttempts", r, read=True)

    async def resend_webhook_event(self, r: events_pb2.ResendWebhookEventRequest
                                   ) -> events_pb2.ResendWebhookEventResponse:
        return await self.call("ResendWebhookEvent", r)


class Upstreams:
    """The five clients; made inside the running event loop (the app's lifespan), never at import."""

    def __init__(self, settings: Settings) -> None:
        t = settings.upstream_timeout_seconds
        tls = tls_of(settings)   # mutual TLS to the services, when GRPC_TLS_* are set
        self.catalog = CatalogClient(settings.catalog_addr, t, tls)
        self.wallet = WalletClient(settings.wallet_addr, t, tls)
        self.redemption = RedemptionClient(settings.redemption_addr, t, settings.redeem_timeout_seconds, tls)
        self.fulfillment = FulfillmentClient(settings.fulfillment_addr, t, tls)
        self.events = EventsClient(settings.events_addr, t, tls)

    @property
    def all(self) -> list[ServiceClient]:
        """The services `/readyz` waits for. Not the events service: a gateway that cannot read the event log
        must still redeem, so GET /v1/events alone answers 503 while it is away."""
        return [self.catalog, self.wallet, self.redemption, self.fulfillment]

    async def close(self) -> None:
        for client in (*self.all, self.events):
            await client.close()
