"""The delivery loop's HTTP transport (addresses.ReceiverTransport) against real receivers on this machine: the
socket goes to the address the guard checked (given here by a resolver of the test, for names no DNS knows), with
the URL's host kept in `Host`, as TLS's SNI, and as the name the certificate is verified for; a host with any
address that is not public is refused before any connection."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from events_service import addresses

NAME = "hooks.example.test"
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class Receiver:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.hosts: list[str] = []
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.hosts.append(self.headers["host"])
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)  # type: ignore[assignment]
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Resolver:
    """A DNS of the test: names to addresses, counting the look-ups."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[addresses.IPAddress]:
        self.asked.append(host)
        return [ipaddress.ip_address(a) for a in self.names[host]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def client(resolver: Resolver, *, allow_private: bool, ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    transport = addresses.ReceiverTransport(allow_private=allow_private, resolve=resolver, ssl_context=ssl_context)
    return httpx.AsyncClient(transport=transport, timeout=5.0)


async def test_the_socket_goes_to_the_address_checked_and_the_urls_host_is_kept(receiver: Receiver) -> None:
    resolver = Resolver({NAME: ["127.0.0.1"]})
    async with client(resolver, allow_private=True) as http:
        for _ in range(2):
            assert (await http.post(f"http://{NAME}:{receiver.port}/hooks", content=b"{}")).status_code == 200
    assert receiver.hosts == [f"{NAME}:{receiver.port}"] * 2
    # One look-up per connection, as it is made (this receiver speaks HTTP/1.0: it closes each one).
    assert resolver.asked == [NAME, NAME]


async def test_a_host_with_any_address_that_is_not_public_is_refused_before_connecting(receiver: Receiver) -> None:
    resolver = Resolver({NAME: ["8.8.8.8", "127.0.0.1"], "127.0.0.1": ["127.0.0.1"]})
    async with client(resolver, allow_private=False) as http:
        with pytest.raises(httpx.ConnectError) as refused:
            await http.post(f"http://{NAME}:{receiver.port}/hooks", content=b"{}")
        assert addresses.refused_by_guard(refused.value)
        assert str(refused.value) == (f"refused, no request sent: {NAME} resolves to 127.0.0.1, a loopback address "
                                      "(WEBHOOK_ALLOW_PRIVATE_ADDRESSES is off)")
        with pytest.raises(httpx.ConnectError, match="127.0.0.1 is a loopback address"):
            await http.post(f"http://127.0.0.1:{receiver.port}/hooks", content=b"{}")
    assert receiver.hosts == [], "nothing reached the receiver"


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_https_to_the_checked_address_sends_sni_and_verifies_the_certificate_for_the_urls_name(
        tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path, NAME)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    receiver = Receiver(tls)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    resolver = Resolver({NAME: ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    try:
        async with client(resolver, allow_private=True, ssl_context=trusting) as http:
            assert (await http.post(f"https://{NAME}:{receiver.port}/hooks", content=b"{}")).status_code == 200
            # The same address under a name the certificate is not for: refused by TLS, not sent.
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
                await http.post(f"https://other.example.test:{receiver.port}/hooks", content=b"{}")
    finally:
        receiver.close()
    assert receiver.server_names[0] == NAME and receiver.hosts == [f"{NAME}:{receiver.port}"]
