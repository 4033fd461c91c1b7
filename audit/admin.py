from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "event", "reason", "legacy_id", "user", "client_id", "ip_address")
    list_filter = ("event", "reason", "client_id")
    # An investigation starts from an account, a client or an address: each is searchable.
    search_fields = ("legacy_id", "client_id", "event", "reason", "ip_address", "user__username")
    date_hierarchy = "occurred_at"
    readonly_fields = (*list_display, "details")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
