"""Audit events of the protocol side: tokens issued, refreshed and revoked; consent given and withdrawn.

One insert per event, written in the transaction that changes the tokens (the token endpoint runs
in one), so the trail never records a grant that was rolled back. Never a token value: the
refresh-token family id and the client id identify a grant well enough for an investigation.
"""

from __future__ import annotations

from typing import Any

import audit


def _legacy_id(user: Any) -> str | None:
    profile = getattr(user, "profile", None)
    return getattr(profile, "legacy_id", None) if profile is not None else None


def _address(request: Any) -> str | None:
    # DOT builds oauthlib's request headers from Django's META, where RequestContextMiddleware put
    # the real client address (behind trusted proxies).
    headers = getattr(request, "headers", None) or {}
    return headers.get("REMOTE_ADDR") or None


def tokens_granted(request: Any, refresh_token: Any) -> None:
    """After the token endpoint saved a new access (and refresh) token for ``request``."""
    refreshed = request.grant_type == "refresh_token"
    audit.record(
        "token.refreshed" if refreshed else "token.issued",
        reason=request.grant_type,
        legacy_id=_legacy_id(request.user),
        user=request.user,
        client_id=request.client.client_id,
        ip_address=_address(request),
        scope=" ".join(request.scopes or []),
        family=str(refresh_token.token_family) if refresh_token is not None else "",
    )


def token_revoked(request: Any, token_type_hint: str | None) -> None:
    """A client asked to revoke a token (RFC 7009). Unknown tokens are answered 200 all the same."""
    audit.record(
        "token.revoked",
        reason="client_request",
        client_id=getattr(request.client, "client_id", "") or "",
        ip_address=_address(request),
        hint=token_type_hint or "",
    )


def replayed_code(client: Any, revoked: int) -> None:
    audit.record(
        "token.revoked", reason="code_replayed", client_id=getattr(client, "client_id", ""), revoked=revoked
    )


def consent_granted(user: Any, client_id: str, scopes: list[str]) -> None:
    audit.record(
        "consent.granted", legacy_id=_legacy_id(user), user=user, client_id=client_id, scope=" ".join(scopes)
    )


def consent_revoked(user: Any, client_id: str, *, by: str, revoked: int) -> None:
    audit.record(
        "consent.revoked",
        reason=by,
        legacy_id=_legacy_id(user),
        user=user,
        client_id=client_id,
        revoked=revoked,
    )
