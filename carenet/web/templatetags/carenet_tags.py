from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from carenet.accounts.permissions import has_perm

register = template.Library()


@register.filter
def age(birth: dt.date | None) -> str:
    if not birth:
        return ""
    today = timezone.localdate()
    years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return str(years)


@register.simple_tag(takes_context=True)
def can(context: dict[str, Any], perm: str) -> bool:
    return has_perm(context["request"].user, perm)


@register.filter
def change_items(changes: dict[str, list[Any]]) -> list[tuple[str, Any, Any]]:
    return [(k, v[0], v[1]) for k, v in (changes or {}).items()]
