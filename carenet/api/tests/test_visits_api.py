"""POST/GET /api/v1/visits/: exactly once per client id, bad input named and never stored, jurisdiction."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image

from carenet.accounts.models import User
from carenet.audit.models import AccessLog, ChangeLog
from carenet.problems.models import Notification, Problem
from carenet.registry.models import CategoryMembership, Child
from carenet.visits import schedule
from carenet.visits.models import Visit, VisitPhoto, VisitSchedule

from .conftest import field_errors

TODAY = timezone.localdate()
YESTERDAY = TODAY - dt.timedelta(days=1)


def image(kind: str = "JPEG", size: tuple[int, int] = (16, 12)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(child: Child, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "child": child.pk,
        "visited_on": YESTERDAY.isoformat(),
        "living": "adequate",
        "met_guardian": True,
        "guardian_present": True,
        "school_enrolled": True,
        "grade": "四年级",
        "notes": "家中整洁",
    }
    data.update(over)
    return data


def scheduled(child: Child, *, opened: dt.date, category: str = "left_behind") -> VisitSchedule:
    approver = User.objects.get(username="p-city")
    CategoryMembership.objects.create(
        child=child, category=category, start_date=opened, reason="test", approved_by=approver
    )
    schedule.refresh([child.pk])
    return VisitSchedule.objects.get(child=child)


def stored_rows() -> tuple[int, ...]:
    return (
        Visit.objects.count(),
        VisitPhoto.objects.count(),
        Problem.objects.count(),
        ChangeLog.objects.filter(entity="visit").count(),
    )


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# ---------------------------------------------------------------- record, replay, conflict


def test_director_records_a_visit_and_gets_the_stored_visit(api, personas, children):
    sent = body(
        children.own,
        photos=[b64(image()), "data:image/png;base64," + b64(image("PNG"))],
        location={"latitude": 38.9876543, "longitude": 117.3456789, "accuracy": 12.4},
    )
    response = api(personas.director_a).post("visits/", sent)
    assert response.status_code == 201, response.content
    out = response.json()
    visit = Visit.objects.get()
    assert out["id"] == visit.pk and out["client_id"] == sent["client_id"]
    assert (out["child"], out["child_name"], out["division_code"]) == (
        children.own.pk,
        "张伟",
        "120112001001",
    )
    assert (out["visited_on"], out["living"], out["grade"], out["notes"]) == (
        YESTERDAY.isoformat(),
        "adequate",
        "四年级",
        "家中整洁",
    )
    assert out["met_child"] is True and out["met_guardian"] is True and out["school_attending"] is None
    assert out["location"] == {"latitude": 38.987654, "longitude": 117.345679, "accuracy": 12}
    assert out["recorded_by"] and out["review_state"] == "pending" and out["problems"] == []
    assert visit.recorded_by == personas.director_a
    photos = list(visit.photos.order_by("position"))
    assert [p.content_type for p in photos] == ["image/jpeg", "image/png"]
    assert [p["url"] for p in out["photos"]] == [f"/api/v1/visits/photos/{p.pk}" for p in photos]
    assert len(media_files()) == 2


def test_a_minimal_body_is_accepted_and_living_is_left_unstated(api, personas, children):
    minimal = {"client_id": str(uuid.uuid4()), "child": children.own.pk, "visited_on": YESTERDAY.isoformat()}
    response = api(personas.director_a).post("visits/", minimal)
    assert response.status_code == 201, response.content
    assert response.json()["living"] == ""
    assert Visit.objects.get().living == ""


def test_a_replay_of_the_same_body_returns_the_stored_visit(api, personas, children):
    client = api(personas.director_a)
    sent = body(children.own, photos=[b64(image())], problems=[_problem("general")])
    first = client.post("visits/", sent)
    assert first.status_code == 201
    # Key order and whitespace are not part of the body's identity.
    reordered = json.dumps(dict(reversed(list(sent.items()))), indent=2, ensure_ascii=True)
    again = client.post("visits/", reordered)
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert stored_rows() == (1, 1, 1, 1)
    assert len(media_files()) == 1


def test_a_retry_for_a_child_archived_since_is_still_answered_as_a_replay(api, personas, children):
    """The retry lookup rides on the child's query; when the child is no longer there to find (archived
    after the first attempt was stored), the phone still gets its stored visit, and another body still 409."""
    client = api(personas.director_a)
    sent = body(children.own)
    first = client.post("visits/", sent)
    assert first.status_code == 201
    Child.objects.filter(pk=children.own.pk).update(status="archived")
    again = client.post("visits/", sent)
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    other = client.post("visits/", {**sent, "notes": "另一次"})
    assert other.status_code == 409, other.content
    assert Visit.objects.count() == 1


def test_ten_sequential_retries_store_the_visit_once(api, personas, children):
    client = api(personas.director_a)
    sent = body(children.own, photos=[b64(image())])
    answers = [client.post("visits/", sent) for _ in range(10)]
    assert [a.status_code for a in answers] == [201] + [200] * 9
    assert len({a.json()["id"] for a in answers}) == 1
    assert stored_rows() == (1, 1, 0, 1)


def test_a_replay_after_the_child_moved_away_answers_409_without_its_data(api, city, personas, children):
    client = api(personas.director_a)
    sent = body(children.own)
    assert client.post("visits/", sent).status_code == 201
    from carenet.registry import services as registry

    registry.child_update(actor=personas.city_admin, child=children.own, division=city.village_b)
    response = client.post("visits/", sent)
    assert response.status_code == 409, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "client_id"] and "张伟" not in response.content.decode()
    assert Visit.objects.count() == 1


def test_the_same_client_id_with_another_body_is_refused(api, personas, children):
    client = api(personas.director_a)
    sent = body(children.own)
    assert client.post("visits/", sent).status_code == 201
    response = client.post("visits/", {**sent, "notes": "改过的记录"})
    assert response.status_code == 409, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "client_id"] and error["type"] == "conflict" and error["msg"]
    assert Visit.objects.get().notes == "家中整洁"
    assert stored_rows() == (1, 0, 0, 1)


def test_the_same_body_from_another_account_is_refused(api, personas, children):
    sent = body(children.own)
    assert api(personas.director_a).post("visits/", sent).status_code == 201
    response = api(personas.street_supervisor).post("visits/", sent)
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["body", "client_id"]
    assert "张伟" not in response.content.decode()
    assert Visit.objects.get().recorded_by == personas.director_a


def test_the_browser_session_records_with_its_csrf_token(personas, children):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.director_a)
    client.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32
    sent = json.dumps(body(children.own))
    refused = client.post("/api/v1/visits/", sent, content_type="application/json")
    assert refused.status_code == 403 and not Visit.objects.exists()
    response = client.post(
        "/api/v1/visits/", sent, content_type="application/json", HTTP_X_CSRFTOKEN="a" * 32
    )
    assert response.status_code == 201


def test_a_role_without_the_right_cannot_record(api, personas, children):
    response = api(personas.auditor).post("visits/", body(children.own))
    assert response.status_code == 403
    assert not Visit.objects.exists()


def test_the_answer_to_a_posted_visit_is_exactly_a_visit_out(api, personas, children):
    """The POST answer skips ninja's second validation pass (visits._respond): it must still be exactly the
    documented VisitOut, first time and replay, with a location, a photo and a problem."""
    from carenet.api.v1.visits import VisitOut

    sent = body(
        children.own,
        location={"latitude": 38.9876543, "longitude": 117.3456789, "accuracy": 12.4},
        photos=[b64(image())],
        problems=[_problem("general")],
    )
    client = api(personas.director_a)
    for expected in (201, 200):
        response = client.post("visits/", sent)
        assert response.status_code == expected
        answer = response.json()
        assert list(answer) == list(VisitOut.model_fields)
        VisitOut.model_validate(answer)
        assert len(answer["photos"]) == 1 and len(answer["problems"]) == 1
        assert answer["location"]["accuracy"] == 12


def test_one_visit_costs_a_handful_of_queries(api, personas, children, django_assert_max_num_queries):
    scheduled(children.own, opened=TODAY - dt.timedelta(days=10))
    client = api(personas.director_a)
    sent = body(children.own)
    # Measured: 4 on PostgreSQL = token (+ its throttled last-used update), the child with its schedule,
    # categories, rules and any visit already under the client id, and one statement for the visit, its
    # change record, its schedule and its access record; SQLite runs that statement as four in a savepoint
    # (+5). No query per field, photo or problem beyond what the body carries.
    with django_assert_max_num_queries(4 if connection.vendor == "postgresql" else 9):
        assert client.post("visits/", sent).status_code == 201
    # A replay: token, the child's query that finds the stored visit under the client id, the visit read back
    # in one query (with its child's name and recorder; photos and problems only when it has them), the
    # access record.
    with django_assert_max_num_queries(4):
        assert client.post("visits/", sent).status_code == 200


# ---------------------------------------------------------------- bad input: a 4xx naming the field


def _problem(severity: str, **over: Any) -> dict[str, Any]:
    return {"category": "schooling", "severity": severity, "description": "经常缺课", **over}


def _without(key: str):
    return lambda b, c: {k: v for k, v in b.items() if k != key}


def _with(**over: Any):
    return lambda b, c: {**b, **over}


BAD = [
    ("no client id", _without("client_id"), "client_id"),
    ("malformed client id", _with(client_id="visit-1"), "client_id"),
    ("no child", _without("child"), "child"),
    ("child not a number", _with(child="张伟"), "child"),
    ("no such child", _with(child=987654321), "child"),
    ("child of another village", lambda b, c: {**b, "child": c.sibling_village.pk}, "child"),
    ("child of another district", lambda b, c: {**b, "child": c.other_district.pk}, "child"),
    ("no date", _without("visited_on"), "visited_on"),
    ("not a date", _with(visited_on="2024-13-01"), "visited_on"),
    ("date in the future", _with(visited_on=(TODAY + dt.timedelta(days=1)).isoformat()), "visited_on"),
    ("date too long ago", _with(visited_on=(TODAY - dt.timedelta(days=120)).isoformat()), "visited_on"),
    ("unknown living situation", _with(living="excellent"), "living"),
    ("photo not an image", _with(photos=[b64(b"%PDF-1.4 not an image")]), "photos.0"),
    ("second photo not an image", _with(photos=[b64(image()), b64(b"GIF89a....")]), "photos.1"),
    ("photo not base64", _with(photos=["!!not base64!!"]), "photos.0"),
    ("photo too large", _with(photos=[b64(b"\xff\xd8\xff" + bytes(700 * 1024))]), "photos.0"),
    ("too many photos", _with(photos=[b64(image())] * 5), "photos"),
    (
        "problem not described",
        _with(problems=[_problem("general", description="  ")]),
        "problems.0.description",
    ),
    ("unknown severity", _with(problems=[_problem("urgent")]), "problems.0.severity"),
    (
        "department not named",
        _with(problems=[_problem("serious", owner_kind="department")]),
        "problems.0.owner_department",
    ),
    ("latitude out of range", _with(location={"latitude": 200, "longitude": 117}), "location.latitude"),
    ("notes too long", _with(notes="记" * 5001), "notes"),
    ("misspelt field", _with(livng="good"), "livng"),
]


@pytest.mark.parametrize(("change", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_stored(api, personas, children, change, field):
    before = stored_rows()
    response = api(personas.director_a).post("visits/", change(body(children.own), children))
    errors = field_errors(response)
    assert field in errors, errors
    assert errors[field]
    assert stored_rows() == before
    assert media_files() == []


def test_a_body_that_is_not_json_is_a_400(api, personas, children):
    response = api(personas.director_a).client.post(
        "/api/v1/visits/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert not Visit.objects.exists()


def test_an_archived_child_cannot_be_visited(api, personas, children):
    Child.objects.filter(pk=children.own.pk).update(status="archived", archive_reason="other")
    assert "child" in field_errors(api(personas.director_a).post("visits/", body(children.own)))


# ---------------------------------------------------------------- what a visit sets off


def test_the_schedule_moves_after_a_visit(api, personas, children):
    before = scheduled(children.own, opened=TODAY - dt.timedelta(days=60))  # monthly: overdue 30 days
    assert before.next_due_on == TODAY - dt.timedelta(days=30) and before.last_visit_on is None
    response = api(personas.director_a).post("visits/", body(children.own))
    assert response.status_code == 201
    assert response.json()["due_on"] == before.next_due_on.isoformat()
    assert response.json()["on_time"] is False
    after = VisitSchedule.objects.get(child=children.own)
    assert after.last_visit_on == YESTERDAY
    assert after.next_due_on == YESTERDAY + dt.timedelta(days=30)


def test_problems_in_the_body_are_raised_and_a_critical_one_reaches_the_district(api, personas, children):
    sent = body(
        children.own,
        problems=[_problem("general"), _problem("critical", category="safety", description="房屋漏雨有危险")],
    )
    response = api(personas.director_a).post("visits/", sent)
    assert response.status_code == 201, response.content
    visit = Visit.objects.get()
    problems = list(Problem.objects.filter(visit=visit).order_by("id"))
    assert [(p.category, p.severity, p.state) for p in problems] == [
        ("schooling", "general", "open"),
        ("safety", "critical", "open"),
    ]
    assert [p["id"] for p in response.json()["problems"]] == [p.pk for p in problems]
    assert response.json()["problems"][1]["deadline"] == problems[1].deadline.isoformat()
    district = Notification.objects.filter(recipient=personas.district_specialist)
    assert district.count() == 1 and district.get().problem == problems[1]
    assert not Notification.objects.filter(recipient=personas.other_district_specialist).exists()


# ---------------------------------------------------------------- jurisdiction


def test_director_of_another_village_can_neither_record_nor_read_the_childs_visits(api, personas, children):
    sent = body(children.own, photos=[b64(image())])
    created = api(personas.director_a).post("visits/", sent).json()
    outsider = api(personas.director_b)
    assert "child" in field_errors(outsider.post("visits/", body(children.own)))
    missing = outsider.get("visits/", {"child": 987654321})
    for response in (
        outsider.get("visits/", {"child": children.own.pk}),
        outsider.get(f"visits/{created['id']}"),
        outsider.client.get(created["photos"][0]["url"]),
    ):
        assert response.status_code == 404
        assert response.content == missing.content
    assert outsider.get("visits/").json()["results"] == []
    assert Visit.objects.count() == 1


def test_a_social_worker_records_and_sees_only_their_caseload(api, personas, children):
    api(personas.street_supervisor).post("visits/", body(children.sibling_village))
    worker = api(personas.social_worker)
    assert worker.post("visits/", body(children.own)).status_code == 201
    assert "child" in field_errors(worker.post("visits/", body(children.sibling_village)))
    listed = worker.get("visits/").json()
    assert [r["child_name"] for r in listed["results"]] == ["张伟"]
    assert worker.get("visits/", {"child": children.sibling_village.pk}).status_code == 404


def test_a_street_supervisor_lists_the_visits_of_its_villages(api, personas, children):
    for child, who in ((children.own, "director_a"), (children.sibling_village, "director_b")):
        assert api(getattr(personas, who)).post("visits/", body(child)).status_code == 201
    api(personas.other_district_specialist).post("visits/", body(children.other_district))
    response = api(personas.street_supervisor).get("visits/")
    assert response.status_code == 200
    out = response.json()
    assert out["count"] == 2 and out["count_exact"] is True
    assert {r["child_name"] for r in out["results"]} == {"张伟", "李娜"}
    one = api(personas.street_supervisor).get("visits/", {"child": children.own.pk}).json()
    assert [r["child_name"] for r in one["results"]] == ["张伟"]
    by_village = api(personas.street_supervisor).get("visits/", {"division": "120112001002"}).json()
    assert [r["child_name"] for r in by_village["results"]] == ["李娜"]
    assert "division" in field_errors(api(personas.street_supervisor).get("visits/", {"division": "12x"}))


# ---------------------------------------------------------------- reads leave an access record


def test_reading_visits_records_the_access(api, personas, children):
    created = api(personas.director_a).post("visits/", body(children.own, photos=[b64(image())])).json()
    reader = api(personas.street_supervisor)
    AccessLog.objects.all().delete()
    assert reader.get("visits/").status_code == 200
    assert reader.get(f"visits/{created['id']}").status_code == 200
    photo = reader.client.get(created["photos"][0]["url"])
    assert photo.status_code == 200
    assert photo["Content-Type"] == "image/jpeg" and photo["Cache-Control"] == "no-store, private"
    assert b"".join(photo.streaming_content) == VisitPhoto.objects.get().file.read()
    logs = list(AccessLog.objects.order_by("id").values_list("actor_id", "child_id", "kind"))
    me, child = personas.street_supervisor.pk, children.own.pk
    assert logs == [(me, child, "api_view"), (me, child, "api_view"), (me, child, "photo")]


def test_when_the_access_record_cannot_be_written_no_visit_data_is_sent(
    api, personas, children, break_access_log
):
    created = api(personas.director_a).post("visits/", body(children.own, photos=[b64(image())])).json()
    reader = api(personas.street_supervisor)
    break_access_log(ZeroDivisionError())
    for response in (
        reader.get("visits/"),
        reader.get(f"visits/{created['id']}"),
        reader.client.get(created["photos"][0]["url"]),
    ):
        assert response.status_code == 503
        assert "张伟" not in response.content.decode()


def test_a_visit_whose_access_record_cannot_be_written_is_not_stored(
    api, personas, children, break_access_log
):
    from django.db import DatabaseError

    client = api(personas.director_a)
    client.client.raise_request_exception = False
    break_access_log(DatabaseError("disk full"))
    response = client.post("visits/", body(children.own))
    assert response.status_code >= 500  # the phone keeps the visit queued and sends it again later
    assert "张伟" not in response.content.decode()
    assert not Visit.objects.exists()
    assert not ChangeLog.objects.filter(entity="visit").exists()


def test_reading_needs_the_right_to_see_children(api, personas, children):
    charity = api(personas.charity)
    assert charity.get("visits/").status_code == 403
    assert charity.get("visits/due/").status_code == 403
    assert charity.get("visits/rollup/").status_code == 403


def test_the_openapi_document_lists_the_visit_paths():
    schema = Client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/visits/"])
    assert paths["/api/v1/visits/"]["post"]["summary"]
    assert {"client_id", "child", "visited_on"} <= set(schema["components"]["schemas"]["VisitIn"]["required"])
    assert "get" in paths["/api/v1/visits/due/"]
    assert "get" in paths["/api/v1/visits/rollup/"]
    assert "get" in paths["/api/v1/visits/{visit_id}"]
    assert "get" in paths["/api/v1/visits/photos/{photo_id}"]
