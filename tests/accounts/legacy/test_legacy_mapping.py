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
    assert len(blocks) >= 7
    for block in blocks:
        parse_mapping(block, source="docs/legacy-mapping.md")


WORKED = {
    # name: (mode, login_by, an explicit scheme setting, states)
    "drupal7": ("query", "username", None, {"suspended"}),
    "wordpress": ("query", "username_or_email", None, {"suspended", "deleted"}),
    "moodle": ("query", "username_or_email", "moodle_md5", {"deleted", "suspended"}),
    "phpbb": ("query", "username", None, {"suspended"}),
    "mediawiki": ("query", "username", None, {"expired"}),
    "custom": ("table", "username_or_email", "sha256_hex", {"deleted", "locked", "expired"}),
}


@pytest.mark.parametrize("name", sorted(WORKED))
def test_every_worked_mapping_is_in_the_doc_and_parses(name: str) -> None:
    """The six worked mappings (each tested end to end in tests/accounts/worked_mappings/)."""
    doc = (REPO / "docs" / "legacy-mapping.md").read_text(encoding="utf-8")
    found = re.findall(rf"<!-- worked-mapping: {name} -->\n```toml\n(.*?)```", doc, flags=re.DOTALL)
    assert len(found) == 1, f"docs/legacy-mapping.md needs exactly one worked mapping marked {name!r}"
    mapping = parse_mapping(found[0], source=f"docs/legacy-mapping.md ({name})")
    mode, login_by, scheme, states = WORKED[name]
    assert ("query" if mapping.queries is not None else "table") == mode
    assert mapping.login_by == login_by
    assert scheme in (None, mapping.password_scheme, mapping.hex_scheme)
    assert {rule.state for rule in mapping.states} == states


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


# --- the extended format ------------------------------------------------------------------------

EVERY_KEY = """
[query]
by_login = "SELECT u.id, u.name, u.pw, u.mail, o.title AS org, u.status, u.ends FROM users u LEFT JOIN orgs o ON o.id = u.org_id WHERE u.name = :login"
by_email = "SELECT u.id, u.name, u.pw, u.mail, o.title AS org, u.status, u.ends FROM users u LEFT JOIN orgs o ON o.id = u.org_id WHERE u.mail = :email"
by_id = "SELECT u.id, u.name, u.pw, u.mail, o.title AS org, u.status, u.ends FROM users u LEFT JOIN orgs o ON o.id = u.org_id WHERE u.id = :id"
all = "SELECT u.id, u.name, u.pw, u.mail, o.title AS org, u.status, u.ends FROM users u LEFT JOIN orgs o ON o.id = u.org_id"
[columns]
id = "id"
username = "name"
password = "pw"
salt = "pw_salt"
email = "mail"
organization = "org"
[active]
status = [1, 2]
[state.suspended]
column = "status"
equals = 0
[[state.expired]]
column = "ends"
before_now = true
time_zone = "Europe/Berlin"
[[state.expired]]
column = "status"
in = [7, 8]
[state.deleted]
column = "status"
not_in = [0, 1, 2, 7, 8]
[state.locked]
column = "ends"
is_null = false
[password]
scheme = "sha256_hex"
salt_position = "before"
site_salt_env = "PORTAL_PEPPER"
trim_whitespace = true
[options]
username_match = "case-insensitive"
email_match = "exact"
login_by = "username_or_email"
"""


def test_every_new_key() -> None:
    from accounts.legacy.conditions import Condition, StateRule

    mapping = parse_mapping(EVERY_KEY, source="m.toml")
    assert mapping.table is None and mapping.queries is not None
    assert mapping.queries.by_login.parameters == ("login",)
    assert mapping.queries.by_email is not None and mapping.queries.by_email.parameters == ("email",)
    assert mapping.states == (  # in precedence order, whatever the file's order
        StateRule("deleted", (Condition("status", "not_in", (0, 1, 2, 7, 8)),)),
        StateRule("suspended", (Condition("status", "equals", (0,)),)),
        StateRule("locked", (Condition("ends", "is_null", flag=False),)),
        StateRule(
            "expired",
            (Condition("ends", "before_now", time_zone="Europe/Berlin"), Condition("status", "in", (7, 8))),
        ),
    )
    assert (
        mapping.password_scheme,
        mapping.salt_position,
        mapping.site_salt_env,
        mapping.trim_whitespace,
    ) == (
        "sha256_hex",
        "before",
        "PORTAL_PEPPER",
        True,
    )
    assert (mapping.username_match, mapping.email_match, mapping.login_by) == (
        "case-insensitive",
        "exact",
        "username_or_email",
    )
    assert mapping.selected_columns() == ("id", "name", "pw", "pw_salt", "mail", "org", "status", "ends")


def test_options_password_scheme_is_still_read() -> None:
    assert parse_mapping(MINIMAL + '[options]\npassword_scheme = "phpass"\n').password_scheme == "phpass"
    same = MINIMAL + '[password]\nscheme = "phpass"\n[options]\npassword_scheme = "phpass"\n'
    assert parse_mapping(same).password_scheme == "phpass"


QUERY_MINIMAL = """
[query]
by_login = "SELECT id, name, pw FROM users WHERE name = :login"
by_id = "SELECT id, name, pw FROM users WHERE id = :id"
all = "SELECT id, name, pw FROM users"
[columns]
id = "id"
username = "name"
password = "pw"
"""

BAD_EXTENDED = [
    (MINIMAL + QUERY_MINIMAL.split("[columns]")[0], "give either [table] (one user table) or [query]"),
    (QUERY_MINIMAL.replace('all = "SELECT id, name, pw FROM users"\n', ""), "[query] needs 'all'"),
    (QUERY_MINIMAL.replace("by_id", "by_uid"), "[query] has an unknown key 'by_uid': did you mean 'by_id'?"),
    (QUERY_MINIMAL.replace("WHERE id = :id", "WHERE id = :uid"), "[query] by_id: unknown parameter :uid"),
    (
        QUERY_MINIMAL.replace('"SELECT id, name, pw FROM users"', '"DELETE FROM users"'),
        "[query] all: is not a SELECT",
    ),
    (QUERY_MINIMAL + '[options]\nlogin_by = "email"\n', 'login_by = "email" needs [query] by_email'),
    (MINIMAL + '[options]\nlogin_by = "username_or_email"\n', "needs [columns] email"),
    (MINIMAL + '[options]\nlogin_by = "mail"\n', "[options] login_by must be"),
    (MINIMAL + '[options]\nemail_match = "fuzzy"\n', "[options] email_match must be"),
    (MINIMAL + "[state.banned]\ncolumn = 'x'\nequals = 1\n", "[state] has an unknown key 'banned'"),
    (MINIMAL + "[state.suspended]\nequals = 1\n", "[state.suspended] needs 'column'"),
    (MINIMAL + "[state.suspended]\ncolumn = 's'\n", "needs exactly one test of equals, not_equals, in"),
    (MINIMAL + "[state.suspended]\ncolumn = 's'\nequals = 1\nin = [1]\n", "(found equals, in)"),
    (MINIMAL + "[state.suspended]\ncolumn = 's'\nequls = 1\n", "unknown key 'equls': did you mean 'equals'?"),
    (MINIMAL + "[state.suspended]\ncolumn = 's'\nequals = [1]\n", "for several values use in = [...]"),
    (MINIMAL + "[state.suspended]\ncolumn = 's'\nin = []\n", "in must be a non-empty list"),
    (MINIMAL + "[state.suspended]\ncolumn = 's'\nin = [1.5]\n", "1.5 is not a string, integer or boolean"),
    (MINIMAL + "[state.suspended]\ncolumn = 's'\nis_null = 1\n", "is_null must be true or false"),
    (MINIMAL + "[state.expired]\ncolumn = 'e'\nbefore_now = false\n", "write after_now = true"),
    (
        MINIMAL + "[state.expired]\ncolumn = 'e'\nbefore_now = true\ntime_zone = 'Mars/Base'\n",
        "not a known IANA",
    ),
    (MINIMAL + "[state.expired]\ncolumn = 'e'\nequals = 1\ntime_zone = 'UTC'\n", "time_zone only applies"),
    (MINIMAL + "[state.expired]\ncolumn = 'e; --'\nbefore_now = true\n", "[state.expired] column = 'e; --'"),
    (MINIMAL + "[state]\nexpired = 1\n", "[state.expired] must be a table"),
    (MINIMAL + "[password]\nsalt_position = 'middle'\n", '[password] salt_position must be "before"'),
    (MINIMAL + "[password]\nsalt_position = 'before'\n", "salt_position has no salt to place"),
    (
        MINIMAL + "[password]\nsite_salt_env = 's3cr3t value!'\n",
        "site_salt_env must be the NAME of an environment",
    ),
    (MINIMAL + "[password]\ntrim_whitespace = 'yes'\n", "trim_whitespace must be true or false"),
    (MINIMAL + "[password]\nscheme = 'a b'\n", "[password] scheme must be a scheme name"),
    (MINIMAL + "[password]\nscheme = 'md5_hex'\nhex_scheme = 'md5_hex'\n", "keep one of them"),
    (
        MINIMAL + "[password]\nschem = 'bcrypt'\n",
        "[password] has an unknown key 'schem': did you mean 'scheme'?",
    ),
    (
        MINIMAL + "[password]\nscheme = 'bcrypt'\n[options]\npassword_scheme = 'phpass'\n",
        "[password] scheme = 'bcrypt' and [options] password_scheme = 'phpass' disagree",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_EXTENDED, ids=[expected for _, expected in BAD_EXTENDED])
def test_bad_extended_mapping_names_the_key(text: str, expected: str) -> None:
    with pytest.raises(LegacyMappingError) as caught:
        parse_mapping(text, source="mapping.toml")
    assert str(caught.value).startswith("mapping.toml: ")
    assert expected in str(caught.value)


def test_query_mode_sql_has_the_users_query_inside_a_limit() -> None:
    mapping = parse_mapping(QUERY_MINIMAL)
    for url, ph in (("sqlite:////tmp/never-opened.db", "?"), ("postgresql://u@127.0.0.1:1/db", "%s")):
        source = SqlUserSource(url, mapping)
        assert source._by_login_sql == (
            f"SELECT * FROM (\nSELECT id, name, pw FROM users WHERE name = {ph}\n) AS bridge_q LIMIT 2"
        )


# --- MySQL / MariaDB without a server --------------------------------------------------------------


def test_mysql_urls() -> None:
    from accounts.legacy.dialects import MysqlDialect

    dialect = dialect_for_url(
        "mysql://bridge%40ro:p%40ss%3Aword@db.example.org:3307/portal?ssl_ca=/etc/ca.pem&ssl_verify_cert=true",
        connect_timeout=2,
        statement_timeout=3,
    )
    assert isinstance(dialect, MysqlDialect)
    assert dialect._params == {
        "host": "db.example.org",
        "port": 3307,
        "user": "bridge@ro",
        "password": "p@ss:word",
        "database": "portal",
        "ssl_ca": "/etc/ca.pem",
        "ssl_verify_cert": True,
    }
    assert dialect.description == "MySQL/MariaDB bridge@ro@db.example.org:3307/portal"
    assert "p@ss" not in dialect.redact("error for p@ss:word")
    maria = dialect_for_url("mariadb://reader@127.0.0.1/wiki", connect_timeout=1, statement_timeout=1)
    assert isinstance(maria, MysqlDialect) and maria.quote("user") == "`user`"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:hunter2@h:3306", "names no database"),
        ("mysql://u:hunter2@h:3306/a/b", "names no database"),
        ("mysql://u:hunter2@h:port/db", "cannot be parsed"),
        ("mysql://u:hunter2@h/db?charset=latin1", "option 'charset' is not supported"),
        ("mysql://u:hunter2@h/db?ssl_verify_cert=maybe", "must be true or false"),
    ],
)
def test_bad_mysql_urls(url: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected) as caught:
        dialect_for_url(url, connect_timeout=1, statement_timeout=1)
    assert "hunter2" not in str(caught.value)


def test_mysql_lookups_are_exact_and_keep_the_index() -> None:
    source = SqlUserSource("mysql://u@127.0.0.1:1/db", parse_mapping(MINIMAL))
    assert source._by_login_sql == (
        "SELECT `uid`, `name`, `pass` FROM `users` WHERE `name` = %s AND "
        "CAST(CONVERT(`name` USING utf8mb4) AS BINARY) = CAST(%s AS BINARY) LIMIT 2"
    )
    assert source._by_login.params == ("login", "login")
    assert source._by_id_sql == "SELECT `uid`, `name`, `pass` FROM `users` WHERE `uid` = %s LIMIT 2"
