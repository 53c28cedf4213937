"""Reads for problems. Every function takes the acting user and starts from scope().

The supervision list (督办清单) is what each level must act on:
  street supervisor    problems of their street still at street level, plus anything overdue
  district specialist  problems escalated to the district (or beyond), plus critical ones, plus overdue
  city                 problems escalated to the city
  village director, social worker, auditor: every unfinished problem they can see
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.models import Role, User
from carenet.problems.models import Level, Notification, Problem, ProblemAction, ProblemState, Severity
from carenet.problems.services import ACTIVE_STATES, overdue_q

LIST_ALL = "all"
LIST_SUPERVISION = "supervision"


@dataclass(frozen=True)
class ProblemFilters:
    state: str = ""  # "": every state but closed
    category: str = ""
    severity: str = ""
    level: int | None = None
    overdue: bool = False
    child_id: int | None = None


def is_overdue(problem: Problem, today: dt.date | None = None) -> bool:
    return problem.state in ACTIVE_STATES and problem.deadline < (today or timezone.localdate())


def days_overdue(problem: Problem, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return (today - problem.deadline).days if is_overdue(problem, today) else 0


def _supervision_q(actor: User, today: dt.date) -> Q | None:
    """What makes a problem the actor's to act on (None: everything they can see)."""
    late = overdue_q(today)
    if actor.role == Role.STREET_SUPERVISOR:
        return Q(level=Level.STREET) | late
    if actor.role == Role.DISTRICT_SPECIALIST:
        return Q(level__gte=Level.DISTRICT) | Q(severity=Severity.CRITICAL) | late
    if actor.role == Role.CITY_ADMIN:
        return Q(level=Level.CITY)
    return None


def _base(actor: User, which: str, today: dt.date) -> QuerySet[Problem]:
    qs = scope(actor, Problem.objects.all())
    if which == LIST_SUPERVISION:
        condition = _supervision_q(actor, today)
        if condition is not None:
            qs = qs.filter(condition)
    return qs


def _filtered(qs: QuerySet[Problem], filters: ProblemFilters, today: dt.date) -> QuerySet[Problem]:
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    if filters.level is not None:
        qs = qs.filter(level=filters.level)
    if filters.overdue:
        qs = qs.filter(overdue_q(today))
    if filters.child_id is not None:
        qs = qs.filter(child_id=filters.child_id)
    return qs


def problem_list(
    *, actor: User, filters: ProblemFilters, which: str = LIST_SUPERVISION, today: dt.date | None = None
) -> QuerySet[Problem]:
    """The actor's supervision list (or, with which="all", every problem they can see), filtered;
    earliest deadline first, so the longest overdue come on top."""
    today = today or timezone.localdate()
    qs = _filtered(_base(actor, which, today), filters, today)
    if filters.state:
        qs = qs.filter(state=filters.state)
    else:
        qs = qs.exclude(state=ProblemState.CLOSED)
    return qs.select_related("child", "child__division").order_by("deadline", "id")


def problem_counts(
    *, actor: User, filters: ProblemFilters, which: str = LIST_SUPERVISION, today: dt.date | None = None
) -> dict[str, int]:
    """Counts by state (every state, closed included) and of the overdue ones, for the list's summary;
    the state filter is ignored so the summary shows where the rest are. Two grouped queries."""
    today = today or timezone.localdate()
    qs = _filtered(_base(actor, which, today), filters, today)
    counts = {state: 0 for state in ProblemState.values}
    for row in qs.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    counts["overdue"] = qs.filter(overdue_q(today)).count()
    return counts


def problem_get(*, actor: User, pk: int | str) -> Problem:
    """One problem in the actor's jurisdiction (Http404 otherwise), with what its page shows."""
    return get_scoped_or_404(
        actor,
        Problem.objects.select_related(
            "child", "child__division", "visit", "visit__recorded_by", "raised_by"
        ),
        pk=pk,
    )


def problem_thread(problem: Problem) -> QuerySet[ProblemAction]:
    """The problem's actions, oldest first (the caller has already read `problem` through scope())."""
    return ProblemAction.objects.filter(problem=problem).select_related("actor").order_by("at", "id")


def notification_list(*, actor: User) -> QuerySet[Notification]:
    return scope(actor, Notification.objects.all()).order_by("-created_at", "-id")


def unread_count(*, actor: User) -> int:
    return scope(actor, Notification.objects.filter(read_at__isnull=True)).count()
