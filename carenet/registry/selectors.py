"""Reads of the child registry. Every function takes the acting user and starts from `scope()`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.models import Division, User
from carenet.core import crypto, idnumber, pinyin
from carenet.registry.models import ID_PURPOSE, CategoryMembership, Child, ChildStatus

_IDLIKE = re.compile(r"^[0-9０-９][0-9０-９\s-]{13,}[0-9０-９xX]$")


@dataclass(frozen=True)
class ChildFilters:
    q: str = ""
    category: str = ""
    division_code: str = ""
    status: str = "active"
    age_min: int | None = None
    age_max: int | None = None


def _birth_bounds(age_min: int | None, age_max: int | None, today: dt.date) -> Q:
    cond = Q()
    if age_min is not None:  # at least age_min years old: born on or before today minus age_min years
        cond &= Q(birth_date__lte=_years_ago(today, age_min))
    if age_max is not None:  # not yet age_max + 1
        cond &= Q(birth_date__gt=_years_ago(today, age_max + 1))
    return cond


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def search_condition(q: str) -> Q | None:
    """What the search box matches: an ID number by its keyed hash, else the name or its pinyin."""
    q = q.strip()
    if not q:
        return None
    if _IDLIKE.match(q):
        try:
            number = idnumber.parse(q).number
        except idnumber.IdNumberError:
            number = idnumber.normalize(q)
        return Q(id_number_hash=crypto.blind_index(number, purpose=ID_PURPOSE))
    cond = Q(name__startswith=pinyin.clean_name(q))
    key = pinyin.query_key(q)
    if key:
        cond |= Q(name_pinyin__startswith=key)
        if not pinyin.has_han(q) and 2 <= len(key) <= 4:
            cond |= Q(name_initials=key)
    return cond


def child_list(*, actor: User, filters: ChildFilters) -> QuerySet[Child]:
    qs = scope(actor, Child.objects.all())
    cond = search_condition(filters.q)
    if cond is not None:
        qs = qs.filter(cond)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.division_code:
        qs = qs.filter(division_code__startswith=filters.division_code)
    if filters.category:
        open_in = CategoryMembership.objects.filter(category=filters.category, end_date__isnull=True).values(
            "child_id"
        )
        qs = qs.filter(id__in=open_in)
    if filters.age_min is not None or filters.age_max is not None:
        qs = qs.filter(_birth_bounds(filters.age_min, filters.age_max, timezone.localdate()))
    return qs.select_related("division").order_by("-id")


def child_get(*, actor: User, pk: int | str) -> Child:
    return get_scoped_or_404(actor, Child.objects.select_related("division", "household"), pk=pk)


def open_categories(child: Child) -> list[CategoryMembership]:
    return [m for m in child.categories.all() if m.end_date is None]


def active_counts_by_subdivision(*, actor: User, parent: Division) -> list[tuple[Division, int]]:
    """Active children per direct sub-division of `parent` (district -> streets, street -> villages),
    in one grouped query over the codes' prefixes; only divisions and children the actor may see."""
    subs = list(scope(actor, Division.objects.filter(parent=parent)).order_by("code"))
    if not subs:
        return []
    width = len(subs[0].code)
    children = scope(
        actor, Child.objects.filter(status=ChildStatus.ACTIVE, division_code__startswith=parent.code)
    )
    counts = dict(
        children.annotate(prefix=Substr("division_code", 1, width))
        .values_list("prefix")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [(d, counts.get(d.code, 0)) for d in subs]
