"""Make legacy password hashes the way the legacy systems did, at test-friendly costs."""

from __future__ import annotations

import base64
import hashlib
import secrets

import bcrypt
from passlib.hash import phpass, sha512_crypt


def make_hash(scheme: str, password: str) -> str:
    encoded = password.encode()
    if scheme == "bcrypt":
        # PHP's password_hash() writes $2y$ and uses the first 72 bytes.
        return bcrypt.hashpw(encoded[:72], bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$", 1)
    if scheme == "pbkdf2_sha256":
        salt = secrets.token_hex(8)
        digest = hashlib.pbkdf2_hmac("sha256", encoded, salt.encode(), 1000)
        return f"pbkdf2_sha256$1000${salt}${base64.b64encode(digest).decode()}"
    if scheme == "phpass":
        return phpass.using(rounds=8).hash(password)
    if scheme == "sha512_crypt":
        return sha512_crypt.using(rounds=1000).hash(password)
    raise ValueError(f"no factory for {scheme}")
