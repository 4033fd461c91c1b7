"""Globus links to and from CSV: the export an administrator reads or edits, and the import that
validates every row before linking anything through the policy.

Export columns (in this order; see docs/globus-linking.md):
``sub, legacy_id, legacy_username, identity_id, username, identity_provider, identity_status,
method, proof, effective, created_at, updated_at, verified_at``.

The import needs ``sub`` and ``identity_id``; ``effective`` (default true) says whether the row is
the account's effective identity or another identity of the person kept on record; ``username``,
``identity_provider`` and ``identity_status`` are used only with ``--offline`` (otherwise Globus is
asked what the identity is now); other columns are ignored, so an export can be imported as it is.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import transaction

from accounts.globus import GlobusIdentity, IdentityDirectory
from accounts.globus_links import LinkRefused, link_identity, record_refusal
from accounts.globus_mapping import batched, link_refusal, unchanged
from accounts.models import GlobusIdentityLink, Profile

EXPORT_COLUMNS = (
    "sub",
    "legacy_id",
    "legacy_username",
    "identity_id",
    "username",
    "identity_provider",
    "identity_status",
    "method",
    "proof",
    "effective",
    "created_at",
    "updated_at",
    "verified_at",
)
REQUIRED_COLUMNS = ("sub", "identity_id")
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A spreadsheet runs a cell that starts with one of these as a formula: the export quotes such a
# cell with a leading apostrophe (OWASP "CSV injection"), and the import takes it off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TRUE, FALSE = {"", "true", "1", "yes"}, {"false", "0", "no"}


# --- export ---------------------------------------------------------------------------------------
def protect(value: str) -> str:
    # A value that itself starts with an apostrophe gets one more, so that unprotect is exact.
    return "'" + value if value.startswith((*FORMULA_START, "'")) else value


def unprotect(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith((*FORMULA_START, "'")) else value


def export_links(out: TextIO, links: Iterable[GlobusIdentityLink]) -> int:
    # RFC 4180 line ends: with "\r\n" as the terminator, a cell holding either character is quoted.
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for link in links:
        profile: Profile | None = getattr(link.subject, "profile", None)
        writer.writerow(
            [
                link.subject.sub,
                protect(link.subject.legacy_id),
                protect(profile.legacy_username if profile is not None else ""),
                str(link.identity_id),
                protect(link.username),
                str(link.identity_provider),
                protect(link.identity_status),
                link.method,
                link.proof,
                "true" if link.effective else "false",
                link.created_at.isoformat(),
                link.updated_at.isoformat(),
                link.verified_at.isoformat() if link.verified_at else "",
            ]
        )
        count += 1
    return count


def links_for_export() -> Iterator[GlobusIdentityLink]:
    return (
        GlobusIdentityLink.objects.select_related("subject", "subject__profile")
        .order_by("subject_id", "-effective", "identity_id")
        .iterator(chunk_size=1000)
    )


# --- parsing (no database) -----------------------------------------------------------------------
@dataclass(frozen=True)
class ImportRow:
    line: int
    sub: str
    identity_id: str  # canonical lower-case UUID
    username: str = ""
    identity_provider: str = ""
    identity_status: str = ""
    effective: bool = True


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    detail: str = ""


@dataclass
class Parsed:
    rows: list[ImportRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def parse(stream: TextIO) -> Parsed:
    """Read and check every row (format, duplicates, rows that contradict each other).

    Never raises on bad input: every problem is a ``Rejected`` with its line number (the line a row
    starts on). Of two identical rows the first stands; rows that give one identity to two accounts,
    or two effective identities to one account, are all rejected: the file does not say which is
    right.
    """
    parsed = Parsed()
    reader = csv.reader(stream, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        parsed.rejected.append(Rejected(1, "empty_file"))
        return parsed
    except (csv.Error, UnicodeDecodeError) as exc:
        parsed.rejected.append(Rejected(1, "unreadable", str(exc)))
        return parsed
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        parsed.rejected.append(Rejected(1, "missing_columns", ", ".join(missing)))
        return parsed
    rows: list[ImportRow] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            # The csv module cannot find the next row reliably after a broken one: stop here.
            parsed.rejected.append(Rejected(start, "unreadable", f"{exc}; the rest of the file was not read"))
            break
        line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        result = _row(start, header, values)
        if isinstance(result, Rejected):
            parsed.rejected.append(result)
        else:
            rows.append(result)
    _sort_out_duplicates(rows, parsed)
    parsed.rejected.sort(key=lambda r: r.line)
    return parsed


def _sort_out_duplicates(rows: list[ImportRow], parsed: Parsed) -> None:
    first: dict[tuple[str, str], int] = {}
    lines_by_identity: dict[str, set[int]] = {}
    lines_by_sub: dict[str, set[int]] = {}
    unique: list[ImportRow] = []
    for row in rows:
        pair = (row.sub, row.identity_id)
        if pair in first:
            parsed.rejected.append(
                Rejected(row.line, "duplicate_row", f"the same link as line {first[pair]}")
            )
            continue
        first[pair] = row.line
        unique.append(row)
        lines_by_identity.setdefault(row.identity_id, set()).add(row.line)
        if row.effective:  # a person has one effective identity, and may have others on record
            lines_by_sub.setdefault(row.sub, set()).add(row.line)
    for row in unique:
        same_sub = lines_by_sub.get(row.sub, set()) if row.effective else set()
        others = (lines_by_identity[row.identity_id] | same_sub) - {row.line}
        if others:
            listed = ", ".join(str(n) for n in sorted(others))
            parsed.rejected.append(Rejected(row.line, "conflicting_rows", f"contradicts line {listed}"))
        else:
            parsed.rows.append(row)


def _row(line: int, header: Sequence[str], values: Sequence[str]) -> ImportRow | Rejected:
    if len(values) != len(header):
        return Rejected(line, "wrong_field_count", f"{len(values)} fields, the header has {len(header)}")
    cells = {name: unprotect(value.strip()) for name, value in zip(header, values, strict=True)}
    if not cells["sub"]:
        return Rejected(line, "missing_sub")
    identity_id = cells["identity_id"]
    if not UUID_TEXT.fullmatch(identity_id):
        return Rejected(line, "bad_identity_id", "not a UUID (8-4-4-4-12 hexadecimal digits)")
    provider = cells.get("identity_provider", "")
    if provider and not UUID_TEXT.fullmatch(provider):
        return Rejected(line, "bad_identity_provider", "not a UUID")
    effective = cells.get("effective", "").lower()
    if effective not in TRUE | FALSE:
        return Rejected(line, "bad_effective", "true or false")
    return ImportRow(
        line=line,
        sub=cells["sub"],
        identity_id=identity_id.lower(),
        username=cells.get("username", "").lower(),
        identity_provider=provider.lower(),
        identity_status=cells.get("identity_status", ""),
        effective=effective in TRUE,
    )


# --- validating against the bridge and Globus -----------------------------------------------------
@dataclass(frozen=True)
class Planned:
    row: ImportRow
    profile: Profile
    identity: GlobusIdentity


@dataclass
class ImportReport:
    total: int = 0
    planned: list[Planned] = field(default_factory=list)
    unchanged: list[ImportRow] = field(default_factory=list)
    applied: list[Planned] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def validate(parsed: Parsed, *, directory: IdentityDirectory | None) -> ImportReport:
    """Check each parsed row against the ledger, the current links and (unless ``directory`` is
    None: offline) what Globus says the identity is now; nothing is written."""
    report = ImportReport(total=len(parsed.rows) + len(parsed.rejected), rejected=list(parsed.rejected))
    profiles = _profiles_by_sub([row.sub for row in parsed.rows])
    candidates: list[tuple[ImportRow, Profile]] = []
    for row in parsed.rows:
        profile = profiles.get(row.sub)
        if profile is None:
            report.rejected.append(Rejected(row.line, "unknown_subject", "no live account with this sub"))
        else:
            candidates.append((row, profile))
    identities = _identities(candidates, directory, report)
    for row, profile in candidates:
        identity = identities.get(row.identity_id)
        if identity is None:
            continue  # already rejected
        if unchanged(profile, identity, effective=row.effective):
            report.unchanged.append(row)
            continue
        refusal = link_refusal(profile, identity, effective=row.effective)
        if refusal is not None:
            report.rejected.append(Rejected(row.line, refusal, _refusal_detail(profile, identity)))
        else:
            report.planned.append(Planned(row, profile, identity))
    report.rejected.sort(key=lambda r: r.line)
    return report


def _profiles_by_sub(subs: list[str]) -> dict[str, Profile]:
    found: dict[str, Profile] = {}
    for chunk in batched(subs, 500):
        for profile in Profile.objects.select_related("subject", "subject__username_override", "user").filter(
            subject__sub__in=chunk, subject__tombstoned_at__isnull=True
        ):
            found[profile.subject.sub] = profile
    return found


def _identities(
    candidates: list[tuple[ImportRow, Profile]], directory: IdentityDirectory | None, report: ImportReport
) -> dict[str, GlobusIdentity]:
    found: dict[str, GlobusIdentity] = {}
    if directory is None:  # offline: the file is trusted for what the identity is
        for row, _ in candidates:
            if not row.username or not row.identity_provider:
                report.rejected.append(
                    Rejected(
                        row.line, "offline_needs_identity", "--offline needs username and identity_provider"
                    )
                )
                continue
            found[row.identity_id] = GlobusIdentity(
                row.identity_id, row.username, row.identity_provider, row.identity_status
            )
        return found
    found.update(directory.current_by_ids([row.identity_id for row, _ in candidates]))
    for row, _ in candidates:
        if row.identity_id not in found:
            report.rejected.append(Rejected(row.line, "identity_not_found", "Globus does not know this id"))
    return found


def _refusal_detail(profile: Profile, identity: GlobusIdentity) -> str:
    return f"identity {identity.username} ({identity.status or 'status unknown'}); expected {profile.preferred_username}"


# --- applying -------------------------------------------------------------------------------------
def apply(report: ImportReport, *, batch_size: int, actor: str) -> None:
    """Link the planned rows, each batch in one transaction: if any link of a batch is refused at
    the last moment (a concurrent change), none of that batch is written and every row says why."""
    for batch in batched(report.planned, batch_size):
        try:
            with transaction.atomic():
                for planned in batch:
                    _link(planned, actor)
        except _BatchRefused as refused:
            _report_rolled_back(report, batch, refused, actor)
        else:
            report.applied.extend(batch)
    report.rejected.sort(key=lambda r: r.line)


class _BatchRefused(Exception):
    def __init__(self, planned: Planned, reason: str) -> None:
        super().__init__(reason)
        self.planned, self.reason = planned, reason


def _link(planned: Planned, actor: str) -> None:
    try:
        link_identity(
            planned.profile,
            planned.identity,
            method=GlobusIdentityLink.Method.IMPORT,
            proof=GlobusIdentityLink.Proof.ADMIN_ASSERTION,
            effective=planned.row.effective,
            actor=actor,
        )
    except LinkRefused as refused:
        raise _BatchRefused(planned, refused.reason) from None


def _report_rolled_back(
    report: ImportReport, batch: list[Planned], refused: _BatchRefused, actor: str
) -> None:
    culprit = refused.planned
    # The refusal's audit event was rolled back with the batch: record it again, outside.
    record_refusal(
        culprit.profile,
        refused.reason,
        sub=culprit.profile.subject.sub,
        method=GlobusIdentityLink.Method.IMPORT,
        identity_id=culprit.identity.id,
        globus_username=culprit.identity.username,
        line=culprit.row.line,
        actor=actor,
    )
    for planned in batch:
        if planned is culprit:
            report.rejected.append(Rejected(planned.row.line, refused.reason, "refused when linking"))
        else:
            detail = f"its batch was rolled back because line {culprit.row.line} was refused"
            report.rejected.append(Rejected(planned.row.line, "batch_rolled_back", detail))


def summary(report: ImportReport) -> dict[str, Any]:
    return {
        "rows": report.total,
        "applied": len(report.applied),
        "unchanged": len(report.unchanged),
        "rejected": len(report.rejected),
    }
