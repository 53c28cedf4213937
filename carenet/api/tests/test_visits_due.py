"""GET /api/v1/visits/due/ and /rollup/: each caller's work list and counts, and nothing beyond them."""

from __future__ import annotations

import datetime as dt

import pytest

from carenet.audit.models import AccessLog
from carenet.tests_matrix.world import PERSONAS, VISIBLE_CHILDREN
from carenet.visits.models import VisitSchedule

from .conftest import field_errors
from .test_visits_api import TODAY, body, scheduled

NAMES = {"own": "张伟", "sibling_village": "李娜", "other_street": "王芳", "other_district": "刘洋"}


@pytest.fixture
def overdue(children):
    """Every target child in a monthly category opened 40 days ago and never visited: 10 days overdue."""
    for key in NAMES:
        scheduled(getattr(children, key), opened=TODAY - dt.timedelta(days=40))
    return children


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "charity"])
def test_each_personas_due_list_holds_exactly_its_children(api, personas, overdue, persona):
    response = api(getattr(personas, persona)).get("visits/due/")
    assert response.status_code == 200, response.content
    out = response.json()
    expected = {NAMES[key] for key in VISIBLE_CHILDREN[persona]}
    assert {row["name"] for row in out["overdue"]} == expected
    assert {row["name"] for row in out["never_visited"]} == expected
    assert out["due_soon"] == []
    assert out["counts"]["scheduled"] == out["counts"]["overdue"] == len(expected)
    text = response.content.decode()
    assert not [name for name in NAMES.values() if name not in expected and name in text]


def test_a_due_row_says_how_late_and_why(api, personas, overdue):
    out = api(personas.director_a).get("visits/due/").json()
    assert out["today"] == TODAY.isoformat()
    [row] = out["overdue"]
    assert row == {
        "child": overdue.own.pk,
        "name": "张伟",
        "division_code": "120112001001",
        "division_name": "A村",
        "category": "left_behind",
        "interval_days": 30,
        "last_visit_on": None,
        "next_due_on": (TODAY - dt.timedelta(days=10)).isoformat(),
        "days_overdue": 10,
    }
    assert out["counts"] == {
        "scheduled": 1,
        "overdue": 1,
        "due_soon": 0,
        "never_visited": 1,
        "on_time_rate": 0.0,
    }


def test_a_visit_takes_the_child_off_the_overdue_list(api, personas, overdue):
    client = api(personas.director_a)
    assert client.post("visits/", body(overdue.own)).status_code == 201
    out = client.get("visits/due/").json()
    assert out["overdue"] == [] and out["never_visited"] == []
    assert out["counts"]["on_time_rate"] == 1.0


def test_due_soon_lists_children_due_within_the_week(api, personas, children):
    scheduled(children.own, opened=TODAY - dt.timedelta(days=27))  # due in 3 days
    out = api(personas.director_a).get("visits/due/").json()
    assert [(r["name"], r["days_overdue"]) for r in out["due_soon"]] == [("张伟", -3)]
    assert out["overdue"] == []


def test_nobody_scheduled_gives_a_null_on_time_rate(api, personas, children):
    out = api(personas.director_a).get("visits/due/").json()
    assert out["counts"]["on_time_rate"] is None and out["overdue"] == []


def test_the_due_list_is_cut_at_the_limit_but_the_counts_are_complete(api, personas, overdue):
    out = api(personas.district_specialist).get("visits/due/", {"limit": 1}).json()
    assert len(out["overdue"]) == 1 and out["counts"]["overdue"] == 3
    client = api(personas.district_specialist)
    assert "limit" in field_errors(client.get("visits/due/", {"limit": 0}))
    assert "limit" in field_errors(client.get("visits/due/", {"limit": 501}))


def test_the_due_list_of_one_division_under_ones_own(api, personas, overdue):
    client = api(personas.district_specialist)
    out = client.get("visits/due/", {"division": "120112001002"}).json()
    assert [r["name"] for r in out["overdue"]] == ["李娜"]
    for outside in ("120101001001", "120101", "12", "999999999999"):  # elsewhere, an ancestor, unknown
        assert client.get("visits/due/", {"division": outside}).status_code == 404
    assert "division" in field_errors(client.get("visits/due/", {"division": "12345"}))


def test_the_due_list_records_one_access_per_child_shown(api, personas, overdue):
    AccessLog.objects.all().delete()
    api(personas.street_supervisor).get("visits/due/")
    logged = sorted(AccessLog.objects.values_list("child_id", "kind"))
    assert logged == sorted([(overdue.own.pk, "api_view"), (overdue.sibling_village.pk, "api_view")])


def test_the_due_list_withholds_everything_when_the_access_cannot_be_recorded(
    api, personas, overdue, break_access_log
):
    break_access_log(ZeroDivisionError())
    response = api(personas.director_a).get("visits/due/")
    assert response.status_code == 503 and "张伟" not in response.content.decode()


def test_rollup_counts_per_sub_division(api, personas, overdue):
    out = api(personas.street_supervisor).get("visits/rollup/").json()
    assert out["division"] == {"code": "120112001", "name": "双港镇"}
    assert out["total"]["scheduled"] == 2 and out["total"]["overdue"] == 2
    assert [(r["code"], r["name"], r["overdue"], r["on_time_rate"]) for r in out["rows"]] == [
        ("120112001001", "A村", 1, 0.0),
        ("120112001002", "B村", 1, 0.0),
    ]
    district = api(personas.district_specialist).get("visits/rollup/").json()
    assert [(r["name"], r["scheduled"]) for r in district["rows"]] == [("双港镇", 2), ("辛庄镇", 1)]
    city = api(personas.city_admin).get("visits/rollup/", {"division": "120112"}).json()
    assert city["division"]["name"] == "津南区" and city["total"]["scheduled"] == 3


def test_rollup_outside_ones_jurisdiction_is_a_404(api, personas, overdue):
    assert api(personas.director_a).get("visits/rollup/", {"division": "120112001"}).status_code == 404
    assert api(personas.street_supervisor).get("visits/rollup/", {"division": "120112002"}).status_code == 404
    village = api(personas.director_a).get("visits/rollup/").json()
    assert village["rows"] == [] and village["total"]["scheduled"] == 1


def test_a_social_workers_rollup_counts_only_the_caseload(api, personas, overdue):
    out = api(personas.social_worker).get("visits/rollup/").json()
    assert out["total"]["scheduled"] == 1
    assert {r["name"]: r["scheduled"] for r in out["rows"]} == {"和平区": 0, "津南区": 1}
    assert VisitSchedule.objects.count() == 4
