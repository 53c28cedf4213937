"""Supervision figures for one division and one period: per sub-division (a district's streets, a street's
villages, the city's districts) and per person who recorded visits (the village directors above all).

For each group: visits done in the period, the share made on time, problems raised in the period, problems
resolved in the period and their average resolution time (resolved_at - raised_at). Everything comes from a
few grouped queries (visits by group, problems by group), never from a loop over rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope, under
from carenet.accounts.models import Division, Role, User
from carenet.problems.models import Problem
from carenet.visits.models import Visit, VisitSchedule


@dataclass(frozen=True)
class Period:
    start: dt.date  # first day
    end: dt.date  # last day (inclusive)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - dt.timedelta(days=1))

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware datetimes in the local time zone (problems are stamped in UTC)."""
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return start, end


@dataclass
class Figures:
    visits: int = 0
    on_time: int = 0
    raised: int = 0
    resolved: int = 0
    resolution: dt.timedelta | None = None  # average over the problems resolved in the period
    scheduled: int = 0  # children on a visit schedule now (a director: those of their village)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.visits if self.visits else None

    @property
    def resolution_days(self) -> float | None:
        return self.resolution.total_seconds() / 86400 if self.resolution is not None else None


@dataclass
class Row:
    key: str | int
    label: str
    division: Division | None = None  # the sub-division (division rows) or the person's own division
    user: User | None = None
    figures: Figures = field(default_factory=Figures)


@dataclass
class Stats:
    division: Division
    period: Period
    by_division: list[Row]
    by_person: list[Row]
    total: Figures
    people_hidden: int = 0  # directors of villages with no child to visit and no activity in the period


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(F("resolved_at") - F("raised_at"), output_field=DurationField())


def _visit_figures(qs: QuerySet[Visit], key: str) -> dict[object, Figures]:
    rows = qs.values(key).annotate(n=Count("id"), ok=Count("id", filter=Q(on_time=True))).order_by()
    return {row[key]: Figures(visits=row["n"], on_time=row["ok"]) for row in rows}


def _problem_figures(
    qs: QuerySet[Problem], key: str, start: dt.datetime, end: dt.datetime, into: dict[object, Figures]
) -> None:
    raised = Q(raised_at__gte=start, raised_at__lt=end)
    resolved = Q(resolved_at__gte=start, resolved_at__lt=end)
    rows = (
        qs.filter(raised | resolved)
        .values(key)
        .annotate(
            raised=Count("id", filter=raised),
            resolved=Count("id", filter=resolved),
            avg=Avg(_duration(), filter=resolved),
        )
        .order_by()
    )
    for row in rows:
        figures = into.setdefault(row[key], Figures())
        figures.raised, figures.resolved, figures.resolution = row["raised"], row["resolved"], row["avg"]


def _total(
    visits: QuerySet[Visit], problems: QuerySet[Problem], start: dt.datetime, end: dt.datetime
) -> Figures:
    resolved = Q(resolved_at__gte=start, resolved_at__lt=end)
    v = visits.aggregate(n=Count("id"), ok=Count("id", filter=Q(on_time=True)))
    p = problems.aggregate(
        raised=Count("id", filter=Q(raised_at__gte=start, raised_at__lt=end)),
        resolved=Count("id", filter=resolved),
        avg=Avg(_duration(), filter=resolved),
    )
    return Figures(v["n"], v["ok"], p["raised"], p["resolved"], p["avg"])


# Per-person tables are drawn for a district and below; a city's thousands of directors are read district by
# district.
PERSON_LEVEL_CODE_LENGTH = 6


def _scheduled(actor: User, division: Division, key: Substr | str) -> dict[str, int]:
    qs = under(scope(actor, VisitSchedule.objects.all()), division.code)
    if isinstance(key, Substr):
        qs = qs.annotate(prefix=key)
        key = "prefix"
    return dict(qs.values_list(key).annotate(n=Count("child_id")).order_by())


def visit_stats(*, actor: User, division: Division, period: Period) -> Stats:
    """Figures under `division` (which must be in the actor's jurisdiction: the caller checked it)."""
    start, end = period.bounds()
    visits = under(
        scope(actor, Visit.objects.filter(visited_on__gte=period.start, visited_on__lte=period.end)),
        division.code,
    )
    problems = under(scope(actor, Problem.objects.all()), division.code)

    subs = list(scope(actor, Division.objects.filter(parent=division)).order_by("code"))
    width = len(subs[0].code) if subs else len(division.code)
    prefix = Substr("division_code", 1, width)
    by_prefix = _visit_figures(visits.annotate(prefix=prefix), "prefix")
    _problem_figures(problems.annotate(prefix=prefix), "prefix", start, end, by_prefix)
    for code, n in _scheduled(actor, division, prefix).items():
        by_prefix.setdefault(code, Figures()).scheduled = n
    by_division = [Row(d.code, d.name, division=d, figures=by_prefix.get(d.code, Figures())) for d in subs]
    stats = Stats(division, period, by_division, [], _total(visits, problems, start, end))
    stats.total.scheduled = under(scope(actor, VisitSchedule.objects.all()), division.code).count()
    if len(division.code) >= PERSON_LEVEL_CODE_LENGTH:
        stats.by_person, stats.people_hidden = _by_person(actor, division, visits, problems, start, end)
    return stats


def _by_person(
    actor: User,
    division: Division,
    visits: QuerySet[Visit],
    problems: QuerySet[Problem],
    start: dt.datetime,
    end: dt.datetime,
) -> tuple[list[Row], int]:
    """One row per person who recorded a visit or raised a problem, and per director with children to visit
    (those who visited nobody above all). Directors of villages with nobody to visit and nothing done are
    only counted."""
    by_user = _visit_figures(visits, "recorded_by_id")
    _problem_figures(problems, "raised_by", start, end, by_user)
    per_village = _scheduled(actor, division, "division_code")
    directors = under(
        scope(actor, User.objects.filter(role=Role.VILLAGE_DIRECTOR, is_active=True)),
        division.code,
        "division__code",
    )
    director_villages = dict(directors.values_list("id", "division__code"))
    wanted = set(by_user) | {pk for pk, code in director_villages.items() if per_village.get(code)}
    rows = []
    # Names are read through scope() like everything else: someone from outside the actor's jurisdiction
    # (the city, another district) who recorded a visit here keeps their figures but not their name.
    visible = {u.pk: u for u in scope(actor, User.objects.filter(pk__in=wanted)).select_related("division")}
    for pk in wanted:
        figures = by_user.get(pk, Figures())
        if pk in director_villages:
            figures.scheduled = per_village.get(director_villages[pk], 0)
        user = visible.get(pk)
        if user is None:
            rows.append(Row(pk, str(_("staff outside your jurisdiction")), None, None, figures))
        else:
            rows.append(Row(pk, user.get_full_name() or user.username, user.division, user, figures))
    rows.sort(key=lambda r: (r.division.code if r.division else "", str(r.label)))
    return rows, len(set(director_villages) - wanted)
