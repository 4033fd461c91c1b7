from django.contrib import admin
from django.http import HttpRequest

import audit
from accounts.models import AuthenticationEvent, Profile, Subject, UsernameConflict, UsernameOverride


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
