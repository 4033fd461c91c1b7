"""The servers under test: the bridge, the two peers and the static ceiling.

Each is started as it would run in production, on 127.0.0.1 only, and described by the paths of
its endpoints, its client and how its login form names the username field.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sbs.system import Service, create_database, drop_database, free_port, seed_legacy_portal

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "benchmarks" / "peers"
PYTHON = sys.executable
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the flow client stops at it
CLIENT_ID = "bench-rp"
SCOPE = "openid profile email"
LEGACY_MAPPING = """
[table]
name = "portal_users"
[columns]
id = "uid"
username = "login"
password = "pass_hash"
email = "email"
given_name = "first_name"
family_name = "last_name"
organization = "institution"
[active]
status = 1
"""


@dataclass(frozen=True)
class ServerConfig:
    """The gunicorn settings every Python server gets: the bridge's production ones.

    The bridge runs with its own configuration file (idp_bridge/gunicorn_conf.py, as bin/entrypoint
    starts it) and the GUNICORN_* variables; stock DOT and the static ceiling get the same values
    as command-line flags (gthread, keep-alive 5 s, no gunicorn access log).
    """

    workers: int = 4
    threads: int = 4
    worker_class: str = "gthread"

    def bridge_args(self) -> list[str]:
        args = [PYTHON, "-m", "gunicorn", "-c", "python:idp_bridge.gunicorn_conf"]
        if self.worker_class != "gthread":  # the command line overrides the file
            args += ["--worker-class", self.worker_class]
        return args

    def bridge_env(self, port: int, workdir: Path) -> dict[str, str]:
        metrics = workdir / "prometheus"
        metrics.mkdir(parents=True, exist_ok=True)
        return {
            "BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }

    def args(self, app: str, port: int) -> list[str]:
        return [
            PYTHON,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            self.worker_class,
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--timeout",
            "30",
            "--graceful-timeout",
            "20",
            "--keep-alive",
            "5",
            "--limit-request-line",
            "8190",
            "--forwarded-allow-ips",
            "127.0.0.1",
        ]

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.worker_class}, {self.workers} workers{threads}, keep-alive 5 s, no gunicorn access log"


@dataclass
class Target:
    name: str
    label: str
    workdir: Path
    discovery: str
    jwks: str
    authorize: str
    token: str
    userinfo: str
    introspect: str
    login_field: str
    hash_scheme: str
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(40))
    port: int = field(default_factory=free_port)
    service: Service | None = None
    discovery_body: bytes = b""
    # the headers of its discovery answer, less the per-request ones (Date, Server, request id)
    discovery_headers: list[tuple[str, str]] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return self.service.pids() if self.service else []

    def start(self) -> None:
        assert self.service is not None
        self.service.start()
        self.service.wait_ready(self.base_url + self.discovery)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()

    def cleanup(self) -> None:
        self.stop()
        for url in self.databases:
            drop_database(url)
        self.databases.clear()


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BRIDGE_", "LEGACY_", "DJANGO_", "DATABASE_", "PEER_"))
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env | extra


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{result.stdout}\n{result.stderr}")


# --- the bridge ----------------------------------------------------------------------------------
def bridge(
    workdir: Path,
    server: ServerConfig,
    legacy_users: int,
    legacy_hash: str,
    extra_env: dict[str, str],
    db_options: str = "",
) -> Target:
    """The bridge as bin/entrypoint runs it: gunicorn, PostgreSQL, DEBUG off (http loopback issuer)."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = Target(
        name="bridge",
        label="idp-bridge",
        workdir=workdir,
        discovery="/.well-known/openid-configuration",
        jwks="/jwks",
        authorize="/authorize",
        token="/token",
        userinfo="/userinfo",
        introspect="/introspect",
        login_field="login",
        hash_scheme="bcrypt $2y$ cost 10 (legacy table, PostgreSQL)",
    )
    try:
        _set_up_bridge(target, workdir, server, legacy_users, legacy_hash, extra_env, db_options)
    except BaseException:
        target.cleanup()  # the databases made so far
        raise
    target.notes.append(f"{legacy_users:,} legacy users")
    return target


def _set_up_bridge(
    target: Target,
    workdir: Path,
    server: ServerConfig,
    legacy_users: int,
    legacy_hash: str,
    extra_env: dict[str, str],
    db_options: str,
) -> None:
    bridge_db = create_database("bench_bridge")
    target.databases.append(bridge_db)
    legacy_db = create_database("bench_portal")
    target.databases.append(legacy_db)
    seed_legacy_portal(legacy_db, legacy_users, legacy_hash)
    mapping = workdir / "mapping.toml"
    mapping.write_text(LEGACY_MAPPING)
    env = clean_env(
        DJANGO_SETTINGS_MODULE="idp_bridge.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        BRIDGE_ISSUER=target.base_url,
        BRIDGE_USERNAME_DOMAIN="bench.example.edu",
        BRIDGE_KEY_ENCRYPTION_SECRET=secrets.token_urlsafe(40),
        BRIDGE_STATE_DIR=str(workdir),
        DATABASE_URL=bridge_db + (f"?{db_options}" if db_options else ""),
        LEGACY_DATABASE_URL=legacy_db,
        LEGACY_MAPPING=str(mapping),
    )
    env |= extra_env
    run([PYTHON, "manage.py", "bridge_migrate", "--noinput", "-v0"], env, ROOT)  # as bin/entrypoint
    run(
        [
            PYTHON,
            "manage.py",
            "register_client",
            "--client-id",
            CLIENT_ID,
            f"--client-secret={target.client_secret}",  # a secret may begin with "-"
            "--redirect-uri",
            REDIRECT_URI,
            "--trusted",
        ],
        env,
        ROOT,
    )
    target.service = Service(
        "bridge",
        server.bridge_args(),
        env | server.bridge_env(target.port, workdir),
        ROOT,
        workdir / "server.log",
    )


# --- stock django-oauth-toolkit --------------------------------------------------------------------
def stock_dot(workdir: Path, server: ServerConfig, users: int, django_bcrypt_hash: str) -> Target:
    """A minimal DOT OIDC project generated from benchmarks/peers/stock_dot with startproject."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = Target(
        name="dot",
        label="stock DOT",
        workdir=workdir,
        discovery="/o/.well-known/openid-configuration",
        jwks="/o/.well-known/jwks.json",
        authorize="/o/authorize/",
        token="/o/token/",
        userinfo="/o/userinfo/",
        introspect="/o/introspect/",
        login_field="username",
        hash_scheme="bcrypt cost 10 (Django bcrypt, PostgreSQL); client secret PBKDF2-SHA256 1,000,000 (DOT default)",
    )
    try:
        _set_up_stock_dot(target, workdir, server, users, django_bcrypt_hash)
    except BaseException:
        target.cleanup()
        raise
    return target


def _set_up_stock_dot(
    target: Target, workdir: Path, server: ServerConfig, users: int, django_bcrypt_hash: str
) -> None:
    project = workdir / "stockdot"
    project.mkdir()
    run(
        [
            PYTHON,
            "-m",
            "django",
            "startproject",
            "--template",
            str(PEERS / "stock_dot"),
            "stockdot",
            str(project),
        ],
        clean_env(),
        ROOT,  # not the parent of the new project: startproject refuses a name it can import
    )
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = workdir / "oidc.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    db = create_database("bench_dot")
    target.databases.append(db)
    env = clean_env(PEER_DATABASE_URL=db, PEER_RSA_KEY_FILE=str(key_file))
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env, project)
    run(
        [
            PYTHON,
            "-m",
            "stockdot.setup_peer",
            str(users),
            CLIENT_ID,
            target.client_secret,
            REDIRECT_URI,
            django_bcrypt_hash,
        ],
        env,
        project,
    )
    target.service = Service(
        "stock DOT",
        server.args("stockdot.wsgi:application", target.port),
        env,
        project,
        workdir / "server.log",
    )


# --- panva/oidc-provider ---------------------------------------------------------------------------
def node_modules(cache_root: Path) -> Path:
    """`npm ci` of benchmarks/peers/node into a directory keyed by the lock file (reused if present)."""
    source = PEERS / "node"
    lock = (source / "package-lock.json").read_bytes()
    directory = cache_root / f"node-{hashlib.sha256(lock).hexdigest()[:12]}"
    if not (directory / "node_modules" / ".package-lock.json").exists():
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(source / name, directory / name)
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], clean_env(), directory)
    shutil.copy(source / "server.mjs", directory / "server.mjs")
    return directory


def node_peer(workdir: Path, cache_root: Path, users: int, bcrypt_hash: str) -> Target:
    workdir.mkdir(parents=True, exist_ok=True)
    target = Target(
        name="node",
        label="oidc-provider",
        workdir=workdir,
        discovery="/.well-known/openid-configuration",
        jwks="/jwks",
        authorize="/auth",
        token="/token",
        userinfo="/me",
        introspect="/token/introspection",
        login_field="login",
        hash_scheme="bcrypt cost 10 (npm bcrypt, in memory)",
    )
    directory = node_modules(cache_root)
    setup = workdir / "accounts.json"
    setup.write_text(
        json.dumps(
            {
                "client": {
                    "client_id": CLIENT_ID,
                    "client_secret": target.client_secret,
                    "redirect_uri": REDIRECT_URI,
                },
                "password_hash": bcrypt_hash,
                "users": users,
                "cookie_key": secrets.token_urlsafe(32),
            }
        )
    )
    env = clean_env(NODE_ENV="production")
    target.service = Service(
        "oidc-provider",
        ["node", "server.mjs", str(target.port), str(setup)],
        env,
        directory,
        workdir / "server.log",
    )
    version = json.loads((directory / "node_modules" / "oidc-provider" / "package.json").read_text())[
        "version"
    ]
    target.label = "oidc-provider"
    target.notes.append(f"oidc-provider {version}, one Node.js process, in-memory store")
    return target


# --- the static ceiling ----------------------------------------------------------------------------
def static_ceiling(
    workdir: Path, server: ServerConfig, body: bytes, headers: list[tuple[str, str]] | None = None
) -> Target:
    """The cheapest response the same server stack can give: gunicorn and a bare WSGI callable
    answering with the bridge's discovery document, its body and its headers."""
    workdir.mkdir(parents=True, exist_ok=True)
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    headers_file = workdir / "headers.json"
    headers_file.write_text(json.dumps(headers or []))
    target = Target(
        name="static",
        label="static ceiling",
        workdir=workdir,
        discovery="/static",
        jwks="/static",
        authorize="",
        token="",
        userinfo="",
        introspect="",
        login_field="",
        hash_scheme="",
    )
    env = clean_env(
        STATIC_BODY_FILE=str(body_file),
        STATIC_HEADERS_FILE=str(headers_file),
        PYTHONPATH=str(ROOT / "benchmarks"),
    )
    target.service = Service(
        "static",
        server.args("sbs.static_app:application", target.port),
        env,
        ROOT,
        workdir / "server.log",
    )
    return target
