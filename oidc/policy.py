"""Small protocol policies that DOT asks for through settings hooks.

Imported by settings (DOT takes a callable for PKCE_REQUIRED, not a dotted path), so nothing here
may import models at module level.
"""

from __future__ import annotations


def pkce_required(client_id: str) -> bool:
    """PKCE is required of public clients and accepted from confidential ones (DECISIONS.md).

    Globus Auth, a confidential client, may not send PKCE, so it cannot be required of everyone.
    An unknown client id counts as public: the stricter answer.
    """
    from oauth2_provider.models import get_application_model

    application = get_application_model()
    client_type = (
        application.objects.filter(client_id=client_id).values_list("client_type", flat=True).first()
    )
    return client_type != application.CLIENT_CONFIDENTIAL
