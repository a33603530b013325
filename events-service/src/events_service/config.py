"""events-service settings, from the environment."""

from service_kit.settings import GrpcServerSettings


class Settings(GrpcServerSettings):
    database_url: str                 # DATABASE_URL, required: postgresql://user:pass@host:port/events
    nats_url: str = "nats://127.0.0.1:4222"  # NATS_URL: NATS with JetStream, the REWARDS_EVENTS stream
    nats_stream_replicas: int = 1            # NATS_STREAM_REPLICAS: servers each stream is kept on (3 in a cluster)
    grpc_host: str = "0.0.0.0"        # GRPC_HOST
    grpc_port: int = 50055            # GRPC_PORT
    db_pool_size: int = 5             # DB_POOL_SIZE
    metrics_port: int = 9155          # METRICS_PORT: Prometheus GET /metrics on GRPC_HOST; 0: none
    # GRPC_ALLOWED_CALLERS: with mutual TLS on, who may call (the gateway's GET /v1/events)
    grpc_allowed_callers: str = "gateway"
    migrate_on_start: bool = True     # MIGRATE_ON_START: apply Alembic migrations before serving
    consumer_name: str = "events-log"  # CONSUMER_NAME: the durable consumer shared by every replica
    fetch_batch: int = 64             # FETCH_BATCH: messages taken per fetch while the stream is busy
    ack_wait_seconds: float = 30.0    # ACK_WAIT_SECONDS: an unacked message is delivered again after this
    max_deliveries: int = 10          # MAX_DELIVERIES: then it is left on the stream (logged), not retried forever
    retention_days: float = 30.0      # RETENTION_DAYS: events older than this are purged from the log
    purge_interval_seconds: float = 3600.0  # PURGE_INTERVAL_SECONDS: how often the purge runs
