"""Where a webhook may go: a tenant's endpoint must not make this service reach into its own network (SSRF).

Two checks. When an endpoint is made or its URL changed, a host that is a literal IP address (in any form the
resolver reads as one: `127.1`, `0x7f000001`, `[::ffff:127.0.0.1]`) must be a public one (domain.check_url; which
addresses are public is domain.py's `why_not_public`, a pure rule both checks apply). When a delivery
connects, the host is resolved, and if any address it resolves to is not public, no connection is made and no
request sent: the attempt fails with the reason. The connection is made to an address that was checked, in the
same step (`GuardedBackend.connect_tcp` resolves, checks and connects), so a name rebound to a private address
between a check and the connect cannot slip through; TLS still verifies the certificate for, and sends SNI and
Host with, the name in the URL.

Not public: unspecified (0.0.0.0/8, ::), loopback (127/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7),
shared (100.64/10), link-local (169.254/16 with the cloud metadata service, fe80::/10), multicast, and every other
range Python's `ipaddress` does not call global (documentation, benchmarking, reserved); an IPv6 address carrying
an IPv4 one (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by the IPv4 address.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES turns both checks off (local runs and tests, whose receivers are on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from events_service.domain import IPAddress, literal_address, why_not_public

SETTING = "WEBHOOK_ALLOW_PRIVATE_ADDRESSES"
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class AddressRefused(httpcore.ConnectError):
    """The receiver's host is, or resolves to, an address that is not public: nothing was sent."""


def refusal(host: str, addresses: Iterable[IPAddress]) -> str | None:
    """Why a host may not be called, given the addresses it resolves to (any one not public refuses it)."""
    for address in addresses:
        why = why_not_public(address)
        if why is not None:
            return f"{host} is {why}" if literal_address(host) == address else f"{host} resolves to {address}, {why}"
    return None


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses from the system's resolver, in its order, each once."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend that resolves the host itself, refuses it when an address is not public (unless
    allowed), and connects to the checked addresses in turn."""

    def __init__(self, allow_private: bool, resolve: Resolver = system_resolve,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout} s") from None
        if not self.allow_private:
            why = refusal(host, addresses)
            if why is not None:
                raise AddressRefused(f"refused, no request sent: {why} ({SETTING} is off)")
        failure: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                return await self.inner.connect_tcp(str(address), port, timeout=timeout,
                                                     local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class ReceiverTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over GuardedBackend: HTTP/1.1, certificates verified against the URL's host, no proxy
    from the environment (the address checked must be the receiver's)."""

    def __init__(self, *, allow_private: bool, max_connections: int = 100, resolve: Resolver = system_resolve,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to name the network backend: the same pool, with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False), max_connections=max_connections,
            max_keepalive_connections=20, keepalive_expiry=5.0, http1=True, http2=False,
            network_backend=GuardedBackend(allow_private, resolve))


def refused_by_guard(exc: BaseException) -> bool:
    """Whether an httpx error is the guard's refusal (httpx wraps httpcore's errors, keeping them as the cause)."""
    return isinstance(exc, AddressRefused) or isinstance(exc.__cause__, AddressRefused)
