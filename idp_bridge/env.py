"""Read the environment once, with types. Secrets have no defaults.

A missing or malformed value does not crash the import: it is recorded and reported by a system
check (``idp_bridge.checks``) that names the variable and the fix, so `manage.py check` shows every
problem at once instead of the first traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network


@dataclass
class EnvProblems:
    """Problems found while reading the environment, reported later by system checks."""

    missing: list[tuple[str, str]] = field(default_factory=list)  # (variable, hint)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (variable, what is wrong + fix)


problems = EnvProblems()


def required(name: str, hint: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        problems.missing.append((name, hint))
    return value


def optional(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def boolean(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    problems.invalid.append((name, f"is {raw!r}; use true or false"))
    return default


def number(name: str, default: float, *, minimum: float = 0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.invalid.append((name, f"is {raw!r}; use a number such as {default:g}"))
        return default
    if value < minimum:
        problems.invalid.append((name, f"is {raw!r}; use a number of at least {minimum:g}"))
        return default
    return value


def words(name: str, default: str = "") -> list[str]:
    return optional(name, default).replace(",", " ").split()


def choice(name: str, default: str, choices: tuple[str, ...], *, upper: bool = False) -> str:
    value = optional(name, default)
    value = value.upper() if upper else value.lower()
    if value not in choices:
        problems.invalid.append((name, f"is {value!r}; use one of {', '.join(choices)}"))
        return default
    return value


def networks(name: str) -> list[IPv4Network | IPv6Network]:
    """Space- or comma-separated addresses or CIDR networks, e.g. ``10.0.0.0/8 192.0.2.7``."""
    found: list[IPv4Network | IPv6Network] = []
    for word in words(name):
        try:
            found.append(ip_network(word, strict=False))
        except ValueError:
            problems.invalid.append(
                (name, f"has {word!r}, which is not an address or network; use e.g. 10.0.0.0/8")
            )
    return found


HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def colour(name: str, default: str) -> str:
    """A CSS hex colour, ``#rgb`` or ``#rrggbb``, returned as lower-case ``#rrggbb``."""
    value = optional(name, default)
    digits = value.removeprefix("#")
    if not value.startswith("#") or len(digits) not in (3, 6) or any(c not in HEX_DIGITS for c in digits):
        problems.invalid.append((name, f"is {value!r}; use a hex colour such as {default}"))
        return default
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits.lower()


def links(name: str) -> list[tuple[str, str]]:
    """Labelled links, ``Label=URL|Label=URL``, e.g. ``Privacy=https://example.edu/privacy``.

    Only the format is checked here; whether each URL is acceptable (https, or a path on this site)
    depends on the issuer and is a system check (idp_bridge.checks).
    """
    found: list[tuple[str, str]] = []
    for item in optional(name, "").split("|"):
        label, sep, url = (part.strip() for part in item.partition("="))
        if not item.strip():
            continue
        if not sep or not label or not url:
            problems.invalid.append(
                (name, f"has {item.strip()!r}; write each link as Label=URL and separate links with |")
            )
            continue
        found.append((label, url))
    return found
