from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html, format_html_join

import audit
from accounts import throttle
from accounts.forms import ThrottledAdminLoginForm
from accounts.globus import (
    MAX_IDENTITIES_PER_CALL,
    GlobusError,
    GlobusIdentity,
    GlobusUnavailable,
    get_identities,
)
from accounts.globus_links import LinkRefused, link_identity, record_refusal, unlink
from accounts.globus_mapping import batched, link_refusal, unchanged
from accounts.models import (
    AuthenticationEvent,
    GlobusIdentityLink,
    LoginThrottle,
    Profile,
    Subject,
    UsernameConflict,
    UsernameOverride,
)

# Staff passwords are guessed too: the admin login counts failures like the portal's (scope admin).
admin.site.login_form = ThrottledAdminLoginForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger and the login history are evidence: nobody edits or deletes them by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = ("sub", "legacy_id", "first_seen", "tombstoned_at")
    list_filter = (("tombstoned_at", admin.EmptyFieldListFilter),)
    search_fields = ("sub", "legacy_id")


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ("legacy_username", "name", "email", "organization", "refreshed_at")
    search_fields = ("legacy_username", "name", "email", "subject__sub", "subject__legacy_id")
    list_select_related = ("subject",)


@admin.register(AuthenticationEvent)
class AuthenticationEventAdmin(ReadOnlyAdmin):
    list_display = ("user", "occurred_at", "amr", "password_scheme")
    list_filter = ("password_scheme",)
    date_hierarchy = "occurred_at"


@admin.register(UsernameOverride)
class UsernameOverrideAdmin(admin.ModelAdmin):
    """Resolve a username conflict in the bridge: this account's username claim uses ``username``."""

    list_display = ("subject", "username", "reason", "created_at")
    raw_id_fields = ("subject",)
    search_fields = ("subject__legacy_id", "username")

    def save_model(self, request: HttpRequest, obj: UsernameOverride, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            "account.username_override",
            legacy_id=obj.subject.legacy_id,
            user=request.user,
            username=obj.username,
            note=obj.reason,
        )


@admin.register(UsernameConflict)
class UsernameConflictAdmin(admin.ModelAdmin):
    list_display = ("username_key", "legacy_ids", "detected_at", "resolved_at", "resolution")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    readonly_fields = ("username_key", "legacy_ids", "detected_at", "resolved_at", "resolution")
    actions = ["mark_resolved"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark resolved (after renaming in the portal or adding an override)")
    def mark_resolved(self, request: HttpRequest, queryset: object) -> None:
        from accounts.ledger import resolve_conflict

        for conflict in queryset:  # type: ignore[attr-defined]
            problem = resolve_conflict(conflict, resolved_by=str(request.user))
            if problem:
                self.message_user(request, f"{conflict}: {problem}", level="error")
            else:
                audit.record(
                    "account.username_conflict_resolved", user=request.user, legacy_ids=conflict.legacy_ids
                )
                self.message_user(request, f"{conflict}: resolved.")


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    """Who is being slowed down or locked out after failed logins, and the button to lift it.

    Lifting (the action, or deleting a row) is audited as ``login.unlocked``; counters are never
    edited by hand.
    """

    list_display = (
        "scope",
        "key",
        "failures",
        "window_started_at",
        "last_attempt_at",
        "blocked_until",
        "state",
    )
    list_filter = ("scope",)
    search_fields = ("key",)
    ordering = ("-last_attempt_at",)
    readonly_fields = ("scope", "key", "failures", "window_started_at", "last_attempt_at", "blocked_until")
    actions = ["lift"]

    @admin.display(description="state")
    def state(self, obj: LoginThrottle) -> str:
        if obj.blocked_until is None or obj.blocked_until <= timezone.now():
            return "open"
        return "locked" if obj.failures >= throttle.policy().limits(obj.scope).lockout_failures else "delayed"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "lift" deletes too, and audits it
        return actions

    @admin.action(description="Lift the delay or lockout (audited)", permissions=["delete"])
    def lift(self, request: HttpRequest, queryset: QuerySet[LoginThrottle]) -> None:
        rows = list(queryset)
        for row in rows:
            throttle.unlock(row, by=str(request.user))
        self.message_user(request, f"Lifted {len(rows)}.")

    def delete_model(self, request: HttpRequest, obj: LoginThrottle) -> None:
        throttle.unlock(obj, by=str(request.user))


class GlobusLinkAddForm(forms.ModelForm):  # type: ignore[type-arg]
    """Link an account to a Globus identity id: Globus is asked what the identity is, and the
    strict policy decides, exactly as for every other way a link is made."""

    # Not "identity_id": that model field is not editable, and stays read-only once a link exists.
    globus_identity_id = forms.UUIDField(label="Globus identity id")
    record_only = forms.BooleanField(
        required=False,
        label="Record only (not effective)",
        help_text="Another identity of this person, kept on record: not held to the policy, never used "
        "as the account's Globus identity.",
    )

    class Meta:
        model = GlobusIdentityLink
        fields = ["subject"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.request: HttpRequest | None = kwargs.pop("request", None)
        super().__init__(*args, **kwargs)
        self.profile: Profile | None = None
        self.identity: GlobusIdentity | None = None

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        subject, identity_id = data.get("subject"), data.get("globus_identity_id")
        if subject is None or identity_id is None:
            return data
        profile = Profile.objects.filter(subject=subject, subject__tombstoned_at__isnull=True).first()
        if profile is None:
            raise forms.ValidationError("This account is deleted from the portal (or never signed in).")
        try:
            found = get_identities(ids=[str(identity_id)])
        except GlobusUnavailable:
            raise forms.ValidationError(
                "Globus is not answering. Nothing was linked; try again later."
            ) from None
        except GlobusError as exc:
            raise forms.ValidationError(f"Globus refused the lookup ({exc}). Nothing was linked.") from None
        if not found:
            raise forms.ValidationError("Globus does not know this identity id.")
        refusal = link_refusal(profile, found[0], effective=not data.get("record_only"))
        if refusal is not None:
            record_refusal(
                profile,
                refusal,
                sub=subject.sub,
                method=GlobusIdentityLink.Method.ADMIN,
                identity_id=found[0].id,
                globus_username=found[0].username,
                actor=self.request.user.get_username() if self.request is not None else "admin",
            )
            raise forms.ValidationError(
                f"The policy refuses this link: {refusal} (Globus says {found[0].username}, "
                f"{found[0].status}; expected {profile.preferred_username}). Nothing was linked."
            )
        self.profile, self.identity = profile, found[0]
        return data


@admin.register(GlobusIdentityLink)
class GlobusIdentityLinkAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Links are made, refreshed and removed only through accounts.globus_links (policy + audit):
    the detail page is read-only, there is no delete, and every change is an action."""

    list_display = (
        "username",
        "identity_id",
        "legacy_username",
        "method",
        "proof",
        "effective",
        "identity_status",
        "identity_provider",
        "verified_at",
        "created_at",
    )
    list_filter = ("method", "proof", "effective", "identity_status", "identity_provider")
    list_select_related = ("subject", "subject__profile")
    search_fields = ("identity_id", "username", "subject__sub", "subject__profile__legacy_username")
    raw_id_fields = ("subject",)
    readonly_fields = (
        "subject",
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
        "audit_trail",
    )
    actions = ["recheck_at_globus", "make_effective", "unlink_selected"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = GlobusLinkAddForm
            form = super().get_form(request, obj, change=change, **kwargs)

            class WithRequest(form):  # type: ignore[valid-type,misc]
                def __init__(self, *args: Any, **kw: Any) -> None:
                    super().__init__(*args, request=request, **kw)

            return WithRequest
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ("subject", "globus_identity_id", "record_only")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The list and its actions need "change"; a link itself is never edited by hand.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Portal username")
    def legacy_username(self, link: GlobusIdentityLink) -> str:
        profile = getattr(link.subject, "profile", None)
        return profile.legacy_username if profile is not None else "(deleted account)"

    @admin.display(description="Audit trail")
    def audit_trail(self, link: GlobusIdentityLink) -> str:
        from audit.models import AuditEvent

        events = AuditEvent.objects.filter(
            event__startswith="globus.", details__identity_id=str(link.identity_id)
        ).order_by("occurred_at", "id")[:100]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.occurred_at, e.event, e.reason, e.details.get("actor", "")) for e in events),
        )
        return format_html(
            "<table><tr><th>When</th><th>Event</th><th>Reason</th><th>By</th></tr>{}</table>", rows
        )

    # --- adding: through the policy --------------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: GlobusIdentityLink, form: Any, change: bool) -> None:
        if change or form.profile is None or form.identity is None:
            return
        try:
            result = link_identity(
                form.profile,
                form.identity,
                method=GlobusIdentityLink.Method.ADMIN,
                proof=GlobusIdentityLink.Proof.ADMIN_ASSERTION,
                effective=not form.cleaned_data.get("record_only"),
                actor=request.user,
            )
        except LinkRefused as refused:  # a concurrent change since the form was checked; audited
            self.message_user(request, f"Not linked: {refused.reason}.", level=messages.ERROR)
            return
        for f in GlobusIdentityLink._meta.concrete_fields:
            setattr(obj, f.attname, getattr(result.link, f.attname))

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return super().log_addition(request, obj, message) if obj.pk is not None else None

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> HttpResponse:
        if obj.pk is None:
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    # --- actions: through the policy -------------------------------------------------------------
    @admin.action(description="Re-check at Globus and refresh (effective links)", permissions=["change"])
    def recheck_at_globus(self, request: HttpRequest, queryset: QuerySet[GlobusIdentityLink]) -> None:
        self._relink(request, queryset.filter(effective=True), verb="refreshed")

    @admin.action(description="Make effective (if the policy allows)", permissions=["change"])
    def make_effective(self, request: HttpRequest, queryset: QuerySet[GlobusIdentityLink]) -> None:
        self._relink(request, queryset.filter(effective=False), verb="made effective")

    @admin.action(description="Unlink (recorded in the audit trail)", permissions=["change"])
    def unlink_selected(self, request: HttpRequest, queryset: QuerySet[GlobusIdentityLink]) -> None:
        for link in queryset.select_related("subject__profile"):
            self.log_deletions(request, [link])  # type: ignore[arg-type]
            unlink(link.subject.profile, link, actor=request.user)
            self.message_user(request, f"{link}: unlinked.")

    def _relink(self, request: HttpRequest, queryset: QuerySet[GlobusIdentityLink], *, verb: str) -> None:
        links = list(queryset.select_related("subject__profile", "subject__username_override"))
        try:
            current = {i.id: i for i in _identities_by_id([str(link.identity_id) for link in links])}
        except GlobusError as exc:
            self.message_user(request, f"Globus could not be asked ({exc}); nothing changed.", messages.ERROR)
            return
        for link in links:
            identity = current.get(str(link.identity_id))
            if identity is None:
                self.message_user(request, f"{link}: Globus does not know this identity.", messages.WARNING)
                continue
            profile = link.subject.profile
            if link.effective and unchanged(profile, identity):
                self.message_user(request, f"{link}: unchanged.")
                continue
            try:
                link_identity(
                    profile,
                    identity,
                    method=link.method,
                    proof=GlobusIdentityLink.Proof.ADMIN_ASSERTION,
                    actor=request.user,
                )
            except LinkRefused as refused:
                self.message_user(request, f"{link}: refused ({refused.reason}).", messages.ERROR)
                continue
            self.log_change(request, link, f"{verb} from Globus: {identity.username}, {identity.status}")
            self.message_user(request, f"{link}: {verb}.")


def _identities_by_id(ids: list[str]) -> list[GlobusIdentity]:
    found: list[GlobusIdentity] = []
    for batch in batched(ids, MAX_IDENTITIES_PER_CALL):
        found.extend(get_identities(ids=batch))
    return found
