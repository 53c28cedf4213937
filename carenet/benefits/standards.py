"""Benefit standards: the amount in force for a programme, category, district and month, and setting a new one."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.benefits import months
from carenet.benefits.models import PROGRAMMES, STANDARD_CATEGORY, Programme, Standard
from carenet.core.errors import CarenetError, PermissionDeniedError

CENT = Decimal("0.01")


def standard_category(programme: str, category: str) -> str:
    """The category whose standard applies. Campaigns and yearly grants have one amount for everyone ("")."""
    if PROGRAMMES[programme].periodicity != "monthly":
        return ""
    return STANDARD_CATEGORY.get(category, category)


class StandardTable:
    """Every standard of one programme in memory, for payroll and the proof (a few dozen rows)."""

    def __init__(self, programme: str) -> None:
        self.programme = programme
        self._rows: dict[tuple[str, str], list[tuple[int, int | None, Decimal]]] = defaultdict(list)
        for row in Standard.objects.filter(programme=programme):
            key = (row.category, row.district_code)
            end = months.index(row.valid_to) if row.valid_to else None
            self._rows[key].append((months.index(row.valid_from), end, row.amount))

    def amount(self, category: str, district_code: str, month_index: int) -> Decimal | None:
        """The district's own standard if it has one in force, else the city's."""
        cat = standard_category(self.programme, category)
        for key in ((cat, district_code), (cat, "")):
            for start, end, amount in self._rows.get(key, ()):
                if start <= month_index and (end is None or month_index <= end):
                    return amount
        return None


def parse_amount(text: str | Decimal, *, field: str = "amount") -> Decimal:
    """Exact money: '600', '1,234.50', Decimal — never a float; more than two decimals is refused."""
    if isinstance(text, float):
        raise CarenetError(_("Amounts must be exact decimals."), field=field)
    try:
        value = Decimal(str(text).replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        raise CarenetError(_("Give the amount as a number of yuan, e.g. 1200.00."), field=field) from None
    if not value.is_finite() or value <= 0:
        raise CarenetError(_("The amount must be more than zero."), field=field)
    if value != value.quantize(CENT):
        raise CarenetError(_("The amount has more than two decimals."), field=field)
    return value.quantize(CENT)


@transaction.atomic
def standard_set(
    *,
    actor: User,
    programme: str,
    category: str,
    district_code: str,
    amount: Decimal | str,
    valid_from: dt.date,
    note: str = "",
) -> Standard:
    """A new standard from `valid_from`: the one in force is closed the month before. Only forward: a change
    never reaches back into months that may already have been paid."""
    if not has_perm(actor, Perm.STANDARD_MANAGE):
        raise PermissionDeniedError(_("Your role may not do this."))
    if programme not in Programme.values:
        raise CarenetError(_("Unknown programme."), field="programme")
    spec = PROGRAMMES[programme]
    if spec.periodicity == "monthly":
        if category not in spec.categories or category in STANDARD_CATEGORY:
            raise CarenetError(
                _("This programme has no standard of its own for that category."), field="category"
            )
    elif category:
        raise CarenetError(_("This programme has one amount for every category."), field="category")
    own = actor.division.code if actor.division_id else ""
    if district_code and (len(district_code) != 6 or not district_code.startswith(own)):
        raise CarenetError(_("Choose a district of your own jurisdiction."), field="district_code")
    if not district_code and len(own) > 4:
        raise PermissionDeniedError(_("Only the city sets the city-wide standard."))
    value = parse_amount(amount)
    valid_from = months.first(valid_from)
    if valid_from < months.first(timezone.localdate()):
        raise CarenetError(
            _("A new standard applies from this month or later, never to past months."), field="valid_from"
        )
    current = (
        Standard.objects.select_for_update()
        .filter(programme=programme, category=category, district_code=district_code, valid_to__isnull=True)
        .first()
    )
    if current is not None:
        if current.valid_from >= valid_from:
            raise CarenetError(
                _("The standard in force starts %(month)s; a new one must start later.")
                % {"month": months.label(current.valid_from)},
                field="valid_from",
            )
        current.valid_to = months.add(valid_from, -1)
        current.save(update_fields=["valid_to"])
    standard = Standard.objects.create(
        programme=programme,
        category=category,
        district_code=district_code,
        amount=value,
        valid_from=valid_from,
        note=note[:300],
        set_by=actor,
    )
    events.change_recorded(
        actor=actor,
        entity="standard",
        entity_id=standard.pk,
        child_id=None,
        division_code=district_code or own,
        action="create",
        changes={
            "programme": [None, programme],
            "category": [None, category],
            "amount": [str(current.amount) if current else None, str(value)],
            "valid_from": [None, months.label(valid_from)],
        },
    )
    return standard


def standards_in_force(*, programme: str | None = None, on: dt.date | None = None) -> list[Standard]:
    """Standards are public policy, not personal data: every signed-in role may read them."""
    month = months.first(on or timezone.localdate())
    qs = Standard.objects.filter(valid_from__lte=month).exclude(valid_to__lt=month)
    if programme:
        qs = qs.filter(programme=programme)
    return list(qs.order_by("programme", "category", "district_code"))
