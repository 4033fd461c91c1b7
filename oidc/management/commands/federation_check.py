"""Check, from the outside, everything Globus Auth needs from this bridge (oidc.federation)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oidc import federation


class Command(BaseCommand):
    help = (
        "Fetch this bridge's discovery document and JWKS from BRIDGE_ISSUER and check what Globus Auth "
        "needs: issuer, endpoints, keys, the Globus client and (with --user) one user's claims. "
        "Exits non-zero on any failure; each failure names its fix."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user", help="A legacy username: print the ID token and userinfo claims Globus would receive."
        )
        parser.add_argument(
            "--client-id",
            help="The client registered for Globus (default: any client with Globus Auth's redirect URI).",
        )
        parser.add_argument(
            "--issuer",
            help="Check the bridge at this URL instead of BRIDGE_ISSUER (e.g. the public URL Globus is given).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--timeout", type=float, default=10, help="Seconds per HTTP request (default 10)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = federation.run(
            issuer=options["issuer"] or settings.BRIDGE_ISSUER,
            user=options["user"],
            client_id=options["client_id"],
            timeout=options["timeout"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.print_checklist(report)
        failed = sum(check.status == federation.FAIL for check in report.checks)
        if failed:
            raise CommandError(f"{failed} check(s) failed: Globus Auth cannot federate this bridge yet.")

    def print_checklist(self, report: federation.Report) -> None:
        out = self.stdout.write
        out(f"Federation check of {report.issuer} for Globus Auth")
        out(f"  discovery: {report.discovery_url}")
        style = {
            federation.PASS: self.style.SUCCESS,
            federation.FAIL: self.style.ERROR,
            federation.SKIP: self.style.WARNING,
        }
        for check in report.checks:
            out(f"{style[check.status](check.status)}  {check.name}: {check.detail}")
            if check.fix and check.status != federation.PASS:
                out(f"      fix: {check.fix}")
        if report.id_token is not None:
            out("")
            scopes = " ".join(federation.GLOBUS_SCOPES)
            out(f"ID token claims Globus would receive (scopes {scopes}):")
            out(json.dumps(report.id_token, indent=2, ensure_ascii=False))
            out("Userinfo claims (the same user claims, for the same grant):")
            out(json.dumps(report.userinfo, indent=2, ensure_ascii=False))
        counts = {s: sum(c.status == s for c in report.checks) for s in style}
        out("")
        out(", ".join(f"{n} {s}" for s, n in counts.items()))
