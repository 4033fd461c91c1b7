"""What campus IT changes about the people-facing pages without touching a template (docs/branding.md).

The values come from the environment (settings.py); ``problems`` turns bad ones into system checks:
a link that is not https (or a path on this site) is an error, since a sign-in page that links to
plain http or ``javascript:`` is a phishing aid; a colour pair under WCAG AA contrast is a warning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse

# Links and the primary colour appear on this background (the page's card).
PAGE_BACKGROUND = "#ffffff"
# WCAG 2.1 AA, success criterion 1.4.3: normal-size text needs 4.5:1.
AA_CONTRAST = 4.5


@dataclass(frozen=True)
class Branding:
    institution_name: str
    logo_url: str
    primary: str
    primary_text: str
    support_email: str
    support_url: str
    footer_links: tuple[tuple[str, str], ...]
    forgot_password_url: str

    @property
    def has_support(self) -> bool:
        return bool(self.support_email or self.support_url)

    @property
    def stylesheet(self) -> str:
        return f":root {{ --accent: {self.primary}; --accent-ink: {self.primary_text}; }}\n"

    @property
    def stylesheet_version(self) -> str:
        """Part of the stylesheet's URL, so browsers fetch it again when the colours change."""
        return hashlib.sha256(self.stylesheet.encode()).hexdigest()[:12]


def current() -> Branding:
    return Branding(
        institution_name=settings.BRIDGE_INSTITUTION_NAME,
        logo_url=settings.BRIDGE_LOGO_URL,
        primary=settings.BRIDGE_COLOR_PRIMARY,
        primary_text=settings.BRIDGE_COLOR_PRIMARY_TEXT,
        support_email=settings.BRIDGE_SUPPORT_EMAIL,
        support_url=settings.BRIDGE_SUPPORT_URL,
        footer_links=tuple(settings.BRIDGE_FOOTER_LINKS),
        forgot_password_url=settings.BRIDGE_FORGOT_PASSWORD_URL,
    )


def stylesheet_view(request: HttpRequest) -> HttpResponse:
    """The brand colours as CSS custom properties: a stylesheet from this site, not an inline
    <style>, so the Content-Security-Policy can keep ``style-src 'self'``."""
    response = HttpResponse(current().stylesheet, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"  # the URL changes with the colours
    return response


# --- contrast (WCAG 2.1, "relative luminance" and "contrast ratio") -----------------------------
def relative_luminance(hex_colour: str) -> float:
    digits = hex_colour.removeprefix("#")
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# --- links ----------------------------------------------------------------------------------------
def url_problem(url: str, *, https_required: bool) -> str | None:
    """Why ``url`` may not be linked from the pages, or None. A path on this site is always fine."""
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname:
        return "uses plain http on an https sign-in service" if https_required else None
    return "is neither an https URL nor a path on this site"


def problems(brand: Branding, *, https_required: bool) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    urls = [
        ("BRIDGE_LOGO_URL", brand.logo_url),
        ("BRIDGE_SUPPORT_URL", brand.support_url),
        ("BRIDGE_FORGOT_PASSWORD_URL", brand.forgot_password_url),
        *(("BRIDGE_FOOTER_LINKS", url) for _label, url in brand.footer_links),
    ]
    for name, url in urls:
        if url and (why := url_problem(url, https_required=https_required)):
            found.append(
                checks.Error(
                    f"{name} has {url!r}, which {why}.",
                    hint=f"Set {name} to an https URL (https://portal.example.edu/...) or a path on this "
                    "site (/...): people type passwords on these pages, so every link must be safe.",
                    id="branding.E001",
                )
            )
    if brand.support_email:
        try:
            validate_email(brand.support_email)
        except ValidationError:
            found.append(
                checks.Error(
                    f"BRIDGE_SUPPORT_EMAIL={brand.support_email!r} is not an email address.",
                    hint="Set BRIDGE_SUPPORT_EMAIL to an address such as help@example.edu, or leave it empty.",
                    id="branding.E002",
                )
            )
    pairs = [
        ("BRIDGE_COLOR_PRIMARY_TEXT", brand.primary_text, "text on the primary colour (header, buttons)"),
        ("the page background", PAGE_BACKGROUND, "links and outlined buttons on the white page"),
    ]
    for other_name, other, where in pairs:
        ratio = contrast_ratio(brand.primary, other)
        if ratio < AA_CONTRAST:
            found.append(
                checks.Warning(
                    f"BRIDGE_COLOR_PRIMARY={brand.primary} against {other_name} ({other}) has a contrast "
                    f"of {ratio:.2f}:1, under the 4.5:1 WCAG 2.1 AA needs for {where}.",
                    hint="Choose a darker BRIDGE_COLOR_PRIMARY (and keep BRIDGE_COLOR_PRIMARY_TEXT light), "
                    "e.g. #1f4e8c with #ffffff; docs/branding.md explains how to check a pair.",
                    id="branding.W001",
                )
            )
    return found
