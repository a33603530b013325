"""python -m gateway.admin end to end (subprocesses on a fresh database), and python -m gateway serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
from local_runner.infra import free_port

from gateway import admin

from ..conftest import _fresh_engine_rows


def run_cli(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-m", "gateway.admin", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def one_json_object(out: str) -> dict:
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_the_seeding_commands_as_subprocesses(new_database):
    """The commands the runner seeds the demo with, as it runs them (each process starts in about 2 s here, so
    the independent ones run side by side)."""
    url = new_database("gateway_cli")
    code, out, err = finish(run_cli(url, "create-tenant", "--id", "demo", "--name", "Demo Store"))
    assert code == 0, err
    assert one_json_object(out) == {"tenant_id": "demo", "name": "Demo Store"}

    procs = [run_cli(url, "create-tenant", "--id", "demo", "--name", "Demo Store"),
             run_cli(url, "create-client", "--tenant", "demo", "--environment", "sandbox", "--name", "backend",
                     "--admin"),
             run_cli(url, "create-api-key", "--tenant", "demo", "--environment", "live", "--name", "ops")]
    (dup_code, dup_out, dup_err), (c_code, c_out, c_err), (k_code, k_out, k_err) = [finish(p) for p in procs]
    assert dup_code == 1 and "already exists" in dup_err and dup_out == ""
    assert c_code == 0 and k_code == 0, (c_err, k_err)
    client, key = one_json_object(c_out), one_json_object(k_out)
    assert set(client) >= {"client_id", "client_secret", "tenant_id", "environment", "admin"}
    assert (client["tenant_id"], client["environment"], client["admin"]) == ("demo", "sandbox", True)
    assert key["api_key"].startswith(key["key_id"] + ".") and key["admin"] is False
    assert key["environment"] == "live"
    stored = _fresh_engine_rows(url, "SELECT secret_hash FROM api_clients UNION ALL SELECT key_hash FROM api_keys")
    assert client["client_secret"] not in stored and key["api_key"] not in stored


def test_the_other_commands(new_database, capsys, monkeypatch):
    """Every other command, through the same entry point in this process."""
    url = new_database("gateway_cli")
    monkeypatch.setenv("DATABASE_URL", url)

    def ok(*args: str) -> dict:
        assert admin.main(list(args)) == 0
        return one_json_object(capsys.readouterr().out)

    def refused(*args: str) -> str:
        assert admin.main(list(args)) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        return captured.err

    ok("create-tenant", "--id", "demo")
    client = ok("create-client", "--tenant", "demo", "--environment", "sandbox", "--name", "backend")
    key = ok("create-api-key", "--tenant", "demo", "--environment", "sandbox", "--name", "ops", "--admin")
    rotated = ok("rotate-client-secret", "--client-id", client["client_id"])
    assert rotated["client_id"] == client["client_id"] and rotated["client_secret"] != client["client_secret"]
    assert ok("revoke-api-key", "--key-id", key["key_id"])["revoked"] is True
    assert ok("revoke-client", "--client-id", client["client_id"])["revoked"] is True
    assert "no active client" in refused("rotate-client-secret", "--client-id", client["client_id"])
    assert "no client" in refused("revoke-client", "--client-id", "cl_missing")
    assert "no tenant" in refused("create-client", "--tenant", "nobody", "--environment", "live", "--name", "x")

    first_kid = ok("rotate-signing-key")["kid"]
    second_kid = ok("rotate-signing-key")["kid"]
    assert "active" in refused("retire-signing-key", "--kid", second_kid)
    ok("retire-signing-key", "--kid", first_kid)
    keys = {k["kid"]: k["status"] for k in ok("list-signing-keys")["signing_keys"]}
    assert keys[first_kid] == "retired" and keys[second_kid] == "active"

    listed = ok("list-clients", "--tenant", "demo")
    assert [c["client_id"] for c in listed["clients"]] == [client["client_id"]]
    assert listed["clients"][0]["revoked_at"] is not None and listed["api_keys"][0]["revoked_at"] is not None
    assert rotated["client_secret"] not in json.dumps(listed) and key["api_key"] not in json.dumps(listed)
    # The runner's seeding reads tenant_id from this list to know whether the demo tenant exists.
    assert [t["tenant_id"] for t in ok("list-tenants")["tenants"]] == ["demo"]
    stored = _fresh_engine_rows(url, "SELECT secret FROM signing_keys WHERE status = 'retired'")
    assert stored.strip() == ""  # a retired key's secret is erased


def test_python_m_gateway_serves_and_stops_on_sigterm(new_database):
    url = new_database("gateway_run")
    port = free_port()
    dead = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "DATABASE_URL": url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port),
           "CATALOG_ADDR": dead, "WALLET_ADDR": dead, "REDEMPTION_ADDR": dead, "FULFILLMENT_ADDR": dead}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.1)
        assert health.status_code == 200 and health.headers["x-request-id"]
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["checks"]["database"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    # uvicorn finishes its graceful shutdown, then re-raises the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line.get("msg") == "gateway ready" for line in lines)
    assert not any("/healthz" in str(line.get("msg")) for line in lines)  # the access log is off by default
