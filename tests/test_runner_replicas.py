"""The runner's REPLICAS: each replica's ports, the targets every caller is given (both replicas of what it calls),
and the leftovers of a run with more replicas stopped by the next one. The processes themselves are run by
tests-e2e/reliability/test_replicas.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from local_runner.platform import Platform, grpc_target, replica_name
from local_runner.settings import REPLICA_PORT_STEP, RunnerSettings


def test_each_replica_listens_on_its_own_ports(tmp_path: Path) -> None:
    s = RunnerSettings(run_dir=tmp_path, replicas=3)
    assert s.ports("catalog") == [s.catalog_port, s.catalog_port + REPLICA_PORT_STEP,
                                  s.catalog_port + 2 * REPLICA_PORT_STEP]
    assert s.ports("gateway")[1] == s.gateway_port + REPLICA_PORT_STEP
    metrics = s.metrics_ports_of("wallet")
    assert len(metrics) == len(set(metrics)) == 3
    assert RunnerSettings(run_dir=tmp_path).ports("catalog") == [s.catalog_port]
    assert RunnerSettings(run_dir=tmp_path, replicas=2, replica_ports={"catalog": [40001]}).ports("catalog")[1] == 40001


@pytest.mark.parametrize("replicas", [0, 10])
def test_replicas_out_of_bounds_stop_the_runner_naming_the_setting(tmp_path: Path, replicas: int) -> None:
    with pytest.raises(SystemExit, match="REPLICAS"):
        RunnerSettings(run_dir=tmp_path, replicas=replicas)


def test_targets_list_every_replica_for_grpc_to_balance_over() -> None:
    assert grpc_target("127.0.0.1", [50051]) == "127.0.0.1:50051"
    assert grpc_target("127.0.0.1", [50051, 50151]) == "ipv4:127.0.0.1:50051,127.0.0.1:50151"
    assert grpc_target("::1", [1, 2]) == "ipv6:[::1]:1,[::1]:2"
    with pytest.raises(SystemExit, match="RUN_HOST"):
        grpc_target("localhost", [1, 2])


def test_every_caller_names_both_replicas_of_what_it_calls(tmp_path: Path) -> None:
    platform = Platform(RunnerSettings(run_dir=tmp_path, replicas=2), say=lambda _: None)
    specs = {spec.name: spec for spec in platform.specs()}
    assert set(specs) == {"demo-partner", *(f"{svc}{suffix}" for suffix in ("", "-2") for svc in (
        "gateway", "catalog-service", "wallet-service", "redemption-service", "fulfillment-service",
        "events-service"))}
    for caller, called in (("gateway", ("catalog", "wallet", "redemption", "fulfillment")),
                           ("redemption-service", ("catalog", "wallet", "fulfillment"))):
        for name in (caller, f"{caller}-2"):
            for service in called:
                target = specs[name].extra_env[f"{service.upper()}_ADDR"]
                ports = platform.s.ports(service)
                assert target == f"ipv4:127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}", (name, service)
    assert specs["catalog-service-2"].port == platform.s.ports("catalog")[1]
    assert specs["catalog-service-2"].service == "catalog-service" and specs["catalog-service-2"].replica == 2
    assert set(platform.metrics_urls) == set(specs) - {"demo-partner"}
    assert platform.replicas_of("wallet-service") == ["wallet-service", "wallet-service-2"]
    assert replica_name("wallet-service-2", 1) == "wallet-service"


def test_a_leftover_replica_of_an_earlier_run_with_more_replicas_is_stopped(tmp_path: Path) -> None:
    # A process whose command line reads like a third catalog replica's (`python -m catalog_service`).
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m", "catalog_service"])
    try:
        pids = tmp_path / "pids"
        pids.mkdir()
        (pids / "catalog-service-3.pid").write_text(f"{leftover.pid}\n")
        Platform(RunnerSettings(run_dir=tmp_path), say=lambda _: None).stop_leftovers()
        assert leftover.wait(10) is not None
        assert not (pids / "catalog-service-3.pid").exists()
    finally:
        leftover.kill()
        leftover.wait()
