"""Hypothesis strategies for hostile HTTP input: raw bytes, forged JWTs, broken Basic credentials.

Values are drawn as *bytes* and percent-encoded by hand (``raw_query``), so a parameter can carry
what no well-behaved client library would send: invalid UTF-8, an encoded surrogate
(``%ED%A0%80``), NUL, overlong encodings, a bare ``%``. Header values are bytes decoded as
ISO-8859-1, which is what a WSGI server hands Django (PEP 3333).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

HUGE = 70_000  # over DATA_UPLOAD_MAX_MEMORY_SIZE (64 KiB) and every length limit in the bridge

# Values that broke (or could break) parsers somewhere; each also appears as an @example.
NASTY_BYTES: tuple[bytes, ...] = (
    b"",
    b"\x00",
    b"a\x00b",
    b"\xed\xa0\x80",  # a UTF-16 surrogate encoded as UTF-8 (CESU-8): invalid UTF-8
    b"\xed\xb0\x80\xed\xa0\x80",
    b"\xc0\xaf",  # overlong "/"
    b"\xff\xfe",
    "\U0001f600\u202e\ufeff".encode(),
    "ａｄｍｉｎ".encode(),  # full-width
    b"%",
    b"%zz",
    b"%00",
    b"%2",
    b"\r\nX-Injected: 1",
    b" ",
    b"\t",
    b"null",
    b"[]",
    b"{}",
    b'{"userinfo":{"sub":{"value":1}}}',
    b"-1",
    b"99999999999999999999999",
    b"1e309",
    b"openid openid",
    b"A" * 3000,
    b"A" * HUGE,
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def fake_jwt(header: object, payload: object, signature: bytes = b"signature") -> str:
    return ".".join(
        (b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), b64url(signature))
    )


FORGED_JWTS: tuple[str, ...] = (
    fake_jwt(
        {"alg": "RS256", "kid": "forged"}, {"iss": "http://127.0.0.1:8000", "sub": "x", "aud": "test-rp"}
    ),
    fake_jwt({"alg": "none"}, {"iss": "http://127.0.0.1:8000", "sub": "x"}, b""),
    fake_jwt({"alg": "HS256", "kid": "x"}, {"sub": "x"}),
    fake_jwt({"alg": "RS256"}, ["not", "an", "object"]),
    fake_jwt("string header", {"sub": "x"}),
    fake_jwt({"alg": "RS256", "kid": ["list"]}, {"sub": "x"}),
    fake_jwt({"alg": "RS256", "kid": None, "crit": ["exp"]}, {"sub": None}),
    fake_jwt({"alg": "RS256", "jwk": {"kty": "oct", "k": "AAAA"}}, {"sub": "x"}),
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "a.b.c",
    "a.b",
    "....",
    "e30.e30.e30",
    "eyJ.eyJ.eyJ",
    b64url(b"\xff\xfe") + "." + b64url(b"\xff") + ".x",
    "a.b.c.d.e",  # JWE-shaped
)


def _truncate(n: int) -> Callable[[str], str]:
    return lambda token: token[: n % max(len(token), 1)]


def _flip(n: int) -> Callable[[str], str]:
    def flip(token: str) -> str:
        i = n % max(len(token), 1)
        return token[:i] + ("A" if token[i : i + 1] != "A" else "B") + token[i + 1 :]

    return flip


def _swap_parts(token: str) -> str:
    parts = token.split(".")
    return ".".join(parts[1:2] + parts[:1] + parts[2:])


# Damage done to a genuine token (truncated, a character flipped, parts swapped or dropped): drawn
# as a function once, applied to whichever token the test holds.
MANGLE = st.one_of(
    st.integers(min_value=0, max_value=2000).map(_truncate),
    st.integers(min_value=0, max_value=2000).map(_flip),
    st.sampled_from(
        [
            _swap_parts,
            lambda token: token.rsplit(".", 1)[0] + ".",
            lambda token: token + "." + token.rsplit(".", 1)[-1],
            lambda token: token + ".",
            lambda token: " " + token,
            lambda token: token.upper(),
        ]
    ),
)


RAW_VALUES = st.one_of(
    st.sampled_from(NASTY_BYTES),
    st.binary(max_size=80),
    st.text(max_size=80).map(str.encode),
    st.text(st.characters(codec="ascii"), max_size=80).map(str.encode),
)
SHORT_RAW_VALUES = st.one_of(st.sampled_from(NASTY_BYTES[:-2]), st.binary(max_size=20))


def raw_values(max_size: int = 80) -> st.SearchStrategy[bytes]:
    return RAW_VALUES if max_size >= 80 else SHORT_RAW_VALUES


# Something sent where a token, code or JWT is expected, as text (headers and form values). Drawn as
# a function of the genuine token (None: no genuine token at hand), so the strategy is built once.
TOKENISH = st.one_of(
    st.sampled_from(FORGED_JWTS).map(lambda forged: lambda genuine: forged),
    RAW_VALUES.map(lambda raw: lambda genuine: raw.decode("latin-1")),
    st.text(max_size=200).map(lambda text: lambda genuine: text),
    MANGLE.map(lambda mangle: lambda genuine: mangle(genuine) if genuine else "x"),
)


def tokenish(genuine: str | None = None) -> st.SearchStrategy[str]:
    return TOKENISH.map(lambda make: make(genuine))


def raw_query(pairs: list[tuple[bytes, bytes]], *, junk: bytes = b"") -> str:
    """``name=value&...`` with every byte percent-encoded as a browser would, then optional junk
    appended verbatim (``&&``, ``=x``, ``%zz``) to exercise the parser itself."""
    encoded = "&".join(f"{quote_from_bytes(n, safe='')}={quote_from_bytes(v, safe='')}" for n, v in pairs)
    return encoded + junk.decode("latin-1")


QUERY_JUNK = st.sampled_from(
    [b"", b"&", b"&&", b"&=", b"&=x", b"&x", b"&%zz=1", b"&a=%", b";a=b", b"&%00=%00"]
)


KEEP, DROP = "keep", "drop"
# What happens to one valid parameter: kept (twice as likely: deeper paths get exercised), dropped,
# replaced by garbage, or repeated with garbage.
PARAM_OP = st.one_of(
    st.just((KEEP, b"")),
    st.just((KEEP, b"")),
    st.just((DROP, b"")),
    RAW_VALUES.map(lambda v: ("replace", v)),
    RAW_VALUES.map(lambda v: ("repeat", v)),
)
EXTRA_PARAMS = st.lists(st.tuples(SHORT_RAW_VALUES, RAW_VALUES), max_size=3)


def parameters(data: st.DataObject, valid: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Each valid parameter kept, dropped, replaced by garbage or repeated; plus unknown extras."""
    pairs: list[tuple[bytes, bytes]] = []
    for name, value in valid.items():
        op, garbage = data.draw(PARAM_OP)
        key = name.encode()
        if op == KEEP:
            pairs.append((key, value.encode()))
        elif op == "replace":
            pairs.append((key, garbage))
        elif op == "repeat":
            pairs += [(key, value.encode()), (key, garbage)]
    return pairs + data.draw(EXTRA_PARAMS)


@functools.cache
def basic_credentials(client_id: str, secret: str) -> st.SearchStrategy[str]:
    """Authorization header values: right, wrong and malformed Basic credentials (RFC 6749 2.3.1)."""
    good = f"{client_id}:{secret}".encode()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return st.one_of(
        st.just("Basic " + b64(good)),
        st.just("Basic " + b64(f"{client_id}:wrong-secret".encode())),
        st.just("Basic " + b64(client_id.encode())),  # no colon
        st.just("Basic " + b64(b":")),
        st.just("Basic " + b64(b"")),
        st.just("Basic"),
        st.just("Basic "),
        st.just("Basic !!!not-base64!!!"),
        st.just("Basic " + b64(good)[:-3]),  # truncated
        st.just("Basic " + b64(good).rstrip("=")),  # padding stripped
        st.just("basic " + b64(good)),
        st.just("Basic  " + b64(good)),
        st.just("Basic " + b64(good) + " trailing"),
        st.just("Basic " + b64(b"%:%")),
        st.just("Basic " + b64(b"%zz:%zz")),
        st.just("Basic " + b64(b"%00:%00")),
        st.just("Basic " + b64(b"%ED%A0%80:%FF")),
        st.just("Basic " + b64(f"{client_id}%3A:{secret}".encode())),
        st.just("Basic " + b64(b"A" * HUGE + b":" + b"B" * HUGE)),
        st.just("Bearer " + b64(good)),
        st.binary(max_size=60).map(lambda raw: "Basic " + b64(raw)),
        st.binary(max_size=60).map(lambda raw: "Basic " + raw.decode("latin-1")),
        st.tuples(raw_values(40), raw_values(40)).map(lambda t: "Basic " + b64(t[0] + b":" + t[1])),
    )


CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/x-www-form-urlencoded; charset=nonsense",
        "application/json",
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "",
        "application/x-www-form-urlencoded\x00",
    ]
)

BROKEN_BODIES = st.sampled_from(
    [
        b'{"grant_type": "authorization_code", "code": ',
        b'{"token": null}',
        b"[1, 2, 3]",
        b"\xff\xfe\x00\x00",
        b'--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc\r\n--x--',
        b'--x\r\nContent-Disposition: form-data; name="token"\r\n',
        b"a" * HUGE,
        b"=" * 200,
        b"&" * 500,
        b"a=1&" * 200,  # over DATA_UPLOAD_MAX_NUMBER_FIELDS
    ]
)
