import datetime as dt

import pytest
from django.db import connection

from carenet.audit.models import ChangeLog
from carenet.core import idnumber
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry import services
from carenet.registry.models import Child, FamilyMember, Household

BIRTH = dt.date(2016, 5, 20)
ID_M = idnumber.make("120112", BIRTH, 31)  # odd sequence: male


def register(actor, division, **kw):
    base = {"name": "赵小明", "sex": "M", "birth_date": BIRTH, "id_number": ID_M}
    base.update(kw)
    return services.child_register(actor=actor, division=division, **base)


def test_director_registers_a_child_in_own_village(city, personas):
    child = register(personas.director_a, city.village_a)
    assert child.division_code == "120112001001"
    assert child.name_pinyin == "zhaoxiaoming"
    assert child.id_number == ID_M
    assert child.household.division_id == city.village_a.id


def test_birth_date_and_sex_are_taken_from_the_id_when_left_empty(city, personas):
    child = register(personas.director_a, city.village_a, sex="", birth_date=None)
    assert (child.birth_date, child.sex) == (BIRTH, "M")


def test_15_digit_id_is_stored_as_18(city, personas):
    child = register(
        personas.director_a,
        city.village_a,
        id_number="120112160520031",
        birth_date=dt.date(1916, 5, 20),
        sex="M",
    )
    assert len(child.id_number) == 18 and child.id_number.startswith("12011219160520031")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": dt.date(2016, 5, 21)}, "birth_date"),
        ({"sex": "F"}, "sex"),
        ({"id_number": ID_M[:-1] + ("0" if ID_M[-1] != "0" else "1")}, "id_number"),
        ({"id_number": "12011220161340031X"}, "id_number"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_identity_is_refused_naming_the_field_and_nothing_is_written(city, personas, change, field):
    before = (Child.objects.count(), Household.objects.count(), ChangeLog.objects.count())
    with pytest.raises(CarenetError) as err:
        register(personas.director_a, city.village_a, **change)
    assert err.value.field == field
    assert (Child.objects.count(), Household.objects.count(), ChangeLog.objects.count()) == before


def test_duplicate_id_gets_a_clear_message_not_an_exception(city, personas):
    first = register(personas.director_a, city.village_a)
    with pytest.raises(CarenetError) as err:
        register(personas.director_a, city.village_a, name="赵晓明")
    assert err.value.field == "id_number"
    assert str(first.pk) in err.value.message


def test_duplicate_in_another_area_does_not_reveal_the_other_child(city, personas):
    register(personas.other_district_specialist, city.village_d)
    with pytest.raises(CarenetError) as err:
        register(personas.director_a, city.village_a)
    assert "赵小明" not in err.value.message


def test_director_cannot_register_in_sibling_village(city, personas):
    with pytest.raises(CarenetError) as err:
        register(personas.director_a, city.village_b)
    assert err.value.field == "division"
    assert not Child.objects.exists()


def test_children_are_filed_under_villages_only(city, personas):
    with pytest.raises(CarenetError) as err:
        register(personas.district_specialist, city.street)
    assert err.value.field == "division"


def test_read_only_roles_cannot_register(city, personas):
    for actor in (personas.auditor, personas.charity, personas.social_worker):
        with pytest.raises(PermissionDeniedError):
            register(actor, city.village_a)


def test_guardian_failure_rolls_back_the_child(city, personas):
    with pytest.raises(CarenetError) as err:
        register(
            personas.director_a,
            city.village_a,
            guardian={"name": "赵大", "relationship": "father", "id_number": "123"},
        )
    assert err.value.field == "guardian.id_number"
    assert not Child.objects.exists() and not FamilyMember.objects.exists()


def test_update_records_old_and_new_values_with_the_id_masked(city, personas):
    child = register(personas.director_a, city.village_a)
    services.child_update(actor=personas.director_a, child=child, school="双港小学", grade="三年级")
    log = ChangeLog.objects.filter(child_id=child.pk, action="update").get()
    assert log.changes["school"] == ["", "双港小学"]
    assert log.actor == personas.director_a
    created = ChangeLog.objects.get(child_id=child.pk, entity="child", action="create")
    assert created.changes["id_number"][1] == idnumber.mask(ID_M)
    assert ID_M not in str(created.changes)


def test_archive_and_restore_are_recorded_and_archived_records_are_read_only(city, personas):
    child = register(personas.director_a, city.village_a)
    services.child_archive(actor=personas.director_a, child=child, reason="moved_away")
    with pytest.raises(CarenetError):
        services.child_update(actor=personas.director_a, child=child, school="x")
    services.child_restore(actor=personas.director_a, child=child)
    actions = list(ChangeLog.objects.filter(child_id=child.pk).values_list("action", flat=True))
    assert {"archive", "restore"} <= set(actions)


def test_id_numbers_are_not_in_the_database_in_clear(city, personas):
    register(
        personas.director_a,
        city.village_a,
        guardian={
            "name": "赵大",
            "relationship": "father",
            "id_number": idnumber.make("120112", dt.date(1985, 1, 2), 11),
        },
    )
    tables = connection.introspection.table_names()
    with connection.cursor() as cur:
        for table in tables:
            cols = [c.name for c in connection.introspection.get_table_description(cur, table)]
            for col in cols:
                cur.execute(f'SELECT CAST("{col}" AS TEXT) FROM "{table}"')  # noqa: S608 - names from introspection
                for (value,) in cur.fetchall():
                    assert value is None or ID_M not in value, f"{table}.{col} holds an ID number in clear"
                    assert value is None or "120112198501020" not in value, (
                        f"{table}.{col} holds a member ID in clear"
                    )


def test_member_status_dates_must_be_ordered(city, personas, children):
    with pytest.raises(CarenetError) as err:
        services.member_add(
            actor=personas.director_a,
            child=children.own,
            name="张父",
            relationship="father",
            status="imprisoned",
            status_since=dt.date(2024, 1, 1),
            status_until=dt.date(2023, 1, 1),
        )
    assert err.value.field == "status_until"
