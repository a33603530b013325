"""python -m rewards_bench.channel_policy [--calls 500] [--rounds 30] [--concurrency 16]

What round_robin costs a call against grpc's default pick_first, on one replica, and what mutual TLS adds: one
process holds kit servers (service_kit.grpc_server.server_options and its interceptor; one in plain text, one with
mutual TLS and its caller check, certificates from the runner's local CA) and a kit channel
(service_kit.grpc_client.open_channel) of each kind, on uvloop as the services run. Each round makes `calls` calls of
a small method on each channel, one at a time and then `concurrency` at once, the kinds in turn (their order
reversed every other round: many short rounds, so that the load of a shared machine falls on every kind alike); it
prints the CPU of the process (both ends of the call) and the wall time per call, the median of the rounds. A
micro-benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import grpc
import uvloop
from local_runner.certificates import issue
from service_kit.grpc_client import open_channel
from service_kit.grpc_server import ServingInterceptor, server_options
from service_kit.mtls import ServerSecurity, TlsFiles

KINDS = ("pick_first", "round_robin", "round_robin+mTLS")
METHOD = "/bench.Echo/Echo"
SERVICE = "bench-service"


async def _calls(call: grpc.aio.UnaryUnaryMultiCallable, calls: int, concurrency: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call."""
    cpu, wall = time.process_time(), time.perf_counter()
    if concurrency <= 1:
        for _ in range(calls):
            await call(b"x" * 64, timeout=5)
    else:
        async def worker(n: int) -> None:
            for _ in range(n):
                await call(b"x" * 64, timeout=5)
        await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
        calls = calls // concurrency * concurrency
    return ((time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6)


async def _server(security: ServerSecurity | None) -> tuple[grpc.aio.Server, int]:
    """A kit server with one small method, as serve() builds it (without its signals and background tasks)."""
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    server = grpc.aio.server(interceptors=[ServingInterceptor(
        service="bench", allowed_callers=security.allowed_callers if security else None)], options=server_options())
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})])
    port = (server.add_insecure_port("127.0.0.1:0") if security is None else
            server.add_secure_port("127.0.0.1:0", security.tls.server_credentials()))
    await server.start()
    return server, port


def _tls(folder: Path, identity: str) -> TlsFiles:
    issued = issue(folder, identity)
    return TlsFiles(issued.certificate.read_bytes(), issued.key.read_bytes(), issued.ca.read_bytes())


async def measure(calls: int, rounds: int, concurrency: int) -> dict[tuple[str, int], tuple[float, float]]:
    logging.getLogger("service_kit").setLevel(logging.WARNING)   # the interceptor's line per call is not measured
    with tempfile.TemporaryDirectory() as folder:
        security = ServerSecurity(_tls(Path(folder), SERVICE), frozenset({"bench-caller"}))
        caller = _tls(Path(folder), "bench-caller")
    (plain, plain_port), (secure, secure_port) = await _server(None), await _server(security)
    channels = {"pick_first": open_channel(f"127.0.0.1:{plain_port}", policy="pick_first"),
                "round_robin": open_channel(f"127.0.0.1:{plain_port}"),
                "round_robin+mTLS": open_channel(f"127.0.0.1:{secure_port}", tls=caller, server_name=SERVICE)}
    methods = {kind: channel.unary_unary(METHOD) for kind, channel in channels.items()}
    samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
    try:
        for method in methods.values():
            await _calls(method, 200, 1)   # connected and warm
        for n in range(rounds):
            order = KINDS if n % 2 == 0 else tuple(reversed(KINDS))
            for level in (1, concurrency):
                for kind in order:
                    samples.setdefault((kind, level), []).append(await _calls(methods[kind], calls, level))
    finally:
        for channel in channels.values():
            await channel.close()
        await plain.stop(0)
        await secure.stop(0)
    return {key: (statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs))
            for key, runs in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rewards_bench.channel_policy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    figures = uvloop.run(measure(args.calls, args.rounds, args.concurrency))
    print(f"{'channel':<18} {'in flight':>9} {'CPU us/call':>12} {'wall us/call':>13}")
    for (kind, level), (cpu, wall) in sorted(figures.items(), key=lambda kv: (kv[0][1], KINDS.index(kv[0][0]))):
        print(f"{kind:<18} {level:>9} {cpu:>12.1f} {wall:>13.1f}")
    for level in sorted({level for _, level in figures}):
        balancing = figures[("round_robin", level)][0] - figures[("pick_first", level)][0]
        tls = figures[("round_robin+mTLS", level)][0] - figures[("round_robin", level)][0]
        print(f"{level} in flight: round_robin - pick_first {balancing:+.1f} us, mutual TLS {tls:+.1f} us of CPU "
              "per call")


if __name__ == "__main__":
    main()
