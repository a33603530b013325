"""Bootstrap: migrations, the database, clients of catalog, wallet and fulfillment, NATS (never blocking
serving), the gRPC server and the background tasks (outbox relay, fulfillment results, reconciler, backlog report,
saga recovery, idempotency key pruning, the review holds' timeout)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from rewards.redemption.v1 import redemption_pb2, redemption_pb2_grpc
from service_kit.grpc_client import open_channel
from service_kit.grpc_server import serve
from service_kit.messaging import JetStreamLink
from service_kit.mtls import ServerSecurity, tls_of
from service_kit.periodic import every
from service_kit.pgpool import PgPool

from redemption_service.clients import CatalogClient, FulfillmentClient, WalletClient
from redemption_service.codes import Codes
from redemption_service.config import Settings
from redemption_service.db import migrate, open_database
from redemption_service.fulfillment_results import FulfillmentResultConsumer
from redemption_service.fulfillment_waits import FulfillmentWaits
from redemption_service.grpc_api import RedemptionApi
from redemption_service.idempotency import prune_expired_keys
from redemption_service.metrics import SAMPLE_SECONDS, sample_all
from redemption_service.outbox import jobs_relay
from redemption_service.reconciler import BACKLOG_REPORT_SECONDS, report_backlog, republish_stale_jobs
from redemption_service.redemptions import Redemptions
from redemption_service.reseal import seal_codes_in_clear
from redemption_service.saga.recovery import recover_stale_sagas
from redemption_service.saga.redeem import RedeemSaga

PRUNE_INTERVAL_SECONDS = 600.0
# The SQLAlchemy engine serves the cold paths only (cancels, results from NATS, recovery, the reconciler); the
# hot path runs on the PgPool, sized by DB_POOL_SIZE.
COLD_PATH_POOL_SIZE = 4


async def main(settings: Settings) -> None:
    if settings.migrate_on_start:
        await asyncio.to_thread(migrate, settings.database_url)
    engine, sessions = open_database(settings.database_url, COLD_PATH_POOL_SIZE)
    pool = await PgPool.open(settings.database_url, size=settings.db_pool_size)
    codes = Codes.from_setting(settings.code_encryption_keys.get_secret_value())
    # Rows from a version before codes were sealed: sealed before serving (one indexed read when there are none).
    await seal_codes_in_clear(pool, codes)
    tls = tls_of(settings)   # mutual TLS to the services it calls, when GRPC_TLS_* are set
    catalog_channel = open_channel(settings.catalog_addr, tls=tls, server_name="catalog-service")
    wallet_channel = open_channel(settings.wallet_addr, tls=tls, server_name="wallet-service")
    catalog = CatalogClient(catalog_channel, settings.call_timeout_seconds)
    wallet = WalletClient(wallet_channel, settings.call_timeout_seconds)
    fulfillment_channel = open_channel(settings.fulfillment_addr, tls=tls, server_name="fulfillment-service")
    fulfillment = FulfillmentClient(fulfillment_channel, settings.call_timeout_seconds)
    waits = FulfillmentWaits()
    nats = JetStreamLink(settings.nats_url, "redemption-service",
                         stream_replicas=settings.nats_stream_replicas)
    relay = jobs_relay(pool, sessions, nats, settings.outbox_poll_seconds)
    redemptions = Redemptions(sessions, pool, catalog, wallet, fulfillment, codes=codes,
                              idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
                              idempotency_wait_seconds=settings.idempotency_wait_seconds,
                              fulfillment_waits=waits, fulfillment_wait_ms=settings.fulfillment_wait_ms,
                              inline_timeout_seconds=settings.inline_fulfilment_timeout_seconds,
                              inline_strategies=frozenset(
                                  s.strip() for s in settings.inline_fulfilment_strategies.split(",") if s.strip()),
                              wake_relay=relay.wake, quote_valid_seconds=settings.quote_valid_seconds)
    results = FulfillmentResultConsumer(sessions, nats, redemptions, waits,
                                        consumer_name=settings.results_consumer,
                                        fetch_batch=settings.fetch_batch,
                                        ack_wait=settings.results_ack_wait_seconds,
                                        max_deliveries=settings.results_max_deliveries)
    api = RedemptionApi(redemptions)

    def add_services(server):  # type: ignore[no-untyped-def]
        redemption_pb2_grpc.add_RedemptionServiceServicer_to_server(api, server)
        return [redemption_pb2.DESCRIPTOR.services_by_name["RedemptionService"].full_name]

    async def outbox_relay() -> None:
        await relay.run()

    async def fulfillment_results() -> None:
        await results.run()

    reconciler = every("reconciler", settings.reconcile_interval_seconds,
                       lambda: republish_stale_jobs(sessions, settings.reconcile_after_seconds))
    backlog_report = every("backlog_report", BACKLOG_REPORT_SECONDS,
                           lambda: report_backlog(sessions, settings.reconcile_after_seconds),
                           first_delay_seconds=BACKLOG_REPORT_SECONDS)
    saga_recovery = every("saga_recovery", settings.saga_recovery_interval_seconds,
                          lambda: recover_stale_sagas(sessions, RedeemSaga(catalog, wallet).way_back(),
                                                      settings.saga_stale_seconds))
    gauges = every("gauges", SAMPLE_SECONDS, lambda: sample_all(
        pool, nats, overdue_seconds=settings.reconcile_after_seconds, results_consumer=settings.results_consumer))
    review_timeout = every("review_timeout", settings.review_timeout_interval_seconds,
                           lambda: redemptions.expire_holds(settings.review_hold_seconds))
    idempotency_pruning = every("idempotency_pruning", PRUNE_INTERVAL_SECONDS, lambda: prune_expired_keys(sessions))

    async def stop() -> None:
        try:
            # Refunds of failed fulfillments under way get the grace period; recovery finishes any left.
            await asyncio.wait_for(results.settle(), settings.shutdown_grace_seconds)
        except TimeoutError:
            pass
        await nats.close()
        await catalog_channel.close()
        await wallet_channel.close()
        await fulfillment_channel.close()
        await engine.dispose()
        await pool.close()

    await serve(
        name="redemption-service",
        host=settings.grpc_host,
        port=settings.grpc_port,
        metrics_port=settings.metrics_port,
        max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
        max_connection_age_grace_seconds=settings.grpc_max_connection_age_grace_seconds,
        security=ServerSecurity.from_settings(settings),
        add_services=add_services,
        background=[outbox_relay, fulfillment_results, reconciler, backlog_report, saga_recovery,
                    idempotency_pruning, review_timeout, gauges],
        on_stop=stop,
        grace_seconds=settings.shutdown_grace_seconds,
    )
