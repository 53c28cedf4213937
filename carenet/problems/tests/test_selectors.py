"""Supervision lists: each level sees what it must act on, only within its jurisdiction."""

from __future__ import annotations

import pytest

from carenet.problems import selectors
from carenet.problems.models import Problem
from carenet.problems.services import ActionInput, problem_act
from carenet.problems.tests.conftest import overdue_by

ALL = selectors.ProblemFilters()


def ids(actor, filters=ALL, which=selectors.LIST_SUPERVISION):
    return set(selectors.problem_list(actor=actor, filters=filters, which=which).values_list("pk", flat=True))


@pytest.fixture
def world(personas, children, raise_problem):
    """One problem per child, plus a critical one and an escalated one in village A."""
    p = {key: raise_problem(child=getattr(children, key)) for key in vars(children)}
    p["critical"] = raise_problem(severity="critical", category="safety")
    p["escalated"] = raise_problem()
    Problem.objects.filter(pk=p["escalated"].pk).update(level=1)
    p["city"] = raise_problem(child=children.sibling_village)
    Problem.objects.filter(pk=p["city"].pk).update(level=2)
    return p


def test_street_supervisor_sees_their_streets_street_level_problems(personas, world):
    assert ids(personas.street_supervisor) == {
        world["own"].pk,
        world["sibling_village"].pk,
        world["critical"].pk,
    }


def test_street_supervisor_also_sees_overdue_problems_whatever_the_level(personas, world):
    overdue_by(world["escalated"], 2)
    assert world["escalated"].pk in ids(personas.street_supervisor)


def test_district_list_is_escalated_critical_and_overdue(personas, world):
    district = personas.district_specialist
    assert ids(district) == {world["critical"].pk, world["escalated"].pk, world["city"].pk}
    overdue_by(world["other_street"], 1)
    assert world["other_street"].pk in ids(district)
    assert world["other_district"].pk not in ids(district, which=selectors.LIST_ALL)


def test_city_list_is_what_was_escalated_to_the_city(personas, world):
    assert ids(personas.city_admin) == {world["city"].pk}
    assert len(ids(personas.city_admin, which=selectors.LIST_ALL)) == 7


def test_directors_see_their_own_village_only(personas, world):
    assert ids(personas.director_a) == {world["own"].pk, world["critical"].pk, world["escalated"].pk}
    assert ids(personas.director_b) == {world["sibling_village"].pk, world["city"].pk}
    assert world["own"].pk not in ids(personas.director_b, which=selectors.LIST_ALL)


def test_social_workers_see_the_problems_of_their_caseload(personas, world):
    assert ids(personas.social_worker) == {world["own"].pk, world["critical"].pk, world["escalated"].pk}


def test_closed_problems_leave_the_list_unless_asked_for(personas, world):
    problem = world["own"]
    for action, actor in (("resolve", personas.director_a), ("verify", personas.director_a)):
        problem_act(actor=actor, problem_id=problem.pk, data=ActionInput(action, text="x"))
    problem_act(actor=personas.street_supervisor, problem_id=problem.pk, data=ActionInput("close"))
    street = personas.street_supervisor
    assert problem.pk not in ids(street)
    assert ids(street, selectors.ProblemFilters(state="closed")) == {problem.pk}


def test_filters(personas, world):
    city = personas.city_admin
    every = selectors.LIST_ALL
    assert ids(city, selectors.ProblemFilters(severity="critical"), every) == {world["critical"].pk}
    assert ids(city, selectors.ProblemFilters(category="safety"), every) == {world["critical"].pk}
    assert ids(city, selectors.ProblemFilters(level=1), every) == {world["escalated"].pk}
    assert ids(city, selectors.ProblemFilters(child_id=world["own"].child_id), every) == {
        world["own"].pk,
        world["critical"].pk,
        world["escalated"].pk,
    }
    assert ids(city, selectors.ProblemFilters(overdue=True), every) == set()
    overdue_by(world["other_district"], 3)
    assert ids(city, selectors.ProblemFilters(overdue=True), every) == {world["other_district"].pk}


def test_overdue_means_the_owner_has_not_acted(personas, world):
    problem = overdue_by(world["own"], 3)
    assert selectors.is_overdue(problem) and selectors.days_overdue(problem) == 3
    problem = problem_act(
        actor=personas.director_a, problem_id=problem.pk, data=ActionInput("resolve", text="x")
    )
    assert not selectors.is_overdue(problem) and selectors.days_overdue(problem) == 0


def test_counts_by_state(personas, world):
    problem_act(actor=personas.director_a, problem_id=world["own"].pk, data=ActionInput("start"))
    overdue_by(world["critical"], 1)
    counts = selectors.problem_counts(actor=personas.director_a, filters=ALL)
    assert counts == {
        "open": 2,
        "in_progress": 1,
        "resolved": 0,
        "verified": 0,
        "closed": 0,
        "overdue": 1,
    }


def test_outsiders_get_a_404(personas, world):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.problem_get(actor=personas.director_b, pk=world["own"].pk)
    assert selectors.problem_get(actor=personas.director_a, pk=world["own"].pk) == world["own"]
