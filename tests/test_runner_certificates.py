"""The runner's mutual TLS (MTLS=1): a local CA and a certificate per service, named for the service, signed by the
CA, for both ends of a call; each service given its files and its callers; certificates kept across runs and made
again when the CA changed. The platform running with them: tests-e2e/reliability/test_replicas.py."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from local_runner.certificates import issue
from local_runner.platform import DATABASES, RUNNER_IDENTITY, Platform
from local_runner.settings import RunnerSettings


def _load(path: str | Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def test_each_service_gets_its_own_certificate_and_the_callers_that_need_it(tmp_path: Path) -> None:
    platform = Platform(RunnerSettings(run_dir=tmp_path, mtls=True), say=lambda _: None)
    platform.database_urls = {db: f"postgresql://127.0.0.1:1/{db}" for db in DATABASES}   # not started
    env = {spec.name: platform.service_env(spec) for spec in platform.specs()}
    assert env["wallet-service"]["GRPC_ALLOWED_CALLERS"] == f"redemption-service,gateway,{RUNNER_IDENTITY}"
    assert env["redemption-service"]["GRPC_ALLOWED_CALLERS"] == f"gateway,{RUNNER_IDENTITY}"
    assert "GRPC_ALLOWED_CALLERS" not in env["gateway"], "no service calls the gateway"
    assert "GRPC_TLS_CERT_FILE" not in env["demo-partner"]
    ca = _load(env["gateway"]["GRPC_TLS_CA_FILE"])
    for name in ("catalog-service", "wallet-service", "redemption-service", "fulfillment-service", "gateway"):
        cert = _load(env[name]["GRPC_TLS_CERT_FILE"])
        cert.verify_directly_issued_by(ca)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name
        assert name in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
        usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        assert usages == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert Path(env[name]["GRPC_TLS_KEY_FILE"]).stat().st_mode & 0o077 == 0, "a key readable by others"
    off = Platform(RunnerSettings(run_dir=tmp_path / "off"), say=lambda _: None)
    off.database_urls = platform.database_urls
    assert not any(k.startswith("GRPC_TLS") for spec in off.specs() for k in off.service_env(spec))


def test_certificates_are_kept_and_made_again_under_a_new_ca(tmp_path: Path) -> None:
    first = issue(tmp_path, "wallet-service")
    serial = _load(first.certificate).serial_number
    assert _load(issue(tmp_path, "wallet-service").certificate).serial_number == serial
    (tmp_path / "ca.pem").unlink()
    renewed = issue(tmp_path, "wallet-service")
    assert _load(renewed.certificate).serial_number != serial
    _load(renewed.certificate).verify_directly_issued_by(_load(renewed.ca))
