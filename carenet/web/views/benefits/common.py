"""Helpers and fields shared by the benefits pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import Division, DivisionLevel, User
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.benefits import months
from carenet.benefits.models import (
    PROGRAMMES,
    Periodicity,
    Programme,
)
from carenet.core.errors import CarenetError

LINES_PER_PAGE = 50
STOPS_SHOWN = 200
PROOF_FINDINGS = 500
MAX_RETURN_FILE = 20 * 1024 * 1024  # a bank's return file for 100,000 payments is a few MB
MONTHLY = [p for p in Programme.values if PROGRAMMES[p].periodicity == Periodicity.MONTHLY]


def _seat(actor: User) -> str:
    """The district the actor works in (payroll is handled there), or "" above or below district level."""
    code = actor.division.code if actor.division_id else ""
    return code if len(code) == 6 else ""


def _below_district(actor: User) -> bool:
    return bool(actor.division_id) and len(actor.division.code) > 6


def _this_month() -> dt.date:
    return months.first(timezone.localdate())


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _record_shown(actor: User, children: set[tuple[int, str]], detail: str) -> None:
    """Access records for the children a page names, written before it is rendered."""
    if children:
        events.accesses_recorded(
            actor=actor, children=sorted(children), kind=AccessLog.Kind.VIEW, detail=detail
        )


# ---------------------------------------------------------------- forms


class MonthField(forms.CharField):
    """A month typed as YYYY-MM (the browser's month picker sends that), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-01", "maxlength": 10})

    def clean(self, value: Any) -> dt.date | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return months.parse(text)
        except CarenetError as exc:
            raise forms.ValidationError(exc.message) from exc


def _districts(actor: User) -> list[Division]:
    """The districts whose batches the actor may see: their own, or every district for the city."""
    return list(
        scope(actor, Division.objects.filter(level=DivisionLevel.DISTRICT))
        .filter(code__startswith=actor.division.code if actor.division_id else "-")
        .order_by("code")
    )
