"""The real process: it serves health while NATS is unreachable, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable

import grpc
from cryptography.fernet import Fernet
from grpc_health.v1 import health_pb2, health_pb2_grpc
from local_runner.infra import free_port


async def test_health_serves_without_nats_and_sigterm_stops_the_process(new_database: Callable[[str], str]):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": new_database("fulfillment_proc"), "GRPC_HOST": "127.0.0.1",
           "GRPC_PORT": str(port), "NATS_URL": f"nats://127.0.0.1:{free_port()}",  # nothing listens there
           "CODE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "WEBHOOK_SIGNING_SECRET": "process-test-signing-secret", "SHUTDOWN_GRACE_SECONDS": "1"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "fulfillment_service", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            status = None
            for _ in range(150):
                try:
                    status = (await health.Check(health_pb2.HealthCheckRequest(), timeout=1)).status
                    break
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.1)
            assert status == health_pb2.HealthCheckResponse.SERVING
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
        assert proc.returncode == 0, output.decode(errors="replace")[-2000:]
        assert b"nats error" in output, "the service keeps trying to reach NATS"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
