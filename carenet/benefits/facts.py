"""The facts payroll and the proof read about enrolments, loaded for a whole district (or the city) at once:
each enrolment's months, its category memberships and suspensions, the age limit and archiving, and what the
ledger already holds. Months are handled as indexes (months.index) and spans as inclusive (first, last) pairs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from carenet.benefits import months
from carenet.benefits.models import LIVE_STATUSES, Enrolment, PaymentLine, StopReason, Suspension
from carenet.registry.models import CategoryMembership, ChildStatus

FOREVER = 10**7  # an open end, as a month index


def age_limit_index(birth: dt.date) -> int:
    """The last month payable before the age limit: paid through the month of the 18th birthday by default
    (CARENET_PAY_THROUGH_18TH_BIRTHDAY_MONTH), else through the month before it. The registry keeps
    birth_date equal to the one in the ID number (registry.services.identity_check)."""
    month18 = (birth.year + 18) * 12 + birth.month - 1
    return month18 if settings.PAY_THROUGH_18TH_BIRTHDAY_MONTH else month18 - 1


@dataclass(slots=True)
class Facts:
    """What payroll needs to know about one enrolment, loaded for a whole district at once."""

    id: int
    child_id: int
    category: str
    division_code: str
    start: int
    end: int | None
    end_reason: str
    birth: dt.date
    archived: bool
    archived_on: dt.date | None
    child_division: str
    memberships: list[tuple[int, int]] = field(default_factory=list)
    suspensions: list[tuple[int, int]] = field(default_factory=list)

    def limits(self) -> list[tuple[int, StopReason]]:
        """Each fact that ends payment, as (last payable month, reason)."""
        found = [(age_limit_index(self.birth), StopReason.AGED_OUT)]
        if self.archived:
            last = months.index(self.archived_on) if self.archived_on else -1
            found.append((last, StopReason.ARCHIVED))
        return found

    def payable(self, horizon: int) -> list[tuple[int, int]]:
        """The months this enrolment is owed up to `horizon`, as inclusive (first, last) intervals."""
        hi = min(horizon, self.end if self.end is not None else FOREVER, *(m for m, _r in self.limits()))
        spans = _merged((max(a, self.start), min(b, hi)) for a, b in self.memberships)
        for s_from, s_to in self.suspensions:
            spans = subtract(spans, s_from, s_to)
        return spans

    def stop_reason(self, month: int) -> tuple[StopReason, int | None]:
        """Why `month` is not payable, and (for a lasting stop) the last payable month."""
        for last, reason in sorted(self.limits()):
            if month > last:
                return reason, last
        if not any(a <= month <= b for a, b in self.memberships):
            ended = [b for a, b in self.memberships if b < month]
            return StopReason.CATEGORY_ENDED, max(ended) if ended else None
        return StopReason.SUSPENDED, None


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Non-empty spans, sorted, with overlapping or touching ones joined: two memberships of one category that
    meet inside a month (one ends on the 1st, the next starts on the 2nd) owe that month once."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(s for s in spans if s[0] <= s[1]):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(spans: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    out = []
    for a, b in spans:
        if b < lo or a > hi:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo - 1))
        if b > hi:
            out.append((hi + 1, b))
    return out


def as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def load_facts(enrolments: QuerySet[Enrolment], categories: Iterable[str]) -> dict[int, Facts]:
    """Facts for the `enrolments` with the memberships and suspensions they need: three queries, the last two
    joined to the first as subqueries (no id lists, whatever the district's size)."""
    facts: dict[int, Facts] = {}
    by_child: dict[int, list[Facts]] = defaultdict(list)
    for row in enrolments.values_list(*ENROLMENT_COLUMNS).iterator(chunk_size=20000):
        pk, child_id, category, division, start, end, end_reason, birth, status, archived_on, child_div = row
        f = Facts(
            id=pk,
            child_id=child_id,
            category=category,
            division_code=division,
            start=months.index(as_date(start)),
            end=months.index(as_date(end)) if end else None,
            end_reason=end_reason,
            birth=as_date(birth),
            archived=status == ChildStatus.ARCHIVED,
            archived_on=as_date(archived_on),
            child_division=child_div,
        )
        facts[pk] = f
        by_child[child_id].append(f)
    if not facts:
        return facts
    memberships = CategoryMembership.objects.filter(
        category__in=list(categories), child_id__in=enrolments.values("child_id")
    ).values_list("child_id", "category", "start_date", "end_date")
    for child_id, category, start, end in memberships.iterator(chunk_size=20000):
        span = (months.index(as_date(start)), months.index(as_date(end)) if end else FOREVER)
        for f in by_child.get(child_id, ()):
            if f.category == category:
                f.memberships.append(span)
    suspensions = Suspension.objects.filter(enrolment_id__in=enrolments.values("id"))
    for enrolment_id, s_from, s_to in suspensions.values_list("enrolment_id", "from_month", "to_month"):
        if enrolment_id in facts:
            facts[enrolment_id].suspensions.append(
                (months.index(as_date(s_from)), months.index(as_date(s_to)) if s_to else FOREVER)
            )
    return facts


def chunked_values(qs, key: str, ids: list[int] | QuerySet, columns: tuple[str, ...], size: int = 20000):  # type: ignore[no-untyped-def, type-arg]
    """values_list of `qs` whose `key` is in `ids`: a subquery when `ids` is a queryset, else in chunks
    (SQLite allows at most 32766 parameters per statement)."""
    if isinstance(ids, QuerySet):
        yield from qs.filter(**{f"{key}__in": ids}).values_list(*columns).iterator(chunk_size=20000)
        return
    for i in range(0, len(ids), size):
        yield from qs.filter(**{f"{key}__in": ids[i : i + size]}).values_list(*columns)


ENROLMENT_COLUMNS = (
    "id",
    "child_id",
    "category",
    "division_code",
    "start_month",
    "end_month",
    "end_reason",
    "child__birth_date",
    "child__status",
    "child__archived_on",
    "child__division_code",
)


def district_enrolments(district_code: str, programme: str, horizon: dt.date, actor=None):  # type: ignore[no-untyped-def]
    """The enrolment segments a district pays (or paid), started by `horizon`, read through scope() for a user
    (`actor` None: the operator at the command line)."""
    from carenet.accounts.jurisdiction import scope

    base = Enrolment.objects.all() if actor is None else scope(actor, Enrolment.objects.all())
    return base.filter(programme=programme, division_code__startswith=district_code, start_month__lte=horizon)


def paid_units(
    programme: str,
    child_ids: list[int] | QuerySet,
    upto: dt.date,
    statuses: Iterable[str],  # type: ignore[type-arg]
) -> dict[int, set[int]]:
    """Month indexes with a line in `statuses`, per child (any district)."""
    paid: dict[int, set[int]] = defaultdict(set)
    qs = PaymentLine.objects.filter(programme=programme, month__lte=upto, status__in=list(statuses))
    for child_id, month in chunked_values(qs, "child_id", child_ids, ("child_id", "month")):
        paid[child_id].add(months.index(as_date(month)))
    return paid


def paid_ranges(
    district_code: str, programme: str, period: dt.date
) -> dict[int, tuple[int, dt.date, dt.date]]:
    """Per enrolment of the district: (count, first, last) of the live lines inside its range, by any district.
    When count == last - first + 1 the paid months are exactly first..last (one line per month at most, see
    batch_approve), so the common case needs no per-month rows."""
    live = ", ".join(["%s"] * len(LIVE_STATUSES))
    sql = f"""
        SELECT e.id, COUNT(l.id), MIN(l.month), MAX(l.month)
        FROM benefits_enrolment e
        JOIN benefits_paymentline l
          ON l.child_id = e.child_id AND l.programme = e.programme
         AND l.month >= e.start_month AND l.month <= COALESCE(e.end_month, %s) AND l.month <= %s
        WHERE e.programme = %s AND e.division_code LIKE %s AND e.start_month <= %s AND l.status IN ({live})
        GROUP BY e.id
    """  # noqa: S608 - only placeholders are interpolated
    params = [period, period, programme, district_code + "%", period, *LIVE_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: (row[1], as_date(row[2]), as_date(row[3])) for row in cursor.fetchall()}
