"""Small protocol policies that DOT asks for through settings hooks."""

from __future__ import annotations

from oauth2_provider.models import get_application_model


def pkce_required(client_id: str) -> bool:
    """PKCE is required of public clients and accepted from confidential ones (DECISIONS.md).

    Globus Auth, a confidential client, may not send PKCE, so it cannot be required of everyone.
    An unknown client id counts as public: the stricter answer.
    """
    client_type = (
        get_application_model()
        .objects.filter(client_id=client_id)
        .values_list("client_type", flat=True)
        .first()
    )
    return client_type != get_application_model().CLIENT_CONFIDENTIAL
