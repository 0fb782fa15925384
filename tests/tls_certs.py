"""A private CA, a server certificate for ``localhost`` and a client certificate, made for one test.

Needs ``cryptography`` (a dev dependency); the TLS tests skip with that reason without it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Pki:
    ca: Path
    ca_fingerprint: str
    """SHA-256 of the CA certificate (DER), hex."""
    server_chain: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
           *, ca: bool = False, dns: str | None = None) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def make_pki(folder: Path) -> Pki:
    pem = serialization.Encoding.PEM

    def key_file(key: ec.EllipticCurvePrivateKey, name: str) -> Path:
        path = folder / name
        path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return path

    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _issue("monitor test CA", ca_key, _name("monitor test CA"), ca_key, ca=True)
    server = _issue("localhost", server_key, ca.subject, ca_key, dns="localhost")
    client = _issue("monitor-client", client_key, ca.subject, ca_key)
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "client.pem").write_bytes(client.public_bytes(pem))
    fingerprint = hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).hexdigest()
    return Pki(ca=folder / "ca.pem", ca_fingerprint=fingerprint,
               server_chain=folder / "server.pem", server_key=key_file(server_key, "server.key"),
               client_cert=folder / "client.pem", client_key=key_file(client_key, "client.key"))
