"""redemption-service settings, from the environment."""

from pydantic import SecretStr, field_validator
from service_kit.sealing import KeyRing
from service_kit.settings import GrpcServerSettings


class Settings(GrpcServerSettings):
    database_url: str                            # DATABASE_URL, required: postgresql://user:pass@host:port/redemption
    nats_url: str = "nats://127.0.0.1:4222"      # NATS_URL: one server, or a cluster's, comma-separated
    nats_stream_replicas: int = 1                # NATS_STREAM_REPLICAS: servers each stream is kept on (3 in a cluster)
    catalog_addr: str = "127.0.0.1:50051"        # CATALOG_ADDR
    wallet_addr: str = "127.0.0.1:50052"         # WALLET_ADDR
    fulfillment_addr: str = "127.0.0.1:50054"    # FULFILLMENT_ADDR: a cancel voids the job there first
    grpc_host: str = "0.0.0.0"                   # GRPC_HOST
    grpc_port: int = 50053                       # GRPC_PORT
    db_pool_size: int = 10                       # DB_POOL_SIZE
    metrics_port: int = 9153                     # METRICS_PORT: Prometheus GET /metrics on GRPC_HOST; 0: none
    # GRPC_ALLOWED_CALLERS: with mutual TLS on, who may call (the gateway's redemption routes)
    grpc_allowed_callers: str = "gateway"
    migrate_on_start: bool = True                # MIGRATE_ON_START: apply Alembic migrations before serving
    call_timeout_seconds: float = 3.0            # CALL_TIMEOUT_SECONDS: deadline of each call to catalog/wallet/fulfillment
    idempotency_ttl_hours: float = 24.0          # IDEMPOTENCY_TTL_HOURS: how long a key replays its first result
    idempotency_wait_seconds: float = 5.0        # IDEMPOTENCY_WAIT_SECONDS: a concurrent duplicate waits this long
    saga_recovery_interval_seconds: float = 10.0  # SAGA_RECOVERY_INTERVAL_SECONDS
    saga_stale_seconds: float = 30.0             # SAGA_STALE_SECONDS: an unfinished saga untouched this long is recovered
    outbox_poll_seconds: float = 5.0             # OUTBOX_POLL_SECONDS: how often the relay looks for events it was not woken for
    results_consumer: str = "redemption-results"  # RESULTS_CONSUMER: durable pull consumer on the results subject
    fetch_batch: int = 32                        # FETCH_BATCH: results fetched per pull
    results_ack_wait_seconds: float = 30.0       # RESULTS_ACK_WAIT_SECONDS: an un-acked result comes back after this
    results_max_deliveries: int = 10             # RESULTS_MAX_DELIVERIES: then it is dropped; the reconciler asks again
    fulfillment_wait_ms: int = 2000              # FULFILLMENT_WAIT_MS: Redeem waits this long for a fast result
    inline_fulfilment_timeout_seconds: float = 2.0  # INLINE_FULFILMENT_TIMEOUT_SECONDS: deadline of Redeem's direct code-pool fulfilment
    inline_fulfilment_strategies: str = "code_pool"  # INLINE_FULFILMENT_STRATEGIES: comma-separated; empty: all jobs over JetStream
    reconcile_interval_seconds: float = 15.0     # RECONCILE_INTERVAL_SECONDS: how often the reconciler runs
    reconcile_after_seconds: float = 60.0        # RECONCILE_AFTER_SECONDS: an OPEN job without a result this long is re-published
    quote_valid_seconds: int = 300               # QUOTE_VALID_SECONDS: a quote's price and variant hold this long (1..86400)
    review_hold_seconds: float = 86_400.0        # REVIEW_HOLD_SECONDS: an undecided review hold is rejected (refunded) after this
    review_timeout_interval_seconds: float = 30.0  # REVIEW_TIMEOUT_INTERVAL_SECONDS: how often undecided holds are looked for
    # CODE_ENCRYPTION_KEYS, required: Fernet keys (urlsafe base64 of 32 bytes), comma-separated, newest first.
    # Codes and PINs are sealed with the newest and unsealed with any (rotation: README).
    code_encryption_keys: SecretStr

    @field_validator("quote_valid_seconds")
    @classmethod
    def _quote_validity_bounded(cls, value: int) -> int:
        if not 1 <= value <= 86_400:
            raise ValueError("must be between 1 and 86400 seconds")
        return value

    @field_validator("review_hold_seconds", "review_timeout_interval_seconds")
    @classmethod
    def _review_times_positive(cls, value: float) -> float:
        if not 0 < value <= 30 * 86_400:
            raise ValueError("must be more than 0 and at most 30 days (2592000 seconds)")
        return value

    @field_validator("code_encryption_keys")
    @classmethod
    def _are_fernet_keys(cls, value: SecretStr) -> SecretStr:
        # The message names the key's position, never the key; load_settings names the setting.
        KeyRing.from_setting(value.get_secret_value(), "CODE_ENCRYPTION_KEYS")
        return value
