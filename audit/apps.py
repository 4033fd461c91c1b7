from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from audit.admin_changes import record_admin_change

        # Every add, change and delete made in the admin (clients, username overrides, ...) is
        # also an audit event: the admin's own history can be edited; the audit trail cannot.
        post_save.connect(record_admin_change, sender=LogEntry, dispatch_uid="audit.admin_change")
