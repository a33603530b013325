"""The runner's settings, from the environment (every one optional)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from local_runner.infra import free_port

GRPC_SERVICES = ("catalog", "wallet", "redemption", "fulfillment", "events")
# What REPLICAS runs several times: the gateway and every gRPC service (not PostgreSQL, NATS or the demo partner).
REPLICATED = ("gateway", *GRPC_SERVICES)
# The second replica of a service listens on its first's port + REPLICA_PORT_STEP, the third on + 2 x, ...
REPLICA_PORT_STEP = 100
MAX_REPLICAS = 9
# NATS_REPLICAS: one nats-server, or a cluster of three on loopback with every stream kept on all three.
NATS_CLUSTER_SIZES = (1, 3)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"configuration error: {name} must be an integer, got {raw!r}") from None


def _metrics_ports() -> dict[str, int]:
    # A free port each unless pinned: nothing local scrapes them at a fixed address, and a second platform (a
    # soak, a bench, the e2e tests) must not collide with `make run`'s.
    return {svc: _int(f"{svc.upper()}_METRICS_PORT", 0) or free_port() for svc in GRPC_SERVICES}


@dataclass
class RunnerSettings:
    run_dir: Path = field(default_factory=lambda: Path(os.environ.get("RUN_DIR", ".run")).resolve())
    host: str = field(default_factory=lambda: os.environ.get("RUN_HOST", "127.0.0.1"))
    gateway_port: int = field(default_factory=lambda: _int("GATEWAY_PORT", 8001))
    catalog_port: int = field(default_factory=lambda: _int("CATALOG_PORT", 50051))
    wallet_port: int = field(default_factory=lambda: _int("WALLET_PORT", 50052))
    redemption_port: int = field(default_factory=lambda: _int("REDEMPTION_PORT", 50053))
    fulfillment_port: int = field(default_factory=lambda: _int("FULFILLMENT_PORT", 50054))
    events_port: int = field(default_factory=lambda: _int("EVENTS_PORT", 50055))
    partner_port: int = field(default_factory=lambda: _int("DEMO_PARTNER_PORT", 8010))
    postgres_port: int = field(default_factory=lambda: _int("POSTGRES_PORT", 55432))
    nats_port: int = field(default_factory=lambda: _int("NATS_PORT", 14222))
    nats_monitor_port: int = field(default_factory=lambda: _int("NATS_MONITOR_PORT", 18222))
    # NATS_REPLICAS=3: three nats-server processes clustered over routes on loopback (the first on NATS_PORT and
    # NATS_MONITOR_PORT, the others on + REPLICA_PORT_STEP each; routes on NATS_CLUSTER_PORT, + the step each),
    # every stream replicated on all three, the services given every node's URL.
    nats_replicas: int = field(default_factory=lambda: _int("NATS_REPLICAS", 1))
    nats_cluster_port: int = field(default_factory=lambda: _int("NATS_CLUSTER_PORT", 16222))
    # `make run`'s local Prometheus (when a prometheus binary is there: local_runner.prometheus); 0: none.
    prometheus_port: int = field(default_factory=lambda: _int("PROMETHEUS_PORT", 9090))
    # (client port, monitoring port, route port) of every node of the cluster, the first's first: the steps above
    # unless given.
    nats_node_ports: list[tuple[int, int, int]] = field(default_factory=list)
    # METRICS_PORT of each gRPC service, by "catalog", "wallet", ... (the gateway's /metrics is on its HTTP port).
    metrics_ports: dict[str, int] = field(default_factory=_metrics_ports)
    # External servers instead of the embedded ones.
    nats_url: str | None = field(default_factory=lambda: os.environ.get("NATS_URL") or None)
    database_urls: dict[str, str] = field(default_factory=lambda: {
        db: os.environ[f"{db.upper()}_DATABASE_URL"]
        for db in ("gateway", "catalog", "wallet", "redemption", "fulfillment", "events")
        if os.environ.get(f"{db.upper()}_DATABASE_URL")
    })
    start_timeout: float = field(default_factory=lambda: float(_int("START_TIMEOUT_SECONDS", 90)))
    seed_demo: bool = field(default_factory=lambda: os.environ.get("SEED_DEMO", "true").lower() not in ("0", "false", "no"))
    # Extra environment for every service (tests set failpoints and short timers through this).
    service_env: dict[str, str] = field(default_factory=dict)
    # Processes of the gateway and of each gRPC service (REPLICAS=2: two of each, every caller spreading its calls
    # over both); each replica on its own ports.
    replicas: int = field(default_factory=lambda: _int("REPLICAS", 1))
    # The ports of the second and later replicas, by "gateway", "catalog", ...: the first's port +
    # REPLICA_PORT_STEP each unless given; their METRICS_PORT a free port each unless given.
    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    replica_metrics_ports: dict[str, list[int]] = field(default_factory=dict)
    # Mutual TLS between the services (MTLS=1): a local CA and a certificate per service in RUN_DIR/tls.
    mtls: bool = field(default_factory=lambda: os.environ.get("MTLS", "false").lower() in ("1", "true", "yes"))

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise SystemExit(f"configuration error: REPLICAS must be between 1 and {MAX_REPLICAS}, "
                             f"got {self.replicas}")
        if self.nats_replicas not in NATS_CLUSTER_SIZES:
            raise SystemExit("configuration error: NATS_REPLICAS must be 1 (one server) or 3 (a cluster), "
                             f"got {self.nats_replicas}")
        if not self.nats_node_ports:
            step = REPLICA_PORT_STEP
            self.nats_node_ports = [(self.nats_port + step * n, self.nats_monitor_port + step * n,
                                     self.nats_cluster_port + step * n) for n in range(self.nats_replicas)]
        if len(self.nats_node_ports) != self.nats_replicas:
            raise SystemExit(f"configuration error: {len(self.nats_node_ports)} NATS node ports for "
                             f"NATS_REPLICAS={self.nats_replicas}")
        self.nats_port, self.nats_monitor_port = self.nats_node_ports[0][:2]
        ports = [port for node in self.nats_node_ports for port in (node if self.nats_replicas > 1 else node[:2])]
        if len(set(ports)) != len(ports):
            raise SystemExit("configuration error: NATS_PORT, NATS_MONITOR_PORT and NATS_CLUSTER_PORT give the NATS "
                             f"nodes overlapping ports {ports} (each node takes its port + {REPLICA_PORT_STEP} x n)")
        for service in REPLICATED:
            ports = self.replica_ports.setdefault(service, [])
            first = self.port_of(service)
            while len(ports) < self.replicas - 1:
                ports.append(first + REPLICA_PORT_STEP * (len(ports) + 1))
            del ports[self.replicas - 1:]
        for service in GRPC_SERVICES:
            metrics = self.replica_metrics_ports.setdefault(service, [])
            while len(metrics) < self.replicas - 1:
                metrics.append(free_port())
            del metrics[self.replicas - 1:]

    def port_of(self, service: str) -> int:
        """The first replica's port of "gateway", "catalog", ..."""
        return int(getattr(self, f"{service}_port"))

    def ports(self, service: str) -> list[int]:
        """The port of each replica of "gateway", "catalog", ..., the first's first."""
        return [self.port_of(service), *self.replica_ports[service]]

    def metrics_ports_of(self, service: str) -> list[int]:
        """The METRICS_PORT of each replica of a gRPC service, the first's first."""
        return [self.metrics_ports[service], *self.replica_metrics_ports[service]]
