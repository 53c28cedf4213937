"""Months as the first day of the month (a DateField), the unit every benefit is owed and paid in."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

from carenet.core.errors import CarenetError

_MONTH = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*$")


def first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def parse(text: str, *, field: str = "month") -> dt.date:
    """'2026-11', '2026/11', '2026年11月' -> 2026-11-01; anything else is a clear error naming the field."""
    match = _MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CarenetError(_("Give the month as YYYY-MM, e.g. 2026-11."), field=field)
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def add(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def index(month: dt.date) -> int:
    """Months since year 0: consecutive months have consecutive indexes."""
    return month.year * 12 + month.month - 1


def from_index(i: int) -> dt.date:
    return dt.date(i // 12, i % 12 + 1, 1)


def span(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every month from `start` to `end`, both included."""
    return [from_index(i) for i in range(index(start), index(end) + 1)]


def label(month: dt.date) -> str:
    return f"{month.year}-{month.month:02d}"
