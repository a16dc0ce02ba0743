"""TLS for the webhook: certificates from files (reloaded when they change) or a self-signed CA.

The API server calls a webhook only over HTTPS and checks the serving certificate against the
``caBundle`` of the ``ValidatingWebhookConfiguration`` and the service's DNS name
(``<service>.<namespace>.svc``). ``--self-signed`` creates a CA and a serving certificate for those
names (and 127.0.0.1 for local tests), and writes the CA bundle to paste into the configuration.
Certificates given as files (cert-manager, a Secret) are re-read when their modification time
changes, so a rotated certificate is served without a restart.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from supplychain.errors import InputError


@dataclass
class SelfSigned:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def service_names(service: str, namespace: str) -> list[str]:
    """The DNS names the API server may use for a webhook Service."""
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.cluster.local"]


def make_self_signed(dns_names: list[str], *, ips: tuple[str, ...] = ("127.0.0.1",),
                     days: int = 365) -> SelfSigned:
    """A new EC P-256 CA and a serving certificate signed by it for ``dns_names`` and ``ips``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supplychain admission webhook CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(until)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       key_cert_sign=True, crl_sign=True, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(until)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return SelfSigned(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
    )


def _server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"cannot load TLS certificate {cert_file} / key {key_file}: {exc}",
                         hint="give a PEM certificate chain and its PEM private key, or use --self-signed") from None
    return ctx


class ReloadingContext:
    """An SSL context for the server that follows its certificate files: every new connection
    checks (at most once a second) whether the files changed and, if so, loads them again.
    A rotation that leaves unreadable or mismatched files keeps the previous certificate."""

    def __init__(self, cert_file: str, key_file: str, *, check_every: float = 1.0) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.check_every = check_every
        self._lock = threading.Lock()
        self._stamp = self._mtimes()
        self._checked = time.monotonic()
        self.context = _server_context(cert_file, key_file)
        self.reloads = 0
        self.reload_errors = 0

    def _mtimes(self) -> tuple[float, float]:
        try:
            return (os.stat(self.cert_file).st_mtime, os.stat(self.key_file).st_mtime)
        except OSError:
            return (0.0, 0.0)

    def current(self) -> ssl.SSLContext:
        now = time.monotonic()
        with self._lock:
            if now - self._checked < self.check_every:
                return self.context
            self._checked = now
            stamp = self._mtimes()
            if stamp != self._stamp:
                try:
                    self.context = _server_context(self.cert_file, self.key_file)
                    self._stamp = stamp
                    self.reloads += 1
                except InputError:
                    self.reload_errors += 1  # keep serving the previous certificate
            return self.context


def write_self_signed(material: SelfSigned, directory: str | None = None) -> tuple[str, str]:
    """Write the serving certificate and key to files (mode 0600 for the key); return their paths."""
    target = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="supplychain-webhook-tls-"))
    target.mkdir(parents=True, exist_ok=True)
    cert = target / "tls.crt"
    key = target / "tls.key"
    cert.write_bytes(material.cert_pem)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(material.key_pem)
    return str(cert), str(key)
