"""The deployment files describe a bridge that can actually start (Docker does not run here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = [
    "DJANGO_SECRET_KEY",
    "BRIDGE_ISSUER",
    "BRIDGE_USERNAME_DOMAIN",
    "BRIDGE_KEY_ENCRYPTION_SECRET",
    "LEGACY_DATABASE_URL",
    "LEGACY_MAPPING",
]


def test_compose_runs_the_bridge_on_postgresql_after_the_database_is_healthy():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    bridge, db = compose["services"]["bridge"], compose["services"]["db"]
    assert db["image"].startswith("postgres:") and "healthcheck" in db
    assert bridge["depends_on"]["db"]["condition"] == "service_healthy"
    assert bridge["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert bridge["env_file"] == ".env"


def test_env_example_names_every_required_setting():
    names = {
        line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line
    }
    assert set(REQUIRED) <= names


def test_image_contains_every_package_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("idp_bridge", "accounts", "oidc", "templates", "bin", "manage.py", "constraints.txt"):
        assert f"COPY {package}" in dockerfile or package in dockerfile.split("COPY", 1)[1]
    assert "USER bridge" in dockerfile
    entrypoint = (ROOT / "bin" / "entrypoint").read_text()
    assert "migrate" in entrypoint and "check --deploy" in entrypoint and "gunicorn" in entrypoint
