"""Small display filters for the visits pages: rates as percentages, durations in days, category labels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def pct(rate: float | None) -> str:
    """0.923 -> "92.3%"; None (nothing to rate) -> "—"."""
    if rate is None:
        return "—"
    # number_format cuts the digits off instead of rounding (13/14 would show 92.8%): round first.
    return f"{number_format(round(rate * 100, 1), 1)}%"


@register.filter
def days(value: dt.timedelta | float | None) -> str:
    """A duration as days with one decimal ("3.5"); None -> "—"."""
    if value is None:
        return "—"
    if isinstance(value, dt.timedelta):
        value = value.total_seconds() / 86400
    return number_format(round(value, 1), 1)


@register.filter
def category_label(value: str) -> Any:
    from carenet.registry.models import Category

    return dict(Category.choices).get(value, value)


@register.filter
def overdue_days(due: dt.date | None, today: dt.date) -> int:
    """Whole days past the due date (0 when not yet due)."""
    if due is None:
        return 0
    return max((today - due).days, 0)
