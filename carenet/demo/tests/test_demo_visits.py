"""The demo city's visit history: one small build per module (400 children), then read-only checks on it."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from carenet.accounts.models import Role, User
from carenet.demo import visits as demo_visits
from carenet.problems.models import ActionKind, Notification, Problem, ProblemAction, ProblemState
from carenet.registry.models import Child, ChildStatus
from carenet.visits import schedule, tally
from carenet.visits.models import ReviewState, Visit, VisitSchedule, VisitTally, VisitTallyChange

SCHEDULE_FIELDS = ("child_id", "division_code", "interval_days", "category", "last_visit_on", "next_due_on")


pytestmark = pytest.mark.django_db


def test_every_scheduled_child_has_visits_and_the_build_says_so(demo: str) -> None:
    assert Visit.objects.count() > 400
    assert "visits " in demo and "schedules " in demo
    scheduled = VisitSchedule.objects.count()
    assert scheduled > 300
    visited = VisitSchedule.objects.filter(last_visit_on__isnull=False).count()
    assert visited / scheduled > 0.85  # a few per cent were never visited
    assert visited < scheduled
    # The visit tally counts the same children, folded in once the load is done.
    assert tally.check() == [] and not VisitTallyChange.objects.exists()
    assert sum(VisitTally.objects.values_list("children", flat=True)) == scheduled


def test_schedules_equal_what_schedule_refresh_computes(demo: str) -> None:
    """The bulk-computed rows are exactly those the application's own refresh() writes."""
    before = {row[0]: row for row in VisitSchedule.objects.values_list(*SCHEDULE_FIELDS)}
    active = list(Child.objects.filter(status=ChildStatus.ACTIVE).values_list("id", flat=True))
    with transaction.atomic():
        VisitSchedule.objects.all().delete()
        schedule.refresh(active)
        after = {row[0]: row for row in VisitSchedule.objects.values_list(*SCHEDULE_FIELDS)}
        transaction.set_rollback(True)
    assert after == before


def test_no_visit_is_in_the_future_or_older_than_the_history(demo: str) -> None:
    today = timezone.localdate()
    assert not Visit.objects.filter(visited_on__gt=today).exists()
    assert not Visit.objects.filter(received_at__gt=timezone.now()).exists()
    assert not Visit.objects.filter(
        visited_on__lt=today - dt.timedelta(days=demo_visits.HISTORY_DAYS)
    ).exists()
    assert not Visit.objects.filter(visited_on__lt=F("child__birth_date")).exists()
    # received when visited, or a few days later (recorded offline), never before
    for visited_on, received in Visit.objects.values_list("visited_on", "received_at"):
        local = timezone.localtime(received).date()
        assert visited_on <= local <= visited_on + dt.timedelta(days=4)


def test_visits_are_recorded_by_the_director_of_the_childs_village(demo: str) -> None:
    rows = Visit.objects.values_list(
        "division_code", "child__division_code", "recorded_by__username", "recorded_by__role"
    )
    for code, child_code, username, role in rows:
        assert code == child_code
        assert (username, role) == (f"village-{code}", Role.VILLAGE_DIRECTOR)
    assert not Visit.objects.exclude(child__status=ChildStatus.ACTIVE).exists()


def test_most_visits_are_on_time_and_due_dates_follow_the_rule(demo: str) -> None:
    total = Visit.objects.count()
    on_time = Visit.objects.filter(on_time=True).count()
    assert 0.75 < on_time / total < 0.95
    assert not Visit.objects.filter(on_time=True, visited_on__gt=F("due_on")).exists()
    assert not Visit.objects.filter(on_time=False, visited_on__lte=F("due_on")).exists()
    # each child's visits are spaced by about its interval
    days: dict[int, list[dt.date]] = {}
    for child_id, visited_on in Visit.objects.order_by("visited_on").values_list("child_id", "visited_on"):
        days.setdefault(child_id, []).append(visited_on)
    intervals = dict(VisitSchedule.objects.values_list("child_id", "interval_days"))
    for child_id, dates in days.items():
        for a, b in zip(dates, dates[1:], strict=False):
            assert intervals[child_id] * 0.8 <= (b - a).days <= intervals[child_id] + 12


def test_some_children_are_overdue_and_some_due_soon(demo: str) -> None:
    today = timezone.localdate()
    scheduled = VisitSchedule.objects.count()
    overdue = VisitSchedule.objects.filter(next_due_on__lt=today).count()
    soon = VisitSchedule.objects.filter(
        next_due_on__gte=today, next_due_on__lte=today + dt.timedelta(days=7)
    ).count()
    assert 0.02 < overdue / scheduled < 0.15
    assert soon > 0


def test_answers_vary(demo: str) -> None:
    living = Counter(Visit.objects.values_list("living", flat=True))
    assert {"good", "adequate", "difficult"} <= set(living)
    assert living["good"] > living["difficult"]
    assert Visit.objects.exclude(notes="").exists()
    assert Visit.objects.filter(school_enrolled=True).exclude(grade="").exists()
    assert Visit.objects.filter(latitude__isnull=False, longitude__isnull=False).exists()
    notes = set(Visit.objects.exclude(notes="").values_list("notes", flat=True))
    assert len(notes) > 5 and all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in notes)


def test_recent_visits_mostly_await_review_and_reviews_come_from_the_street(demo: str) -> None:
    today = timezone.localdate()
    recent = Counter(
        Visit.objects.filter(visited_on__gte=today - dt.timedelta(days=7)).values_list(
            "review_state", flat=True
        )
    )
    old = Counter(
        Visit.objects.filter(visited_on__lt=today - dt.timedelta(days=45)).values_list(
            "review_state", flat=True
        )
    )
    assert recent[ReviewState.PENDING] > recent[ReviewState.CHECKED]
    assert old[ReviewState.CHECKED] > old[ReviewState.PENDING]
    assert old[ReviewState.RETURNED] > 0
    reviewed = Visit.objects.exclude(review_state=ReviewState.PENDING)
    for code, reviewer, received, reviewed_at, comment, state in reviewed.values_list(
        "division_code",
        "reviewed_by__username",
        "received_at",
        "reviewed_at",
        "review_comment",
        "review_state",
    ):
        assert reviewer == f"street-{code[:9]}"
        assert received <= reviewed_at <= timezone.now()
        assert bool(comment) == (state == ReviewState.RETURNED)
    assert not Visit.objects.filter(review_state=ReviewState.PENDING, reviewed_by__isnull=False).exists()


def test_problems_have_a_consistent_thread(demo: str) -> None:
    problems = list(Problem.objects.select_related("visit"))
    assert 3 <= len(problems) < 100
    for p in problems:
        assert (
            p.visit is not None
            and p.visit.child_id == p.child_id
            and p.division_code == p.visit.division_code
        )
        actions = list(ProblemAction.objects.filter(problem=p).order_by("at", "id"))
        assert actions[0].kind == ActionKind.RAISE and actions[0].to_state == ProblemState.OPEN
        assert actions[-1].to_state == p.state
        assert sum(a.kind == ActionKind.ESCALATE for a in actions) == p.level
        assert all(a.at <= timezone.now() for a in actions)
        assert (p.closed_at is not None) == (p.state == ProblemState.CLOSED)
    assert len({p.state for p in problems}) >= 3
    critical = Problem.objects.filter(severity="critical").values_list("pk", flat=True)
    assert set(critical) <= set(Notification.objects.values_list("problem_id", flat=True))


def test_the_same_seed_generates_the_same_visits(demo: str) -> None:
    today = timezone.localdate()
    units = demo_visits._units(
        users=demo_visits.demo_users(), seed="s", today=today, since=today - dt.timedelta(days=120)
    )
    unit = max(units, key=lambda u: len(u.kids))
    unit.now = timezone.now()
    first = demo_visits.generate_unit(unit)
    again = demo_visits.generate_unit(unit)
    assert first.visits and first == again
    unit.seed = "other"
    assert demo_visits.generate_unit(unit).visits != first.visits


def test_extend_history_adds_older_visits_before_each_childs_first(demo: str) -> None:
    today = timezone.localdate()
    first = dict(Visit.objects.order_by("child_id", "visited_on").values_list("child_id", "visited_on"))
    with transaction.atomic():
        units = demo_visits.history_units(users=demo_visits.demo_users(), seed="h", today=today, extra=2.0)
        stats = demo_visits.extend_history(units, workers=1)
        assert stats.visits > len(first)
        added = Visit.objects.filter(visited_on__lt=today - dt.timedelta(days=demo_visits.HISTORY_DAYS))
        assert added.exists()
        newest = Visit.objects.filter(pk__gt=Visit.objects.count() - stats.visits)
        for child_id, visited_on, username, code in newest.values_list(
            "child_id", "visited_on", "recorded_by__username", "division_code"
        ):
            assert visited_on < first[child_id]
            assert username == f"village-{code}"
        assert not Problem.objects.filter(visit__in=newest).exists()
        transaction.set_rollback(True)


def test_a_director_sees_their_village_history(demo: str) -> None:
    code = Visit.objects.values_list("division_code", flat=True).first()
    director = User.objects.get(username=f"village-{code}")
    from carenet.accounts.jurisdiction import scope

    assert scope(director, Visit.objects.all()).count() == Visit.objects.filter(division_code=code).count()
    random.seed(0)
