"""POST /api/v1/children/ and PATCH /api/v1/children/{id}: services decide, the API names the field at fault."""

from __future__ import annotations

import datetime as dt

import pytest

from carenet.audit.models import ChangeLog
from carenet.core import idnumber
from carenet.registry.models import Child, FamilyMember, Household

from .conftest import field_errors

BIRTH = dt.date(2016, 7, 8)
GOOD_ID = idnumber.make("120112", BIRTH, 123)  # sequence 123 is odd: male


def _new(city, **over):
    data = {
        "division_code": city.village_a.code,
        "name": "赵小明",
        "id_number": GOOD_ID,
        "address": "幸福路2号",
        "school": "双港小学",
        "grade": "三年级",
    }
    data.update(over)
    return data


def _rows():
    return (
        Child.objects.count(),
        Household.objects.count(),
        FamilyMember.objects.count(),
        ChangeLog.objects.count(),
    )


def test_director_registers_a_child_of_their_village(api, personas, city):
    response = api(personas.director_a).post(
        "children/",
        _new(city, guardian={"name": "赵大山", "relationship": "p_grandfather", "phone": "13800000000"}),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["sex"], body["birth_date"]) == ("赵小明", "M", "2016-07-08")
    assert body["id_number"] == idnumber.mask(GOOD_ID)
    assert body["members"][0]["name"] == "赵大山"
    child = Child.objects.get(pk=body["id"])
    assert child.id_number == GOOD_ID
    assert child.created_by == personas.director_a


def test_child_without_id_number_needs_sex_and_birth_date(api, personas, city):
    client = api(personas.director_a)
    assert "birth_date" in field_errors(client.post("children/", _new(city, id_number="", sex="F")))
    response = client.post("children/", _new(city, id_number="", sex="F", birth_date="2018-02-03"))
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")}, "id_number"),  # check digit typo
        ({"id_number": "12345"}, "id_number"),
        ({"birth_date": "2016-07-09"}, "birth_date"),  # disagrees with the ID number
        ({"sex": "F"}, "sex"),  # disagrees with the ID number
        ({"division_code": "120101001001"}, "division_code"),  # another district's village
        ({"division_code": "120112001"}, "division_code"),  # a street, not a village
        ({"division_code": "999999999999"}, "division_code"),  # no such division
        ({"name": ""}, "name"),
        ({"name": "名" * 61}, "name"),
        ({"sex": "X", "id_number": ""}, "sex"),
        ({"disability_level": "9"}, "disability_level"),
        (
            {"guardian": {"name": "赵大山", "relationship": "father", "id_number": "123"}},
            "guardian.id_number",
        ),
        ({"guardian": {"name": "赵大山", "relationship": "neighbour"}}, "guardian.relationship"),
    ],
)
def test_bad_create_is_422_naming_the_field_and_writes_nothing(api, personas, city, change, field):
    before = _rows()
    response = api(personas.director_a).post("children/", _new(city, **change))
    assert field in field_errors(response)
    assert _rows() == before


def test_duplicate_id_number_is_422_and_writes_nothing(api, personas, city, children):
    before = _rows()
    response = api(personas.director_a).post(
        "children/", _new(city, id_number=children.own.id_number, birth_date=None, sex=None)
    )
    errors = field_errors(response)
    assert "id_number" in errors
    assert "张伟" in errors["id_number"]  # same village: the director may be told which record
    assert _rows() == before


def test_duplicate_of_a_child_outside_jurisdiction_does_not_reveal_the_record(api, personas, city, children):
    number = children.other_district.id_number
    response = api(personas.director_a).post(
        "children/", {"division_code": city.village_a.code, "name": "某某", "id_number": number}
    )
    errors = field_errors(response)
    assert "刘洋" not in errors["id_number"]
    assert str(children.other_district.pk) not in errors["id_number"]


def test_guardian_failure_rolls_back_the_child(api, personas, city):
    before = _rows()
    response = api(personas.director_a).post(
        "children/",
        _new(
            city,
            guardian={
                "name": "赵大山",
                "relationship": "father",
                "status": "imprisoned",
                "status_since": "2024-01-01",
                "status_until": "2023-01-01",
            },
        ),
    )
    assert response.status_code == 422
    assert _rows() == before


@pytest.mark.parametrize("who", ["social_worker", "auditor", "charity"])
def test_roles_that_may_not_register_get_403(api, personas, city, who):
    response = api(getattr(personas, who)).post("children/", _new(city))
    assert response.status_code == 403
    assert not Child.objects.exists()


def test_patch_changes_only_the_fields_sent(api, personas, children):
    response = api(personas.director_a).patch(
        f"children/{children.own.pk}", {"school": "双港中学", "grade": "初一"}
    )
    assert response.status_code == 200, response.content
    children.own.refresh_from_db()
    assert (children.own.school, children.own.grade, children.own.name) == ("双港中学", "初一", "张伟")
    assert response.json()["school"] == "双港中学"
    assert ChangeLog.objects.filter(child_id=children.own.pk, action="update").exists()


def test_patch_moves_a_child_within_jurisdiction(api, personas, city, children):
    response = api(personas.street_supervisor).patch(
        f"children/{children.own.pk}", {"division_code": city.village_b.code}
    )
    assert response.status_code == 200
    assert response.json()["division_code"] == city.village_b.code


def test_patch_cannot_move_a_child_out_of_jurisdiction(api, personas, city, children):
    response = api(personas.director_a).patch(
        f"children/{children.own.pk}", {"division_code": city.village_b.code}
    )
    assert "division_code" in field_errors(response)
    children.own.refresh_from_db()
    assert children.own.division_code == city.village_a.code


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": "2014-03-05"}, "birth_date"),
        ({"id_number": "120112"}, "id_number"),
        ({"name": None}, "name"),
        ({"sex": "F"}, "sex"),
    ],
)
def test_bad_patch_is_422_naming_the_field_and_changes_nothing(api, personas, children, change, field):
    before = Child.objects.values().get(pk=children.own.pk)
    response = api(personas.director_a).patch(f"children/{children.own.pk}", change)
    assert field in field_errors(response)
    assert Child.objects.values().get(pk=children.own.pk) == before
    assert not ChangeLog.objects.exists()


def test_patch_of_an_out_of_scope_child_is_404_and_changes_nothing(api, personas, children):
    response = api(personas.director_a).patch(f"children/{children.sibling_village.pk}", {"school": "x"})
    assert response.status_code == 404
    assert "李娜" not in response.content.decode()
    children.sibling_village.refresh_from_db()
    assert children.sibling_village.school == ""


def test_patch_by_a_role_that_may_only_read_is_403(api, personas, children):
    assert (
        api(personas.social_worker).patch(f"children/{children.own.pk}", {"school": "x"}).status_code == 403
    )
    assert api(personas.auditor).patch(f"children/{children.own.pk}", {"school": "x"}).status_code == 403


def test_archived_child_cannot_be_patched(api, personas, children):
    children.own.status = "archived"
    children.own.save()
    response = api(personas.director_a).patch(f"children/{children.own.pk}", {"school": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


def test_if_the_answer_cannot_be_audited_the_registration_does_not_land(
    api, personas, city, break_access_log
):
    from django.db import DatabaseError

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    before = _rows()
    break_access_log(DatabaseError("disk full"))
    response = api(personas.director_a).post("children/", _new(city))
    assert response.status_code == 503
    assert "赵小明" not in response.content.decode()
    assert _rows() == before  # the client may simply retry
