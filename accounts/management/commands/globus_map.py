"""Resolve portal accounts to their Globus identity ids and link them, under the strict policy."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

import audit
from accounts.globus import (
    MAX_IDENTITIES_PER_CALL,
    GlobusError,
    GlobusNotConfigured,
    GlobusRequestRefused,
    GlobusUnavailable,
    IdentityDirectory,
    RetryPolicy,
)
from accounts.globus_mapping import (
    CHANGES,
    Checkpoint,
    CheckpointError,
    Mapper,
    MapReport,
    Progress,
    batched,
    live_profiles,
    profiles_to_map,
    retry_notice,
)
from accounts.models import Profile


class Command(BaseCommand):
    help = (
        "Look up (and provision) the Globus identity of each portal account without an effective link, "
        "and link it as an administrator assertion under the strict policy. Safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        chosen = parser.add_mutually_exclusive_group()
        chosen.add_argument("--all", action="store_true", help="Every live account, linked or not.")
        chosen.add_argument(
            "--usernames", metavar="A,B", help="Only these portal usernames (comma-separated)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write and provision nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=MAX_IDENTITIES_PER_CALL,
            help=f"Accounts per Globus call (1-{MAX_IDENTITIES_PER_CALL}).",
        )
        parser.add_argument(
            "--checkpoint", metavar="FILE", help="Record progress here after each batch, for --resume."
        )
        parser.add_argument(
            "--resume", action="store_true", help="Continue after the last batch the checkpoint recorded."
        )
        parser.add_argument("--retries", type=int, default=6, help="Retries per Globus call (429, 5xx).")
        parser.add_argument(
            "--retry-delay", type=float, default=1.0, help="First retry delay in seconds (doubles, jittered)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options["verbosity"])
        size, dry_run = options["batch_size"], options["dry_run"]
        if not 1 <= size <= MAX_IDENTITIES_PER_CALL:
            raise CommandError(
                f"--batch-size must be 1 to {MAX_IDENTITIES_PER_CALL} (Globus's limit per call)"
            )
        profiles, checkpoint = self._selection(options)
        # Progress redraws a line in place, so it writes to the raw stream, not Django's line wrapper.
        progress = Progress(profiles.count(), "accounts", stream=getattr(self.stderr, "_out", sys.stderr))
        actor = f"globus_map ({getpass.getuser()})"
        mapper = Mapper(self._directory(options, progress, checkpoint), dry_run=dry_run, actor=actor)
        report = MapReport()
        try:
            # The selection is fixed up front (ids only), so links made along the way cannot shift it.
            for ids in batched(list(profiles.values_list("pk", flat=True)), size):
                batch = list(live_profiles().filter(pk__in=ids))
                report.outcomes.extend(mapper.map_batch(batch))
                if checkpoint is not None and batch and not dry_run:
                    checkpoint.save(batch[-1].subject_id, report.counts())
                progress.advance(len(ids))
        except GlobusError as exc:
            progress.finish()
            self._print(report, dry_run)
            raise CommandError(self._stopped(exc, report, checkpoint)) from exc
        progress.finish()
        if checkpoint is not None:
            checkpoint.clear()
        self._print(report, dry_run)
        if not dry_run and report.wrote_anything():
            # A run that changed nothing and met no new refusal leaves no trace: re-running is a no-op.
            audit.record("globus.map", reason="completed", actor=actor, outcomes=dict(report.counts()))

    def _selection(self, options: dict[str, Any]) -> tuple[QuerySet[Profile], Checkpoint | None]:
        """The accounts to map, in ledger order, after the checkpoint when resuming."""
        if options["resume"] and not options["checkpoint"]:
            raise CommandError(
                "--resume needs --checkpoint FILE (where the interrupted run recorded progress)"
            )
        usernames = [u.strip() for u in (options["usernames"] or "").split(",") if u.strip()]
        profiles = profiles_to_map(everyone=options["all"], usernames=usernames)
        if not options["checkpoint"]:
            return profiles, None
        selection = {"all": options["all"], "usernames": usernames, "dry_run": options["dry_run"]}
        checkpoint = Checkpoint(Path(options["checkpoint"]), selection)
        if options["resume"]:
            try:
                after = checkpoint.load()
            except CheckpointError as exc:
                raise CommandError(str(exc)) from exc
            profiles = profiles.filter(subject_id__gt=after)
            self.stderr.write(f"Resuming after subject {after}.")
        return profiles, checkpoint

    def _directory(
        self, options: dict[str, Any], progress: Progress, checkpoint: Checkpoint | None
    ) -> IdentityDirectory:
        try:
            return IdentityDirectory(
                RetryPolicy(retries=options["retries"], base_delay=options["retry_delay"]),
                on_retry=retry_notice(progress.note),
            )
        except GlobusNotConfigured as exc:
            raise CommandError(
                f"{exc}: set them to the bridge's Globus app (docs/globus-linking.md)"
            ) from exc
        except GlobusError as exc:
            raise CommandError(self._stopped(exc, MapReport(), checkpoint)) from exc

    def _stopped(self, exc: GlobusError, report: MapReport, checkpoint: Checkpoint | None) -> str:
        if isinstance(exc, GlobusUnavailable):
            why = f"Globus Auth is not answering ({exc}), even after retrying"
        elif isinstance(exc, GlobusRequestRefused) and exc.status == 429:
            why = "Globus Auth is still rate-limiting the bridge after every retry"
        elif isinstance(exc, GlobusRequestRefused) and exc.status in (401, 403):
            why = (
                f"Globus Auth refused the bridge's credentials ({exc}): check BRIDGE_GLOBUS_CLIENT_ID/_SECRET"
            )
        else:
            why = str(exc)
        counts = report.counts()
        done = ", ".join(f"{action} {n}" for action, n in sorted(counts.items()))
        saved = f"Earlier batches are saved ({done})" if counts else "Nothing was written"
        again = "re-run with --resume" if checkpoint is not None else "re-run (linked accounts are skipped)"
        return f"Stopped: {why}. {saved}; nothing of the failed batch was written. To continue, {again}."

    def _print(self, report: MapReport, dry_run: bool) -> None:
        out = self.stdout.write
        for outcome in report.outcomes:
            if outcome.action in CHANGES and (dry_run or self.verbosity >= 2):
                target = outcome.identity_id or "(a new identity Globus would provision)"
                out(f"{outcome.action:<16} {outcome.username} -> {target}")
        for outcome in report.refused():
            identity = f" ({outcome.identity_id})" if outcome.identity_id else ""
            out(f"{outcome.action:<16} {outcome.username}{identity}: {outcome.reason}")
        counts = report.counts()
        summary = ", ".join(f"{action} {n}" for action, n in sorted(counts.items())) or "nothing to do"
        out(("Dry run (nothing written): " if dry_run else "") + summary)
