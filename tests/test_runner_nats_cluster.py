"""The runner's NATS_REPLICAS: three nats-server processes clustered over routes on loopback, each on its own
ports, and the services given every node's URL and three replicas per stream. Killing nodes under traffic is
tests-e2e/reliability/test_nats_cluster.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from local_runner.infra import free_port, nats_cluster, nats_server_binary
from local_runner.platform import DATABASES, Platform
from local_runner.settings import REPLICA_PORT_STEP, RunnerSettings


def test_each_node_listens_on_its_own_ports(tmp_path: Path) -> None:
    s = RunnerSettings(run_dir=tmp_path, nats_replicas=3, nats_port=14222, nats_monitor_port=18222,
                       nats_cluster_port=16222)
    assert s.nats_node_ports == [(14222 + REPLICA_PORT_STEP * n, 18222 + REPLICA_PORT_STEP * n,
                                  16222 + REPLICA_PORT_STEP * n) for n in range(3)]
    assert RunnerSettings(run_dir=tmp_path, nats_port=14222).nats_node_ports == [(14222, s.nats_monitor_port, 16222)]
    given = RunnerSettings(run_dir=tmp_path, nats_replicas=3, nats_node_ports=[(1, 2, 3), (4, 5, 6), (7, 8, 9)])
    assert (given.nats_port, given.nats_monitor_port) == (1, 2)


@pytest.mark.parametrize("replicas", [0, 2, 5])
def test_a_cluster_other_than_one_or_three_stops_the_runner_naming_the_setting(tmp_path: Path, replicas: int) -> None:
    with pytest.raises(SystemExit, match="NATS_REPLICAS"):
        RunnerSettings(run_dir=tmp_path, nats_replicas=replicas)


def test_nodes_whose_ports_overlap_stop_the_runner_naming_the_settings(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="NATS_CLUSTER_PORT"):
        RunnerSettings(run_dir=tmp_path, nats_replicas=3, nats_port=28222, nats_monitor_port=28822,
                       nats_cluster_port=28622)


def test_each_node_names_itself_and_routes_to_the_other_two(tmp_path: Path) -> None:
    nodes = nats_cluster(tmp_path, tmp_path / "logs", [(1001, 2001, 3001), (1002, 2002, 3002), (1003, 2003, 3003)])
    assert [n.server_name for n in nodes] == ["nats-1", "nats-2", "nats-3"]
    assert len({n.store_dir for n in nodes}) == 3
    conf = nodes[1].config()
    assert "server_name: nats-2" in conf and "listen: 127.0.0.1:3002" in conf
    assert "nats-route://127.0.0.1:3001, nats-route://127.0.0.1:3003" in conf
    assert "sync_interval: always" in conf
    path = tmp_path / "node.conf"
    path.write_text(conf)
    checked = subprocess.run([nats_server_binary(), "-c", str(path), "-t"], check=False, capture_output=True,
                             text=True, timeout=20)
    assert checked.returncode == 0, checked.stderr + checked.stdout


def test_ports_taken_one_after_another_are_never_the_same_port() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)


def test_the_platform_starts_the_cluster_and_gives_the_services_every_node(tmp_path: Path) -> None:
    s = RunnerSettings(run_dir=tmp_path, nats_replicas=3, nats_url=None,
                       nats_node_ports=[(free_port(), free_port(), free_port()) for _ in range(3)])
    platform = Platform(s, say=lambda _: None)
    platform.database_urls = {db: f"postgresql://postgres@127.0.0.1:1/{db}" for db in DATABASES}
    platform.logs.mkdir(parents=True)
    platform.pids.mkdir(parents=True)
    try:
        platform.start_nats()
        assert all(node.jetstream_ready() for node in platform.nats_nodes)
        routes = httpx.get(f"http://127.0.0.1:{platform.nats_nodes[0].monitor_port}/routez", timeout=5).json()
        assert routes["num_routes"] >= 2, routes
        assert sorted(p.name for p in platform.pids.iterdir()) == ["nats-1.pid", "nats-2.pid", "nats-3.pid"]
        for service in ("redemption-service", "fulfillment-service", "catalog-service", "wallet-service",
                        "events-service"):
            env = platform.service_env(platform.spec(service))
            assert env["NATS_URL"].split(",") == [f"nats://127.0.0.1:{port}" for port, _, _ in s.nats_node_ports]
            assert env["NATS_STREAM_REPLICAS"] == "3"
        assert "NATS_URL" not in platform.service_env(platform.spec("gateway"))   # the gateway calls, never publishes
    finally:
        platform.stop()
    assert not list(platform.pids.iterdir())
