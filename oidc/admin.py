from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from oidc.consent import revoke_consent
from oidc.models import Consent, SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Keys are rotated with `manage.py rotate_keys`; the admin shows them, never the private half."""

    list_display = ("kid", "state", "created_at", "activated_at", "retire_after")
    fields = ("kid", "state", "public_jwk", "created_at", "activated_at", "retire_after")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "application", "scopes", "granted_at")
    list_select_related = ("user", "application")
    readonly_fields = ("user", "application", "scopes", "claims", "granted_at", "updated_at")
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # withdrawing consent must also revoke tokens: use the action

    @admin.action(description="Withdraw consent and revoke the client's tokens")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
        revoked = 0
        for consent in queryset:
            revoked += revoke_consent(consent, by="admin")
        self.message_user(request, f"Consent withdrawn; {revoked} token(s) revoked.")
