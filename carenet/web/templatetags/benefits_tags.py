"""Display filters for the benefits pages: money in yuan, months, counts and the labels of stored codes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.formats import date_format

register = template.Library()


@register.filter
def yuan(value: Decimal | int | str | None) -> str:
    """Decimal("1234.5") -> "¥1,234.50": two decimals and thousands grouped, as on a Chinese pay slip
    (the zh-hans locale itself groups by ten thousand without a separator, which nobody reads money in)."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


@register.filter
def month(value: dt.date | None) -> str:
    """The month of a date in the current language: "2026年11月" in Chinese, "November 2026" in English."""
    if not value:
        return "—"
    return date_format(value, "YEAR_MONTH_FORMAT")


@register.filter
def count(value: int | None) -> str:
    """Whole numbers grouped by thousands: 16,384 (人次, beneficiaries)."""
    if value is None:
        return "—"
    return f"{int(value):,}"


@register.filter
def programme_label(value: str) -> Any:
    from carenet.benefits.models import Programme

    return dict(Programme.choices).get(value, value)


@register.filter
def lookup(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """mapping[key] in a template (names of divisions, children), or "" when absent."""
    return (mapping or {}).get(key, "")
