"""Where a webhook may go (addresses.py): which addresses are public, in every form a host can name one, and the
URL check that refuses a private literal when an endpoint is made or changed."""

from __future__ import annotations

import ipaddress

import pytest
from events_service import addresses, domain
from service_kit.errors import DomainError, ErrorCode

NOT_PUBLIC = {
    "127.0.0.1": "loopback", "127.255.0.9": "loopback", "::1": "loopback",
    "10.0.0.1": "private", "10.255.255.255": "private",
    "172.16.0.1": "private", "172.31.255.254": "private",
    "192.168.0.1": "private", "192.168.255.255": "private",
    "169.254.169.254": "link-local", "169.254.0.1": "link-local", "fe80::1": "link-local",
    "fc00::1": "private", "fd00:ec2::254": "private",
    "0.0.0.0": "unspecified", "0.1.2.3": "unspecified", "::": "unspecified",
    "100.64.0.1": "shared", "224.0.0.251": "multicast", "ff02::1": "multicast",
    "240.0.0.1": "reserved", "255.255.255.255": "reserved",
    # IPv6 forms that carry an IPv4 address are judged by it
    "::ffff:127.0.0.1": "loopback", "::ffff:169.254.169.254": "link-local", "64:ff9b::a00:1": "private",
    "2002:c0a8:101::1": "private",
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "192.169.0.1", "11.0.0.1", "169.255.0.1",
          "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "kind"), sorted(NOT_PUBLIC.items()))
def test_addresses_a_webhook_may_not_go_to(address: str, kind: str) -> None:
    why = addresses.why_not_public(ipaddress.ip_address(address))
    assert why is not None and kind in why, (address, why)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_let_through(address: str) -> None:
    assert addresses.why_not_public(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("::ffff:10.0.0.1", "::ffff:a00:1"),
    ("fe80::1%eth0", "fe80::1"), ("8.8.8.8", "8.8.8.8"),
])
def test_every_literal_form_the_resolver_reads_is_an_address(host: str, address: str) -> None:
    assert addresses.literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "localhost", "hooks.acme.example", "deadbeef.example", "1.2.3.4.nip"])
def test_a_name_is_not_an_address(host: str) -> None:
    assert addresses.literal_address(host) is None


def test_a_refusal_says_what_the_host_resolves_to_and_why() -> None:
    assert addresses.refusal("hooks.example.com", [ipaddress.ip_address("8.8.8.8")]) is None
    mixed = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.0.0.7")]
    assert addresses.refusal("hooks.example.com", mixed) == "hooks.example.com resolves to 10.0.0.7, a private address"
    assert addresses.refusal("127.0.0.1", [ipaddress.ip_address("127.0.0.1")]) == "127.0.0.1 is a loopback address"


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://172.16.5.4:8443/hook", "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://[fd00::1]/hook",
    "https://[fe80::1]/hook", "https://0.0.0.0/hook", "https://2130706433/hook", "https://127.1/hook",
    "https://[::ffff:127.0.0.1]/hook",
])
def test_an_endpoint_on_a_private_literal_address_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(DomainError) as refused:
        domain.check_url(url, allow_http=False, allow_private=False)
    assert refused.value.code is ErrorCode.VALIDATION_ERROR and "public addresses only" in str(refused.value)
    assert domain.check_url(url, allow_http=False, allow_private=True) == url


def test_public_literals_and_names_are_accepted_when_made() -> None:
    for url in ("https://8.8.8.8/hook", "https://[2606:4700::1111]/hook", "https://hooks.example.com/x",
                "https://localhost/hook"):   # a name: its addresses are checked at each delivery
        assert domain.check_url(url, allow_http=False, allow_private=False) == url
