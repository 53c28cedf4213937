from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import Role, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.problems.models import Problem, ProblemState
from carenet.registry import selectors
from carenet.registry.models import Category, CategoryMembership, Child, ChildStatus
from carenet.visits import review
from carenet.visits import selectors as visits

HOME_LIST = 30  # children per work-list group on a director's home; the work list page has them all


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    children = scope(user, Child.objects.filter(status=ChildStatus.ACTIVE))
    memberships = scope(
        user, CategoryMembership.objects.filter(end_date__isnull=True, child__status=ChildStatus.ACTIVE)
    )
    by_category = dict(memberships.values_list("category").annotate(n=Count("id")).order_by())
    categories = [(label, by_category.get(value, 0), value) for value, label in Category.choices]
    subdivisions = (
        selectors.active_counts_by_subdivision(actor=user, parent=user.division) if user.division_id else []
    )
    context: dict[str, Any] = {
        "total": children.count(),
        "categories": categories,
        "subdivisions": subdivisions,
    }
    if has_perm(user, Perm.CHILD_VIEW):
        context.update(_visits(user))
    return render(request, "web/home.html", context)


def _visits(user: User) -> dict[str, Any]:
    """A village director's work list, visits sent back and open problems; the visit counts for others."""
    today = timezone.localdate()
    if user.role != Role.VILLAGE_DIRECTOR:
        return {"visit_counts": visits.counts(user, today=today)}
    work = visits.worklist(user, today=today, limit=HOME_LIST)
    returned = list(review.returned_open(user)[:HOME_LIST])
    problems = list(
        scope(user, Problem.objects.exclude(state=ProblemState.CLOSED))
        .select_related("child")
        .order_by("deadline", "id")[:HOME_LIST]
    )
    shown = {(s.child_id, s.division_code) for s in work.overdue + work.due_soon + work.never_visited}
    shown |= {(v.child_id, v.division_code) for v in returned}
    shown |= {(p.child_id, p.division_code) for p in problems}
    if shown:
        events.accesses_recorded(actor=user, children=sorted(shown), kind=AccessLog.Kind.VIEW, detail="home")
    return {
        "visit_counts": work.counts,
        "work": work,
        # Never-visited children already in the overdue list are not listed twice.
        "never_not_overdue": [s for s in work.never_visited if s.next_due_on >= today],
        "returned": returned,
        "open_problems": problems,
        "today": today,
        "is_director": True,
    }
