"""Reads for visits: work lists (overdue, due soon, never visited), rollups up the hierarchy, visit lists.

Everything starts from scope(). Work lists read only VisitSchedule (one row per scheduled child), never the
visits themselves, so their cost does not grow with the years of visit history; the counts and rollups of a
street and above read the visit tally (visits.tally: children per street and due date), so they do not grow
with the number of children either."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from carenet.accounts.jurisdiction import get_scoped_or_404, scope, scope_sql, sees_all_under, under
from carenet.accounts.models import Division, User
from carenet.core import rawsql
from carenet.problems.models import Problem
from carenet.registry.models import Child
from carenet.visits import tally
from carenet.visits.models import Visit, VisitPhoto, VisitSchedule


@dataclass(frozen=True)
class Counts:
    scheduled: int = 0
    overdue: int = 0
    due_soon: int = 0
    never_visited: int = 0

    @property
    def on_time(self) -> int:
        return self.scheduled - self.overdue

    @property
    def on_time_rate(self) -> float | None:
        """Share of scheduled children whose visit is not overdue today (None when nobody is scheduled)."""
        return self.on_time / self.scheduled if self.scheduled else None

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.scheduled + other.scheduled,
            self.overdue + other.overdue,
            self.due_soon + other.due_soon,
            self.never_visited + other.never_visited,
        )


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


def _soon(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=settings.VISIT_DUE_SOON_DAYS)


def _count_filters(today: dt.date) -> dict[str, Count]:
    return {
        "scheduled": Count("child_id"),
        "overdue": Count("child_id", filter=Q(next_due_on__lt=today)),
        "due_soon": Count("child_id", filter=Q(next_due_on__gte=today, next_due_on__lte=_soon(today))),
        "never_visited": Count("child_id", filter=Q(last_visit_on__isnull=True)),
    }


def schedules(actor: User) -> QuerySet[VisitSchedule]:
    return scope(actor, VisitSchedule.objects.all())


def schedules_under(actor: User, division: Division | None) -> QuerySet[VisitSchedule]:
    qs = schedules(actor)
    if division is not None and division.pk != actor.division_id:
        qs = under(qs, division.code)
    return qs


def counts(actor: User, *, division: Division | None = None, today: dt.date | None = None) -> Counts:
    """The actor's counts, or those under one division of their jurisdiction, in one aggregate query: from
    the visit tally for a street and above when the actor sees all of it, else from the schedule."""
    today = _today(today)
    code = _tally_code(actor, division)
    if code is not None:
        return _tally_counts(actor, code, len(code), today).get(code, Counts())
    qs = schedules_under(actor, division)
    return Counts(**qs.aggregate(**_count_filters(today)))


def _tally_code(actor: User, division: Division | None) -> str | None:
    """The division code the tally can count for this actor, or None (a village, a caseload, a division
    the actor sees only part of: those are counted from the schedule)."""
    division = division or (actor.division if actor.is_authenticated and actor.division_id else None)
    if division is None or not tally.serves(division.code) or not sees_all_under(actor, division):
        return None
    return division.code


def _tally_counts(actor: User, code: str, width: int, today: dt.date) -> dict[str, Counts]:
    return {
        prefix: Counts(*sums) for prefix, sums in tally.sums(actor, code, width, today, _soon(today)).items()
    }


@dataclass
class WorkList:
    today: dt.date
    counts: Counts
    overdue: list[VisitSchedule] = field(default_factory=list)
    due_soon: list[VisitSchedule] = field(default_factory=list)
    never_visited: list[VisitSchedule] = field(default_factory=list)


DUE_LISTS = ("overdue", "soon", "never", "all")


def due(
    actor: User, which: str, *, division: Division | None = None, today: dt.date | None = None
) -> QuerySet[VisitSchedule]:
    """One work list, most urgent first: "overdue", "soon" (due within VISIT_DUE_SOON_DAYS), "never"
    (never visited) or "all" scheduled children."""
    today = _today(today)
    rows = schedules_under(actor, division).select_related("child", "child__division")
    rows = rows.order_by("next_due_on", "child_id")
    if which == "overdue":
        return rows.filter(next_due_on__lt=today)
    if which == "soon":
        return rows.filter(next_due_on__gte=today, next_due_on__lte=_soon(today))
    if which == "never":
        return rows.filter(last_visit_on__isnull=True)
    if which == "all":
        return rows
    raise ValueError(f"unknown work list {which!r}")


def worklist(
    actor: User, *, division: Division | None = None, today: dt.date | None = None, limit: int = 200
) -> WorkList:
    """Who must be visited: most overdue first, then due within VISIT_DUE_SOON_DAYS, then never visited.
    Each list holds at most `limit` children; the counts are complete."""
    today = _today(today)
    lists = {
        which: list(due(actor, which, division=division, today=today)[:limit]) for which in DUE_LISTS[:3]
    }
    return WorkList(
        today=today,
        counts=counts(actor, division=division, today=today),
        overdue=lists["overdue"],
        due_soon=lists["soon"],
        never_visited=lists["never"],
    )


@dataclass(frozen=True)
class RollupRow:
    division: Division
    counts: Counts


def rollup(actor: User, parent: Division, *, today: dt.date | None = None) -> tuple[list[RollupRow], Counts]:
    """Counts per direct sub-division of `parent` (city → districts → streets → villages) in one grouped query,
    and the total for `parent` itself. Only divisions and children the actor may see."""
    today = _today(today)
    subs = list(scope(actor, Division.objects.filter(parent=parent)).order_by("code"))
    if not subs:
        return [], counts(actor, division=parent, today=today)
    width = len(subs[0].code)
    if _tally_code(actor, parent) is not None and tally.serves(subs[0].code):
        by_prefix = _tally_counts(actor, parent.code, width, today)
    else:
        by_prefix = _schedule_counts(actor, parent, width, today)
    # The total is the sum of every group (one read, not two): each village lies under exactly one prefix.
    return [RollupRow(d, by_prefix.get(d.code, Counts())) for d in subs], sum(by_prefix.values(), Counts())


def _schedule_counts(actor: User, parent: Division, width: int, today: dt.date) -> dict[str, Counts]:
    """Counts under `parent` by the first `width` digits of the division code, from the schedule itself."""
    grouped = (
        schedules_under(actor, parent)
        .annotate(prefix=Substr("division_code", 1, width))
        .values("prefix")
        .annotate(**_count_filters(today))
        .order_by()
    )
    return {
        row["prefix"]: Counts(row["scheduled"], row["overdue"], row["due_soon"], row["never_visited"])
        for row in grouped
    }


def visit_list(
    actor: User,
    *,
    child_id: int | None = None,
    division_code: str = "",
    review_state: str = "",
    recorded_by: int | None = None,
) -> QuerySet[Visit]:
    qs = scope(actor, Visit.objects.all())
    if child_id is not None:
        qs = qs.filter(child_id=child_id)
    if division_code:
        qs = under(qs, division_code)
    if review_state:
        qs = qs.filter(review_state=review_state)
    if recorded_by is not None:
        qs = qs.filter(recorded_by_id=recorded_by)
    return qs.select_related("child", "recorded_by").order_by("-id")


def visit_get(actor: User, pk: int) -> Visit:
    return get_scoped_or_404(
        actor, Visit.objects.select_related("child", "recorded_by", "reviewed_by"), pk=pk
    )


def answer_photos(qs: QuerySet[VisitPhoto]) -> QuerySet[VisitPhoto]:
    """A visit's photos as its answer lists them (ids, in order): for a prefetch or a related manager."""
    return qs.only("id", "visit_id", "position").order_by("position")


def answer_problems(qs: QuerySet[Problem]) -> QuerySet[Problem]:
    """A visit's problems as its answer lists them."""
    return qs.only("id", "visit_id", "category", "severity", "state", "deadline").order_by("id")


# A visit read back whole for its answer, in one query (core.rawsql): every column, the child's name, the
# recorder's names, and whether it has photos or problems (read only when it has).
_READ_VISIT = rawsql.Columns(Visit, tuple(f.name for f in Visit._meta.concrete_fields), "v")
_READ_CHILD = rawsql.Columns(Child, ("id", "name"), "c")
_READ_RECORDER = rawsql.Columns(User, ("id", "username", "first_name", "last_name"), "u")
_READ = rawsql.Layout(_READ_VISIT, _READ_CHILD, _READ_RECORDER)


@cache
def _read_back_sql(vendor: str) -> str:
    q = rawsql.quote
    return (
        f"SELECT {_READ.sql}, "
        f"EXISTS (SELECT 1 FROM {q(VisitPhoto._meta.db_table)} p WHERE p.visit_id = v.id), "
        f"EXISTS (SELECT 1 FROM {q(Problem._meta.db_table)} r WHERE r.visit_id = v.id) "
        f"FROM {q(Visit._meta.db_table)} v JOIN {q(Child._meta.db_table)} c ON c.id = v.child_id "
        f"JOIN {q(User._meta.db_table)} u ON u.id = v.recorded_by_id WHERE v.id = %s AND "
    )


def visit_read_back(actor: User, pk: int) -> tuple[Visit, list[VisitPhoto], list[Problem]] | None:
    """A visit in the actor's jurisdiction with its child (name only) and recorder attached, its photos
    (id and position) and its problems, or None: what a replayed POST answers, read in one query when the
    visit has neither photos nor problems."""
    where, params = scope_sql(actor, Visit, "v")
    with rawsql.cursor() as cursor:
        cursor.execute(_read_back_sql(connection.vendor) + where, [pk, *params])
        row = cursor.fetchone()
    if row is None:
        return None
    visit_part, child_part, recorder_part, (has_photos, has_problems) = _READ.split(row)
    visit = _READ_VISIT.load(visit_part)
    visit.child = _READ_CHILD.load(child_part)
    visit.recorded_by = _READ_RECORDER.load(recorder_part)
    photos = list(answer_photos(visit.photos.all())) if has_photos else []
    problems = list(answer_problems(visit.problems.all())) if has_problems else []
    return visit, photos, problems
