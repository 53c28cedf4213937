"""GET /api/v1/children/{id}: the whole file, inside jurisdiction only, audited before it is sent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError

from carenet.audit.models import AccessLog
from carenet.core import idnumber
from carenet.registry.models import CategoryMembership
from carenet.tests_support.factories import FamilyMemberFactory


@pytest.fixture
def file_of_own(personas, children):
    own = children.own
    own.school, own.health, own.disability_kind, own.disability_level = "双港小学", "哮喘", "视力", "3"
    own.save()
    father = FamilyMemberFactory(
        child=own,
        name="张建国",
        relationship="father",
        status="imprisoned",
        status_since=dt.date(2022, 5, 1),
        status_until=dt.date(2027, 5, 1),
    )
    father.set_id_number(idnumber.make("120112", dt.date(1985, 1, 1), 11))
    father.save()
    FamilyMemberFactory(
        child=own, name="李秀英", relationship="p_grandmother", status="alive", is_guardian=True
    )
    specialist = personas.district_specialist
    specialist.last_name, specialist.first_name = "陈", "静"
    specialist.save()
    CategoryMembership.objects.create(
        child=own,
        category="poor_family",
        start_date=dt.date(2019, 1, 1),
        end_date=dt.date(2021, 1, 1),
        reason="低保",
        end_reason="脱贫",
        approved_by=specialist,
        ended_by=specialist,
    )
    CategoryMembership.objects.create(
        child=own,
        category="de_facto_unsupported",
        start_date=dt.date(2022, 6, 1),
        reason="父亲服刑",
        approved_by=specialist,
    )
    return own


def test_detail_carries_household_family_categories_school_health(api, personas, file_of_own):
    body = api(personas.director_a).get(f"children/{file_of_own.pk}").json()
    assert body["name"] == "张伟"
    assert body["school"] == "双港小学"
    assert body["health"] == "哮喘"
    assert (body["disability_kind"], body["disability_level"]) == ("视力", "3")
    assert body["household"]["address"] == "幸福路1号"
    father = next(m for m in body["members"] if m["relationship"] == "father")
    assert (father["status"], father["status_since"], father["status_until"]) == (
        "imprisoned",
        "2022-05-01",
        "2027-05-01",
    )
    assert [c["category"] for c in body["categories"]] == ["de_facto_unsupported", "poor_family"]
    assert body["categories"][1]["approved_by"] == "陈静"
    assert body["categories"][1]["ended_by"] == "陈静"
    assert body["open_categories"] == ["de_facto_unsupported"]


def test_director_sees_masked_ids_of_child_and_family(api, personas, file_of_own):
    body = api(personas.director_a).get(f"children/{file_of_own.pk}").json()
    assert body["id_number"] == idnumber.mask(file_of_own.id_number)
    assert body["id_number_full"] is False
    father = next(m for m in body["members"] if m["relationship"] == "father")
    assert father["id_number"].startswith("120112********")
    assert not AccessLog.objects.filter(kind="full_id").exists()


def test_district_specialist_sees_full_ids_and_that_is_recorded(api, personas, file_of_own):
    body = api(personas.district_specialist).get(f"children/{file_of_own.pk}").json()
    assert body["id_number"] == file_of_own.id_number
    assert body["id_number_full"] is True
    kinds = sorted(AccessLog.objects.filter(child_id=file_of_own.pk).values_list("kind", flat=True))
    assert kinds == ["api_view", "full_id"]


def test_reading_a_file_writes_an_access_record(api, personas, children):
    api(personas.director_a).get(f"children/{children.own.pk}")
    row = AccessLog.objects.get()
    assert (row.actor, row.child_id, row.division_code, row.kind) == (
        personas.director_a,
        children.own.pk,
        "120112001001",
        "api_view",
    )


@pytest.mark.parametrize("who", ["director_a", "director_b", "other_district_specialist", "charity"])
def test_out_of_scope_and_nonexistent_ids_get_the_same_404(api, personas, children, who):
    client = api(getattr(personas, who))
    outside = client.get(f"children/{children.other_street.pk}")
    missing = client.get("children/987654321")
    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content
    assert "王芳" not in outside.content.decode()
    assert not AccessLog.objects.exists()


def test_non_numeric_id_is_422_naming_it(api, personas):
    response = api(personas.director_a).get("children/abc")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "child_id"]


def test_when_the_access_record_cannot_be_written_no_data_is_sent(api, personas, children, break_access_log):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    break_access_log(DatabaseError("disk full"))
    response = api(personas.district_specialist).get(f"children/{children.own.pk}")
    assert response.status_code == 503
    text = response.content.decode()
    assert "张伟" not in text
    assert children.own.id_number not in text
    assert idnumber.mask(children.own.id_number) not in text
    assert set(response.json()) == {"detail"}


def test_any_failure_of_the_access_record_fails_closed(api, personas, children, break_access_log):
    break_access_log(ZeroDivisionError())
    response = api(personas.director_a).get(f"children/{children.own.pk}")
    assert response.status_code == 503
    assert "张伟" not in response.content.decode()


def test_when_the_full_id_record_cannot_be_written_the_list_sends_nothing(
    api, personas, children, break_access_log
):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    break_access_log(DatabaseError("disk full"))
    response = api(personas.district_specialist).get("children/")
    assert response.status_code == 503
    assert children.own.id_number not in response.content.decode()
