"""The HTTPS certificate: self-signed for the configured common name, kept in the state
directory so a recreated decky presents the same certificate (like its SSH host keys)."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

VALID_DAYS = 397
"""What browsers accept for a server certificate; renewed when it is over."""


def _current(cert_path: Path, cn: str) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return (
        bool(names)
        and names[0].value == cn
        and cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=1)
    )


def ensure_certificate(directory: Path, cn: str) -> tuple[Path, Path]:
    """(certificate, key) PEM files for `cn`: reused while valid for it, else made anew."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    cn = (cn.strip() or "localhost")[:64]
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "https.crt", directory / "https.key"
    if key_path.exists() and _current(cert_path, cn):
        return cert_path, key_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
    )
    with contextlib.suppress(ValueError):  # a CN that is no DNS name goes without a SAN
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
