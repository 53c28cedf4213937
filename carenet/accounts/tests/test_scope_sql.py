"""scope_sql() is scope() for hand-written SQL: for every persona and every model it can express, it selects
exactly the rows scope() selects, and it refuses the models it cannot express rather than guess."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from carenet.accounts.jurisdiction import scope, scope_sql
from carenet.accounts.models import Division, Role, User
from carenet.core import rawsql
from carenet.registry.models import Child, FamilyMember
from carenet.screening.models import ListRecord
from carenet.tests_support.factories import ChildFactory, DivisionFactory, UserFactory
from carenet.visits.models import Visit, VisitSchedule

MODELS = (Child, Visit, VisitSchedule)


def _ids_sql(user: User, model) -> set[int]:
    where, params = scope_sql(user, model, "x")
    pk = rawsql.quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT x.{pk} FROM {rawsql.quote(model._meta.db_table)} x WHERE {where}", params)
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def spread(city, personas, children):
    """Children at every level, each with a schedule row and a visit, and a street whose code shares a
    prefix with another (a LIKE without the right length would leak)."""
    lookalike_street = DivisionFactory(code="120112011", name="相似镇", parent=city.district)
    lookalike = DivisionFactory(code="120112011001", name="相似村", parent=lookalike_street)
    kids = [
        children.own,
        children.sibling_village,
        children.other_street,
        children.other_district,
        ChildFactory(name="周杰", division=lookalike),
    ]
    for number, child in enumerate(kids):
        VisitSchedule.objects.create(
            child=child,
            division_code=child.division_code,
            interval_days=30,
            category="left_behind",
            next_due_on=dt.date(2026, 1, 1),
        )
        Visit.objects.create(
            client_id=f"00000000-0000-4000-8000-{number:012d}",
            child=child,
            division_code=child.division_code,
            visited_on=dt.date(2025, 12, 1),
            recorded_by=personas.director_a,
            body_hash="0" * 64,
        )
    return kids


def test_scope_sql_selects_what_scope_selects_for_every_persona(personas, spread):
    nobody = UserFactory(username="p-inactive", role=Role.VILLAGE_DIRECTOR, division=spread[0].division)
    nobody.is_active = False
    everyone = [*vars(personas).values(), nobody]
    for user in everyone:
        for model in MODELS:
            expected = set(scope(user, model.objects.all()).values_list("pk", flat=True))
            assert _ids_sql(user, model) == expected, (user.username, model.__name__)
    # The check is not vacuous: the personas see different, non-empty sets.
    assert _ids_sql(personas.director_a, Child) == {spread[0].pk}
    assert _ids_sql(personas.social_worker, Child) == {spread[0].pk}
    assert len(_ids_sql(personas.district_specialist, Child)) == 4
    assert len(_ids_sql(personas.city_admin, Visit)) == 5
    assert _ids_sql(personas.charity, Child) == set()


def test_scope_sql_shuts_out_anonymous_and_refuses_rules_it_cannot_express(personas):
    assert scope_sql(AnonymousUser(), Child, "c") == ("1 = 0", [])
    with pytest.raises(ValueError):
        scope_sql(personas.director_a, FamilyMember, "f")  # filed through its child: needs a join
    with pytest.raises(ValueError):
        scope_sql(personas.director_a, Division, "d")
    with pytest.raises(ValueError):
        scope_sql(personas.district_specialist, ListRecord, "r")  # its list's division, or a finding's
