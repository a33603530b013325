"""gateway.client_ip: the socket peer, unless it is a trusted proxy; then X-Forwarded-For from the right."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from gateway.client_ip import TrustedProxies, client_ip
from gateway.config import Settings
from pydantic import ValidationError
from starlette.requests import Request

PROXIES = TrustedProxies.parse("10.0.0.0/8, 192.0.2.7, fd00::/8")


def request(peer: str | None, *forwarded_for: str, trusted: str = "10.0.0.0/8") -> Request:
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(trusted_proxies=trusted)))
    return Request({"type": "http", "method": "GET", "path": "/", "app": app,
                    "client": (peer, 1234) if peer is not None else None,
                    "headers": [(b"x-forwarded-for", v.encode()) for v in forwarded_for]})


def test_without_trusted_proxies_the_header_is_never_read():
    assert client_ip(request("203.0.113.7", "198.51.100.9", trusted="")) == "203.0.113.7"
    assert TrustedProxies.parse("").client_ip("203.0.113.7", ["198.51.100.9"]) == "203.0.113.7"


def test_an_untrusted_peer_cannot_name_its_own_address():
    assert client_ip(request("203.0.113.7", "198.51.100.9, 10.0.0.1")) == "203.0.113.7"
    assert PROXIES.client_ip("203.0.113.7", ["10.0.0.1"]) == "203.0.113.7"


def test_a_trusted_peer_gives_the_first_untrusted_hop_from_the_right():
    assert client_ip(request("10.1.2.3", "198.51.100.9")) == "198.51.100.9"
    # The caller forged the left hop; trusted proxies are skipped; the hop left of them is the client.
    assert PROXIES.client_ip("10.1.2.3", ["6.6.6.6, 198.51.100.9, 192.0.2.7, 10.9.9.9"]) == "198.51.100.9"
    # Several header lines are one list, in order.
    assert PROXIES.client_ip("10.1.2.3", ["6.6.6.6, 198.51.100.9", "10.9.9.9"]) == "198.51.100.9"
    assert PROXIES.client_ip("fd00::1", ["2001:db8::5"]) == "2001:db8::5"


def test_a_trusted_peer_without_the_header_or_with_only_proxies_in_it():
    assert client_ip(request("10.1.2.3")) == "10.1.2.3"
    assert PROXIES.client_ip("10.1.2.3", ["10.0.0.9, 192.0.2.7"]) == "10.0.0.9"


def test_ports_and_mapped_addresses_are_read_and_garbage_stops_the_walk():
    assert PROXIES.client_ip("::ffff:10.1.2.3", ["198.51.100.9:4711"]) == "198.51.100.9"
    assert PROXIES.client_ip("10.1.2.3", ["[2001:db8::5]:443"]) == "2001:db8::5"
    assert PROXIES.client_ip("10.1.2.3", ["198.51.100.9, not-an-ip"]) == "10.1.2.3"
    assert PROXIES.client_ip("10.1.2.3", ["<script>, 10.0.0.4"]) == "10.0.0.4"
    assert PROXIES.client_ip("10.1.2.3", [""]) == "10.1.2.3"


def test_no_peer_and_a_peer_that_is_no_address():
    assert client_ip(request(None, "198.51.100.9")) == ""
    assert client_ip(request("testclient", "198.51.100.9")) == "testclient"


def test_trusted_proxies_setting_is_checked_when_it_loads():
    assert Settings(database_url="postgresql://x/y").trusted_proxies == ""
    assert Settings(database_url="postgresql://x/y", trusted_proxies="10.0.0.0/8, 192.0.2.7").trusted_proxies
    with pytest.raises(ValidationError, match="'10.0.0.0/33' is not an IP address or CIDR"):
        Settings(database_url="postgresql://x/y", trusted_proxies="10.0.0.0/33")
