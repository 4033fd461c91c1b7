from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

import audit
from accounts import throttle
from accounts.forms import ThrottledAdminLoginForm
from accounts.models import (
    AuthenticationEvent,
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
