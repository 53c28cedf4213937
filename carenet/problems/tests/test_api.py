"""/api/v1/problems/: list, one problem with its thread, one action; jurisdiction as everywhere else."""

from __future__ import annotations

import pytest

from carenet.api.tests.conftest import ApiClient, field_errors
from carenet.audit.models import AccessLog
from carenet.problems.tests.conftest import overdue_by


@pytest.fixture
def api():
    return ApiClient


def test_the_list_holds_the_callers_problems_with_their_state(api, personas, children, raise_problem):
    mine = raise_problem(severity="serious")
    raise_problem(child=children.sibling_village)
    response = api(personas.director_a).get("problems/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == mine.pk and item["child"] == children.own.pk and item["child_name"] == "张伟"
    assert (item["state"], item["severity"], item["level"], item["overdue"]) == ("open", "serious", 0, False)
    assert item["division_name"] == "A村" and item["deadline"] == mine.deadline.isoformat()


def test_the_list_filters(api, personas, children, raise_problem):
    late = overdue_by(raise_problem(category="health"), 3)
    other = raise_problem(child=children.sibling_village, severity="critical")
    client = api(personas.street_supervisor)
    got = lambda **params: [r["id"] for r in client.get("problems/", params).json()["results"]]  # noqa: E731
    assert got(overdue="true") == [late.pk]
    assert got(severity="critical") == [other.pk]
    assert got(category="health") == [late.pk]
    assert got(child=children.sibling_village.pk) == [other.pk]
    assert got(state="closed") == []
    assert got(level=1) == []
    assert client.get("problems/", {"overdue": "true"}).json()["results"][0]["days_overdue"] == 3
    district = api(personas.district_specialist)
    assert [r["id"] for r in district.get("problems/", {"list": "supervision"}).json()["results"]] == [
        late.pk,
        other.pk,
    ]


def test_a_bad_filter_names_the_parameter(api, personas):
    response = api(personas.director_a).get("problems/", {"state": "lost"})
    assert "state" in field_errors(response)


def test_the_summary_counts_by_state(api, personas, raise_problem):
    overdue_by(raise_problem(), 1)
    response = api(personas.street_supervisor).get("problems/summary")
    assert response.status_code == 200
    counts = response.json()["counts"]
    assert counts["open"] == 1 and counts["overdue"] == 1 and counts["closed"] == 0


def test_one_problem_with_its_thread_and_the_callers_actions(api, personas, raise_problem):
    problem = raise_problem(actor=personas.director_a)
    api(personas.street_supervisor).post(
        f"problems/{problem.pk}/actions", {"action": "note", "text": "已约谈监护人"}
    )
    response = api(personas.director_a).get(f"problems/{problem.pk}")
    assert response.status_code == 200
    body = response.json()
    assert [a["kind"] for a in body["actions"]] == ["raise", "note"]
    assert body["actions"][1]["text"] == "已约谈监护人" and body["actions"][1]["actor"]
    assert body["allowed_actions"] == ["start", "resolve", "note"]
    assert AccessLog.objects.filter(
        child_id=problem.child_id, kind="api_view", actor=personas.director_a
    ).exists()


@pytest.mark.parametrize("persona", ["director_b", "other_district_specialist", "charity"])
def test_outsiders_get_the_same_404_as_for_a_missing_problem(api, personas, raise_problem, persona):
    problem = raise_problem()
    client = api(getattr(personas, persona))
    for path in (f"problems/{problem.pk}", "problems/987654321"):
        response = (
            client.get(path) if persona != "charity" else client.post(f"{path}/actions", {"action": "start"})
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
    assert problem.actions.count() == 1


def test_actions_move_the_problem_and_return_it(api, personas, raise_problem):
    problem = raise_problem()
    street = api(personas.street_supervisor)
    response = street.post(f"problems/{problem.pk}/actions", {"action": "resolve", "text": "已解决"})
    assert response.status_code == 200 and response.json()["state"] == "resolved"
    response = api(personas.director_a).post(f"problems/{problem.pk}/actions", {"action": "verify"})
    assert response.json()["state"] == "verified"
    response = street.post(f"problems/{problem.pk}/actions", {"action": "close"})
    assert response.json()["state"] == "closed" and response.json()["closed_at"]
    response = street.post(f"problems/{problem.pk}/actions", {"action": "reopen", "text": "复发"})
    assert response.json()["state"] == "open"


def test_assign_through_the_api(api, personas, raise_problem):
    problem = raise_problem()
    response = api(personas.district_specialist).post(
        f"problems/{problem.pk}/actions",
        {"action": "assign", "owner_kind": "department", "owner_department": "区卫健委"},
    )
    assert response.status_code == 200
    assert (response.json()["owner_kind"], response.json()["owner_department"]) == ("department", "区卫健委")


def test_refusals_say_why(api, personas, raise_problem):
    problem = raise_problem()
    director = api(personas.director_a)
    errors = field_errors(director.post(f"problems/{problem.pk}/actions", {"action": "resolve"}))
    assert list(errors) == ["text"]
    errors = field_errors(director.post(f"problems/{problem.pk}/actions", {"action": "verify"}))
    assert list(errors) == ["action"]  # open: nothing to verify yet
    errors = field_errors(director.post(f"problems/{problem.pk}/actions", {"action": "erase"}))
    assert list(errors) == ["action"]
    response = director.post(f"problems/{problem.pk}/actions", {"action": "assign", "owner_kind": "guardian"})
    assert response.status_code == 403 and "street" in response.json()["detail"]
    response = api(personas.social_worker).post(
        f"problems/{problem.pk}/actions", {"action": "note", "text": "x"}
    )
    assert response.status_code == 403
    assert problem.actions.count() == 1


def test_anonymous_callers_are_refused(api, raise_problem):
    problem = raise_problem()
    assert api().get("problems/").status_code == 401
    assert api().post(f"problems/{problem.pk}/actions", {"action": "note", "text": "x"}).status_code == 401
