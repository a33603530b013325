"""The caller's IP address, by one rule for every API (canonical and dialects alike).

The socket peer is the caller, unless the peer is one of TRUSTED_PROXIES (a load balancer or ingress of ours):
then X-Forwarded-For is read from the right, each hop a trusted proxy added, skipping the hops that are trusted
proxies themselves; the first hop that is not is the caller. Anything left of it was written by the caller and
proves nothing, so a client cannot name its own address by sending the header (with no trusted proxies, the
default, the header is never read). A hop that is not an IP address ends the walk at the last address a trusted
proxy vouched for. `Forwarded` (RFC 7239) is not read: the proxies we deploy behind set X-Forwarded-For."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from fastapi import Request

IPAddress = IPv4Address | IPv6Address
# What travels upstream as PlayerContext.client_ip (and x-client-ip): bounded, whatever a peer claims.
MAX_CLIENT_IP_LENGTH = 64


def _address(text: str) -> IPAddress | None:
    """An address of a hop: `1.2.3.4`, `2001:db8::1`, and the `1.2.3.4:port` / `[2001:db8::1]:port` some proxies
    write."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:1.2.3.4) is that IPv4 client.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The networks whose X-Forwarded-For is believed."""

    def __init__(self, networks: tuple[IPv4Network | IPv6Network, ...] = ()) -> None:
        self.networks = networks

    @classmethod
    def parse(cls, spec: str) -> TrustedProxies:
        """From TRUSTED_PROXIES: comma-separated addresses or CIDRs (`10.0.0.0/8, 192.0.2.7, fd00::/8`). Raises
        ValueError naming a bad entry."""
        networks = []
        for entry in (e.strip() for e in spec.split(",")):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
        return cls(tuple(networks))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_ip(self, peer: str, forwarded_for: list[str]) -> str:
        """The caller's address, given the socket peer and every X-Forwarded-For header line in order."""
        if not self.networks or not self.trusts(_address(peer)):
            return peer[:MAX_CLIENT_IP_LENGTH]
        vouched = peer  # the nearest address a trusted proxy stands behind
        hops = [hop for line in forwarded_for for hop in line.split(",")]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # garbage from the caller: keep the last address a trusted proxy gave
            vouched = str(address)
            if not self.trusts(address):
                break
        return vouched[:MAX_CLIENT_IP_LENGTH]


NO_TRUSTED_PROXIES = TrustedProxies()


def trusted_proxies(app: Any) -> TrustedProxies:
    """The app's trusted proxies, parsed from its settings once (a bad value was refused when they loaded)."""
    state = app.state
    trusted: TrustedProxies | None = getattr(state, "trusted_proxies", None)
    if trusted is None:
        settings = getattr(state, "settings", None)
        trusted = TrustedProxies.parse(getattr(settings, "trusted_proxies", "") or "")
        state.trusted_proxies = trusted
    return trusted


def client_ip(request: Request) -> str:
    """The caller's IP address for this request (see the module's rule)."""
    peer = request.client.host if request.client is not None else ""
    trusted = trusted_proxies(request.app)
    if not trusted:
        return peer[:MAX_CLIENT_IP_LENGTH]
    return trusted.client_ip(peer, request.headers.getlist("x-forwarded-for"))
