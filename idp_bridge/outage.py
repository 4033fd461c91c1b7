"""What a request gets when the bridge's own database fails: a 503, never a stack trace.

Django's 500 handler is called while the exception is being handled, so it can tell an outage of
the bridge database (``OperationalError``: unreachable, restarting, pool exhausted, locked) from a
bug. An outage answers 503 with ``Retry-After``: JSON ``temporarily_unavailable`` on the endpoints
relying parties call (the RFC 6749 4.1.2.1 code for "temporarily overloaded or under maintenance";
RFC 6749 5.2, RFC 6750, RFC 7009 and RFC 7662 define none of their own), a plain page for people.
Neither names the database, the query or the error: those go to the log (django.request, with the
traceback), never to the client. Anything else is Django's own bare 500 page.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as django_server_error

from idp_bridge import branding

RETRY_AFTER_SECONDS = 30
JSON_PATHS = frozenset({"/token", "/userinfo", "/introspect", "/revoke", "/jwks"})
JSON_PREFIXES = ("/.well-known/",)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a 503 for a database outage, Django's 500 page for anything else."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return unavailable(request)
    return django_server_error(request)


def unavailable(request: HttpRequest) -> HttpResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if request.path_info in JSON_PATHS or request.path_info.startswith(JSON_PREFIXES):
        body = {
            "error": "temporarily_unavailable",
            "error_description": "The service is temporarily unavailable; try again shortly.",
        }
        return JsonResponse(body, status=503, headers=headers)
    # Rendered without the request: the context processors would read the session, which lives in
    # the database that just failed. The branding comes from settings alone, so it is given here.
    brand = branding.current()
    page = render_to_string(
        "service_unavailable.html",
        {"brand": brand, "institution_name": brand.institution_name, "demo_mode": settings.BRIDGE_DEMO},
    )
    return HttpResponse(page, status=503, headers=headers)
