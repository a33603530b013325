"""`make run` as a user meets it: the runner starts everything, every example request it prints works (and the
operator CLI it prints), the demo partner receives the demo tenant's webhooks, a service killed is restarted and
said, Ctrl-C stops every process it started (no orphans); a second start keeps the data (the one webhook endpoint
to the demo partner too), and `make reset` while it is up stops it all and says what it stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from local_runner.infra import free_port

READY = "all services healthy"


def _start_runner(run_dir: Path, ports: dict[str, int]) -> subprocess.Popen:
    env = dict(os.environ, RUN_DIR=str(run_dir), **{k: str(v) for k, v in ports.items()})
    return subprocess.Popen([sys.executable, "-m", "local_runner", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)


def _read_until_ready(proc: subprocess.Popen, timeout: float = 180.0, marker: str = READY) -> str:
    out = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        if marker in line:
            return "".join(out)
    proc.kill()
    raise AssertionError(f"the runner did not say {marker!r}:\n" + "".join(out))


def _example_commands(output: str) -> list[str]:
    """The printed curl commands, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", output)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("curl ")]


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not in {timeout} s: {what}"
        time.sleep(0.25)


def _our_pids(run_dir: Path) -> list[int]:
    return [int(p.read_text()) for p in (run_dir / "pids").glob("*.pid")]


def test_run_prints_working_examples_and_stops_cleanly(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    ports = {name: free_port() for name in ("GATEWAY_PORT", "CATALOG_PORT", "WALLET_PORT", "REDEMPTION_PORT",
                                            "FULFILLMENT_PORT", "EVENTS_PORT", "DEMO_PARTNER_PORT", "POSTGRES_PORT", "NATS_PORT", "NATS_MONITOR_PORT",
                                            "PROMETHEUS_PORT")}
    runner = _start_runner(run_dir, ports)
    try:
        output = _read_until_ready(runner)
        demo = json.loads((run_dir / "demo.json").read_text())
        assert demo["gateway_url"] == f"http://127.0.0.1:{ports['GATEWAY_PORT']}"
        assert {"client_id", "client_secret", "api_key", "player_token", "items"} <= demo.keys()

        token = re.search(r"export TOKEN=(\S+)", output)
        assert token, output
        commands = _example_commands(output)
        assert len(commands) >= 4, output
        for command in commands:
            # -f: fail on an HTTP error status, so a broken example fails the test.
            r = subprocess.run(["bash", "-c", command.replace("curl -s", "curl -sf", 1)],
                               env=dict(os.environ, TOKEN=token.group(1)), capture_output=True, text=True,
                               check=False, timeout=60)
            assert r.returncode == 0, f"{command}\n{r.stdout}\n{r.stderr}"
            json.loads(r.stdout)

        # The demo partner's receiver gets the demo tenant's events (the voucher redeemed above), verified.
        received = demo["partner_webhook"]["received"]
        assert f"curl -s {received}" in commands, output
        _until(lambda: "redemption.completed" in {e["type"] for e in httpx.get(received, timeout=10).json()["events"]},
               "the demo partner received the redemption's events")

        # The demo storefront and the operator console, printed with their URLs, answer their sign-in pages.
        pages = re.findall(r"^(?:Demo storefront|Operator console) .*: (http://\S+/(?:store|console))$", output,
                           re.MULTILINE)
        assert len(pages) == 2, output
        for url in pages:
            r = subprocess.run(["curl", "-sf", url], check=False, capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and '<form method="post"' in r.stdout and 'name="csrf"' in r.stdout, url

        # Every process's Prometheus metrics, printed with their URLs.
        metrics = dict(re.findall(r"^\s+(\S+)\s+(http://\S+/metrics)$", output, re.MULTILINE))
        assert set(metrics) == {"gateway", "catalog-service", "wallet-service", "redemption-service",
                                "fulfillment-service", "events-service"}, output
        for url in metrics.values():
            r = subprocess.run(["curl", "-sf", url], check=False, capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and "_requests_total" in r.stdout, url

        # The local Prometheus (make promtool unpacked the binary), with its URL.
        found = re.search(r"^Prometheus \(every process scraped, the alert rules loaded\): (http://\S+)$", output,
                          re.MULTILINE)
        assert found and found.group(1) == f"http://127.0.0.1:{ports['PROMETHEUS_PORT']}", output
        r = subprocess.run(["curl", "-sf", f"{found.group(1)}/-/ready"], check=False, capture_output=True, timeout=30)
        assert r.returncode == 0, r

        # The banner names RUN_DIR's real paths, and the operator CLI works as printed.
        assert f"all of this is in {run_dir / 'demo.json'}" in output and ".run/" not in output, output
        cli = re.search(r"^  (DATABASE_URL=\S+ \S+ -m gateway\.admin) list-tenants$", output, re.MULTILINE)
        assert cli and cli.group(1) == demo["operator_cli"], output
        r = subprocess.run(["bash", "-c", f"{cli.group(1)} list-tenants"], capture_output=True, text=True,
                           check=False, timeout=60)
        assert r.returncode == 0 and "demo" in [t["tenant_id"] for t in json.loads(r.stdout)["tenants"]], r

        # A service that dies is restarted, said with the tail of its log; the platform runs on meanwhile.
        catalog = int((run_dir / "pids" / "catalog-service.pid").read_text())
        os.kill(catalog, signal.SIGKILL)
        said = _read_until_ready(runner, 60, marker="catalog-service is healthy again")
        assert "[run] catalog-service exited with code -9 after " in said and "restarting it in 1s" in said, said
        assert f"--- last lines of {run_dir / 'logs' / 'catalog-service.log'}:" in said, said
        assert int((run_dir / "pids" / "catalog-service.pid").read_text()) != catalog
        items = next(c for c in commands if "/v1/items" in c)
        r = subprocess.run(["bash", "-c", items.replace("curl -s", "curl -sf", 1)], capture_output=True, text=True,
                           env=dict(os.environ, TOKEN=token.group(1)), check=False, timeout=60)
        assert r.returncode == 0 and json.loads(r.stdout), r

        pids = _our_pids(run_dir)
        assert len(pids) == 10  # postgres, nats, the six services, the demo partner and the local Prometheus
    finally:
        runner.send_signal(signal.SIGINT)   # Ctrl-C
        runner.wait(90)
    assert runner.returncode == 0
    time.sleep(0.5)
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"processes left running after SIGTERM: {alive}"

    # Data is kept between runs: the second start reuses the demo tenant and its credentials.
    runner = _start_runner(run_dir, ports)
    try:
        _read_until_ready(runner)
        again = json.loads((run_dir / "demo.json").read_text())
        assert again["client_id"] == demo["client_id"]
        # ... and the one webhook endpoint to the demo partner, with its secret.
        assert again["partner_webhook"] == demo["partner_webhook"]
        endpoints = httpx.get(f"{demo['gateway_url']}/v1/admin/webhooks", headers={"x-api-key": demo["api_key"]},
                              timeout=10).json()["endpoints"]
        ours = [e["id"] for e in endpoints if e["url"] == demo["partner_webhook"]["url"]]
        assert ours == [demo["partner_webhook"]["endpoint_id"]], endpoints
        pids = _our_pids(run_dir)
        # `make reset` while it is up: it stops the runner (which stops what it started), says what, deletes RUN_DIR.
        reset = subprocess.run([sys.executable, "-m", "local_runner", "reset"], env=dict(os.environ, RUN_DIR=str(run_dir)),
                               capture_output=True, text=True, check=False, timeout=240, stdin=subprocess.DEVNULL)
        assert reset.returncode == 0, reset.stdout + reset.stderr
        said = re.search(r"^\[run\] stopped make run \(pid (\d+)\), (.*)$", reset.stdout, re.MULTILINE)
        assert said and int(said.group(1)) == runner.pid, reset.stdout
        assert sorted(int(pid) for pid in re.findall(r"\(pid (\d+)\)", said.group(2))) == sorted(pids), reset.stdout
        assert not run_dir.exists(), reset.stdout
        assert runner.wait(30) == 0
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            runner.wait(90)
    assert runner.returncode == 0
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"processes left running after make reset: {alive}"
