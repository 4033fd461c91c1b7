"""What a registrable redirect URI looks like (RFC 6749 3.1.2, RFC 8252 7.3, RFC 9700 2.1)."""

from __future__ import annotations

from urllib.parse import urlsplit

from idp_bridge.net import is_loopback


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered as a redirect URI, or None if it can."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URI"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute https URI"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if parts.username or parts.password:
        return "must not contain credentials"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "http is allowed only for loopback addresses (127.0.0.1, [::1], localhost)"
    return None
