"""Register or update a relying party without a browser: safe to run again with new values."""

from __future__ import annotations

import secrets
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oidc.clients import ClientRegistration, RegistrationError, register_client


class Command(BaseCommand):
    help = "Create or update an OpenID Connect client (idempotent: re-running updates it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--name")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        parser.add_argument(
            "--post-logout-redirect-uri", action="append", default=[], dest="post_logout_uris"
        )
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument(
            "--client-secret", help="Prefer --client-secret-stdin: arguments show up in `ps`."
        )
        secret.add_argument(
            "--client-secret-stdin", action="store_true", help="Read the secret from standard input."
        )
        secret.add_argument(
            "--generate-secret", action="store_true", help="Generate a secret and print it once."
        )
        parser.add_argument(
            "--auth-method",
            choices=["client_secret_basic", "client_secret_post"],
            default="client_secret_basic",
        )
        parser.add_argument(
            "--public", action="store_true", help="A public client: no secret, PKCE required."
        )
        parser.add_argument("--trusted", action="store_true", help="Skip the consent page for this client.")
        parser.add_argument(
            "--preset", choices=["globus"], help="globus: Globus Auth's callback, confidential."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        secret = options["client_secret"]
        if options["client_secret_stdin"]:
            secret = sys.stdin.readline().rstrip("\n")
        generated = options["generate_secret"]
        if generated:
            secret = secrets.token_urlsafe(48)
        values = {
            "client_id": options["client_id"],
            "name": options["name"] or options["client_id"],
            "redirect_uris": options["redirect_uris"],
            "client_secret": secret,
            "public": options["public"],
            "trusted": options["trusted"],
            "auth_method": options["auth_method"],
            "post_logout_redirect_uris": options["post_logout_uris"],
        }
        if options["preset"] == "globus":
            if not options["name"]:
                values.pop("name")
            registration = ClientRegistration.globus_preset(**values)
        else:
            registration = ClientRegistration(**values)
        try:
            app, created = register_client(registration)
        except RegistrationError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Registered" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} client {app.client_id!r} ({app.client_type}, {app.token_endpoint_auth_method})."
            )
        )
        for uri in app.redirect_uris.split():
            self.stdout.write(f"  redirect URI: {uri}")
        if generated:
            self.stdout.write(f"  client secret (shown once, stored hashed): {secret}")
