"""One hash per scheme, at the parameters real portals use: for the cost-per-scheme benchmark.

Built with the same reference constructions the hasher tests use (tests/accounts/hashers/references.py)
or the maintained libraries, never with the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

import bcrypt
from argon2 import PasswordHasher
from passlib.hash import apr_md5_crypt, md5_crypt, phpass, sha256_crypt, sha512_crypt

from accounts.hashers import HashContext

PASSWORD = "correct horse battery staple"


def _references():  # type: ignore[no-untyped-def]
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "accounts" / "hashers" / "references.py"
    spec = importlib.util.spec_from_file_location("hasher_references", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def representative_hashes() -> dict[str, tuple[str, str, HashContext | None]]:
    ref = _references()
    pw = PASSWORD
    salt = secrets.token_hex(8)
    django_salt = secrets.token_hex(8)
    pbkdf2 = base64.b64encode(
        hashlib.pbkdf2_hmac("sha256", pw.encode(), django_salt.encode(), 1_000_000)
    ).decode()
    return {
        "bcrypt": (bcrypt.hashpw(pw.encode(), bcrypt.gensalt(10)).decode().replace("$2b$", "$2y$"), pw, None),
        "wordpress_bcrypt": (ref.wordpress_hash(pw, bcrypt.gensalt(10)), pw, None),
        "phpass": (phpass.using(rounds=13).hash(pw), pw, None),
        "drupal7": (ref.drupal7_password_crypt(pw, "$S$D" + secrets.token_hex(4)), pw, None),
        "md5_crypt": (md5_crypt.hash(pw), pw, None),
        "apr1": (apr_md5_crypt.hash(pw), pw, None),
        "sha256_crypt": (sha256_crypt.using(rounds=5000).hash(pw), pw, None),
        "sha512_crypt": (sha512_crypt.using(rounds=5000).hash(pw), pw, None),
        "django_pbkdf2_sha256": (f"pbkdf2_sha256$1000000${django_salt}${pbkdf2}", pw, None),
        "argon2": (PasswordHasher().hash(pw), pw, None),
        "mediawiki_pbkdf2": (
            ref.mediawiki_pbkdf2(pw, "sha512", 30000, 64, secrets.token_bytes(16)),
            pw,
            None,
        ),
        "aspnet_identity_v3": (ref.aspnet_v3(pw, 1, 10000, secrets.token_bytes(16), 32), pw, None),
        "atlassian_pbkdf2": (ref.atlassian(pw, secrets.token_bytes(16)), pw, None),
        "moodle_md5": (ref.moodle_md5(pw, "site-salt"), pw, HashContext(site_salt="site-salt")),
        "sha256_hex": (
            hashlib.sha256((salt + pw).encode()).hexdigest(),
            pw,
            HashContext(salt=salt, salt_position="before"),
        ),
        "md5_hex": (hashlib.md5(pw.encode()).hexdigest(), pw, None),
    }
