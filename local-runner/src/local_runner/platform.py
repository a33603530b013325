"""The whole platform on one machine: PostgreSQL, NATS and the five services as child processes.

Used by `python -m local_runner run` and by the e2e tests (on free ports in a temporary folder)."""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib
import ipaddress
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from local_runner import ports
from local_runner.certificates import CertificateFiles, issue
from local_runner.infra import Nats, Postgres, nats_cluster, stop_process
from local_runner.ports import PortUse
from local_runner.settings import GRPC_SERVICES, REPLICATED, RunnerSettings

DATABASES = ("gateway", "catalog", "wallet", "redemption", "fulfillment", "events")
TLS_SETTINGS = ("GRPC_TLS_CERT_FILE", "GRPC_TLS_KEY_FILE", "GRPC_TLS_CA_FILE", "GRPC_ALLOWED_CALLERS")
# The runner's identity with mutual TLS on (MTLS=1): every gRPC service lets it check health and seed the demo.
RUNNER_IDENTITY = "local-runner"


# How long `make reset` waits for a running `make run` to stop what it started (it may be mid-start: it stops once
# started), before it kills it and stops the rest itself.
RUNNER_STOP_SECONDS = 180.0
RUNNER_MARKER = "-m local_runner run"


# The services that take part in mutual TLS (MTLS=1), by module: the gRPC services and the gateway, their caller.
TLS_MODULES = ("catalog_service", "wallet_service", "redemption_service", "fulfillment_service", "events_service",
               "gateway")


@functools.cache
def allowed_callers(module: str) -> str:
    """A gRPC service's own GRPC_ALLOWED_CALLERS default (the callers that need it); "" for the gateway, which no
    service calls. Read from the service's settings, only when mutual TLS is on."""
    if module == "gateway":
        return ""
    return str(importlib.import_module(f"{module}.config").Settings.model_fields["grpc_allowed_callers"].default)


@dataclass
class ServiceSpec:
    name: str                # log and pid file name: "catalog-service", its second replica "catalog-service-2"
    module: str              # python -m <module>
    database: str | None     # its own database, if it has one
    port: int
    http: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    metrics_port: int | None = None   # a gRPC service's METRICS_PORT (the gateway's /metrics is on its own port)
    replica: int = 1         # which replica of its service (REPLICAS)

    def address(self, host: str) -> str:
        return f"{host}:{self.port}"

    @property
    def service(self) -> str:
        """The service's folder name, the same for every replica: "catalog-service"."""
        return replica_name(self.name, 1)


def replica_name(service: str, replica: int) -> str:
    """"catalog-service" for the first replica, "catalog-service-2" for the second, ..."""
    base = re.sub(r"-\d+$", "", service)
    return base if replica == 1 else f"{base}-{replica}"


def grpc_target(host: str, ports: list[int]) -> str:
    """The channel target of a service's replicas: `host:port` for one; for several, the list grpc balances over
    (round_robin, service_kit.grpc_client), `ipv4:h:p1,h:p2` (or `ipv6:[h]:p1,...`)."""
    if len(ports) == 1:
        return f"{host}:{ports[0]}"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SystemExit(f"configuration error: REPLICAS above 1 needs RUN_HOST to be an IP address, got {host!r}"
                         ) from None
    if address.version == 4:
        return "ipv4:" + ",".join(f"{host}:{p}" for p in ports)
    return "ipv6:" + ",".join(f"[{host}]:{p}" for p in ports)


class Platform:
    def __init__(self, settings: RunnerSettings, say: Callable[[str], None] = print) -> None:
        self.s = settings
        self.say = say
        self.run_dir = settings.run_dir
        self.logs = self.run_dir / "logs"
        self.pids = self.run_dir / "pids"
        self.postgres: Postgres | None = None
        self.nats: Nats | None = None          # the single server, or the first node of the cluster
        self.nats_nodes: list[Nats] = []       # every node (NATS_REPLICAS), the first's first
        self.procs: dict[str, subprocess.Popen] = {}
        self.database_urls: dict[str, str] = {}
        self.nats_url = ""

    # ---- layout -------------------------------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return f"http://{self.s.host}:{self.s.gateway_port}"

    @property
    def gateway_urls(self) -> list[str]:
        """Every gateway replica's URL, the first's (gateway_url) first."""
        return [f"http://{self.s.host}:{port}" for port in self.s.ports("gateway")]

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Prometheus' `GET /metrics` of every process of the platform, by its name."""
        urls = {spec.name: f"http://{self.s.host}:{spec.metrics_port}/metrics"
                for spec in self.specs() if spec.metrics_port}
        gateways = {replica_name("gateway", n): f"{url}/metrics" for n, url in enumerate(self.gateway_urls, 1)}
        return {**urls, **gateways}

    @property
    def partner_webhook_file(self) -> Path:
        """The demo's webhook endpoint to the demo partner, with its signing secret: written by the seeding
        (local_runner.demo), read by the partner to verify each delivery. Owner-only, like secrets.json."""
        return self.run_dir / "demo-partner-webhook.json"

    def listening_ports(self) -> list[PortUse]:
        """Every port the platform's processes will listen on, each with the setting that gives it."""
        h = self.s.host
        uses = [PortUse(port, h, replica_name("gateway" if svc == "gateway" else f"{svc}-service", n),
                        f"{svc.upper()}_PORT", port - self.s.port_of(svc))
                for svc in REPLICATED for n, port in enumerate(self.s.ports(svc), 1)]
        for svc in GRPC_SERVICES:
            first, *others = self.s.metrics_ports_of(svc)
            uses.append(PortUse(first, h, f"{svc}-service metrics", f"{svc.upper()}_METRICS_PORT"))
            uses += [PortUse(port, h, f"{svc}-service-{n} metrics") for n, port in enumerate(others, 2)]
        uses.append(PortUse(self.s.partner_port, h, "demo-partner", "DEMO_PARTNER_PORT"))
        if any(db not in self.s.database_urls for db in DATABASES):
            uses.append(PortUse(self.s.postgres_port, "127.0.0.1", "postgres", "POSTGRES_PORT"))
        if not self.s.nats_url:
            # A single server has no routes; a cluster's second and third nodes are on the first's ports + 100 x n.
            kinds = (("NATS_PORT", ""), ("NATS_MONITOR_PORT", " monitoring"), ("NATS_CLUSTER_PORT", " routes"))
            cluster = self.s.nats_replicas > 1
            first = self.s.nats_node_ports[0]
            for n, node in enumerate(self.s.nats_node_ports, 1):
                for (setting, what), port, base in zip(kinds[:3 if cluster else 2], node, first, strict=False):
                    uses.append(PortUse(port, "127.0.0.1", f"{f'nats-{n}' if cluster else 'nats'}{what}", setting,
                                        port - base))
        return uses

    def check_ports(self, also: Sequence[PortUse] = ()) -> None:
        """Raises ports.PortsUnavailable naming the setting of every port that is taken (or given twice)."""
        ports.check([*self.listening_ports(), *also])

    def target(self, service: str) -> str:
        """What a caller dials for "catalog", "wallet", ...: every replica of it."""
        return grpc_target(self.s.host, self.s.ports(service))

    def replicas_of(self, service: str) -> list[str]:
        """The process names of every replica of a service ("catalog-service"): ["catalog-service", ...]."""
        return [replica_name(service, n) for n in range(1, self.s.replicas + 1)]

    def specs(self) -> list[ServiceSpec]:
        h = self.s.host
        catalog, wallet = self.target("catalog"), self.target("wallet")
        redemption, fulfillment = self.target("redemption"), self.target("fulfillment")
        events = self.target("events")
        signing = self._secret("webhook_signing_secret", lambda: secrets.token_urlsafe(32))
        nats = {"NATS_URL": self.nats_url}
        if self.nats_nodes:
            nats["NATS_STREAM_REPLICAS"] = str(len(self.nats_nodes))
        fulfillment_env = {**nats, "WEBHOOK_SIGNING_SECRET": signing,
                           "BONUS_ENGINE_URL": f"http://{h}:{self.s.partner_port}/bonus",
                           "CODE_ENCRYPTION_KEY": self._secret(
                               "code_encryption_key",
                               lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())}
        redemption_env = {**nats, "CATALOG_ADDR": catalog, "WALLET_ADDR": wallet,
                          "FULFILLMENT_ADDR": fulfillment,
                          "CODE_ENCRYPTION_KEYS": self._secret(
                              "redemption_code_encryption_keys",
                              lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())}
        # Webhook receivers of a local run are plain http:// on this machine (127.0.0.1): both allowed here only.
        events_env = {**nats, "WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
                      "WEBHOOK_SECRET_KEYS": self._secret(
                          "events_webhook_secret_keys",
                          lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())}
        grpc_services = [("catalog-service", "catalog_service", "catalog", nats),
                         ("wallet-service", "wallet_service", "wallet", nats),
                         ("fulfillment-service", "fulfillment_service", "fulfillment", fulfillment_env),
                         ("redemption-service", "redemption_service", "redemption", redemption_env),
                         # the tenants' event log, from the events stream (docs/events.md)
                         ("events-service", "events_service", "events", events_env)]
        specs = [
            # The demo's bonus engine and voucher provider (what a tenant's own systems would be).
            # Also the receiver of the demo tenant's webhook endpoint, whose secret the seeding writes (demo.py).
            ServiceSpec("demo-partner", "local_runner.demo_partner", None, self.s.partner_port, http=True,
                        extra_env={"PORT": str(self.s.partner_port), "HOST": h, "WEBHOOK_SIGNING_SECRET": signing,
                                   "EVENTS_WEBHOOK_SECRET_FILE": str(self.partner_webhook_file)}),
        ]
        for folder, module, key, env in grpc_services:
            ports, metrics = self.s.ports(key), self.s.metrics_ports_of(key)
            specs += [ServiceSpec(replica_name(folder, n), module, key, port, metrics_port=metrics_port,
                                  extra_env=env, replica=n)
                      for n, (port, metrics_port) in enumerate(zip(ports, metrics, strict=True), 1)]
        # The console's health page reads each service's /metrics (outbox backlog, consumer lag).
        metrics_urls = ",".join(f"{spec.name}=http://{h}:{spec.metrics_port}/metrics"
                                for spec in specs if spec.metrics_port)
        specs += [ServiceSpec(replica_name("gateway", n), "gateway", "gateway", port, http=True, replica=n,
                              extra_env={"HTTP_HOST": h, "HTTP_PORT": str(port),
                                         "CATALOG_ADDR": catalog, "WALLET_ADDR": wallet,
                                         "REDEMPTION_ADDR": redemption, "FULFILLMENT_ADDR": fulfillment,
                                         "EVENTS_ADDR": events, "CONSOLE_METRICS_URLS": metrics_urls,
                                         # the demo storefront (/store) sells for the demo tenant (local_runner.demo)
                                         **({"STORE_TENANT": "demo"} if self.s.seed_demo else {})})
                  for n, port in enumerate(self.s.ports("gateway"), 1)]
        return specs

    def spec(self, name: str) -> ServiceSpec:
        return next(s for s in self.specs() if s.name == name)

    def _secret(self, name: str, make: Callable[[], str]) -> str:
        """A secret made once and kept with the data it protects (the key that encrypts voucher codes at rest
        must outlive the process, or the stored codes become unreadable)."""
        path = self.run_dir / "secrets.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        if name not in data:
            data[name] = make()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data))
            path.chmod(0o600)
        return str(data[name])

    # ---- start --------------------------------------------------------------------------------------------

    def start(self, also_listening: Sequence[PortUse] = ()) -> None:
        """Starts every process and waits until each is healthy; first stops what an earlier run left behind and
        checks every port (the platform's and `also_listening`), so a taken one fails at once, naming its setting."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.pids.mkdir(exist_ok=True)
        self.stop_leftovers()
        self.check_ports(also_listening)
        self.start_postgres()
        self.start_nats()
        for spec in self.specs():
            self.start_service(spec)
        self.wait_healthy()

    def start_postgres(self) -> None:
        missing = [db for db in DATABASES if db not in self.s.database_urls]
        self.database_urls = dict(self.s.database_urls)
        if not missing:
            self.say("postgres: using the external databases given by *_DATABASE_URL")
            return
        t = time.monotonic()
        self.postgres = Postgres(self.run_dir / "postgres", self.s.postgres_port, self.logs / "postgres.log")
        self.postgres.start(timeout=self.s.start_timeout)
        self.write_pid("postgres", self.postgres.proc)
        for db in missing:
            self.database_urls[db] = self.postgres.ensure_database(db)
        self.say(f"postgres: ready on 127.0.0.1:{self.s.postgres_port} ({time.monotonic() - t:.1f}s)")

    def start_nats(self) -> None:
        if self.s.nats_url:
            self.nats_url = self.s.nats_url
            self.say(f"nats: using {self.nats_url}")
            return
        t = time.monotonic()
        if self.s.nats_replicas == 1:
            self.nats_nodes = [Nats(self.run_dir / "nats", self.s.nats_port, self.s.nats_monitor_port,
                                    self.logs / "nats.log")]
        else:
            self.nats_nodes = nats_cluster(self.run_dir, self.logs, self.s.nats_node_ports)
        for node in self.nats_nodes:
            node.start(timeout=self.s.start_timeout)
            self.write_pid(self._nats_name(node), node.proc)
        self.nats = self.nats_nodes[0]
        self.nats_url = ",".join(node.url for node in self.nats_nodes)
        if len(self.nats_nodes) == 1:
            self.say(f"nats: ready on {self.nats_url}, JetStream synced on every write ({time.monotonic() - t:.1f}s)")
            return
        # A cluster's JetStream serves once its nodes have elected a leader: wait for it, so the services' first
        # stream declarations do not all wait on their backoff.
        for node in self.nats_nodes:
            node.wait_jetstream_ready(self.s.start_timeout)
        self.say(f"nats: a cluster of {len(self.nats_nodes)} on {self.nats_url} (routes on "
                 f"{', '.join(str(n.cluster_port) for n in self.nats_nodes)}), every stream on all of them, "
                 f"JetStream synced on every write ({time.monotonic() - t:.1f}s)")

    def _nats_name(self, node: Nats) -> str:
        return node.server_name or "nats"

    def kill_nats_node(self, index: int, sig: int = signal.SIGKILL) -> Nats:
        """Stops one node of the NATS cluster (kill -9 by default); the others keep every stream."""
        node = self.nats_nodes[index]
        node.stop(sig=sig)
        (self.pids / f"{self._nats_name(node)}.pid").unlink(missing_ok=True)
        return node

    def restart_nats_node(self, index: int) -> None:
        """Starts a stopped node again, and waits until it has caught up with its peers."""
        node = self.nats_nodes[index]
        node.start(timeout=self.s.start_timeout)
        self.write_pid(self._nats_name(node), node.proc)
        node.wait_jetstream_ready(self.s.start_timeout)

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        env = dict(os.environ)
        for var in ("DATABASE_URL", "NATS_URL", "GRPC_PORT", "HTTP_PORT", "METRICS_PORT", *TLS_SETTINGS):
            env.pop(var, None)
        env.update({"GRPC_HOST": self.s.host, "GRPC_PORT": str(spec.port), "PYTHONUNBUFFERED": "1"})
        if spec.metrics_port:
            env["METRICS_PORT"] = str(spec.metrics_port)
        if spec.database:
            env["DATABASE_URL"] = self.database_urls[spec.database]
        if self.s.mtls and spec.module in TLS_MODULES:
            env.update(self.certificate(spec.service).env())
            if allowed_callers(spec.module):
                # The callers that need the service, and the runner's own health checks and demo seeding.
                env["GRPC_ALLOWED_CALLERS"] = f"{allowed_callers(spec.module)},{RUNNER_IDENTITY}"
        env.update(spec.extra_env)
        env.update(self.s.service_env)
        return env

    def certificate(self, identity: str) -> CertificateFiles:
        """The certificate (mutual TLS) of a service, or of the runner (RUNNER_IDENTITY)."""
        return issue(self.run_dir / "tls", identity, (self.s.host,))

    def channel(self, address: str, service: str) -> grpc.Channel:
        """A blocking channel to one of the platform's gRPC services, as the runner (with its certificate when
        mutual TLS is on)."""
        if not self.s.mtls:
            return grpc.insecure_channel(address)
        files = self.certificate(RUNNER_IDENTITY)
        credentials = grpc.ssl_channel_credentials(files.ca.read_bytes(), files.key.read_bytes(),
                                                   files.certificate.read_bytes())
        return grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", service)])

    def start_service(self, spec: ServiceSpec) -> None:
        with open(self.logs / f"{spec.name}.log", "ab") as log:   # the child keeps its own descriptor
            proc = subprocess.Popen([sys.executable, "-m", spec.module], env=self.service_env(spec), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[spec.name] = proc
        self.write_pid(spec.name, proc)

    def restart_service(self, name: str) -> None:
        self.start_service(self.spec(name))
        self.wait_healthy([name])

    def kill_service(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        stop_process(proc, sig=sig)

    def wait_healthy(self, names: list[str] | None = None) -> None:
        pending = [s for s in self.specs() if names is None or s.name in names]
        deadline = time.monotonic() + self.s.start_timeout
        started = time.monotonic()
        while pending:
            for spec in list(pending):
                proc = self.procs[spec.name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{spec.name} exited with code {proc.returncode} while starting:\n"
                                       + self.log_tail(spec.name))
                if self.is_healthy(spec):
                    pending.remove(spec)
                    self.say(f"{spec.name}: healthy on {spec.address(self.s.host)} "
                             f"({time.monotonic() - started:.1f}s)")
            if pending and time.monotonic() > deadline:
                names_left = ", ".join(s.name for s in pending)
                raise RuntimeError(f"not healthy after {self.s.start_timeout:.0f}s: {names_left}\n"
                                   + "\n".join(self.log_tail(s.name) for s in pending))
            time.sleep(0.2)

    def is_healthy(self, spec: ServiceSpec) -> bool:
        if spec.http:
            try:
                return httpx.get(f"http://{self.s.host}:{spec.port}/healthz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False
        try:
            with self.channel(spec.address(self.s.host), spec.service) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                return reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return f"--- {name}: no log"
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {path}:\n" + "\n".join(tail)

    def exited(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    # ---- stop ---------------------------------------------------------------------------------------------

    def stop(self) -> None:
        # Reverse order of dependencies: the gateway first, the servers last.
        for name in reversed(list(self.procs)):
            stop_process(self.procs[name], timeout=20)
            (self.pids / f"{name}.pid").unlink(missing_ok=True)
        self.procs.clear()
        for node in self.nats_nodes:
            node.stop()
            (self.pids / f"{self._nats_name(node)}.pid").unlink(missing_ok=True)
        if self.postgres is not None:
            self.postgres.stop()
            (self.pids / "postgres.pid").unlink(missing_ok=True)

    def write_pid(self, name: str, proc: subprocess.Popen | None) -> None:
        if proc is not None:
            (self.pids / f"{name}.pid").write_text(f"{proc.pid}\n")

    def forget_pid(self, name: str) -> None:
        (self.pids / f"{name}.pid").unlink(missing_ok=True)

    def stop_leftovers(self) -> list[str]:
        """Stops processes a previous run left behind (a kill -9 of the runner, a closed terminal), the services
        first and the servers last; says each and returns them ("gateway (pid 123)"). A pid file removed meanwhile
        (a runner stopping) is skipped; one whose process is gone, or whose pid another program has since, is only
        removed."""
        stopped: list[str] = []
        for pidfile, proc in self._pid_files():
            if proc is not None:
                self.say(f"stopping a leftover {pidfile.stem} (pid {proc.pid}) from an earlier run")
                end_process(proc, signal.SIGINT if pidfile.stem == "postgres" else signal.SIGTERM)
                stopped.append(f"{pidfile.stem} (pid {proc.pid})")
            pidfile.unlink(missing_ok=True)
        return stopped

    def running(self) -> list[str]:
        """The processes of this RUN_DIR's pid files that are alive: ["gateway (pid 123)", ...]."""
        return [f"{pidfile.stem} (pid {proc.pid})" for pidfile, proc in self._pid_files() if proc is not None]

    def _pid_files(self) -> list[tuple[Path, psutil.Process | None]]:
        """Each pid file with its process while it is still ours (else None), the services first and the servers
        last: the order a platform stops in."""
        if not self.pids.exists():
            return []
        # By service, not by replica: an earlier run may have had more replicas than this one. Only our own
        # processes: a pid may have been reused since (`our_process`).
        markers = {spec.service: f"-m {spec.module}" for spec in self.specs()}
        return [(pidfile, our_process(pidfile, markers.get(replica_name(pidfile.stem, 1), str(self.run_dir))))
                for pidfile in sorted(self.pids.glob("*.pid"), key=_servers_last)]

    # ---- the runner's own pid file: one `make run` per RUN_DIR, and `make reset` stops it -----------------------

    @property
    def runner_pidfile(self) -> Path:
        return self.run_dir / "runner.pid"

    def running_runner(self) -> psutil.Process | None:
        """The `python -m local_runner run` running on this RUN_DIR, if one is (not this process)."""
        proc = our_process(self.runner_pidfile, RUNNER_MARKER)
        return proc if proc is not None and proc.pid != os.getpid() else None

    def claim_runner(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.runner_pidfile.write_text(f"{os.getpid()}\n")

    def release_runner(self) -> None:
        try:
            if self.runner_pidfile.read_text().strip() == str(os.getpid()):
                self.runner_pidfile.unlink()
        except (OSError, ValueError):
            pass


def _servers_last(pidfile: Path) -> tuple[bool, bool, str]:
    return pidfile.stem.startswith(("nats", "postgres")), pidfile.stem == "postgres", pidfile.stem


def our_process(pidfile: Path, marker: str) -> psutil.Process | None:
    """The live process a pid file names while it is still the one that wrote it: started before the file was
    written (a pid may have been reused since) and with `marker` in its command line. None for a missing,
    unreadable or stale pid file."""
    try:
        written = pidfile.stat().st_mtime
        proc = psutil.Process(int(pidfile.read_text().strip()))
        # Two seconds of slack: the kernel's start time is rounded to its boot time's second.
        if proc.status() == psutil.STATUS_ZOMBIE or proc.create_time() > written + 2:
            return None
        return proc if marker in " ".join(proc.cmdline()) else None
    except (OSError, ValueError, psutil.Error):
        return None


def end_process(proc: psutil.Process, sig: int = signal.SIGTERM, timeout: float = 20.0) -> bool:
    """Signals a process that is not our child and waits for it to exit (a zombie its parent has not reaped yet
    has), killing it after `timeout`; False when it had to be killed."""
    try:
        proc.send_signal(sig)
    except psutil.NoSuchProcess:
        return True
    if _gone_within(proc, timeout):
        return True
    with contextlib.suppress(psutil.Error):
        proc.kill()
    _gone_within(proc, 10.0)
    return False


def _gone_within(proc: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
