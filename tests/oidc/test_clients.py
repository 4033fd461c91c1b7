"""Registering clients from the command line, as campus IT will."""

import io

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from oidc.clients import GLOBUS_CALLBACK
from oidc.models import Application

pytestmark = pytest.mark.django_db
SECRET = "s3cret-" + "k" * 40


def register(*args: str) -> str:
    out = io.StringIO()
    call_command("register_client", *args, stdout=out)
    return out.getvalue()


def test_register_then_rerun_updates_instead_of_duplicating():
    register("--client-id", "portal", "--client-secret", SECRET, "--redirect-uri", "https://a.example/cb")
    register(
        "--client-id", "portal", "--redirect-uri", "https://b.example/cb", "--name", "Portal", "--trusted"
    )
    app = Application.objects.get()
    assert app.redirect_uris == "https://b.example/cb"
    assert app.name == "Portal" and app.skip_authorization
    assert check_password(SECRET, app.client_secret)  # the secret survives an update that does not name one
    assert app.client_secret.startswith("client_secret_hmac$")  # stored hashed, and cheap to verify


def test_globus_preset_registers_globus_auth_callback():
    out = register("--client-id", "globus", "--client-secret", SECRET, "--preset", "globus")
    app = Application.objects.get(client_id="globus")
    assert app.redirect_uris == GLOBUS_CALLBACK
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert app.algorithm == Application.RS256_ALGORITHM
    assert "Registered client 'globus'" in out


def test_generated_secret_is_printed_once_and_works():
    out = register("--client-id", "gen", "--generate-secret", "--redirect-uri", "https://a.example/cb")
    secret = out.split("client secret (shown once, stored hashed): ")[1].strip()
    assert check_password(secret, Application.objects.get(client_id="gen").client_secret)


def test_public_client_has_no_secret_and_auth_method_none():
    register("--client-id", "spa", "--public", "--redirect-uri", "http://127.0.0.1:5000/cb")
    app = Application.objects.get(client_id="spa")
    assert app.client_type == Application.CLIENT_PUBLIC and app.token_endpoint_auth_method == "none"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--client-id", "x", "--client-secret", SECRET], "redirect-uri"),
        (
            ["--client-id", "x", "--client-secret", "short", "--redirect-uri", "https://a.example/cb"],
            "at least 32",
        ),
        (["--client-id", "x", "--redirect-uri", "https://a.example/cb"], "needs --client-secret"),
        (
            ["--client-id", "x", "--client-secret", SECRET, "--redirect-uri", "http://rp.example/cb"],
            "loopback",
        ),
        (
            ["--client-id", "x", "--client-secret", SECRET, "--redirect-uri", "https://rp.example/cb#frag"],
            "fragment",
        ),
        (["--client-id", "x", "--client-secret", SECRET, "--redirect-uri", "rp.example/cb"], "absolute"),
        (
            [
                "--client-id",
                "x",
                "--public",
                "--client-secret",
                SECRET,
                "--redirect-uri",
                "https://a.example/cb",
            ],
            "public",
        ),
    ],
)
def test_bad_registrations_are_refused_with_the_fix(args, message):
    with pytest.raises(CommandError, match=message):
        register(*args)
    assert not Application.objects.exists()


def test_exact_redirect_uri_matching():
    register("--client-id", "x", "--client-secret", SECRET, "--redirect-uri", "https://rp.example/cb?a=1")
    app = Application.objects.get()
    assert app.redirect_uri_allowed("https://rp.example/cb?a=1")
    for near_miss in [
        "https://rp.example/cb?a=1&b=2",
        "https://rp.example/cb",
        "https://RP.example/cb?a=1",
        "https://rp.example/cb/?a=1",
        "https://rp.example:443/cb?a=1",
        "http://rp.example/cb?a=1",
    ]:
        assert not app.redirect_uri_allowed(near_miss), near_miss
