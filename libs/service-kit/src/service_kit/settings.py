"""Settings from the environment, failing fast with the name of the missing variable."""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)

# GrpcServerSettings' defaults (service_kit.grpc_server.server_options says why).
DEFAULT_MAX_CONNECTION_AGE_SECONDS = 60.0
DEFAULT_MAX_CONNECTION_AGE_GRACE_SECONDS = 30.0


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses add their own; field FOO reads the variable FOO."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    log_level: str = "INFO"
    # Calls in flight get this long to finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0
    # Mutual TLS between the services (service_kit.mtls), off unless all three are set: this service's certificate
    # (PEM, its subject common name the service's name) and key, shown to the services it calls and, by a gRPC
    # service, to its callers; and the CA that signs every service's certificate.
    grpc_tls_cert_file: str = ""     # GRPC_TLS_CERT_FILE
    grpc_tls_key_file: str = ""      # GRPC_TLS_KEY_FILE
    grpc_tls_ca_file: str = ""       # GRPC_TLS_CA_FILE


class GrpcServerSettings(ServiceSettings):
    """Settings every gRPC service has (service_kit.grpc_server.server_options)."""

    # GRPC_MAX_CONNECTION_AGE_SECONDS: a client's connection is closed (gracefully) after this, so its channel
    # looks the name up again and spreads its calls over new replicas too.
    grpc_max_connection_age_seconds: float = DEFAULT_MAX_CONNECTION_AGE_SECONDS
    # GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS: calls in flight on a connection that reached its age get this long.
    grpc_max_connection_age_grace_seconds: float = DEFAULT_MAX_CONNECTION_AGE_GRACE_SECONDS
    # GRPC_ALLOWED_CALLERS: with mutual TLS on, the identities (certificate common names) that may call this
    # service, comma-separated; each service sets its own default (the callers that need it).
    grpc_allowed_callers: str = ""
    # GRPC_HEALTH_PORT: with mutual TLS on, a plain-text port that answers the health service only (Kubernetes'
    # native gRPC probes cannot show a certificate); 0: none.
    grpc_health_port: int = 0

    @field_validator("grpc_max_connection_age_seconds")
    @classmethod
    def _age_is_positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0")
        return value

    @field_validator("grpc_max_connection_age_grace_seconds")
    @classmethod
    def _grace_is_not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value


def load_settings(cls: type[S]) -> S:
    """Builds cls from the environment; on a missing or bad variable, exits naming it."""
    try:
        return cls()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            if err["type"] == "missing":
                lines.append(f"missing required setting {name}")
            else:
                lines.append(f"bad setting {name}: {err['msg']}")
        sys.stderr.write("configuration error: " + "; ".join(lines) + "\n")
        raise SystemExit(2) from None
