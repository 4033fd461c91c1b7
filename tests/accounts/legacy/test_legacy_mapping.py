"""The mapping file: a good file parses completely; every bad one names the key and the fix."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.legacy import LegacyMappingError
from accounts.legacy.demo import DEMO_MAPPING_PATH
from accounts.legacy.mapping import ActiveCondition, Mapping, is_identifier, load_mapping, parse_mapping
from accounts.legacy.sql import SqlUserSource, dialect_for_url
from idp_bridge.errors import ConfigurationError

REPO = Path(__file__).resolve().parents[3]

FULL = """
[table]
name = "public.users"
[columns]
id = "uid"
username = "name"
password = "pass"
salt = "salt"
email = "mail"
name = "full_name"
given_name = "first_name"
family_name = "last_name"
organization = "org"
[constants]
organization = "Example University"
[active]
status = 1
state = ["active", "ok"]
[options]
username_match = "case-insensitive"
password_scheme = "bcrypt"
"""

MINIMAL = """
[table]
name = "users"
[columns]
id = "uid"
username = "name"
password = "pass"
"""


def test_full_mapping() -> None:
    mapping = parse_mapping(FULL, source="mapping.toml")
    assert mapping == Mapping(
        table="public.users",
        id_column="uid",
        username_column="name",
        password_column="pass",
        salt_column="salt",
        claim_columns=(
            ("email", "mail"),
            ("name", "full_name"),
            ("given_name", "first_name"),
            ("family_name", "last_name"),
            ("organization", "org"),
        ),
        constants=(("organization", "Example University"),),
        active=(ActiveCondition("status", (1,)), ActiveCondition("state", ("active", "ok"))),
        username_match="case-insensitive",
        password_scheme="bcrypt",
        source="mapping.toml",
    )
    assert mapping.selected_columns() == (
        "uid", "name", "pass", "salt", "mail", "full_name", "first_name", "last_name", "org",
        "status", "state",
    )  # fmt: skip
    assert mapping.claim_column("email") == "mail"
    assert mapping.constant("organization") == "Example University"


def test_minimal_mapping_defaults() -> None:
    mapping = parse_mapping(MINIMAL)
    assert mapping.username_match == "exact"
    assert (mapping.salt_column, mapping.password_scheme, mapping.active, mapping.constants) == (
        None,
        None,
        (),
        (),
    )
    assert mapping.claim_columns == ()


def test_a_column_may_serve_twice() -> None:
    mapping = parse_mapping(MINIMAL.replace('username = "name"', 'username = "uid"'))
    assert mapping.selected_columns() == ("uid", "pass")


def test_load_mapping_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(MINIMAL.replace('username = "name"\n', ""), encoding="utf-8")
    with pytest.raises(LegacyMappingError) as caught:
        load_mapping(path)
    assert str(caught.value) == f"{path}: [columns] needs 'username' — the column people type to log in"
    assert isinstance(caught.value, ConfigurationError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LegacyMappingError, match=r"nope\.toml: mapping file not found"):
        load_mapping(tmp_path / "nope.toml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.replace("users", "us\xe9rs").encode("latin-1"))
    with pytest.raises(LegacyMappingError, match="not valid UTF-8"):
        load_mapping(path)


def test_the_demo_mapping_parses() -> None:
    mapping = load_mapping(DEMO_MAPPING_PATH)
    assert (mapping.table, mapping.id_column, mapping.username_column) == ("portal_users", "uid", "login")
    assert mapping.active == (ActiveCondition("status", (1,)),)


def test_the_documented_example_parses() -> None:
    """Every ```toml block in docs/legacy-mapping.md is a valid mapping (the doc cannot rot)."""
    doc = (REPO / "docs" / "legacy-mapping.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, flags=re.DOTALL)
    assert blocks
    for block in blocks:
        parse_mapping(block, source="docs/legacy-mapping.md")


BAD = [
    ("[table\nname = 1", "not valid TOML"),
    ('[columns]\nid = "a"\nusername = "b"\npassword = "c"', "the [table] section is missing"),
    ('table = "users"\n[columns]' + MINIMAL.split("[columns]")[1], "table must be a section"),
    ('[table]\n[columns]\nid = "a"\nusername = "b"\npassword = "c"', "[table] needs 'name'"),
    (
        MINIMAL.replace('name = "users"', 'name = "users; DROP TABLE x"'),
        "[table] name = 'users; DROP TABLE x'",
    ),
    (MINIMAL.replace('name = "users"', 'name = "a.b.c"'), "[table] name = 'a.b.c'"),
    (
        MINIMAL.replace('name = "users"', 'name = "users"\nschema = "x"'),
        "[table] has an unknown key 'schema'",
    ),
    (MINIMAL.replace('name = "users"', "name = 7"), "[table] name must be a table name"),
    (MINIMAL + "[colums]\n", "unknown section [colums]: did you mean [columns]?"),
    (MINIMAL.split("[columns]")[0], "the [columns] section is missing"),
    (MINIMAL.replace('id = "uid"\n', ""), "[columns] needs 'id' — the immutable primary key"),
    (MINIMAL.replace('password = "pass"\n', ""), "[columns] needs 'password' — the column holding"),
    (MINIMAL + 'usrname = "x"\n', "[columns] has an unknown key 'usrname': did you mean 'username'?"),
    (MINIMAL.replace('id = "uid"', "id = 1"), "[columns] id must be a column name"),
    (MINIMAL + 'email = "public.mail"\n', "[columns] email = 'public.mail' is not a plain column name"),
    (MINIMAL + 'email = "1mail"\n', "[columns] email = '1mail'"),
    (MINIMAL + 'email = ""\n', "[columns] email = ''"),
    (MINIMAL + 'email = "mail "\n', "[columns] email = 'mail '"),
    (MINIMAL + 'email = "m\\"ail"\n', "[columns] email = 'm\"ail'"),
    (MINIMAL + 'email = "e\u0301mail"\n', "[columns] email"),
    (MINIMAL + f'email = "{"m" * 64}"\n', "at most 63 characters"),
    (MINIMAL + '[constants]\nemail = "x@example.org"\n', "[constants] has an unknown key 'email'"),
    (MINIMAL + '[constants]\norganization = ""\n', "[constants] organization must be a non-empty string"),
    (MINIMAL + "[constants]\norganization = 1\n", "[constants] organization must be a non-empty string"),
    (MINIMAL + "[active]\nstatus = 1.0\n", "[active] status: 1.0 is not a string, integer or boolean"),
    (MINIMAL + "[active]\nstatus = []\n", "[active] status = [] would never hold"),
    (MINIMAL + "[active]\nstatus = [1, [2]]\n", "[active] status: [2] is not"),
    (MINIMAL + "[active.status]\nvalue = 1\n", "[active] status: {'value': 1} is not"),
    (MINIMAL + '[active]\n"st-atus" = 1\n', "[active] st-atus = 'st-atus' is not a plain column name"),
    (MINIMAL + "[active]\nsince = 2020-01-01\n", "[active] since"),
    (MINIMAL + '[options]\nusername_match = "nocase"\n', "[options] username_match must be"),
    (MINIMAL + '[options]\ncase = "exact"\n', "[options] has an unknown key 'case'"),
    (MINIMAL + '[options]\npassword_scheme = "bc rypt"\n', "[options] password_scheme must be a scheme name"),
    (MINIMAL + '[options]\npassword_scheme = ""\n', "[options] password_scheme"),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[expected for _, expected in BAD])
def test_bad_mapping_names_the_key(text: str, expected: str) -> None:
    with pytest.raises(LegacyMappingError) as caught:
        parse_mapping(text, source="mapping.toml")
    message = str(caught.value)
    assert message.startswith("mapping.toml: ")
    assert expected in message


def test_hand_built_mapping_is_validated_too() -> None:
    with pytest.raises(LegacyMappingError, match=r"\[columns\] password"):
        Mapping(table="users", id_column="uid", username_column="name", password_column="pass; --")
    with pytest.raises(LegacyMappingError, match=r"\[constants\]"):
        Mapping(
            table="users",
            id_column="a",
            username_column="b",
            password_column="c",
            constants=(("email", "x"),),
        )
    with pytest.raises(LegacyMappingError, match=r"\[active\]"):
        ActiveCondition("status = 1 OR 1", (1,))


@pytest.mark.parametrize(
    ("value", "allowed", "holds"),
    [
        (1, (1,), True),
        ("1", (1,), True),
        (True, (1,), True),
        (Decimal("1"), (1,), True),
        (1.0, (1,), True),
        (b"1", (1,), True),
        (0, (1,), False),
        (None, (1,), False),
        (None, ("",), False),
        (1, (True,), True),
        (0, (False,), True),
        ("active", ("active", "ok"), True),
        ("ok", ("active", "ok"), True),
        ("Active", ("active", "ok"), False),
        ("active ", ("active",), False),
        (1.5, (1,), False),
        (float("nan"), (1,), False),
    ],
)
def test_active_condition(value: object, allowed: tuple[str | int | bool, ...], holds: bool) -> None:
    assert ActiveCondition("status", allowed).holds(value) is holds


# --- no text reaches SQL unvalidated ------------------------------------------------------------

STRICT_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@given(st.text(max_size=80))
def test_identifier_check_is_exactly_the_strict_pattern(text: str) -> None:
    assert is_identifier(text) == (STRICT_COLUMN.fullmatch(text) is not None and text.isascii())
    if "." not in text:
        assert is_identifier(text, allow_schema=True) == is_identifier(text)


@given(
    name=st.one_of(st.text(max_size=30), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)),
    where=st.sampled_from(["table", "column", "active"]),
)
def test_arbitrary_names_are_rejected_or_quoted(name: str, where: str) -> None:
    """Whatever a mapping file says, the SQL holds only strictly valid, quoted identifiers."""
    quoted = json.dumps(name, ensure_ascii=False)
    text = MINIMAL
    if where == "table":
        text = text.replace('"users"', quoted)
    elif where == "column":
        text = text.replace('password = "pass"', f"password = {quoted}")
    else:
        text += f"[active]\n{quoted} = 1\n"
    try:
        mapping = parse_mapping(text, source="m.toml")
    except LegacyMappingError:
        return
    for identifier in (mapping.table, *mapping.selected_columns()):
        assert STRICT_COLUMN.fullmatch(identifier.split(".")[-1])
    for url, q in (("sqlite:////tmp/never-opened.db", "`"), ("postgresql://u@127.0.0.1:1/db", '"')):
        source = SqlUserSource(url, mapping)  # builds SQL; connects only on first use
        ident = rf"{q}[A-Za-z_][A-Za-z0-9_]*{q}"
        ph = "[?]" if q == "`" else "%s"
        shape = rf"SELECT {ident}(, {ident})* FROM {ident}(\.{ident})? WHERE {ident} = {ph} LIMIT 2"
        assert re.fullmatch(shape, source._by_login_sql), source._by_login_sql
        assert re.fullmatch(shape, source._by_id_sql), source._by_id_sql


@given(st.text(max_size=20))
def test_dialect_quote_refuses_anything_but_an_identifier(text: str) -> None:
    dialect = dialect_for_url("postgresql://u@127.0.0.1:1/db", connect_timeout=1, statement_timeout=1)
    if is_identifier(text, allow_schema=True):
        assert dialect.quote(text) == ".".join(f'"{part}"' for part in text.split("."))
    else:
        with pytest.raises(LegacyMappingError):
            dialect.quote(text)
