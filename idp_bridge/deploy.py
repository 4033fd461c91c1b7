"""Helpers for ``bin/entrypoint``: a self-signed certificate, and the nginx configuration.

    python -m idp_bridge.deploy tls DIR [HOST ...]      make DIR/cert.pem and DIR/key.pem if absent
    python -m idp_bridge.deploy nginx-conf PREFIX       write PREFIX/nginx.conf for native mode

The certificate is for trying the bridge out and for tests: its key is made on the machine, never
committed, and kept when it exists, so a real certificate put in its place is never overwritten.

Native mode renders ``deploy/nginx/bridge.conf.template``, the very file docker compose hands to
the nginx image, filling in the same ``${NAME}`` placeholders the image's envsubst fills in, and
wraps it in ``deploy/nginx/native.conf.template`` (the main context: pid file, temp paths, logs).
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

ROOT: Final = Path(__file__).resolve().parent.parent
SERVER_TEMPLATE: Final = ROOT / "deploy" / "nginx" / "bridge.conf.template"
NATIVE_TEMPLATE: Final = ROOT / "deploy" / "nginx" / "native.conf.template"
CERT_DAYS: Final = 397  # what browsers accept for a server certificate
_PLACEHOLDER: Final = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` atomically, created with ``mode`` (never world-readable first)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_self_signed(directory: Path, hosts: list[str]) -> tuple[Path, Path, bool]:
    """``(cert, key, created)``: a self-signed certificate for ``hosts`` plus loopback, made if absent."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():  # (a read-only directory of real ones included)
        return cert_path, key_path, False
    directory.mkdir(parents=True, exist_ok=True)
    # Replicas sharing one directory must not each write half a pair: one makes it, the others keep it.
    with (directory / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cert_path.exists() and key_path.exists():
            return cert_path, key_path, False
        _make_self_signed(cert_path, key_path, hosts)
    return cert_path, key_path, True


def _make_self_signed(cert_path: Path, key_path: Path, hosts: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, "localhost", "127.0.0.1", "::1"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "idp-bridge self-signed (not for production)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # Its own trust anchor: clients may trust exactly this file (curl --cacert, requests verify=).
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        0o600,
    )
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def render(template: str, values: dict[str, str]) -> str:
    """Fill in ``${NAME}`` placeholders; a placeholder without a value is an error, not a blank."""
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise SystemExit(f"the nginx template needs {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def public_origin(issuer: str) -> str:
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def native_nginx_conf(prefix: Path, environ: dict[str, str]) -> Path:
    """Write ``prefix/nginx.conf`` (and ``prefix/bridge.conf``) for native mode; return its path."""
    prefix.mkdir(parents=True, exist_ok=True)
    state = Path(environ.get("BRIDGE_STATE_DIR", str(ROOT / "var")))
    tls = Path(environ.get("BRIDGE_TLS_DIR", str(state / "tls")))
    bind = environ.get("BIND", "127.0.0.1:8000").replace(",", " ").split()[0]
    values = {
        "BRIDGE_UPSTREAM": bind.replace("0.0.0.0:", "127.0.0.1:"),
        "PROXY_HTTPS_LISTEN": environ.get("BRIDGE_PROXY_LISTEN", "127.0.0.1:8443"),
        "PROXY_HTTP_LISTEN": environ.get("BRIDGE_PROXY_HTTP_LISTEN", "127.0.0.1:8080"),
        "BRIDGE_PUBLIC_ORIGIN": public_origin(environ.get("BRIDGE_ISSUER", "")),
        "TLS_CERT": environ.get("BRIDGE_TLS_CERT", str(tls / "cert.pem")),
        "TLS_KEY": environ.get("BRIDGE_TLS_KEY", str(tls / "key.pem")),
        "NGINX_PREFIX": str(prefix.resolve()),
        "NGINX_WORKERS": environ.get("BRIDGE_PROXY_WORKERS", "auto"),
    }
    server = prefix / "bridge.conf"
    server.write_text(render(SERVER_TEMPLATE.read_text(), values))
    main = prefix / "nginx.conf"
    main.write_text(render(NATIVE_TEMPLATE.read_text(), values | {"SERVER_CONF": str(server.resolve())}))
    return main


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "tls":
        hosts = argv[2:] or [urlsplit(os.environ.get("BRIDGE_ISSUER", "")).hostname or "localhost"]
        cert, key, created = ensure_self_signed(Path(argv[1]), hosts)
        print(f"{'created' if created else 'kept'} {cert} and {key}")
        return 0
    if len(argv) == 2 and argv[0] == "nginx-conf":
        print(native_nginx_conf(Path(argv[1]), dict(os.environ)))
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
