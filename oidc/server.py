"""oauthlib's OpenID Connect server, cut down to what the bridge offers.

Stock oauthlib wires every grant (password, client credentials, implicit, hybrid, device). Even
when a client may not use them they run part of their logic first: the password grant checks a
password against local accounts before refusing the client, which makes it a password oracle. A
grant that does not exist cannot leak.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils.encoding import escape_uri_path
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.openid import Server

GRANT_TYPES = ("authorization_code", "refresh_token")


class BridgeServer(Server):
    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(request_validator, *args, **kwargs)
        grant_types: dict[str, Any] = getattr(self, "_grant_types")  # noqa: B009 (untyped oauthlib)
        response_types: dict[str, Any] = getattr(self, "_response_types")  # noqa: B009
        self._grant_types = {name: grant_types[name] for name in GRANT_TYPES}
        self._response_types = {"code": response_types["code"]}


class BridgeOAuthLibCore(OAuthLibCore):
    """DOT's glue to oauthlib, handing oauthlib the query string as Django parsed it.

    oauthlib refuses a stray ``%`` (``?%zz=1``, ``?a=%``) with a ValueError, a 500 from any
    endpoint; Django reads such a query leniently. Re-encoding what Django parsed means oauthlib
    sees exactly the parameters the views see.
    """

    def _get_escaped_full_path(self, request: HttpRequest) -> str:
        query = urlencode(list(request.GET.lists()), doseq=True)
        return escape_uri_path(request.path) + (f"?{query}" if query else "")
