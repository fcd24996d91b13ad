"""What the cooperative holds about one person, gathered from every app that holds some of it.

A member may ask to see everything we keep about them (AVG article 15, "inzage"). The answer
spans apps that must not import each other: `members` sits below `finance`, which sits below
visits, volunteers and meals. So the registry lives here, at the bottom, where every app can
reach it: each app registers its own sections from its AppConfig.ready(), and the download view
iterates over whatever is registered without knowing which apps exist (pretix does the same with
its data exporters and shredders). Erasure and retention will want the same shape.

The contract for an app adding a section:

- ``key`` is the section's top-level key in the file: unique, lower snake_case English, like the
  rest of the file. Keep it once released; people compare this year's file with last year's.
- ``title`` names the section for the member (``gettext_lazy``); the portal lists the titles so
  the member knows what the file holds before downloading it.
- The function is called with the ``members.Member`` whose data is asked for. (This module sits
  below members and cannot name the type; each app annotates its own function.)
- It returns plain JSON: dicts, lists, str, int, bool, None. Dates and times as ISO strings
  (``iso()``), money as a string with two decimals (``money()``: "17.50"), never a float. When
  there is nothing it returns an empty list or None, so every file has the same keys.
- It only reads, and only what this member may see in the portal: their own records, and of their
  household what every member of it sees. A housemate's own details are theirs to request.
- It costs a few queries, not one per row: a file covers years of history.

Sections appear in the file in the order they were registered, which follows INSTALLED_APPS and
so the layers: the member's own data first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.functional import Promise

from coop.lib.money import round_money

# No float on purpose: money and anything else with decimals travels as a string.
JSON: TypeAlias = "str | int | bool | None | Sequence[JSON] | Mapping[str, JSON]"
Collect = TypeVar("Collect", bound=Callable[[Any], JSON])

EXPORTED_AT = "exported_at"


@dataclass(frozen=True)
class Section:
    key: str
    title: str | Promise
    collect: Callable[[Any], JSON]


_sections: dict[str, Section] = {}


def _origin(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register(key: str, title: str | Promise) -> Callable[[Collect], Collect]:
    """Add a section under `key`. The same function registering again (a module imported twice)
    replaces itself in place; another function claiming a taken key is a programming error."""

    def decorator(collect: Collect) -> Collect:
        existing = _sections.get(key)
        if key == EXPORTED_AT or (
            existing is not None and _origin(existing.collect) != _origin(collect)
        ):
            raise ImproperlyConfigured(
                f"Personal data section {key!r} is already taken"
                + (f" by {_origin(existing.collect)}" if existing else "")
            )
        _sections[key] = Section(key=key, title=title, collect=collect)
        return collect

    return decorator


def sections() -> list[Section]:
    return list(_sections.values())


def collect(member: Any) -> dict[str, JSON]:
    """The whole file for one member: when it was made, then every registered section."""
    data: dict[str, JSON] = {EXPORTED_AT: iso(timezone.now())}
    for section in sections():
        data[section.key] = section.collect(member)
    return data


def iso(value: dt.date | None) -> str | None:
    """A date or datetime (a datetime is a date) as ISO 8601, or None."""
    return value.isoformat() if value is not None else None


def money(value: Decimal | None) -> str | None:
    """'17.50': a Decimal rounded to cents, as text, so no JSON reader turns it into a float."""
    return str(round_money(value)) if value is not None else None
