"""The pages speak the browser's language: English, and French to prove every string is translatable."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

LOCALE = Path(settings.BASE_DIR) / "locale"


@pytest.mark.django_db
def test_a_french_browser_gets_the_login_page_in_french(client):
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9,en;q=0.5")
    page = response.content.decode()
    assert '<html lang="fr"' in page
    assert "<h1>Se connecter</h1>" in page
    assert "Nom d’utilisateur" in page and "Mot de passe" in page  # the form's labels, from Python
    assert "Accept-Language" in response["Vary"], "caches must not serve one language to another"


@pytest.mark.django_db
def test_errors_from_python_are_translated_too(client, portal):
    portal.add_user("ajones", "correct horse")
    response = client.post(
        reverse("accounts:login"), {"login": "ajones", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert "Le nom d’utilisateur ou le mot de passe est incorrect." in response.content.decode()


@pytest.mark.django_db
def test_an_unsupported_language_falls_back_to_english(client):
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="tlh").content.decode()
    assert '<html lang="en"' in page and "<h1>Sign in</h1>" in page


PO_ENTRY = re.compile(r'msgid ((?:"(?:[^"\\]|\\.)*"\s*)+)msgstr ((?:"(?:[^"\\]|\\.)*"\s*)+)')


def unquote(quoted_lines: str) -> str:
    raw = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', quoted_lines))
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), raw)


def po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (single forms; the pages use no plurals)."""
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    return {unquote(m[1]): unquote(m[2]) for block in blocks if (m := PO_ENTRY.search(block))}


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_every_string_is_translated_and_the_committed_mo_matches_the_po(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    entries = {k: v for k, v in po_entries(po).items() if k}
    assert entries, f"{po} has no messages"
    untranslated = [k for k, v in entries.items() if not v]
    assert not untranslated, f"translate these in {po}: {untranslated}"
    with (po.with_suffix(".mo")).open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    stale = [k for k, v in entries.items() if catalog.gettext(k) != v]
    assert not stale, (
        f"run `python manage.py compilemessages` and commit {po.with_suffix('.mo')}: {stale[:3]}"
    )
