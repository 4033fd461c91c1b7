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


QUOTED = r'((?:"(?:[^"\\]|\\.)*"\s*)+)'
PO_ENTRY = re.compile(rf"^msgid {QUOTED}msgstr {QUOTED}", re.M)
PO_PLURAL_ENTRY = re.compile(
    rf"^msgid {QUOTED}msgid_plural {QUOTED}msgstr\[0\] {QUOTED}msgstr\[1\] {QUOTED}", re.M
)


def unquote(quoted_lines: str) -> str:
    raw = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', quoted_lines))
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), raw)


def po_entries(path: Path) -> tuple[dict[str, str], dict[tuple[str, str], tuple[str, str]]]:
    """msgid -> msgstr of a .po file, and (singular, plural) -> (one, many) of its plural entries."""
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    singles = {unquote(m[1]): unquote(m[2]) for block in blocks if (m := PO_ENTRY.search(block))}
    plurals = {
        (unquote(m[1]), unquote(m[2])): (unquote(m[3]), unquote(m[4]))
        for block in blocks
        if (m := PO_PLURAL_ENTRY.search(block))
    }
    return singles, plurals


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_every_string_is_translated_and_the_committed_mo_matches_the_po(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    singles, plurals = po_entries(po)
    entries = {k: v for k, v in singles.items() if k}
    assert entries, f"{po} has no messages"
    fuzzy = re.findall(r"^#,.*\bfuzzy\b.*\n(?:#.*\n)*msgid (.*)", po.read_text(encoding="utf-8"), re.M)
    assert not fuzzy, f"check these guesses in {po}, then remove their fuzzy flag: {fuzzy}"
    untranslated = [k for k, v in entries.items() if not v] + [k for k, v in plurals.items() if not all(v)]
    assert not untranslated, f"translate these in {po}: {untranslated}"
    with (po.with_suffix(".mo")).open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    stale = [k for k, v in entries.items() if catalog.gettext(k) != v] + [
        k for k, v in plurals.items() if (catalog.ngettext(*k, 1), catalog.ngettext(*k, 2)) != v
    ]
    assert not stale, (
        f"run `python manage.py compilemessages` and commit {po.with_suffix('.mo')}: {stale[:3]}"
    )
