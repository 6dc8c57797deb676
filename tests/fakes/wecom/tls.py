"""A self-signed certificate for 127.0.0.1, so the double can serve wss:// and https://.

The official aibot SDK (1.0.2) cannot open ws:// at all (it always passes its certifi-only
`ssl=` context, which websockets >= 14 refuses for ws://), so the long connection must be TLS.
The certificate is its own CA; clients trust it with `client_context()` or `CA_PEM`.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsMaterial:
    cert_pem: bytes
    key_pem: bytes


@functools.cache
def localhost_tls() -> TlsMaterial:
    """One key and certificate per test process (EC P-256: fast to make)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-wecom.local")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return TlsMaterial(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def server_context() -> ssl.SSLContext:
    material = localhost_tls()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert.write_bytes(material.cert_pem)
        key.write_bytes(material.key_pem)
        context.load_cert_chain(cert, key)  # read now; the files may go
    return context


def client_context() -> ssl.SSLContext:
    """A client context that trusts only the double's certificate."""
    return ssl.create_default_context(cadata=localhost_tls().cert_pem.decode())


def trust(context: ssl.SSLContext) -> None:
    """Add the double's certificate to an existing client context (e.g. an SDK's)."""
    context.load_verify_locations(cadata=localhost_tls().cert_pem.decode())
