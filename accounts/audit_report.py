"""A dry run over the whole legacy database: what will work, what will not, and why.

Used by ``manage.py legacy_audit``. It reads the legacy database through the same mapping as the
login page, and changes nothing unless asked to record conflicts and tombstones.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from accounts.hashers import describe_scheme, identify_scheme, known_schemes, verify_password
from accounts.ledger import username_key
from accounts.legacy import LegacyUser

# An email-style local part (RFC 5322 dot-atom): what `user@domain` can carry as a Globus username.
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
MARKERS = {"", "!", "*", "x", "not cached"}


@dataclass
class AccountProblem:
    legacy_id: str
    username: str
    problems: list[str]


@dataclass
class AuditReport:
    total: int = 0
    states: Counter[str] = field(default_factory=Counter)
    schemes: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)
    accounts: list[AccountProblem] = field(default_factory=list)
    collisions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    unreadable_rows: list[str] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set, repr=False)

    @property
    def unsupported_schemes(self) -> dict[str, int]:
        supported = set(known_schemes())
        return {name: n for name, n in self.schemes.items() if name not in supported}

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "states": dict(self.states),
            "schemes": dict(self.schemes),
            "unsupported_schemes": self.unsupported_schemes,
            "missing_claims": dict(self.missing),
            "collisions": {
                key: [{"legacy_id": i, "username": u} for i, u in rows]
                for key, rows in self.collisions.items()
            },
            "accounts_needing_attention": [a.__dict__ for a in self.accounts],
            "unreadable_rows": self.unreadable_rows,
        }


UNVERIFIABLE = {"unknown_format", "malformed_hash", "unsupported_scheme", "no_hash"}
_PROBE = "legacy-audit-probe"  # never a real password: only the reason of the answer is read


def scheme_of(user: LegacyUser) -> str:
    """The scheme a row's hash will be verified with, or why it cannot be.

    Identification alone can be wrong (a DES hash inside {CRYPT}, an md5 row under an explicit
    sha1_hex), so hashes that are cheap to verify are verified against a probe password, and
    {CRYPT} is looked inside; costly schemes are trusted to their (unambiguous) format.
    """
    from accounts.authentication import hash_context

    stored = user.password_hash
    if stored is None or stored.strip() in MARKERS or stored.startswith(("!", "*")):
        return "(no password)"
    context = hash_context(user)
    name = user.password_scheme or identify_scheme(stored, context=context)
    if name is None:
        return "(unknown format)"
    info = describe_scheme(name)
    if name == "ldap_crypt" and identify_scheme(stored[len("{CRYPT}") :]) is None:
        return f"(unsupported: {name} with an unknown inner format)"
    if info is not None and not info.has_work_factor:
        reason = verify_password(_PROBE, stored, scheme=user.password_scheme, context=context).reason
        if reason in UNVERIFIABLE:
            return f"(unsupported: {name} {reason})"
    return name


def problems_of(user: LegacyUser, scheme: str) -> list[str]:
    found = []
    if not user.email:
        found.append("no_email")
    if not (user.name or user.given_name or user.family_name):
        found.append("no_name")
    if not user.organization:
        found.append("no_organization")
    if not LOCAL_PART.match(user.username.lower()):
        found.append("username_not_valid_in_user@domain")
    if scheme not in known_schemes():
        found.append(f"password_scheme:{scheme}")
    return found


def audit_users(users: Iterable[LegacyUser], progress: Callable[[int], None] | None = None) -> AuditReport:
    report = AuditReport()
    by_key: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for user in users:
        report.total += 1
        report.seen_ids.add(user.legacy_id)
        report.states[user.state] += 1
        scheme = scheme_of(user)
        report.schemes[scheme] += 1
        problems = problems_of(user, scheme)
        for problem in problems:
            if not problem.startswith("password_scheme:"):
                report.missing[problem] += 1
        if problems:
            report.accounts.append(AccountProblem(user.legacy_id, user.username, problems))
        by_key[username_key(user.username)].append((user.legacy_id, user.username))
        if progress is not None:
            progress(report.total)
    report.collisions = {key: rows for key, rows in by_key.items() if len(rows) > 1}
    return report
