"""Support for the worked-mapping tests: the mappings as the doc prints them, and each product's
own password-hash construction, written from the product's source (or made with the library the
product uses: bcrypt, argon2, passlib's phpass and sha512-crypt).

Nothing here imports the bridge's hashers: the hashes must come from an independent reference, so
that a login succeeding means the bridge verifies what the product itself wrote.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
from argon2 import PasswordHasher
from passlib.hash import phpass, sha512_crypt

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "legacy-mapping.md"


def doc_mapping(name: str) -> str:
    """The TOML text of the worked mapping marked ``<!-- worked-mapping: name -->`` in the doc."""
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(
        rf"<!-- worked-mapping: {re.escape(name)} -->\n```toml\n(.*?)```", text, flags=re.DOTALL
    )
    assert len(found) == 1, f"{DOC} has {len(found)} worked mappings marked {name!r}"
    return found[0]


@dataclass(frozen=True)
class Account:
    """A row to insert and what logging in as it should give."""

    login: str  # what the person types
    password: str
    outcome: str  # "ok", or the LoginOutcome reason (e.g. "suspended", "mismatch")
    claims: dict[str, str] = field(default_factory=dict)  # Profile field -> value, for "ok"

    def __repr__(self) -> str:  # test ids and failure messages: never the password
        return f"Account({self.login!r} -> {self.outcome})"


# --- bcrypt as PHP's password_hash() writes it ---------------------------------------------------


#: PHP's default bcrypt cost is 10; 8 is the same algorithm at a quarter of the time.
BCRYPT_COST = 8


def bcrypt_2y(password: str | bytes, cost: int = BCRYPT_COST) -> str:
    """``password_hash($password, PASSWORD_BCRYPT)``: ``$2y$``, the first 72 bytes count."""
    raw = password.encode("utf-8") if isinstance(password, str) else password
    return "$2y$" + bcrypt.hashpw(raw[:72], bcrypt.gensalt(cost)).decode("ascii").removeprefix("$2b$")


def argon2id(password: str) -> str:
    """``password_hash($password, PASSWORD_ARGON2ID)`` with PHP's defaults (64 MiB, t=4, p=1)."""
    return PasswordHasher(time_cost=4, memory_cost=65536, parallelism=1).hash(password)


# --- phpass, Drupal 7 (includes/password.inc) ----------------------------------------------------

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def password_base64_encode(data: bytes, count: int) -> str:
    """Drupal's ``_password_base64_encode()`` (phpass's ``encode64``), line by line."""
    out: list[str] = []
    i = 0
    while True:
        value = data[i]
        i += 1
        out.append(ITOA64[value & 0x3F])
        if i < count:
            value |= data[i] << 8
        out.append(ITOA64[(value >> 6) & 0x3F])
        i += 1
        if i - 1 >= count:
            break
        if i < count:
            value |= data[i] << 16
        out.append(ITOA64[(value >> 12) & 0x3F])
        i += 1
        if i - 1 >= count:
            break
        out.append(ITOA64[(value >> 18) & 0x3F])
        if not i < count:
            break
    return "".join(out)


def drupal7(password: str, *, salt: str | None = None, count_log2: int = 15) -> str:
    """``user_hash_password()``: ``_password_crypt('sha512', $password, '$S$' . count . salt)``."""
    salt = salt if salt is not None else password_base64_encode(secrets.token_bytes(6), 6)
    assert len(salt) == 8
    setting = "$S$" + ITOA64[count_log2] + salt
    raw = password.encode("utf-8")
    digest = hashlib.sha512(salt.encode("ascii") + raw).digest()
    for _ in range(1 << count_log2):
        digest = hashlib.sha512(digest + raw).digest()
    return (setting + password_base64_encode(digest, len(digest)))[:55]


def drupal7_upgraded_md5(password: str) -> str:
    """A Drupal 6 MD5 hash re-hashed by the Drupal 7 upgrade: ``'U' . user_hash_password(md5)``."""
    return "U" + drupal7(hashlib.md5(password.encode("utf-8")).hexdigest())


def phpass_portable(password: str, *, ident: str = "P", rounds: int = 13) -> str:
    """phpass portable hashes: WordPress ``$P$B`` (2^13), phpBB 3.0 ``$H$9`` (2^11)."""
    return str(phpass.using(ident=ident, rounds=rounds).hash(password))


# --- WordPress 6.8 (wp-includes/pluggable.php) ---------------------------------------------------


def wordpress_bcrypt(password: str, cost: int = BCRYPT_COST) -> str:
    """``wp_hash_password()``: ``'$wp' . password_hash(base64(hmac-sha384(trim(pw), 'wp-sha384')))``."""
    trimmed = password.strip(" \t\n\r\x00\x0b")
    prehash = base64.b64encode(hmac.new(b"wp-sha384", trimmed.encode("utf-8"), hashlib.sha384).digest())
    return "$wp" + bcrypt_2y(prehash, cost)


def wordpress_phpass(password: str) -> str:
    """WordPress before 6.8: ``$wp_hasher->HashPassword(trim($password))``, ``$P$B``."""
    return phpass_portable(password.strip(" \t\n\r\x00\x0b"))


# --- Moodle (lib/moodlelib.php) --------------------------------------------------------------------


def moodle_legacy_md5(password: str, site_salt: str) -> str:
    """Before Moodle 2.5: ``md5($password . $CFG->passwordsaltmain)``."""
    return hashlib.md5((password + site_salt).encode("utf-8")).hexdigest()


def moodle_sha512_crypt(password: str) -> str:
    """Moodle 4.3+: ``crypt($password, '$6$rounds=10000$' . $salt)``."""
    return str(sha512_crypt.using(rounds=10000).hash(password))


# --- MediaWiki (includes/password/) ---------------------------------------------------------------


def mediawiki_pbkdf2(password: str, *, rounds: int = 30000, length: int = 64) -> str:
    """``Pbkdf2PasswordUsingHashExtension``: ``:pbkdf2:sha512:30000:64:<b64 salt>:<b64 hash>``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, rounds, length)
    b64 = base64.b64encode
    return f":pbkdf2:sha512:{rounds}:{length}:{b64(salt).decode()}:{b64(digest).decode()}"


def mediawiki_b(password: str) -> str:
    """``MWSaltedPassword``: ``:B:<salt>:md5(salt . '-' . md5(password))``."""
    salt = secrets.token_hex(4)
    inner = hashlib.md5(password.encode("utf-8")).hexdigest()
    return f":B:{salt}:{hashlib.md5(f'{salt}-{inner}'.encode()).hexdigest()}"


def mediawiki_a(password: str) -> str:
    """``MWOldPassword``: ``:A:md5(password)``."""
    return ":A:" + hashlib.md5(password.encode("utf-8")).hexdigest()


# --- a custom application -----------------------------------------------------------------------------


def sha256_salted_hex(password: str, salt: str) -> str:
    """``hex(sha256(salt || password))``."""
    return hashlib.sha256((salt + password).encode("utf-8")).hexdigest()


# --- logging in through the bridge ------------------------------------------------------------------


def check_login(account: Account) -> None:
    """Log in as ``account`` through the bridge and compare the outcome (and claims) with it."""
    from accounts.authentication import check_legacy_credentials
    from accounts.models import Profile

    before = Profile.objects.count()
    outcome = check_legacy_credentials(account.login, account.password)
    assert outcome.reason == account.outcome, f"{account!r}: got {outcome.reason!r} (scheme {outcome.scheme})"
    if account.outcome != "ok":
        assert outcome.user is None and Profile.objects.count() == before
        return
    assert outcome.user is not None
    profile = Profile.objects.get(user=outcome.user)
    for name, expected in account.claims.items():
        assert getattr(profile, name) == expected, f"{account!r}: Profile.{name}"


def check_wrong_password(account: Account) -> None:
    from accounts.authentication import check_legacy_credentials

    for wrong in (account.password + "x", account.password.upper(), "x" + account.password[1:]):
        if wrong == account.password:
            continue
        outcome = check_legacy_credentials(account.login, wrong)
        assert outcome.user is None and outcome.reason == "mismatch", f"{account!r}: {outcome.reason}"


# --- one indexed query per login ------------------------------------------------------------------


def assert_login_lookup_uses_an_index(db: object, source: object, table: str, login: str) -> None:
    """EXPLAIN the source's login statement on ``db`` (a ThrowawayDatabase): ``table`` (its name or
    alias in the query) must be read through an index, not scanned."""
    import psycopg

    statement = source._by_login  # type: ignore[attr-defined]
    sql, params = "EXPLAIN " + statement.sql, statement.values(login=login)
    if db.kind == "mariadb":  # type: ignore[attr-defined]
        rows = db.execute(sql, params)  # type: ignore[attr-defined]
        # id, select_type, table, type, possible_keys, key, key_len, ref, rows, Extra
        main = [row for row in rows if row[2] == table]
        assert main, rows
        assert main[0][3] != "ALL" and main[0][5] is not None, rows
    else:
        with psycopg.connect(db.admin_url, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute("SET enable_seqscan = off")  # the tables are tiny: ask whether an index *can* serve
            plan = "\n".join(str(row[0]) for row in conn.execute(sql, params))
        assert "Index" in plan and "Seq Scan" not in plan, plan
