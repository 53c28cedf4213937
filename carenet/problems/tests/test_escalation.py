"""Escalation after deadline: street → district → city, the new level told, once per deadline."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from carenet.audit.models import ChangeLog
from carenet.problems import selectors
from carenet.problems.escalation import DIGEST_AFTER, escalate_overdue
from carenet.problems.models import Notification, Problem, ProblemAction
from carenet.problems.services import ActionInput, problem_act
from carenet.problems.tests.conftest import overdue_by
from carenet.tests_support.factories import ChildFactory


def test_an_overdue_problem_climbs_street_district_city_and_each_level_is_told(personas, raise_problem):
    today = timezone.localdate()
    problem = overdue_by(raise_problem(severity="serious"), 1)

    assert escalate_overdue(today) == 1
    problem.refresh_from_db()
    assert problem.level == 1
    assert problem.deadline == today + dt.timedelta(days=7)
    assert problem.escalated_at is not None
    step = problem.actions.get(kind="escalate")
    assert step.actor is None and step.from_state == step.to_state == "open"
    assert problem.deadline.isoformat() in step.text
    log = ChangeLog.objects.filter(entity="problem", entity_id=problem.pk, actor__isnull=True).get()
    assert log.changes["level"] == [0, 1] and log.changes["action"] == [None, "escalate"]
    told = Notification.objects.filter(problem=problem)
    assert set(told.values_list("recipient", flat=True)) == {personas.district_specialist.pk}
    assert "张伟" in told.get().text

    # Due again only when the district's own deadline passes: then the city takes it up.
    later = problem.deadline + dt.timedelta(days=1)
    assert escalate_overdue(later) == 1
    problem.refresh_from_db()
    assert problem.level == 2
    assert problem.deadline == later + dt.timedelta(days=7)
    assert set(Notification.objects.filter(problem=problem).values_list("recipient", flat=True)) == {
        personas.district_specialist.pk,
        personas.city_admin.pk,
    }
    # The city is the top: nothing further.
    assert escalate_overdue(problem.deadline + dt.timedelta(days=30)) == 0
    problem.refresh_from_db()
    assert problem.level == 2
    assert problem.actions.filter(kind="escalate").count() == 2


def test_running_twice_the_same_day_escalates_nothing_more(personas, raise_problem):
    problems = [overdue_by(raise_problem(), days) for days in (1, 5, 40)]
    today = timezone.localdate()
    assert escalate_overdue(today) == 3
    before = (Notification.objects.count(), ChangeLog.objects.count())
    assert escalate_overdue(today) == 0
    assert escalate_overdue(today) == 0
    assert (Notification.objects.count(), ChangeLog.objects.count()) == before
    assert {p.level for p in Problem.objects.filter(pk__in=[p.pk for p in problems])} == {1}


def test_only_problems_whose_owner_still_has_to_act_escalate(personas, raise_problem):
    director = personas.director_a
    due_today = raise_problem()
    Problem.objects.filter(pk=due_today.pk).update(deadline=timezone.localdate())
    in_progress = problem_act(
        actor=director, problem_id=overdue_by(raise_problem(), 3).pk, data=ActionInput("start")
    )
    resolved = overdue_by(raise_problem(), 3)
    problem_act(actor=director, problem_id=resolved.pk, data=ActionInput("resolve", text="done"))
    assert escalate_overdue() == 1
    levels = dict(Problem.objects.values_list("pk", "level"))
    assert levels == {due_today.pk: 0, in_progress.pk: 1, resolved.pk: 0}


def test_escalated_problems_show_on_the_district_supervision_list(personas, raise_problem):
    quiet, late = raise_problem(), overdue_by(raise_problem(), 2)
    district = personas.district_specialist
    shown = lambda: set(  # noqa: E731
        selectors.problem_list(actor=district, filters=selectors.ProblemFilters()).values_list(
            "pk", flat=True
        )
    )
    assert shown() == {late.pk}  # overdue already shows, before the timer runs
    escalate_overdue()
    Problem.objects.filter(pk=late.pk).update(deadline=timezone.localdate() + dt.timedelta(days=5))
    assert shown() == {late.pk}  # no longer overdue, but now the district's to supervise
    assert quiet.pk not in shown()


def test_each_district_hears_only_of_its_own_problems(personas, children, raise_problem):
    overdue_by(raise_problem(child=children.other_district), 1)
    escalate_overdue()
    recipients = set(Notification.objects.values_list("recipient", flat=True))
    assert recipients == {personas.other_district_specialist.pk}


def test_many_escalations_for_one_person_come_as_one_summary(personas, city, raise_problem):
    kids = [ChildFactory(name=f"儿童{i}", division=city.village_a) for i in range(DIGEST_AFTER + 2)]
    for kid in kids:
        overdue_by(raise_problem(child=kid), 1)
    assert escalate_overdue() == len(kids)
    mine = Notification.objects.filter(recipient=personas.district_specialist)
    assert mine.count() == 1
    note = mine.get()
    assert note.problem is None and str(len(kids)) in note.text
    assert not any(kid.name in note.text for kid in kids)


def test_escalation_in_bulk_costs_a_fixed_number_of_queries(
    personas, city, raise_problem, django_assert_max_num_queries
):
    kids = [ChildFactory(name=f"儿童{i}", division=city.village_b) for i in range(40)]
    for kid in kids:
        raise_problem(child=kid)
    Problem.objects.update(deadline=timezone.localdate() - dt.timedelta(days=1))
    # one chunk: ids, staff, lock+read, update, actions, audit, notifications (+ savepoint statements)
    with django_assert_max_num_queries(10):
        assert escalate_overdue() == 40
    Problem.objects.update(deadline=timezone.localdate() - dt.timedelta(days=1))
    with django_assert_max_num_queries(4 + 3 * 8):  # three chunks of at most 15
        assert escalate_overdue(chunk=15) == 40
    assert set(Problem.objects.values_list("level", flat=True)) == {2}


def test_the_management_command_runs_the_same_job(personas, raise_problem):
    problem = overdue_by(raise_problem(), 1)
    out = io.StringIO()
    call_command("escalate_problems", stdout=out)
    assert out.getvalue().strip() == "1 problems escalated"
    problem.refresh_from_db()
    assert problem.level == 1
    out = io.StringIO()
    call_command("escalate_problems", today=problem.deadline.isoformat(), stdout=out)
    assert out.getvalue().strip() == "0 problems escalated"


def test_the_management_command_refuses_a_bad_date(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("escalate_problems", today="yesterday")


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_time_escalate_each_problem_once(personas, city, raise_problem):
    """The gunicorn timer of two servers (or the timer and cron) firing together: each problem moves once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    kids = [ChildFactory(name=f"儿童{i}", division=city.village_b) for i in range(30)]
    for kid in kids:
        raise_problem(child=kid)
    Problem.objects.update(deadline=timezone.localdate() - dt.timedelta(days=1))
    start = threading.Barrier(4)

    def run(_: int) -> int:
        try:
            start.wait(timeout=30)
            return escalate_overdue(chunk=7)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(run, range(4)))
    assert sum(counts) == 30, counts
    assert set(Problem.objects.values_list("level", flat=True)) == {1}
    assert ProblemAction.objects.filter(kind="escalate").count() == 30
    # chunks of 7 stay under the digest threshold: the district specialist hears of each problem once
    assert (
        Notification.objects.filter(recipient=personas.district_specialist, problem__isnull=False).count()
        == 30
    )
