"""Custom SELECTs from the mapping file's ``[query]`` section, with named parameters.

A query is written once, with named parameters (``:login``, ``:id``, ``:email``), and rendered
for each driver's placeholder style. The text is lexed just enough to be safe:

* Parameters are recognised only outside string literals, quoted identifiers and comments
  (``'...'``, ``"..."``, ```...```, ``$tag$...$tag$``, ``-- ...``, ``/* ... */``); PostgreSQL's
  ``::type`` casts are not parameters. Each parameter becomes the driver's placeholder and its
  value is always bound, never interpolated.
* ``%`` is doubled for drivers whose placeholder is ``%s`` (psycopg, PyMySQL), so a literal
  ``LIKE 'wp\\_%'`` keeps meaning what it says.
* The query must be one SELECT (``WITH ... SELECT`` too): a second statement (``;``), a bare ``?``
  placeholder, or a keyword that writes or locks (INSERT, UPDATE, DELETE, MERGE, TRUNCATE, DROP,
  CREATE, ALTER, GRANT, REVOKE, COPY, CALL, EXECUTE, INTO, LOCK, ...) outside literals is refused
  when the mapping is loaded. This is a guard for clear messages; the read-only database session
  (and a SELECT-only role) is what actually prevents writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from accounts.legacy import LegacyMappingError

__all__ = ["QUERY_PARAMETERS", "ParsedQuery", "parse_query"]

#: The parameters each ``[query]`` key must use (and the only ones it may use).
QUERY_PARAMETERS: Final[dict[str, frozenset[str]]] = {
    "by_login": frozenset({"login"}),
    "by_email": frozenset({"email"}),
    "by_id": frozenset({"id"}),
    "all": frozenset(),
}

_FORBIDDEN: Final = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "TRUNCATE", "DROP", "CREATE", "ALTER",
        "RENAME", "GRANT", "REVOKE", "COPY", "CALL", "EXEC", "EXECUTE", "INTO", "LOCK", "UNLOCK",
        "HANDLER", "LOAD", "VACUUM", "REINDEX", "CLUSTER", "REFRESH", "NOTIFY", "LISTEN",
    }
)  # fmt: skip
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR_TAG: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A validated query: literal SQL pieces with parameter names between them.

    ``pieces`` alternates text and parameter names: ``("SELECT ... WHERE x = ", "login", "")`` —
    text at even indexes, parameter names at odd ones.
    """

    key: str  # "by_login", "by_email", "by_id" or "all"
    text: str  # as written in the mapping (for messages)
    pieces: tuple[str, ...]

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameter names in order of appearance (repeats included)."""
        return self.pieces[1::2]

    def render(self, placeholder: str, *, escape_percent: bool) -> str:
        """The SQL for a driver: each parameter becomes ``placeholder``."""
        parts = []
        for index, piece in enumerate(self.pieces):
            if index % 2:
                parts.append(placeholder)
            else:
                parts.append(piece.replace("%", "%%") if escape_percent else piece)
        return "".join(parts)

    def values(self, **bound: object) -> tuple[object, ...]:
        """The parameter values, in placeholder order."""
        return tuple(bound[name] for name in self.parameters)


def parse_query(key: str, text: object, *, where: str) -> ParsedQuery:
    """Validate and split one ``[query]`` entry; ``where`` prefixes messages (file and key)."""
    if not isinstance(text, str) or not text.strip():
        raise LegacyMappingError(
            f'{where} must be a SELECT statement in quotes, e.g. {key} = """SELECT ..."""'
        )
    allowed = QUERY_PARAMETERS[key]
    pieces: list[str] = []
    words: list[str] = []
    current: list[str] = []
    i, n = 0, len(text)
    statement_ended = False
    while i < n:
        c = text[i]
        if statement_ended and not c.isspace():
            if text.startswith("--", i) or text.startswith("/*", i):
                pass  # a comment after the final ";" is harmless
            else:
                raise LegacyMappingError(
                    f"{where}: only one statement is allowed (text follows the ';' at the end of the query)"
                )
        if c in "'\"`":
            end = _closing_quote(text, i, c)
            if end < 0:
                raise LegacyMappingError(f"{where}: an unterminated {c} quote")
            current.append(text[i : end + 1])
            i = end + 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            current.append(text[i:end])
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise LegacyMappingError(f"{where}: an unterminated /* comment")
            current.append(text[i : end + 2])
            i = end + 2
            continue
        if c == "$":
            tag = _DOLLAR_TAG.match(text, i)
            if tag is not None and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                end = text.find(tag.group(0), tag.end())
                if end < 0:
                    raise LegacyMappingError(f"{where}: an unterminated {tag.group(0)} string")
                stop = end + len(tag.group(0))
                current.append(text[i:stop])
                i = stop
                continue
        if c == ":":
            if text.startswith("::", i):  # a PostgreSQL cast
                current.append("::")
                i += 2
                continue
            name = _WORD.match(text, i + 1)
            previous = text[i - 1] if i else " "
            if name is not None and not (previous.isalnum() or previous == "_"):
                parameter = name.group(0)
                if parameter not in allowed:
                    raise LegacyMappingError(f"{where}: unknown parameter :{parameter}; {_allowed_text(key)}")
                pieces.extend(("".join(current), parameter))
                current = []
                i = name.end()
                continue
        if c == "?":
            raise LegacyMappingError(
                f"{where}: a bare '?' placeholder; write named parameters instead ({_allowed_text(key)})"
            )
        if c == ";":
            statement_ended = True
            i += 1
            continue
        word = _WORD.match(text, i) if (c.isalpha() or c == "_") else None
        if word is not None:
            words.append(word.group(0).upper())
            current.append(word.group(0))
            i = word.end()
            continue
        current.append(c)
        i += 1
    pieces.append("".join(current))
    if not words or words[0] not in ("SELECT", "WITH"):
        first = words[0] if words else "nothing"
        raise LegacyMappingError(
            f"{where}: is not a SELECT (it starts with {first}); only SELECT queries are allowed"
        )
    forbidden = sorted({word for word in words if word in _FORBIDDEN})
    if forbidden:
        raise LegacyMappingError(
            f"{where}: {', '.join(forbidden)} has no place in a read-only lookup; only plain SELECT "
            "queries are allowed (no INTO, FOR UPDATE, LOCK IN SHARE MODE or data-changing CTE)"
        )
    used = set(pieces[1::2])
    missing = sorted(allowed - used)
    if missing:
        raise LegacyMappingError(
            f"{where}: never uses :{missing[0]}; without it the query would not look one account up "
            f"({_allowed_text(key)})"
        )
    return ParsedQuery(key=key, text=text, pieces=tuple(pieces))


def _allowed_text(key: str) -> str:
    allowed = sorted(QUERY_PARAMETERS[key])
    if not allowed:
        return f"[query] {key} takes no parameters"
    return f"[query] {key} takes " + ", ".join(f":{name}" for name in allowed)


def _closing_quote(text: str, start: int, quote: str) -> int:
    """Index of the quote that closes the literal opened at ``start``, or -1.

    A doubled quote is an escaped quote in every dialect; a backslash escapes the next character
    inside MySQL strings (and is harmless to assume elsewhere: PostgreSQL's standard strings never
    end with a lone backslash before a quote in a valid query).
    """
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and quote != "`":
            i += 2
            continue
        if c == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                i += 2
                continue
            return i
        i += 1
    return -1
