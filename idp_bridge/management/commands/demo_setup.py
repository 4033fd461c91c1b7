"""Demo mode only: create the demo portal database and the demo relying party, then say how to use them."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.legacy import reset_user_source
from accounts.legacy.demo import DEMO_USERS, create_demo_database
from oidc.clients import GLOBUS_CALLBACK, ClientRegistration, register_client
from oidc.models import Application

DEMO_CLIENT_ID = "demo-rp"
DEMO_GLOBUS_CLIENT_ID = "globus"


def demo_client_file() -> Path:
    return Path(settings.STATE_DIR) / "demo-client.json"


def demo_client_secret() -> str:
    return str(json.loads(demo_client_file().read_text())["client_secret"])


class Command(BaseCommand):
    help = "Create the demo legacy portal database and demo client (BRIDGE_DEMO only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.BRIDGE_DEMO:
            raise CommandError("demo_setup runs only with BRIDGE_DEMO=true (it creates demo accounts).")
        legacy_path = Path(settings.LEGACY_DATABASE_URL.removeprefix("sqlite:///"))
        create_demo_database(legacy_path)
        reset_user_source()
        secret_file = demo_client_file()
        if secret_file.exists():
            secret = demo_client_secret()
        else:
            secret = secrets.token_urlsafe(48)
            secret_file.write_text(json.dumps({"client_id": DEMO_CLIENT_ID, "client_secret": secret}))
            secret_file.chmod(0o600)
        issuer = settings.BRIDGE_ISSUER
        register_client(
            ClientRegistration(
                client_id=DEMO_CLIENT_ID,
                name="Demo relying party",
                redirect_uris=[issuer + reverse("demo_rp:callback")],
                post_logout_redirect_uris=[issuer + reverse("demo_rp:home")],
                client_secret=secret,
            )
        )
        globus_created = self.register_globus_client()
        self.print_summary(issuer, secret, globus_created)

    def register_globus_client(self) -> bool:
        """Globus Auth's client, as `register_client --preset globus` registers it in production, so
        that `federation_check` has the whole picture. Globus cannot reach a loopback issuer, so its
        secret is of no use here: it is generated, stored hashed and never shown."""
        if Application.objects.filter(client_id=DEMO_GLOBUS_CLIENT_ID).exists():
            return False
        register_client(
            ClientRegistration.globus_preset(
                client_id=DEMO_GLOBUS_CLIENT_ID, client_secret=secrets.token_urlsafe(48)
            )
        )
        return True

    def print_summary(self, issuer: str, secret: str, globus_created: bool) -> None:
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS("idp-bridge demo is ready"))
        out(f"  Issuer:         {issuer}")
        out(f"  Discovery:      {issuer}{reverse('oidc:discovery')}")
        out(f"  Try it:         {issuer}{reverse('demo_rp:home')}  (a built-in relying party)")
        out(f"  Demo client:    client_id={DEMO_CLIENT_ID}  client_secret={secret}")
        out(
            f"  Globus client:  client_id={DEMO_GLOBUS_CLIENT_ID}  redirect_uri={GLOBUS_CALLBACK}"
            f"{'  (registered now)' if globus_created else ''}"
        )
        out("  Self-check:     manage.py federation_check --user alice  (docs/globus.md)")
        out("  Demo users (from the demo legacy database):")
        for user in DEMO_USERS:
            out(f"    {user.username:<6} {user.password!r}")
            out(f"           {user.scheme_description}")
        out("")
