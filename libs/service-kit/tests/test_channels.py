"""The kit's channels spread calls over every address of their target (round_robin), and the kit's servers bound a
connection's age so a channel reconnects (and re-resolves its name) without failing a call: real grpc.aio servers
on loopback."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from service_kit.grpc_client import open_channel
from service_kit.grpc_server import server_options
from service_kit.settings import GrpcServerSettings

METHOD = "/test.Where/Am"


class Replica:
    """A server that answers its own name and records each caller's connection (its peer address)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.peers: list[str] = []
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self, options: list[tuple[str, int]] | None = None, port: int = 0) -> Replica:
        async def answer(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.peers.append(context.peer())
            return self.name.encode()

        self.server = grpc.aio.server(options=options or server_options())
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "test.Where", {"Am": grpc.unary_unary_rpc_method_handler(answer)})])
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        await self.server.start()
        return self

    async def stop(self) -> None:
        assert self.server is not None
        await self.server.stop(0)


@pytest.fixture
async def replicas() -> AsyncIterator[Callable[..., asyncio.Future]]:
    started: list[Replica] = []

    async def start(name: str, options: list[tuple[str, int]] | None = None) -> Replica:
        replica = await Replica(name).start(options)
        started.append(replica)
        return replica

    yield start  # type: ignore[misc]
    for replica in started:
        await replica.stop()


async def _answers(channel: grpc.aio.Channel, calls: int, pause: float = 0.0) -> Counter[str]:
    where = channel.unary_unary(METHOD)
    seen: Counter[str] = Counter()
    for _ in range(calls):
        seen[(await where(b"", timeout=2)).decode()] += 1
        if pause:
            await asyncio.sleep(pause)
    return seen


async def test_a_channel_spreads_its_calls_over_every_address_of_its_target(replicas) -> None:
    a, b = await replicas("a"), await replicas("b")
    target = f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}"
    channel = open_channel(target)
    try:
        await asyncio.wait_for(channel.channel_ready(), 5)
        await _answers(channel, 4)   # both connections are up once each has had a call
        seen = await _answers(channel, 40)
    finally:
        await channel.close()
    assert seen["a"] >= 15 and seen["b"] >= 15, seen

    # The same target under grpc's default policy: every call on one address (why the kit asks for round_robin).
    pinned = open_channel(target, policy="pick_first")
    try:
        assert len(await _answers(pinned, 20)) == 1
    finally:
        await pinned.close()


async def test_a_replica_that_goes_away_takes_no_calls_and_the_others_answer(replicas) -> None:
    a, b = await replicas("a"), await replicas("b")
    channel = open_channel(f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}")
    try:
        await _answers(channel, 6)
        await a.stop()
        # The connection's end is seen at once (the socket closes); a call in that instant may still fail.
        await asyncio.sleep(0.2)
        assert await _answers(channel, 10) == Counter({"b": 10})
    finally:
        await channel.close()


async def test_a_dns_target_resolves_and_balances(replicas) -> None:
    a = await replicas("a")
    channel = open_channel(f"dns:///localhost:{a.port}")
    try:
        assert await _answers(channel, 3) == Counter({"a": 3})
    finally:
        await channel.close()


async def test_a_connection_is_replaced_after_its_age_without_failing_a_call(replicas) -> None:
    a = await replicas("a", server_options(max_connection_age_seconds=0.3, max_connection_age_grace_seconds=0.5))
    channel = open_channel(f"127.0.0.1:{a.port}")
    try:
        seen = await _answers(channel, 30, pause=0.05)
    finally:
        await channel.close()
    assert seen == Counter({"a": 30})
    # Every call answered, over several connections: the client reconnected each time the age was reached.
    assert len(set(a.peers)) >= 2, set(a.peers)


async def _first_call_after_a_restart(policy: str | None) -> str:
    """A server's first answer to a channel that talked to it, then saw it down for 2.5 s (a restart), called the
    moment it is back; "UNAVAILABLE" if that call failed."""
    first = await Replica("a").start()
    port = first.port
    channel = open_channel(f"127.0.0.1:{port}", policy=policy)
    again = None
    try:
        assert await _answers(channel, 2) == Counter({"a": 2})
        await first.stop()
        await asyncio.sleep(2.5)
        again = await Replica("b").start(port=port)
        try:
            return (await channel.unary_unary(METHOD)(b"", timeout=2)).decode()
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
    finally:
        await channel.close()
        if again is not None:
            await again.stop()


async def test_a_single_address_channel_answers_the_first_call_after_its_server_restarts() -> None:
    # One address: pick_first (service_kit.grpc_client.policy_for), whose next call reconnects and waits for it.
    # round_robin would have retried in the background while the server was down and be in its backoff now.
    assert await _first_call_after_a_restart(None) == "b"


def test_the_connection_age_settings_have_defaults_and_refuse_nonsense(monkeypatch) -> None:
    settings = GrpcServerSettings()
    assert (settings.grpc_max_connection_age_seconds, settings.grpc_max_connection_age_grace_seconds) == (60.0, 30.0)
    options = dict(server_options(settings.grpc_max_connection_age_seconds,
                                  settings.grpc_max_connection_age_grace_seconds))
    assert options["grpc.max_connection_age_ms"] == 60_000 and options["grpc.max_connection_age_grace_ms"] == 30_000
    monkeypatch.setenv("GRPC_MAX_CONNECTION_AGE_SECONDS", "0")
    with pytest.raises(ValueError, match="grpc_max_connection_age_seconds"):
        GrpcServerSettings()
    monkeypatch.setenv("GRPC_MAX_CONNECTION_AGE_SECONDS", "5")
    monkeypatch.setenv("GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS", "-1")
    with pytest.raises(ValueError, match="grpc_max_connection_age_grace_seconds"):
        GrpcServerSettings()
