"""fulfillment-service settings, from the environment."""

from pydantic import SecretStr, ValidationInfo, field_validator
from service_kit.sealing import KeyRing
from service_kit.settings import GrpcServerSettings


class Settings(GrpcServerSettings):
    database_url: str                   # DATABASE_URL, required: postgresql://user:pass@host:port/fulfillment
    nats_url: str = "nats://127.0.0.1:4222"  # NATS_URL: one server, or a cluster's, comma-separated
    nats_stream_replicas: int = 1            # NATS_STREAM_REPLICAS: servers each stream is kept on (3 in a cluster)
    grpc_host: str = "0.0.0.0"          # GRPC_HOST
    grpc_port: int = 50054              # GRPC_PORT
    db_pool_size: int = 10              # DB_POOL_SIZE
    metrics_port: int = 9154            # METRICS_PORT: Prometheus GET /metrics on GRPC_HOST; 0: none
    # GRPC_ALLOWED_CALLERS: with mutual TLS on, who may call (the inline code claim and VoidJob; the gateway's admin routes and provider callbacks)
    grpc_allowed_callers: str = "redemption-service,gateway"
    migrate_on_start: bool = True       # MIGRATE_ON_START: apply Alembic migrations before serving
    # CODE_ENCRYPTION_KEY, required: a Fernet key (urlsafe base64 of 32 bytes). Codes, PINs and result
    # payloads are encrypted with it at rest; losing it loses every unassigned code.
    code_encryption_key: SecretStr
    # LOW_POOL_THRESHOLD: a pool with fewer available codes is low (GetCodePool, the gauge, code_pool.low), for a
    # pool without its own threshold
    low_pool_threshold: int = 10
    invariant_check_seconds: float = 60.0  # INVARIANT_CHECK_SECONDS: how often the codes' invariants are checked
    consumer_name: str = "fulfillment-worker"  # CONSUMER_NAME: the durable pull consumer on the jobs subject
    # DEAD_LETTERS_CONSUMER: the durable consumer of the jobs' max-deliveries advisories (the dead-letter path)
    dead_letters_consumer: str = "fulfillment-dead-letters"
    ack_wait_seconds: float = 30.0      # ACK_WAIT_SECONDS: first redelivery delay of an un-acked job
    max_deliveries: int = 5             # MAX_DELIVERIES: deliveries of one job before JetStream gives up
    fetch_batch: int = 16               # FETCH_BATCH: jobs fetched per pull
    # RELAY_INTERVAL_SECONDS: the outbox relay's fallback poll (rows of another replica, a failed publish); this
    # process's commits wake it at once
    relay_interval_seconds: float = 5.0
    stuck_after_seconds: float = 300.0  # STUCK_AFTER_SECONDS: ListJobs(stuck_only) bound for pending/running
    # WEBHOOK_SIGNING_SECRET, required: HMAC-SHA256 key signing calls to providers and bonus engines, and
    # verifying providers' callbacks.
    webhook_signing_secret: SecretStr
    provider_timeout_seconds: float = 5.0     # PROVIDER_TIMEOUT_SECONDS: one HTTP call to a provider
    provider_max_attempts: int = 4            # PROVIDER_MAX_ATTEMPTS: calls within one delivery of a job
    provider_retry_min_wait_seconds: float = 0.5   # PROVIDER_RETRY_MIN_WAIT_SECONDS: first backoff step
    provider_retry_max_wait_seconds: float = 10.0  # PROVIDER_RETRY_MAX_WAIT_SECONDS: backoff and Retry-After cap
    bonus_engine_url: str = ""                # BONUS_ENGINE_URL: bonus engine when the item's config names none
    # PROVIDER_LEASE_SECONDS: how long a provider attempt holds its job (one replica calls the provider at a
    # time); longer than a delivery's calls can take, so a live replica never loses it mid-call
    provider_lease_seconds: float = 90.0

    @field_validator("code_encryption_key")
    @classmethod
    def _is_fernet_key(cls, value: SecretStr) -> SecretStr:
        try:
            KeyRing([value.get_secret_value().strip()], "CODE_ENCRYPTION_KEY")
        except ValueError:
            raise ValueError("must be a Fernet key: urlsafe base64 of 32 bytes") from None
        return value

    @field_validator("webhook_signing_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("provider_lease_seconds")
    @classmethod
    def _outlasts_a_delivery(cls, value: float, info: ValidationInfo) -> float:
        # A delivery's calls end within PROVIDER_MAX_ATTEMPTS x (PROVIDER_TIMEOUT_SECONDS +
        # PROVIDER_RETRY_MAX_WAIT_SECONDS) (provider_calls: its stop_after_delay); the lease must outlast that.
        attempts, timeout, wait = (info.data.get(k) for k in (
            "provider_max_attempts", "provider_timeout_seconds", "provider_retry_max_wait_seconds"))
        if None in (attempts, timeout, wait):
            return value  # one of them was refused already, and is reported
        bound = attempts * (timeout + wait)
        if value <= bound:
            raise ValueError(f"must be longer than PROVIDER_MAX_ATTEMPTS x (PROVIDER_TIMEOUT_SECONDS + "
                             f"PROVIDER_RETRY_MAX_WAIT_SECONDS) = {bound:g} s, the longest a delivery's calls take")
        return value

    @field_validator("low_pool_threshold")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("max_deliveries", "provider_max_attempts")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value
