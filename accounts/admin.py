from django.contrib import admin
from django.http import HttpRequest

from accounts.models import AuthenticationEvent, Profile, Subject


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
    list_display = ("sub", "legacy_id", "first_seen")
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
