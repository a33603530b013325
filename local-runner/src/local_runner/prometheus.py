"""A local Prometheus for `make run`: every process of the platform scraped (static targets, each with the
`service` label the alert rules group by) and deploy/monitoring/rules.yml loaded, so the alerts and the
dashboard's queries can be tried on a laptop. Started only when a `prometheus` binary is there: on the PATH, or
beside this Python (`make promtool` unpacks Debian's into .venv/bin with promtool)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from local_runner.infra import stop_process

RULES = Path(__file__).resolve().parents[3] / "deploy" / "monitoring" / "rules.yml"
SCRAPE_INTERVAL = "5s"   # a laptop's run is short: see a change within seconds
READY_TIMEOUT_SECONDS = 30.0


def prometheus_binary() -> str | None:
    """The `prometheus` binary: beside this interpreter (the venv's bin) first, then on the PATH."""
    beside = Path(sys.executable).parent / "prometheus"
    if beside.is_file():
        return str(beside)
    return shutil.which("prometheus")


def scrape_config(targets: dict[str, str], rules: Path | None = RULES) -> dict[str, object]:
    """Prometheus' configuration: one static target per process (name -> its /metrics URL), labelled with the
    process's service ("catalog-service-2" is a replica of catalog-service) and instance."""
    configs = []
    for name, url in sorted(targets.items()):
        parts = urlsplit(url)
        service = name.rsplit("-", 1)[0] if name.rsplit("-", 1)[-1].isdigit() else name
        configs.append({"targets": [parts.netloc], "labels": {"service": service, "process": name}})
    config: dict[str, object] = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": [{"job_name": "rewards", "metrics_path": "/metrics", "static_configs": configs}],
    }
    if rules is not None and rules.is_file():
        config["rule_files"] = [str(rules)]
    return config


class LocalPrometheus:
    def __init__(self, binary: str, data_dir: Path, log_path: Path, host: str, port: int) -> None:
        self.binary, self.data_dir, self.log_path, self.host, self.port = binary, data_dir, log_path, host, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, targets: dict[str, str]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        config.write_text(json.dumps(scrape_config(targets), indent=2))   # JSON is YAML
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, f"--config.file={config}", f"--storage.tsdb.path={self.data_dir / 'data'}",
                 f"--web.listen-address={self.host}:{self.port}", "--storage.tsdb.retention.time=1d"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready on {self.url} after {READY_TIMEOUT_SECONDS:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None
