"""Recording security events: ``record("login.failed", reason="mismatch", legacy_id="42")``."""

from __future__ import annotations

import re
from typing import Any

SECRET_LOOKING = re.compile(r"pass|secret|token|hash|salt|key|code_verifier|authorization", re.IGNORECASE)


def record(
    event: str,
    *,
    reason: str = "",
    legacy_id: str | None = None,
    user: Any = None,
    client_id: str = "",
    ip_address: str | None = None,
    **details: Any,
) -> None:
    from audit.models import AuditEvent

    leaked = [name for name in details if SECRET_LOOKING.search(name)]
    if leaked:
        # A programming error, caught in tests: the audit trail must never hold a credential.
        raise ValueError(f"audit details may not carry {leaked}")
    AuditEvent.objects.create(
        event=event,
        reason=reason,
        legacy_id=legacy_id or "",
        user=user if getattr(user, "pk", None) else None,
        client_id=client_id,
        ip_address=ip_address,
        details=details,
    )
