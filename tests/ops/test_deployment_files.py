"""The deployment files describe a stack that can start (Docker does not run here, so: structure).

The compose file, the image, the entrypoint, the nginx template and the examples must agree with
each other and with the settings the bridge reads: a variable nobody documented is a variable
campus IT cannot set.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from idp_bridge.deploy import SERVER_TEMPLATE, render

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = [
    "DJANGO_SECRET_KEY",
    "BRIDGE_ISSUER",
    "BRIDGE_USERNAME_DOMAIN",
    "BRIDGE_KEY_ENCRYPTION_SECRET",
    "LEGACY_DATABASE_URL",
    "LEGACY_MAPPING",
]
SETTING_READ = re.compile(
    r'env\.(?:required|optional|boolean|number|words|choice|networks)\(\s*"([A-Z0-9_]+)"'
)
OS_ENVIRON_READ = re.compile(r'environ\.get\(\s*"([A-Z0-9_]+)"')
SHELL_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-|\})")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def variables_the_bridge_reads() -> set[str]:
    names = set(SETTING_READ.findall((ROOT / "idp_bridge" / "settings.py").read_text()))
    for module in ("gunicorn_conf.py", "deploy.py"):
        names |= set(OS_ENVIRON_READ.findall((ROOT / "idp_bridge" / module).read_text()))
    names |= set(SHELL_READ.findall((ROOT / "bin" / "entrypoint").read_text()))
    return names - {"PROMETHEUS_MULTIPROC_DIR"}  # set by the entrypoint itself, never by hand


def test_compose_runs_postgresql_the_bridge_and_a_tls_proxy_in_order():
    services = compose()["services"]
    db, bridge, proxy = services["db"], services["bridge"], services["proxy"]
    assert db["image"].startswith("postgres:") and "healthcheck" in db
    assert bridge["depends_on"]["db"]["condition"] == "service_healthy"
    assert bridge["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert bridge["env_file"] == ".env"
    assert "/healthz" in " ".join(bridge["healthcheck"]["test"])
    # The proxy starts once the bridge is healthy, and is restarted when the bridge is replaced.
    assert proxy["depends_on"]["bridge"] == {"condition": "service_healthy", "restart": True}
    assert proxy["image"].startswith("nginx:")
    assert any(port.endswith(":443") for port in proxy["ports"])
    assert "/healthz" in " ".join(proxy["healthcheck"]["test"])
    for service in services.values():
        assert service["restart"] == "unless-stopped"


def test_compose_runs_the_bridge_unprivileged_and_read_only_behind_the_proxy():
    bridge = compose()["services"]["bridge"]
    assert bridge["user"] == "10001:10001"
    assert bridge["read_only"] is True and bridge["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in bridge["security_opt"]
    assert any(mount.startswith("/srv/idp-bridge/var") for mount in bridge["tmpfs"])
    assert bridge["environment"]["BRIDGE_BEHIND_PROXY"] == "true"
    # Its own port is published on the host's loopback only (metrics); the world goes through TLS.
    assert all(port.startswith("127.0.0.1:") for port in bridge["ports"])


def test_compose_shares_one_certificate_between_the_bridge_and_the_proxy():
    services = compose()["services"]
    tls_dir = services["bridge"]["environment"]["BRIDGE_TLS_DIR"]
    bridge_mount = next(m for m in services["bridge"]["volumes"] if m.endswith(":" + tls_dir))
    proxy_mount = next(m for m in services["proxy"]["volumes"] if ":/etc/nginx/tls" in m)
    assert bridge_mount.split(":")[0] == proxy_mount.split(":")[0]  # the same volume (or directory)
    env = services["proxy"]["environment"]
    assert env["TLS_CERT"] == "/etc/nginx/tls/cert.pem" and env["TLS_KEY"] == "/etc/nginx/tls/key.pem"
    assert "tls" in compose()["volumes"]


def test_the_proxy_service_provides_every_placeholder_of_the_nginx_template():
    services = compose()["services"]
    template_mount = next(m for m in services["proxy"]["volumes"] if "templates" in m)
    source = template_mount.split(":")[0]
    assert (ROOT / source).resolve() == SERVER_TEMPLATE
    render(SERVER_TEMPLATE.read_text(), {k: str(v) for k, v in services["proxy"]["environment"].items()})


def test_the_nginx_template_is_valid_nginx(tmp_path):
    from tests.ops.stack import nginx_binary

    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
    from idp_bridge.deploy import ensure_self_signed, native_nginx_conf

    ensure_self_signed(tmp_path / "tls", ["idp.example.edu"])
    conf = native_nginx_conf(
        tmp_path / "nginx",
        {
            "BRIDGE_STATE_DIR": str(tmp_path),
            "BRIDGE_ISSUER": "https://idp.example.edu",
            "BIND": "0.0.0.0:8000",
            "BRIDGE_PROXY_LISTEN": "127.0.0.1:8443",
        },
    )
    text = (tmp_path / "nginx" / "bridge.conf").read_text()
    assert "server 127.0.0.1:8000" in text and "return 301 https://idp.example.edu$request_uri" in text
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path / "nginx"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_env_example_names_every_setting_and_leaves_every_secret_empty():
    lines = (ROOT / ".env.example").read_text().splitlines()
    names = {line.lstrip("#").split("=", 1)[0] for line in lines if re.match(r"^#?[A-Z][A-Z0-9_]*=", line)}
    assert set(REQUIRED) <= names
    missing = variables_the_bridge_reads() - names - {"PYTHON", "NGINX"}
    assert not missing, f".env.example does not mention {sorted(missing)}"
    for secret in ("POSTGRES_PASSWORD", "DJANGO_SECRET_KEY", "BRIDGE_KEY_ENCRYPTION_SECRET"):
        assert f"{secret}=\n" in "\n".join(lines) + "\n", f"{secret} must have no example value"


def test_configuration_docs_describe_every_variable_the_bridge_reads():
    docs = (ROOT / "docs" / "configuration.md").read_text()
    missing = {name for name in variables_the_bridge_reads() if f"`{name}`" not in docs}
    assert not missing, f"docs/configuration.md does not describe {sorted(missing)}"


def test_image_contains_every_package_and_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in (
        "idp_bridge",
        "accounts",
        "oidc",
        "audit",
        "templates",
        "locale",
        "bin",
        "manage.py",
        "constraints.txt",
    ):
        assert re.search(rf"^COPY .*\b{re.escape(package)}\b", dockerfile, re.M), package
    user = re.search(r"^USER (\S+)", dockerfile, re.M)
    assert user and not user.group(1).startswith(("0", "root"))
    assert 'ENTRYPOINT ["bin/entrypoint"]' in dockerfile and "HEALTHCHECK" in dockerfile


def test_entrypoint_checks_migrates_and_serves():
    entrypoint = (ROOT / "bin" / "entrypoint").read_text()
    order = [entrypoint.index(step) for step in ("manage.py check --deploy", "bridge_migrate", "-m gunicorn")]
    assert order == sorted(order)
    assert "--tag security --fail-level WARNING" in entrypoint  # a security warning stops the start
    assert (ROOT / "bin" / "entrypoint").stat().st_mode & 0o111


def test_no_private_key_or_certificate_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()
    for path in tracked:
        if path.endswith((".pem", ".key", ".crt", ".p12")):
            pytest.fail(f"{path} is committed: certificates and keys are made at start, never committed")
    ignored = (ROOT / ".gitignore").read_text()
    assert "*.pem" in ignored and "*.key" in ignored


def test_with_env_loads_the_systemd_environment_file_for_cron(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("# settings\n\nBRIDGE_ISSUER=https://idp.example.edu\nODD=a b=c 'd'\n")
    result = subprocess.run(
        [str(ROOT / "bin" / "with-env"), str(env_file), "sh", "-c", 'printf "%s|%s" "$BRIDGE_ISSUER" "$ODD"'],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert result.stdout == "https://idp.example.edu|a b=c 'd'"  # literally, no shell expansion
    env_file.write_text("not a setting\n")
    refused = subprocess.run(
        [str(ROOT / "bin" / "with-env"), str(env_file), "true"], capture_output=True, timeout=10
    )
    assert refused.returncode != 0


def test_gunicorn_builds_no_access_log_line_of_its_own(caplog):
    """With logconfig_dict set, stock gunicorn builds every access line and then drops it; the
    bridge's logger class skips it (the bridge writes its own access log)."""
    from gunicorn.config import Config

    from idp_bridge import gunicorn_conf

    config = Config()
    config.set("logconfig_dict", gunicorn_conf.logconfig_dict)
    logger = gunicorn_conf.logger_class(config)
    assert logger.access_log_enabled is False
    with caplog.at_level("DEBUG", logger="gunicorn.access"):
        logger.access(None, None, {}, None)  # would raise building atoms from these, were it to try
    assert not caplog.records
