"""The portal login page, as a user meets it (Django test client; real HTTP is in tests/e2e)."""

import logging

import pytest
from django.urls import reverse

from accounts.legacy import reset_user_source
from accounts.models import AuthenticationEvent, Profile

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
WRONG = "The username or password is incorrect."


def post_login(client, login, password, next_url=None):
    data = {"login": login, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post(LOGIN, data)


def test_legacy_user_logs_in_and_gets_a_shadow_profile(client, portal):
    uid = portal.add_user(
        "AJones", "correct horse", email="aj@example.org", first_name="Alice", last_name="Jones"
    )
    response = post_login(client, "AJones", "correct horse")
    assert response.status_code == 303 and response["Location"] == reverse("accounts:home")
    profile = Profile.objects.get()
    assert profile.legacy_id == str(uid)
    assert profile.preferred_username == "ajones@portal.example.edu"
    assert (profile.name, profile.email, profile.organization) == (
        "Alice Jones",
        "aj@example.org",
        "Example University",
    )
    assert AuthenticationEvent.objects.filter(user=profile.user).count() == 1
    assert not profile.user.has_usable_password()  # the legacy database stays the only password store


def test_profile_is_refreshed_from_the_legacy_row_at_every_login_and_sub_never_changes(client, portal):
    uid = portal.add_user("bob", "pw-one-two")
    post_login(client, "bob", "pw-one-two")
    first = Profile.objects.get()
    portal.update(uid, email="new@example.org", login="robert", institution="Other Lab")
    client.logout()
    post_login(client, "robert", "pw-one-two")
    again = Profile.objects.get()
    assert again.pk == first.pk and again.sub == first.sub
    assert (again.email, again.legacy_username, again.organization) == (
        "new@example.org",
        "robert",
        "Other Lab",
    )


@pytest.mark.parametrize("scheme", ["bcrypt", "pbkdf2_sha256", "phpass", "sha512_crypt"])
def test_each_first_version_hash_scheme_logs_in(client, portal, scheme):
    portal.add_user("user", "pässword-1", scheme=scheme)
    assert post_login(client, "user", "pässword-1").status_code == 303
    assert AuthenticationEvent.objects.get().password_scheme


def test_bcrypt_password_longer_than_72_bytes_gets_in(client, portal):
    long_password = "é" * 50  # 100 bytes in UTF-8: PHP hashed only the first 72
    portal.add_user("long", long_password)
    assert post_login(client, "long", long_password).status_code == 303


@pytest.mark.parametrize(
    "login, password",
    [
        ("ajones", "wrong"),
        ("nobody", "correct horse"),
        ("suspended", "correct horse"),
        ("ajones", ""),
        ("ajones", "correct horse\x00"),
        ("ajones", " correct horse"),
    ],
)
def test_failures_look_identical(client, portal, login, password):
    portal.add_user("ajones", "correct horse")
    portal.add_user("suspended", "correct horse", status=0)
    response = post_login(client, login, password)
    assert response.status_code in (200, 400)
    assert "_auth_user_id" not in client.session
    if password:
        assert response.status_code == 200 and WRONG in response.content.decode()


def test_unknown_user_and_wrong_password_give_the_same_page(client, portal):
    portal.add_user("ajones", "correct horse")
    first = post_login(client, "ajones", "nope").content.decode()
    second = post_login(client, "nobody", "nope").content.decode()
    assert _without_form_values(first) == _without_form_values(second)


def _without_form_values(html: str) -> str:
    return "\n".join(
        line for line in html.splitlines() if "csrfmiddlewaretoken" not in line and "value=" not in line
    )


def test_duplicate_login_names_need_an_admin(client, portal):
    portal.add_user("twin", "pw-a")
    portal.add_user("twin", "pw-b")
    response = post_login(client, "twin", "pw-a")
    assert "needs attention" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "url", ["sqlite:////nonexistent/dir/portal.db", "postgresql://reader@127.0.0.1:1/portal"]
)
def test_unreachable_legacy_database_is_a_503_never_wrong_password(client, portal, settings, url):
    portal.add_user("ajones", "correct horse")
    settings.LEGACY_DATABASE_URL = url
    reset_user_source()
    response = post_login(client, "ajones", "correct horse", next_url="/authorize?client_id=x")
    assert response.status_code == 503
    assert response["Retry-After"]
    page = response.content.decode()
    assert "The account database is unavailable, try again shortly." in page
    assert WRONG not in page
    assert "next=%2Fauthorize%3Fclient_id%3Dx" in page  # "try again" keeps where the user was going


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "///evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "https:evil.example",
        "https:/evil.example",
        "http://127.0.0.1:8000@evil.example/",
        "%2F%2Fevil.example",
        " //evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_next_never_leaves_the_site(client, portal, target):
    portal.add_user("ajones", "correct horse")
    response = post_login(client, "ajones", "correct horse", next_url=target)
    assert response.status_code == 303 and response["Location"] == reverse("accounts:home")


@pytest.mark.parametrize("target", ["/%2F%2Fevil.example", "/%5Cevil.example", "/account/?to=//evil.example"])
def test_encoded_lookalikes_stay_local_paths(client, portal, target):
    # Percent-encoded slashes are path characters to a browser: these stay on the bridge.
    portal.add_user("ajones", "correct horse")
    location = post_login(client, "ajones", "correct horse", next_url=target)["Location"]
    assert location == target and location.startswith("/") and not location.startswith("//")


def test_local_next_is_followed(client, portal):
    portal.add_user("ajones", "correct horse")
    response = post_login(client, "ajones", "correct horse", next_url="/authorize?client_id=x&state=y")
    assert response["Location"] == "/authorize?client_id=x&state=y"


def test_login_page_is_accessible_and_protected(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    for fragment in [
        'for="id_login"',
        'for="id_password"',
        'autocomplete="username"',
        'autocomplete="current-password"',
        "csrfmiddlewaretoken",
    ]:
        assert fragment in html
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_csrf_is_enforced(portal):
    from django.test import Client

    portal.add_user("ajones", "correct horse")
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(LOGIN, {"login": "ajones", "password": "correct horse"})
    assert response.status_code == 403 and "expired" in response.content.decode()


def test_portal_users_cannot_use_the_admin_and_admins_are_not_portal_users(client, portal, django_user_model):
    portal.add_user("root", "portal-pass")
    django_user_model.objects.create_superuser("root", "root@example.org", "admin-pass")
    # the admin's own password does not open the portal login ...
    assert post_login(client, "root", "admin-pass").status_code == 200
    # ... and the portal password does not open the admin
    response = client.post("/admin/login/", {"username": "root", "password": "portal-pass"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_passwords_never_reach_the_logs(client, portal, caplog):
    portal.add_user("ajones", "correct horse battery")
    caplog.set_level(logging.DEBUG)
    post_login(client, "ajones", "correct horse battery")
    post_login(client, "ajones", "wrong horse battery")
    text = caplog.text
    assert "correct horse battery" not in text and "wrong horse battery" not in text
    assert "$2y$" not in text and "$2b$" not in text
