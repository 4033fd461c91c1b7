"""The admin's change log, copied into the audit trail as ``admin.added``/``admin.changed``/``admin.deleted``."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry

import audit

ACTIONS = {ADDITION: "admin.added", CHANGE: "admin.changed", DELETION: "admin.deleted"}


def record_admin_change(sender: type[LogEntry], instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type = instance.content_type
    audit.record(
        ACTIONS.get(instance.action_flag, "admin.changed"),
        reason=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        user=instance.user,
        object_id=instance.object_id or "",
        object=instance.object_repr[:200],
        # Django's change message names the fields changed, never their values.
        fields=instance.get_change_message()[:500],
    )
