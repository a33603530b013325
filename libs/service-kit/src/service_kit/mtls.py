"""Mutual TLS between the services: every gRPC server asks each caller for a certificate signed by the platform's
CA, and answers only the callers named in its GRPC_ALLOWED_CALLERS; every caller shows its own certificate and
checks the server's. Off unless GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE and GRPC_TLS_CA_FILE are all set.

A service's identity is its certificate's subject common name (`redemption-service`, `gateway`, ...): the runner's
local CA (local_runner.certificates) and cert-manager (deploy/README.md) issue them so. A call without a
certificate, or with one the CA did not sign, fails the TLS handshake (the caller sees UNAVAILABLE); a call from a
service not allowed is refused with PERMISSION_DENIED by the kit's interceptor (service_kit.grpc_server), which
logs the caller and counts the refusal in `rewards_rpc_requests_total{code="PERMISSION_DENIED"}`. The health
service answers any caller the CA signed, and on GRPC_HEALTH_PORT (plain text, for Kubernetes' native gRPC probes,
which cannot show a certificate) it is the only service that answers."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Never

import grpc

HEALTH_PREFIX = "/grpc.health.v1.Health/"


class TlsSettingsError(ValueError):
    """The TLS settings are incomplete or name unreadable files."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """This service's certificate chain and key, and the CA that signs its peers (PEM)."""

    certificate: bytes
    key: bytes
    ca: bytes

    @classmethod
    def from_paths(cls, certificate: str, key: str, ca: str) -> TlsFiles | None:
        """None when none of the three is set (TLS off); all three must be set otherwise."""
        given = {"GRPC_TLS_CERT_FILE": certificate, "GRPC_TLS_KEY_FILE": key, "GRPC_TLS_CA_FILE": ca}
        if not any(given.values()):
            return None
        missing = [name for name, path in given.items() if not path]
        if missing:
            raise TlsSettingsError(f"mutual TLS needs all three files: {', '.join(missing)} not set")
        read = {}
        for name, path in given.items():
            try:
                read[name] = Path(path).read_bytes()
            except OSError as exc:
                raise TlsSettingsError(f"{name}: cannot read {path}: {exc.strerror}") from None
        return cls(read["GRPC_TLS_CERT_FILE"], read["GRPC_TLS_KEY_FILE"], read["GRPC_TLS_CA_FILE"])

    @classmethod
    def from_settings(cls, settings: Any) -> TlsFiles | None:
        return cls.from_paths(settings.grpc_tls_cert_file, settings.grpc_tls_key_file, settings.grpc_tls_ca_file)

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.key, self.certificate)], root_certificates=self.ca,
                                           require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(root_certificates=self.ca, private_key=self.key,
                                            certificate_chain=self.certificate)


def parse_callers(value: str) -> frozenset[str]:
    """GRPC_ALLOWED_CALLERS: identities, comma-separated."""
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def caller_of(context: grpc.aio.ServicerContext) -> str | None:
    """The identity of the caller's certificate (its subject common name), None on a connection without one."""
    names = context.auth_context().get("x509_common_name")
    return names[0].decode() if names else None


@dataclass(frozen=True, slots=True)
class ServerSecurity:
    """A server's side of mutual TLS: its files, who may call it, and the plain-text health port (0: none)."""

    tls: TlsFiles
    allowed_callers: frozenset[str]
    health_port: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> ServerSecurity | None:
        """From GRPC_TLS_*, GRPC_ALLOWED_CALLERS and GRPC_HEALTH_PORT; None when TLS is off. Exits naming the
        setting when they are incomplete or unreadable."""
        tls = tls_of(settings)
        if tls is None:
            return None
        callers = parse_callers(settings.grpc_allowed_callers)
        if not callers:
            _exit("GRPC_ALLOWED_CALLERS is empty: with mutual TLS on, name the services that may call this one")
        return cls(tls, callers, settings.grpc_health_port)


def tls_of(settings: Any) -> TlsFiles | None:
    """A caller's (and a server's) TLS files from its settings; exits naming what is wrong."""
    try:
        return TlsFiles.from_settings(settings)
    except TlsSettingsError as exc:
        _exit(str(exc))


def _exit(message: str) -> Never:
    sys.stderr.write(f"configuration error: {message}\n")
    raise SystemExit(2)
