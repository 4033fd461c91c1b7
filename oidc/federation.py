"""What Globus Auth needs from this bridge, checked from the outside (``manage.py federation_check``).

The discovery document and the JWKS are fetched over HTTP from ``BRIDGE_ISSUER``, as Globus fetches
them, so a proxy, a wrong host name or another server answering there is caught. The Globus client
and one user's claims are read from the bridge's own tables and the legacy database (read-only:
nothing here writes). Every failure names its fix.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from django.conf import settings
from jwcrypto import jwk
from jwcrypto.common import JWException

from accounts import ledger
from accounts.audit_report import LOCAL_PART, problems_of, scheme_of
from accounts.authentication import copy_claims
from accounts.hashers import known_schemes
from accounts.legacy import (
    DuplicateLegacyUser,
    LegacyRowUnreadable,
    LegacySourceUnavailable,
    LegacyUser,
    get_user_source,
)
from accounts.models import Profile, Subject
from idp_bridge.net import is_loopback
from oidc import keys
from oidc.claims import released_claims
from oidc.clients import GLOBUS_CALLBACK
from oidc.models import Application, SigningKey

PASS: Final = "PASS"
FAIL: Final = "FAIL"
SKIP: Final = "SKIP"

# What Globus Auth asks an identity provider for (see docs/globus.md for the sources).
GLOBUS_SCOPES: Final = ("openid", "profile", "email")
GLOBUS_AUTH_METHODS: Final = ("client_secret_basic", "client_secret_post")
REQUIRED_ENDPOINTS: Final = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
REQUIRED_CLAIMS: Final = ("sub", "preferred_username", "name", "email", "organization")
GLOBUS_CLIENT_FIX: Final = "manage.py register_client --preset globus --client-id globus --generate-secret"
NOT_YET_MINTED: Final = "(minted at the first sign-in)"
DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
# A legacy account's problems (accounts.audit_report) that leave out a claim Globus maps.
_MISSING_CLAIM_PROBLEMS: Final = {"no_email": "email", "no_name": "name", "no_organization": "organization"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str
    fix: str = ""


@dataclass
class Report:
    issuer: str
    discovery_url: str
    checks: list[Check] = field(default_factory=list)
    globus_client_id: str | None = None
    id_token: dict[str, object] | None = None
    userinfo: dict[str, object] | None = None

    @property
    def ok(self) -> bool:
        return all(check.status != FAIL for check in self.checks)

    def as_dict(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "discovery_url": self.discovery_url,
            "ok": self.ok,
            "checks": [asdict(check) for check in self.checks],
            "globus_client_id": self.globus_client_id,
            "id_token": self.id_token,
            "userinfo": self.userinfo,
        }


class FetchError(Exception):
    """A document could not be fetched as JSON; the message says what happened."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is reported, not followed: Globus expects the document at this URL


def fetch_json(url: str, timeout: float) -> dict[str, object]:
    if urlsplit(url).scheme not in ("http", "https"):  # jwks_uri comes from the fetched document
        raise FetchError(f"{url!r} is not an http(s) URL")
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310  (checked above)
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        where = f" to {exc.headers.get('Location')}" if exc.headers.get("Location") else ""
        raise FetchError(f"{url} answered HTTP {exc.code}{where}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url} did not answer: {reason}") from None
    try:
        value = json.loads(body)
    except ValueError:
        raise FetchError(f"{url} did not answer with JSON") from None
    if not isinstance(value, dict):
        raise FetchError(f"{url} answered with JSON that is not an object")
    return value


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + DISCOVERY_PATH


# --- transport ----------------------------------------------------------------------------------
def check_https(issuer: str) -> Check:
    parts = urlsplit(issuer)
    if parts.scheme == "https":
        if parts.hostname and is_loopback(parts.hostname):
            return Check(
                "https issuer",
                SKIP,
                f"{issuer} is https but on loopback: Globus Auth cannot reach it (fine for a local test).",
            )
        return Check("https issuer", PASS, f"{issuer} uses https")
    return Check(
        "https issuer",
        SKIP,
        f"{issuer} is http (development or demo): Globus Auth accepts only an https issuer it can reach.",
        "In production set BRIDGE_ISSUER to the public https URL, e.g. https://idp.example.edu.",
    )


# --- discovery ----------------------------------------------------------------------------------
_DISCOVERY_FIX: Final = (
    "The bridge writes this document from BRIDGE_ISSUER (oidc/discovery.py); if it says otherwise, "
    "another server or a stale proxy cache answers at this URL: check the proxy in front of the bridge."
)


def _includes(doc: Mapping[str, object], member: str, wanted: Sequence[str]) -> list[str]:
    """The values of ``wanted`` missing from the list ``doc[member]``."""
    present = doc.get(member)
    values = present if isinstance(present, list) else []
    return [value for value in wanted if value not in values]


def check_discovery(issuer: str, doc: Mapping[str, object], configured: str | None = None) -> list[Check]:
    """``issuer``: the URL the document was fetched under; ``configured``: BRIDGE_ISSUER here."""
    configured = issuer if configured is None else configured
    found = [_check_issuer(issuer, doc.get("issuer"), configured)]
    missing_endpoints = [m for m in REQUIRED_ENDPOINTS if not isinstance(doc.get(m), str) or not doc.get(m)]
    insecure = [
        m
        for m in REQUIRED_ENDPOINTS
        if urlsplit(issuer).scheme == "https" and str(doc.get(m, "")).startswith("http:")
    ]
    if missing_endpoints or insecure:
        problem = (
            f"missing {', '.join(missing_endpoints)}" if missing_endpoints else f"http: {', '.join(insecure)}"
        )
        found.append(Check("discovery endpoints", FAIL, problem, _DISCOVERY_FIX))
    else:
        found.append(Check("discovery endpoints", PASS, ", ".join(str(doc[m]) for m in REQUIRED_ENDPOINTS)))
    for name, member, wanted in (
        ("response types", "response_types_supported", ["code"]),
        ("subject types", "subject_types_supported", ["public"]),
        ("signing algorithm", "id_token_signing_alg_values_supported", [keys.SIGNING_ALGORITHM]),
        ("scopes", "scopes_supported", list(GLOBUS_SCOPES)),
        ("claims", "claims_supported", list(REQUIRED_CLAIMS)),
    ):
        missing = _includes(doc, member, wanted)
        if missing:
            found.append(Check(name, FAIL, f"{member} lacks {', '.join(missing)}", _DISCOVERY_FIX))
        else:
            found.append(Check(name, PASS, f"{member} includes {', '.join(wanted)}"))
    advertised = [
        m for m in GLOBUS_AUTH_METHODS if not _includes(doc, "token_endpoint_auth_methods_supported", [m])
    ]
    if advertised:
        found.append(
            Check(
                "client authentication",
                PASS,
                f"token_endpoint_auth_methods_supported includes {', '.join(advertised)}",
            )
        )
    else:
        found.append(
            Check(
                "client authentication",
                FAIL,
                f"token_endpoint_auth_methods_supported has neither {' nor '.join(GLOBUS_AUTH_METHODS)}",
                _DISCOVERY_FIX,
            )
        )
    return found


def _check_issuer(issuer: str, served: object, configured: str) -> Check:
    if served == issuer == configured:
        return Check("discovery issuer", PASS, f"issuer is exactly {issuer}")
    if served != issuer:
        detail = (
            f"the document under {issuer} says issuer {served!r}: Globus requires the two to be equal, "
            "character for character, and rejects the ID tokens otherwise"
        )
    else:
        detail = f"the document says issuer {served!r}, but BRIDGE_ISSUER here is {configured!r}"
    if served == configured:
        fix = (
            f"Give Globus the discovery URL under BRIDGE_ISSUER, {discovery_url(configured)}, or set "
            f"BRIDGE_ISSUER={issuer} for the bridge and restart it."
        )
    else:
        fix = (
            "Run the bridge and this command with the same BRIDGE_ISSUER (the public URL Globus is given, "
            "no trailing slash), then restart the bridge."
        )
    return Check("discovery issuer", FAIL, detail, fix)


# --- JWKS ---------------------------------------------------------------------------------------
_KEY_FIX: Final = (
    "The bridge publishes only keys it made (RS256, kid, use=sig): run `manage.py rotate_keys` to see "
    "them; replace a damaged one with `rotate_keys --prepublish`, then `rotate_keys --activate` 10 "
    "minutes later (docs/operations.md#rotate-signing-keys). If the table is right, a proxy serves "
    "another JWKS."
)


def _key_problems(key: object) -> list[str]:
    if not isinstance(key, dict):
        return ["not a JSON object"]
    problems = []
    if key.get("kty") != "RSA":
        problems.append(f"kty is {key.get('kty')!r}, not RSA")
    if not key.get("kid"):
        problems.append("no kid")
    if key.get("use") != "sig":
        problems.append(f"use is {key.get('use')!r}, not sig")
    if key.get("alg", keys.SIGNING_ALGORITHM) != keys.SIGNING_ALGORITHM:
        problems.append(f"alg is {key.get('alg')!r}, not RS256")
    if any(private in key for private in ("d", "p", "q")):
        problems.append("it contains PRIVATE key material")
    return problems


def check_jwks(jwks: Mapping[str, object]) -> list[Check]:
    published = jwks.get("keys")
    if not isinstance(published, list) or not published:
        return [Check("JWKS keys", FAIL, "the JWKS has no keys", _KEY_FIX)]
    problems = []
    for index, key in enumerate(published):
        kid = key.get("kid") if isinstance(key, dict) else None
        problems += [f"key {index + 1} ({kid or 'no kid'}): {p}" for p in _key_problems(key)]
    kids = [key.get("kid") for key in published if isinstance(key, dict)]
    if len(set(kids)) != len(kids):
        problems.append("two keys share a kid")
    found = [
        Check("JWKS keys", FAIL, "; ".join(problems), _KEY_FIX)
        if problems
        else Check("JWKS keys", PASS, f"{len(published)} RSA key(s) for RS256, each with kid and use=sig")
    ]
    found.append(_check_active_key_first(published[0]))
    return found


def _thumbprint(key: object) -> str | None:
    try:
        return jwk.JWK(**key).thumbprint() if isinstance(key, dict) else None
    except (JWException, ValueError, TypeError):  # a malformed key is simply not the active one
        return None


def _check_active_key_first(first: object) -> Check:
    # Read from the key table, public half only: no key is created and none is decrypted here.
    active = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).first()
    if active is None:
        return Check(
            "active key first",
            FAIL,
            "this database has no active signing key, yet the bridge served a JWKS",
            "Run this command with the bridge's own DATABASE_URL (bin/entrypoint manage federation_check).",
        )
    first_kid = first.get("kid") if isinstance(first, dict) else None
    if first_kid == active.kid and _thumbprint(first) == _thumbprint(active.public_jwk):
        return Check("active key first", PASS, f"the first key is the active signing key {active.kid}")
    return Check(
        "active key first",
        FAIL,
        f"the first key is {first_kid!r}, but ID tokens are signed with {active.kid}: clients that use "
        "only the first key (globus-sdk among them) would reject them",
        "After a rotation every instance serves the new JWKS within 30 s: run this again. If it "
        "persists, the proxy caches the JWKS too long or an instance uses another database.",
    )


# --- the Globus client --------------------------------------------------------------------------
def globus_clients(client_id: str | None) -> list[Application]:
    if client_id:
        return list(Application.objects.filter(client_id=client_id))
    return [
        app
        for app in Application.objects.order_by("client_id")
        if GLOBUS_CALLBACK in app.redirect_uris.split()
    ]


def _near_misses() -> list[Application]:
    """Clients that look meant for Globus but lack its exact callback (a typo, a trailing slash)."""
    return [
        app
        for app in Application.objects.order_by("client_id")
        if "globus" in f"{app.client_id} {app.name} {app.redirect_uris}".lower()
    ]


def _no_globus_client(client_id: str | None) -> Check:
    if client_id:
        fix = GLOBUS_CLIENT_FIX.replace("--client-id globus", f"--client-id {client_id}")
        return Check("Globus client", FAIL, f"no client {client_id!r} is registered", fix)
    misses = _near_misses()
    if misses:
        miss = misses[0]
        detail = (
            f"client {miss.client_id!r} has redirect URI(s) {miss.redirect_uris or '(none)'}, not exactly "
            f"{GLOBUS_CALLBACK}"
        )
        return Check(
            "Globus client",
            FAIL,
            detail,
            f"manage.py register_client --preset globus --client-id {miss.client_id}",
        )
    detail = f"no client has Globus Auth's redirect URI {GLOBUS_CALLBACK}"
    return Check("Globus client", FAIL, detail, GLOBUS_CLIENT_FIX)


def _client_problems(app: Application, doc: Mapping[str, object]) -> list[str]:
    problems = []
    if GLOBUS_CALLBACK not in app.redirect_uris.split():
        problems.append(f"its redirect URI(s) {app.redirect_uris or '(none)'} lack {GLOBUS_CALLBACK}")
    if app.client_type != Application.CLIENT_CONFIDENTIAL or not app.client_secret:
        problems.append("it is not a confidential client with a secret")
    if app.authorization_grant_type != Application.GRANT_AUTHORIZATION_CODE:
        problems.append(f"its grant type is {app.authorization_grant_type}, not authorization-code")
    if app.algorithm != Application.RS256_ALGORITHM:
        problems.append(f"its ID token algorithm is {app.algorithm or 'none'}, not RS256")
    method = app.token_endpoint_auth_method
    advertised = doc.get("token_endpoint_auth_methods_supported")
    if method not in GLOBUS_AUTH_METHODS:
        problems.append(f"its token endpoint auth method is {method}, not one Globus uses")
    elif isinstance(advertised, list) and method not in advertised:
        problems.append(f"its auth method {method} is not in the discovery document")
    return problems


def check_globus_client(doc: Mapping[str, object], client_id: str | None) -> tuple[list[Check], str | None]:
    """The client Globus Auth signs in with, and its id (None if there is no usable one)."""
    apps = globus_clients(client_id)
    if not apps:
        return [_no_globus_client(client_id)], None
    app = apps[0]
    problems = _client_problems(app, doc)
    if problems:
        fix = f"manage.py register_client --preset globus --client-id {app.client_id}"
        if app.client_type != Application.CLIENT_CONFIDENTIAL or not app.client_secret:
            fix += " --generate-secret"
        return [Check("Globus client", FAIL, f"client {app.client_id!r}: " + "; ".join(problems), fix)], None
    consent = "consent page skipped (--trusted)" if app.skip_authorization else "consent page shown"
    detail = (
        f"client {app.client_id!r}: confidential, {app.token_endpoint_auth_method}, redirect URI "
        f"{GLOBUS_CALLBACK}, RS256, {consent}"
    )
    if len(apps) > 1:
        others = ", ".join(repr(other.client_id) for other in apps[1:])
        detail += f" (also on Globus's callback: {others}; name the one Globus uses with --client-id)"
    return [Check("Globus client", PASS, detail)], app.client_id


# --- one user's claims --------------------------------------------------------------------------
def _lookup(login: str) -> tuple[LegacyUser | None, Check | None]:
    fix_source = (
        "Check LEGACY_DATABASE_URL and that the portal database answers "
        "(docs/operations.md#troubleshoot-the-legacy-connection)."
    )
    try:
        legacy = get_user_source().get_by_login(login)
    except DuplicateLegacyUser as exc:
        return None, Check(
            "user",
            FAIL,
            f"several legacy accounts answer to {login!r} (legacy ids {', '.join(exc.legacy_ids)})",
            "Rename one in the portal, or give one a Username override in the admin (docs/identity.md).",
        )
    except LegacyRowUnreadable as exc:
        return None, Check("user", FAIL, f"the legacy row of {login!r} cannot be read: {exc}", fix_source)
    except LegacySourceUnavailable:
        return None, Check("user", FAIL, "the legacy database did not answer", fix_source)
    if legacy is None:
        return None, Check(
            "user",
            FAIL,
            f"no legacy account answers to {login!r}",
            "Give the username as typed on the login page; check LEGACY_DATABASE_URL and LEGACY_MAPPING "
            "(`manage.py legacy_audit` lists every account the mapping sees).",
        )
    return legacy, None


def _check_account(legacy: LegacyUser) -> list[Check]:
    found = []
    if legacy.is_active:
        found.append(Check("account state", PASS, f"legacy id {legacy.legacy_id} is active"))
    else:
        reason = f" ({legacy.state_reason})" if legacy.state_reason else ""
        found.append(
            Check(
                "account state",
                FAIL,
                f"legacy id {legacy.legacy_id} is {legacy.state}{reason}: it cannot sign in",
                "Reactivate the account in the portal, or check the state conditions in LEGACY_MAPPING.",
            )
        )
    scheme = scheme_of(legacy)
    if scheme in known_schemes():
        found.append(Check("password scheme", PASS, f"{scheme}, which the bridge verifies"))
    else:
        found.append(
            Check(
                "password scheme",
                FAIL,
                f"the stored password is {scheme}: the bridge cannot verify it",
                "See docs/legacy-mapping.md (password formats); `manage.py legacy_audit` counts every scheme.",
            )
        )
    missing = [
        _MISSING_CLAIM_PROBLEMS[p] for p in problems_of(legacy, scheme) if p in _MISSING_CLAIM_PROBLEMS
    ]
    if missing:
        found.append(
            Check(
                "claims Globus maps",
                FAIL,
                f"no {', '.join(missing)} in the legacy row: Globus receives the identity without it",
                "Fill it in in the portal, or map the column that holds it in LEGACY_MAPPING "
                "(docs/legacy-mapping.md).",
            )
        )
    else:
        found.append(Check("claims Globus maps", PASS, "name, email and organization are present"))
    return found


def _check_username(subject: Subject | None, legacy: LegacyUser, claims: Mapping[str, object]) -> Check:
    username = ledger.effective_username(subject, legacy.username)
    expected = f"{username}@{settings.BRIDGE_USERNAME_DOMAIN}".lower()
    claimed = claims.get("preferred_username")
    fix = (
        "Rename the account in the portal, or give it a Username override in the admin "
        "(docs/identity.md); check BRIDGE_USERNAME_DOMAIN."
    )
    if ledger.open_conflict(ledger.username_key(username)):
        return Check(
            "preferred_username",
            FAIL,
            f"{expected} is in an open username conflict: neither account may sign in",
            "Resolve it in the admin (Username conflicts, then Mark resolved); see docs/identity.md.",
        )
    if claimed != expected or claimed != str(claimed).lower():
        return Check("preferred_username", FAIL, f"is {claimed!r}, expected {expected!r}", fix)
    if not LOCAL_PART.match(username.lower()):
        return Check(
            "preferred_username",
            FAIL,
            f"{expected}: {username!r} cannot be the user part of a user@domain Globus username",
            fix,
        )
    return Check("preferred_username", PASS, f"{claimed} (user@domain, lower case)")


def _check_sub(subject: Subject | None, legacy: LegacyUser) -> Check:
    if subject is None:
        return Check(
            "sub",
            SKIP,
            f"legacy id {legacy.legacy_id} has not signed in yet, so no sub has been minted; it is "
            "minted once at the first sign-in and never changes",
            "Sign in once as this user (in the demo: /demo-rp/), then run this again to see the sub.",
        )
    leaks = {legacy.legacy_id, legacy.username, legacy.username.lower()}
    if subject.sub in leaks:
        return Check(
            "sub",
            FAIL,
            f"sub {subject.sub!r} reveals the legacy id or username",
            "A ledger row was edited by hand: restore it from backup (docs/operations.md#backup-and-restore).",
        )
    return Check(
        "sub",
        PASS,
        f"{subject.sub}: minted {subject.first_seen:%Y-%m-%d} for legacy id {legacy.legacy_id}, opaque, "
        "never reassigned",
    )


def check_user(login: str) -> tuple[list[Check], dict[str, object] | None]:
    """Checks of one user, and the claims userinfo would return (the ID token carries the same)."""
    legacy, problem = _lookup(login)
    if legacy is None:
        return [problem] if problem else [], None
    found = [Check("user", PASS, f"{login!r} is legacy id {legacy.legacy_id}")]
    found += _check_account(legacy)
    subject = ledger.live_subject(legacy.legacy_id)
    # An unsaved profile from the legacy row as it is now: what the next sign-in would copy.
    profile = Profile(subject=subject or Subject(legacy_id=legacy.legacy_id, sub=NOT_YET_MINTED))
    copy_claims(legacy, profile)
    userinfo = released_claims(profile, GLOBUS_SCOPES)
    found.append(_check_username(subject, legacy, userinfo))
    found.append(_check_sub(subject, legacy))
    return found, userinfo


def id_token_claims(issuer: str, client_id: str | None, userinfo: Mapping[str, object]) -> dict[str, object]:
    """The ID token Globus would receive: the same user claims, and the protocol claims of one sign-in."""
    lifetime = settings.ID_TOKEN_SECONDS
    return {
        "iss": issuer,
        "sub": userinfo.get("sub"),
        "aud": client_id or "(the Globus client id)",
        "iat": "(time of issue)",
        "exp": f"(time of issue + {lifetime} s)",
        "auth_time": "(time of the password check)",
        "nonce": "(the nonce Globus sent)",
        "at_hash": "(hash of the access token issued with it)",
        "jti": "(random, one per token)",
        "acr": settings.BRIDGE_ACR,
        "amr": ["pwd"],
        **userinfo,
    }


# --- all of it ----------------------------------------------------------------------------------
def run(
    *,
    issuer: str | None = None,
    user: str | None = None,
    client_id: str | None = None,
    timeout: float = 10,
) -> Report:
    """Every check. ``issuer``: the URL to check (default BRIDGE_ISSUER), e.g. the public URL that
    Globus will be given when this host's environment names another."""
    configured = settings.BRIDGE_ISSUER
    issuer = issuer or configured
    report = Report(issuer=issuer, discovery_url=discovery_url(issuer))
    report.checks.append(check_https(issuer))
    doc: dict[str, object] = {}
    try:
        doc = fetch_json(report.discovery_url, timeout)
    except FetchError as exc:
        report.checks.append(
            Check(
                "discovery document",
                FAIL,
                str(exc),
                "Start the bridge, and check that BRIDGE_ISSUER is the URL it answers at and that its "
                "host is in DJANGO_ALLOWED_HOSTS (or that the proxy forwards /.well-known/ to it).",
            )
        )
    else:
        report.checks.append(Check("discovery document", PASS, f"fetched {report.discovery_url}"))
        report.checks += check_discovery(issuer, doc, configured)
        report.checks += _jwks_checks(doc, timeout)
    client_checks, report.globus_client_id = check_globus_client(doc, client_id)
    report.checks += client_checks
    if user is not None:
        user_checks, userinfo = check_user(user)
        report.checks += user_checks
        if userinfo is not None:
            report.userinfo = userinfo
            report.id_token = id_token_claims(issuer, report.globus_client_id or client_id, userinfo)
    return report


def _jwks_checks(doc: Mapping[str, object], timeout: float) -> list[Check]:
    jwks_uri = doc.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        return [Check("JWKS", SKIP, "the discovery document names no jwks_uri (see above)")]
    try:
        jwks = fetch_json(jwks_uri, timeout)
    except FetchError as exc:
        return [
            Check("JWKS", FAIL, str(exc), "Check that the proxy forwards the jwks_uri path to the bridge.")
        ]
    return [Check("JWKS", PASS, f"fetched {jwks_uri}"), *check_jwks(jwks)]
