"""gateway settings, from the environment."""

import re

from pydantic import field_validator
from service_kit.settings import ServiceSettings

from gateway.client_ip import TrustedProxies
from gateway.console.service_metrics import parse_targets

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def cors_origins(value: str) -> list[str]:
    """CORS_ALLOW_ORIGINS as a list: each entry an origin (scheme://host[:port], no path) or *."""
    origins = [entry.strip() for entry in value.split(",") if entry.strip()]
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path or trailing slash) nor *")
    return origins


class Settings(ServiceSettings):
    database_url: str                           # DATABASE_URL, required: the gateway's own database
    http_host: str = "127.0.0.1"                # HTTP_HOST
    http_port: int = 8001                       # HTTP_PORT
    catalog_addr: str = "127.0.0.1:50051"       # CATALOG_ADDR
    wallet_addr: str = "127.0.0.1:50052"        # WALLET_ADDR
    redemption_addr: str = "127.0.0.1:50053"    # REDEMPTION_ADDR
    fulfillment_addr: str = "127.0.0.1:50054"   # FULFILLMENT_ADDR
    events_addr: str = "127.0.0.1:50055"        # EVENTS_ADDR: the events service (GET /v1/events)
    upstream_timeout_seconds: float = 5.0       # UPSTREAM_TIMEOUT_SECONDS: deadline of every gRPC call
    redeem_timeout_seconds: float = 15.0        # REDEEM_TIMEOUT_SECONDS: deadline of the Redeem call (the saga)
    token_ttl_seconds: int = 900                # TOKEN_TTL_SECONDS: default lifetime of a player token
    token_max_ttl_seconds: int = 86400          # TOKEN_MAX_TTL_SECONDS: the longest a caller may ask for
    signing_key_cache_seconds: float = 10.0     # SIGNING_KEY_CACHE_SECONDS: how long verification keys are cached
    credential_cache_seconds: float = 10.0      # CREDENTIAL_CACHE_SECONDS: how long a found credential or brand is kept
    max_body_bytes: int = 65536                 # MAX_BODY_BYTES: the largest request body (else 413)
    max_upload_body_bytes: int = 2097152        # MAX_UPLOAD_BODY_BYTES: the same, for an upload of voucher codes
    # TRUSTED_PROXIES: comma-separated addresses/CIDRs of our own proxies; only a peer among them has its
    # X-Forwarded-For read (gateway/client_ip.py). Empty: the socket peer is the client.
    trusted_proxies: str = ""
    # CORS_ALLOW_ORIGINS: comma-separated origins a browser app may call from (https://shop.example.com), or *;
    # empty: no CORS (a preflight is not answered, as before).
    cors_allow_origins: str = ""
    rate_limit_per_second: float = 0.0          # RATE_LIMIT_PER_SECOND: per client credential; 0: no limit
    rate_limit_burst: int = 20                  # RATE_LIMIT_BURST: requests a client may send at once
    # RATE_LIMIT_SYNC_SECONDS: how often each gateway process adds what it admitted to the buckets every replica
    # shares in the database and reads them back (gateway/rate_limit.py); 0: each process limits on its own.
    rate_limit_sync_seconds: float = 0.2
    access_log: bool = False                    # ACCESS_LOG: uvicorn's access log (costs throughput)
    migrate_on_start: bool = True               # MIGRATE_ON_START
    db_pool_size: int = 5                       # DB_POOL_SIZE
    # The web apps (gateway/web): the demo storefront at /store serves this tenant's sandbox; empty: off (404).
    store_tenant: str = ""                      # STORE_TENANT
    store_players: str = "player-1,player-2"    # STORE_PLAYERS: comma-separated players one may sign in as
    web_session_seconds: int = 1800             # WEB_SESSION_SECONDS: a storefront or console session's life
    console_low_stock: int = 10                 # CONSOLE_LOW_STOCK: the console marks an item's stock low at or below
    # CONSOLE_METRICS_URLS: name=url pairs, comma-separated, of the services' /metrics the console's health page
    # reads (outbox backlog, consumer lag); empty: the page shows the services' readiness only.
    console_metrics_urls: str = ""

    @property
    def store_player_ids(self) -> list[str]:
        return [p.strip() for p in self.store_players.split(",") if p.strip()]

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins_parse(cls, value: str) -> str:
        cors_origins(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("console_metrics_urls")
    @classmethod
    def _metrics_urls_parse(cls, value: str) -> str:
        parse_targets(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("rate_limit_per_second", "rate_limit_sync_seconds")
    @classmethod
    def _rate_not_negative(cls, value: float) -> float:
        if not value >= 0:  # NaN compares false too
            raise ValueError("must be 0 (off) or more")
        return value

    @field_validator("rate_limit_burst")
    @classmethod
    def _burst_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        TrustedProxies.parse(value)  # raises ValueError naming the bad entry
        return value
