"""The local platform's certificates for mutual TLS between the services (MTLS=1, service_kit.mtls): a CA made once
and kept in the run folder, and a certificate per identity (each service's name, and the runner's own for its
health checks and the demo's seeding), its subject common name the identity, valid for the identity's name and the
loopback addresses, for both ends of a call. A certificate is made again when it is missing, within a day of its
end, or not signed by the CA in the folder."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "rewards local CA"
CA_DAYS = 365
CERT_DAYS = 30
RENEW_BEFORE = dt.timedelta(days=1)
LOOPBACK = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class CertificateFiles:
    certificate: Path
    key: Path
    ca: Path

    def env(self) -> dict[str, str]:
        """The settings that turn mutual TLS on in a service (service_kit.settings)."""
        return {"GRPC_TLS_CERT_FILE": str(self.certificate), "GRPC_TLS_KEY_FILE": str(self.key),
                "GRPC_TLS_CA_FILE": str(self.ca)}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _load_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = folder / "ca.pem", folder / "ca.key"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if cert.not_valid_after_utc - RENEW_BEFORE > _now() and isinstance(key, ec.EllipticCurvePrivateKey):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5)).not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _current(path: Path, ca: x509.Certificate) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):  # a certificate of an older CA: made again
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > _now()


def issue(folder: Path, identity: str, hosts: tuple[str, ...] = ()) -> CertificateFiles:
    """The certificate of `identity` (made or renewed when needed), valid for the name itself, localhost, the
    loopback addresses and `hosts`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _load_ca(folder)
    files = CertificateFiles(folder / f"{identity}.pem", folder / f"{identity}.key", folder / "ca.pem")
    if _current(files.certificate, ca) and files.key.exists():
        return files
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(identity), x509.DNSName("localhost")]
    for host in dict.fromkeys((*LOOPBACK, *hosts)):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity)]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5))
            .not_valid_after(_now() + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            # Both ends of a call: a service serves its callers and calls others with the same certificate.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_key(files.key, key)
    files.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files
