"""wallet-service settings, from the environment."""

from service_kit.settings import GrpcServerSettings


class Settings(GrpcServerSettings):
    database_url: str                 # DATABASE_URL, required: postgresql://user:pass@host:port/wallet
    grpc_host: str = "0.0.0.0"        # GRPC_HOST
    grpc_port: int = 50052            # GRPC_PORT
    db_pool_size: int = 10            # DB_POOL_SIZE
    metrics_port: int = 9152          # METRICS_PORT: Prometheus GET /metrics on GRPC_HOST; 0: none
    # GRPC_ALLOWED_CALLERS: with mutual TLS on, who may call (the saga's debits and refunds; the gateway's reads and admin routes)
    grpc_allowed_callers: str = "redemption-service,gateway"
    migrate_on_start: bool = True     # MIGRATE_ON_START: apply Alembic migrations before serving
    lot_expiry_seconds: float = 30.0  # LOT_EXPIRY_SECONDS: how often the sweep expires lots whose expiry passed
    invariant_check_seconds: float = 60.0  # INVARIANT_CHECK_SECONDS: how often the ledger invariant is checked
    nats_url: str = "nats://127.0.0.1:4222"  # NATS_URL: where the tenants' events (points granted, adjusted) go
    nats_stream_replicas: int = 1            # NATS_STREAM_REPLICAS: servers each stream is kept on (3 in a cluster)
    outbox_poll_seconds: float = 5.0  # OUTBOX_POLL_SECONDS: how often the relay looks for events it was not woken for
