"""Every port a run listens on is checked before anything starts: a taken one (or one given twice) is named by its
setting with what to do, and `python -m local_runner run` exits non-zero at once, having started nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_runner.infra import free_port
from local_runner.platform import DATABASES, Platform
from local_runner.ports import PortsUnavailable
from local_runner.settings import REPLICA_PORT_STEP, RunnerSettings

PORT_SETTINGS = ("GATEWAY_PORT", "CATALOG_PORT", "WALLET_PORT", "REDEMPTION_PORT", "FULFILLMENT_PORT", "EVENTS_PORT",
                 "DEMO_PARTNER_PORT", "POSTGRES_PORT", "NATS_PORT", "NATS_MONITOR_PORT")


def _free_settings(run_dir: Path, **given: object) -> RunnerSettings:
    ports = dict(gateway_port=free_port(), catalog_port=free_port(), wallet_port=free_port(),
                 redemption_port=free_port(), fulfillment_port=free_port(), events_port=free_port(),
                 partner_port=free_port(), postgres_port=free_port(), nats_port=free_port(),
                 nats_monitor_port=free_port(), nats_url=None, database_urls={})
    return RunnerSettings(run_dir=run_dir, **{**ports, **given})  # type: ignore[arg-type]


@pytest.fixture
def held() -> Iterator[socket.socket]:
    """A port another process would hold: a listening socket of this one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s


def test_a_taken_port_is_named_by_its_setting_with_a_free_one_to_set(tmp_path: Path, held: socket.socket) -> None:
    port = held.getsockname()[1]
    platform = Platform(_free_settings(tmp_path, gateway_port=port), say=lambda _: None)
    with pytest.raises(PortsUnavailable) as raised:
        platform.check_ports()
    message = str(raised.value)
    assert message.startswith(f"GATEWAY_PORT {port} (gateway) is taken by another process (pid {os.getpid()}: "), message
    assert "set GATEWAY_PORT=<a free port>, e.g. GATEWAY_PORT=" in message


def test_every_taken_port_is_named_at_once(tmp_path: Path, held: socket.socket) -> None:
    port = held.getsockname()[1]
    platform = Platform(_free_settings(tmp_path, nats_monitor_port=port, partner_port=port), say=lambda _: None)
    with pytest.raises(PortsUnavailable, match=r"DEMO_PARTNER_PORT .* and NATS_MONITOR_PORT .*: the same port"):
        platform.check_ports()
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        platform = Platform(_free_settings(tmp_path, nats_monitor_port=port, postgres_port=other.getsockname()[1]),
                            say=lambda _: None)
        with pytest.raises(PortsUnavailable) as raised:
            platform.check_ports()
    lines = str(raised.value).splitlines()
    assert lines[0] == "2 ports cannot be listened on:", lines
    assert {line.split()[0] for line in lines[1:]} == {"POSTGRES_PORT", "NATS_MONITOR_PORT"}, lines


def test_a_second_replicas_port_names_the_first_replicas_setting_and_the_step(tmp_path: Path) -> None:
    with socket.socket() as s:
        for _ in range(20):   # a free port whose + step is free to hold too
            base = free_port()
            try:
                s.bind(("127.0.0.1", base + REPLICA_PORT_STEP))
                break
            except OSError:
                continue
        s.listen()
        platform = Platform(_free_settings(tmp_path, wallet_port=base, replicas=2), say=lambda _: None)
        with pytest.raises(PortsUnavailable) as raised:
            platform.check_ports()
    assert str(raised.value).startswith(
        f"WALLET_PORT + {REPLICA_PORT_STEP} = {base + REPLICA_PORT_STEP} (wallet-service-2) is taken"), raised.value
    assert f"set WALLET_PORT to a port whose + {REPLICA_PORT_STEP} is free too" in str(raised.value)


def test_the_check_covers_every_port_a_process_listens_on_and_only_those(tmp_path: Path) -> None:
    platform = Platform(_free_settings(tmp_path, replicas=2, nats_replicas=3, nats_node_ports=[
        (free_port(), free_port(), free_port()) for _ in range(3)]), say=lambda _: None)
    checked = {use.port for use in platform.listening_ports()}
    for spec in platform.specs():
        assert spec.port in checked and (spec.metrics_port is None or spec.metrics_port in checked), spec.name
    assert {port for node in platform.s.nats_node_ports for port in node} <= checked
    assert platform.s.postgres_port in checked
    platform.check_ports()   # all free

    external = Platform(_free_settings(tmp_path, nats_url="nats://127.0.0.1:4222",
                                       database_urls={db: "postgresql://x/y" for db in DATABASES}), say=lambda _: None)
    settings = {use.setting for use in external.listening_ports()}
    assert not {"POSTGRES_PORT", "NATS_PORT", "NATS_MONITOR_PORT"} & settings


def test_the_runner_exits_at_once_naming_the_setting_and_starts_nothing(tmp_path: Path, held: socket.socket) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "RUN_DIR": str(run_dir), "PROMETHEUS_PORT": "0",
           **{name: str(free_port()) for name in PORT_SETTINGS}, "POSTGRES_PORT": str(held.getsockname()[1])}
    t = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "local_runner", "run"], env=env, capture_output=True, text=True,
                          check=False, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"[run] failed: POSTGRES_PORT {held.getsockname()[1]} (postgres) is taken by another process" in done.stdout
    assert "set POSTGRES_PORT=" in done.stdout
    assert time.monotonic() - t < 20
    assert not (run_dir / "postgres").exists() and not list((run_dir / "pids").iterdir())
    assert not (run_dir / "runner.pid").exists()
