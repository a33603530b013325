"""events-service settings, from the environment."""

from pydantic import SecretStr, field_validator
from service_kit.sealing import KeyRing
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
    # Webhooks (docs/events.md, "Webhooks")
    webhook_timeout_seconds: float = 10.0      # WEBHOOK_TIMEOUT_SECONDS: a POST answered later than this failed
    webhook_delivery_interval_seconds: float = 5.0  # WEBHOOK_DELIVERY_INTERVAL_SECONDS: due deliveries looked for
    webhook_delivery_batch: int = 50           # WEBHOOK_DELIVERY_BATCH: deliveries claimed (and sent at once) a round
    webhook_retry_base_seconds: float = 5.0    # WEBHOOK_RETRY_BASE_SECONDS: the first retry's delay, doubled after
    webhook_retry_max_interval_seconds: float = 21600.0  # WEBHOOK_RETRY_MAX_INTERVAL_SECONDS: the longest delay
    webhook_retry_for_seconds: float = 259200.0  # WEBHOOK_RETRY_FOR_SECONDS: a delivery is retried this long (3 days)
    webhook_disable_after_seconds: float = 432000.0  # WEBHOOK_DISABLE_AFTER_SECONDS: failing this long: disabled
    webhook_rotation_overlap_seconds: float = 86400.0  # WEBHOOK_ROTATION_OVERLAP_SECONDS: old secret still signs
    webhook_allow_http: bool = False           # WEBHOOK_ALLOW_HTTP: accept http:// endpoint URLs (local runs only)
    # WEBHOOK_ALLOW_PRIVATE_ADDRESSES: accept endpoints on loopback, private and link-local addresses, and deliver
    # to them (local runs and tests only; else an endpoint may not reach into the service's own network)
    webhook_allow_private_addresses: bool = False
    # WEBHOOK_SECRET_KEYS, required: Fernet keys (urlsafe base64 of 32 bytes), comma-separated, newest first. The
    # endpoints' signing secrets are sealed with the newest and unsealed with any (rotation: README).
    webhook_secret_keys: SecretStr

    @field_validator("webhook_secret_keys")
    @classmethod
    def _are_fernet_keys(cls, value: SecretStr) -> SecretStr:
        # The message names the key's position, never the key; load_settings names the setting.
        KeyRing.from_setting(value.get_secret_value(), "WEBHOOK_SECRET_KEYS")
        return value
