"""Reference implementations of the legacy formats, written independently of accounts.hashers.

Each is a transcription of the legacy system's own code (cited) into hashlib/hmac/bcrypt/argon2
calls, so that a test can derive vectors the legacy system would have written without asking the
code under test. Where a library implementation exists (passlib, Django, argon2-cffi, libxcrypt),
the tests cross-check against it too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import bcrypt

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PASSWORD = "password"


def password_base64_encode(data: bytes, count: int) -> str:
    """Drupal 7's ``_password_base64_encode`` (phpass's ``encode64``), transcribed."""
    out = []
    i = 0
    while True:
        value = data[i]
        i += 1
        out.append(ITOA64[value & 0x3F])
        if i < count:
            value |= data[i] << 8
        out.append(ITOA64[(value >> 6) & 0x3F])
        if i >= count:
            break
        i += 1
        if i < count:
            value |= data[i] << 16
        out.append(ITOA64[(value >> 12) & 0x3F])
        if i >= count:
            break
        i += 1
        out.append(ITOA64[(value >> 18) & 0x3F])
        if i >= count:
            break
    return "".join(out)


def drupal7_password_crypt(password: str, setting: str) -> str:
    """Drupal 7's ``_password_crypt('sha512', $password, $setting)`` (includes/password.inc)."""
    count = 1 << ITOA64.index(setting[3])
    salt = setting[4:12].encode("ascii")
    secret = password.encode("utf-8")
    digest = hashlib.sha512(salt + secret).digest()
    for _ in range(count):
        digest = hashlib.sha512(digest + secret).digest()
    return (setting[:12] + password_base64_encode(digest, len(digest)))[:55]


def drupal7_upgraded(password: str, setting: str) -> str:
    """Drupal 7's ``user_update_7000``: ``'U' . user_hash_password(md5($old_md5_hash))``."""
    return "U" + drupal7_password_crypt(hashlib.md5(password.encode()).hexdigest(), setting)


def wordpress_hash(password: str, bcrypt_salt: bytes) -> str:
    """WordPress 6.8's ``wp_hash_password`` (wp-includes/pluggable.php), with a chosen bcrypt salt."""
    trimmed = password.strip(" \t\n\r\x0b\x00")
    prehash = base64.b64encode(hmac.new(b"wp-sha384", trimmed.encode("utf-8"), hashlib.sha384).digest())
    return "$wp" + bcrypt.hashpw(prehash, bcrypt_salt).decode("ascii").replace("$2b$", "$2y$", 1)


def mediawiki_b(password: str, salt: str) -> str:
    """MediaWiki's ``MWSaltedPassword::crypt``: ``md5($salt . '-' . md5($plaintext))``."""
    inner = hashlib.md5(password.encode()).hexdigest()
    return f":B:{salt}:" + hashlib.md5(f"{salt}-{inner}".encode()).hexdigest()


def mediawiki_pbkdf2(password: str, algorithm: str, cost: int, length: int, salt: bytes) -> str:
    """MediaWiki's ``Pbkdf2Password::crypt``: ``hash_pbkdf2($algo, $pw, $salt, $cost, $length, true)``."""
    key = hashlib.pbkdf2_hmac(algorithm, password.encode(), salt, cost, length)
    return f":pbkdf2:{algorithm}:{cost}:{length}:{base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()}"


def joomla_md5(password: str, salt: str) -> str:
    """Joomla's ``getCryptedPassword($pw, $salt, 'md5-hex') . ':' . $salt``: ``md5($pw . $salt)``."""
    return hashlib.md5((password + salt).encode()).hexdigest() + ":" + salt


def moodle_md5(password: str, site_salt: str) -> str:
    """Moodle 1.x-2.4 ``hash_internal_user_password``: ``md5($password . $CFG->passwordsaltmain)``."""
    return hashlib.md5((password + site_salt).encode()).hexdigest()


def aspnet_v2(password: str, salt: bytes) -> str:
    """ASP.NET Identity ``HashPasswordV2``: 0x00 + salt + Rfc2898DeriveBytes(SHA-1, 1000, 32 bytes)."""
    key = hashlib.pbkdf2_hmac("sha1", password.encode("utf-8"), salt, 1000, 32)
    return base64.b64encode(b"\x00" + salt + key).decode()


def aspnet_v3(password: str, prf: int, iterations: int, salt: bytes, key_length: int) -> str:
    """ASP.NET Core Identity ``HashPasswordV3``: 0x01, big-endian PRF, iterations, salt length, salt, key."""
    digest = {0: "sha1", 1: "sha256", 2: "sha512"}[prf]
    key = hashlib.pbkdf2_hmac(digest, password.encode("utf-8"), salt, iterations, key_length)
    header = b"\x01" + struct.pack(">III", prf, iterations, len(salt))
    return base64.b64encode(header + salt + key).decode()


def ldap_salted(tag: str, digest: str, password: str, salt: bytes) -> str:
    """RFC 2307 ``{SSHA}``-style: ``base64(H(password + salt) + salt)`` (OpenLDAP ``slappasswd``)."""
    return tag + base64.b64encode(hashlib.new(digest, password.encode() + salt).digest() + salt).decode()


def ab64(data: bytes) -> str:
    """OpenLDAP pw-pbkdf2's / passlib's adapted base64: '.' for '+', no padding."""
    return base64.b64encode(data).decode().replace("+", ".").rstrip("=")


def ldap_pbkdf2(tag: str, digest: str, password: str, iterations: int, salt: bytes) -> str:
    """OpenLDAP contrib pw-pbkdf2's ``pbkdf2_format``: ``{TAG}<iter>$<ab64 salt>$<ab64 dk>``."""
    key = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)
    return f"{tag}{iterations}${ab64(salt)}${ab64(key)}"


def atlassian(password: str, salt: bytes) -> str:
    """Atlassian's ``PKCS5S2PasswordEncoder``: ``{PKCS5S2}`` + base64(salt + PBKDF2-SHA1(10000, 32))."""
    key = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, 10_000, 32)
    return "{PKCS5S2}" + base64.b64encode(salt + key).decode()


def django_bcrypt_sha256(password: str, bcrypt_salt: bytes) -> str:
    """Django's ``BCryptSHA256PasswordHasher.encode``: bcrypt over hexlify(sha256(password))."""
    secret = hashlib.sha256(password.encode()).hexdigest().encode("ascii")
    return "bcrypt_sha256$" + bcrypt.hashpw(secret, bcrypt_salt).decode("ascii")


# Low-cost, well-formed values of PASSWORD for every registered scheme, with the context each
# needs (as HashContext keyword arguments). Every literal is re-derived from a reference (above,
# or passlib, Django, argon2-cffi, libxcrypt) in
# test_hashers_registry.py::test_cheap_vectors_come_from_the_references.
CHEAP: dict[str, tuple[str, dict[str, str]]] = {
    "apr1": ("$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/", {}),
    "argon2": ("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$zX4Ep8A/YO7OCSW/CB8hJQ", {}),
    "aspnet_identity_v2": ("AAABAgMEBQYHCAkKCwwNDg8DCeL+Tgvf59D+SCjUHCNEFuLZv7Yc3Y9kOhHPv9/BGQ==", {}),
    "aspnet_identity_v3": (
        "AQAAAAEAAAABAAAAEAABAgMEBQYHCAkKCwwNDg/hsI+SvoF02fRC2V2JqkzNwxEjGk1w0LhU0VSN6Pq9/Q==",
        {},
    ),
    "atlassian_pbkdf2": ("{PKCS5S2}MDEyMzQ1Njc4OWFiY2RlZgbI0KIJAXGwlbspl5YNAcQi800bVp2AcUjosJgn01E+", {}),
    "bcrypt": ("$2b$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm", {}),
    "django_argon2": (
        "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$Wb9DOLKUgwlL5fjad9tfCPU0SBAo0PEY/evJRhwtUR0",
        {},
    ),
    "django_bcrypt_sha256": (
        "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuuavYyybW8SwBYgHrVfEOHIljvgCGgHr2",
        {},
    ),
    "django_pbkdf2_sha1": ("pbkdf2_sha1$1$salt$DGDID5YfDnHzqbUkr2ASBi/gN6Y=", {}),
    "django_pbkdf2_sha256": ("pbkdf2_sha256$1$salt$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=", {}),
    "django_scrypt": (
        "scrypt$16$saltsalt$1$1$0a3GPom3Z1unCocbxYK40UHyGj5hLe7J6BfIEEPjKTlXWbMJZ3OCBq0kYvdvbqvbsXXEygjYoiCmKRA+32rLrg==",
        {},
    ),
    "drupal7": ("$S$5saltsaltr80nTZX21ZPJU.NESy4yXLO9juIim.9QAO6ac7FDpSS", {}),
    "drupal7_upgraded_md5": ("U$S$5saltsaltwmMIPWLnA.7e3muERg9YQ/AqVvlLLlQB/NVRRl9JS4W", {}),
    "joomla_md5": ("b4728716ee1a8de5fe3ce43646ff4973:saltsaltsaltsaltsaltsaltsaltsalt", {}),
    "ldap_crypt": ("{CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", {}),
    "ldap_md5": ("{MD5}X03MO1qnZdYdgyfeuILPmQ==", {}),
    "ldap_pbkdf2_sha1": ("{PBKDF2-SHA1}1$c2FsdHNhbHRzYWx0c2FsdA$fw0i5DmENqz3vNLPu5kDdV3vlSI", {}),
    "ldap_pbkdf2_sha256": (
        "{PBKDF2-SHA256}1$c2FsdHNhbHRzYWx0c2FsdA$sT1ml.mc1tF0XaCX7gPkvlATQedv6RYaeI3j1M0L4hk",
        {},
    ),
    "ldap_pbkdf2_sha512": (
        "{PBKDF2-SHA512}1$c2FsdHNhbHRzYWx0c2FsdA$zMa9LL9XW9NEyc9UKHf8bpNyy/Hx4d85LGz19gOLtXQ4NK7qbwImxKJXu7q.fBhdF5majSti2Ju4PSQnO4oyKQ",
        {},
    ),
    "ldap_sha": ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", {}),
    "ldap_smd5": ("{SMD5}swXK27O85U86pZxk/sAN6nNhbHQ=", {}),
    "ldap_ssha": ("{SSHA}yI6cZwQadOA1e+/f+T+H3eCQQhRzYWx0", {}),
    "ldap_ssha256": ("{SSHA256}DIzeh0gCRMTRu9dAH3C3rr7fWkRT0Bp2ZdtRqvTX3XJzYWx0c2FsdA==", {}),
    "ldap_ssha512": (
        "{SSHA512}9ZxHVj4YomwqqFiYKcIjExMLx2ZblYfXRGc4KMqbgvHq2+HOgwiTIi+eO/Uam/8D0beDAkGpvx14+UFlfBskLnNhbHRzYWx0",
        {},
    ),
    "md5_crypt": ("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", {}),
    "md5_hex": ("5f4dcc3b5aa765d61d8327deb882cf99", {}),
    "mediawiki_a": (":A:5f4dcc3b5aa765d61d8327deb882cf99", {}),
    "mediawiki_b": (":B:salt:9842afc7cb949c440c51347ed809362f", {}),
    "mediawiki_pbkdf2": (":pbkdf2:sha1:1:20:c2FsdA==:DGDID5YfDnHzqbUkr2ASBi/gN6Y=", {}),
    "moodle_md5": ("9ad1ccd0627342ff137ab1eb3fff9a02", {"site_salt": "sitesalt"}),
    "phpass": ("$P$512345678gWElwkeSOP9tFeJ1LUBM8/", {}),
    "phpbb3": ("$CP$5f4dcc3b5aa765d61d8327deb882cf99", {}),
    "sha1_hex": ("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", {}),
    "sha256_crypt": ("$5$rounds=1000$saltsalt$azOwbpkvuuBKkE82dQPwTsQE8JyT9Fflpr9aKid3aT9", {}),
    "sha256_hex": ("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", {}),
    "sha512_crypt": (
        "$6$rounds=1000$saltsalt$Z/J9iYO1iE9xnr8JPQL57ZWsVRtVjrUv3CiWc/wKWseqXgSqn3HFYJ/Ng7YXa8XlLj.wpdAwHOJJzuGFqBBRa0",
        {},
    ),
    "sha512_hex": (
        "b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86",
        {},
    ),
    "wordpress_bcrypt": ("$wp$2y$04$abcdefghijklmnopqrstuuvVcN26Qszf/bgHTEy5wqn1LFLMIFXUq", {}),
}
