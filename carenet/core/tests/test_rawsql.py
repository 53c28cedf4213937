"""core.rawsql writes and reads exactly what the ORM would, on SQLite and PostgreSQL alike, and
insert_with() is all or nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from carenet.audit.models import ChangeLog
from carenet.core import rawsql
from carenet.visits.models import Visit, VisitSchedule

# Not in the model's field order, on purpose: values() keeps this order, load() sorts it out.
FIELDS = ("received_at", "client_id", "visited_on", "met_child", "guardian_present", "latitude", "child")


def _visit_values(child, user, **over):
    visit = Visit(
        client_id=uuid.uuid4(),
        child=child,
        division_code=child.division_code,
        visited_on=dt.date(2026, 11, 2),
        recorded_by=user,
        received_at=timezone.now(),
        body_hash="a" * 64,
        guardian_present=None,
        latitude=Decimal("39.123456"),
        longitude=Decimal("117.654321"),
        notes="家访",
    )
    for name, value in over.items():
        setattr(visit, name, value)
    return rawsql.values_of(visit)


def test_a_row_inserted_by_hand_reads_back_through_the_orm_as_given(children, personas):
    values = _visit_values(children.own, personas.director_a)
    pk = rawsql.insert(Visit, values)
    stored = Visit.objects.get(pk=pk)
    assert stored.client_id == values["client_id"]
    assert stored.visited_on == values["visited_on"]
    assert stored.latitude == values["latitude"] and stored.longitude == values["longitude"]
    assert stored.guardian_present is None and stored.met_child is True
    assert stored.received_at == values["received_at"]
    assert stored.notes == "家访"


def test_columns_read_a_row_as_the_orm_does(children, personas):
    pk = rawsql.insert(Visit, _visit_values(children.own, personas.director_a, guardian_present=False))
    columns = rawsql.Columns(Visit, FIELDS, "v")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns.sql} FROM {rawsql.quote(Visit._meta.db_table)} v WHERE v.id = %s", [pk]
        )
        loaded = columns.load(cursor.fetchone())
    orm = Visit.objects.get(pk=pk)
    for name in FIELDS:
        attname = Visit._meta.get_field(name).attname
        assert getattr(loaded, attname) == getattr(orm, attname), name
        assert type(getattr(loaded, attname)) is type(getattr(orm, attname)), name
    assert loaded.guardian_present is False  # not 0, on SQLite too
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns.sql} FROM {rawsql.quote(Visit._meta.db_table)} v WHERE v.id = %s", [pk]
        )
        values = columns.values(cursor.fetchone())
    assert values[0] == orm.received_at and values[1] == orm.client_id and values[-1] == orm.child_id


def _scheduled(child) -> VisitSchedule:  # type: ignore[no-untyped-def]
    return VisitSchedule.objects.create(
        child=child,
        division_code=child.division_code,
        interval_days=30,
        category="x",
        next_due_on=dt.date.today(),
    )


def _schedule_insert(child, **over) -> rawsql.Statement:  # type: ignore[no-untyped-def]
    values = {
        "child": child.pk,
        "division_code": child.division_code,
        "interval_days": 30,
        "category": "left_behind",
        "next_due_on": dt.date(2026, 12, 2),
        "updated_at": timezone.now(),
        **over,
    }
    return rawsql.insert_statement(VisitSchedule, values)


def test_insert_with_writes_the_row_and_what_refers_to_it(children, personas):
    child = children.own
    note = rawsql.insert_statement(
        ChangeLog,
        {
            "at": timezone.now(),
            "actor": personas.director_a.pk,
            "entity": "visit",
            "entity_id": rawsql.NEW_ID,
            "child_id": child.pk,
            "division_code": child.division_code,
            "action": "create",
            "changes": {"visited_on": [None, "2026-11-02"]},
        },
    )
    due = _schedule_insert(child, last_visit_on=dt.date(2026, 11, 2))
    pk = rawsql.insert_with(Visit, _visit_values(child, personas.director_a), [note, due])
    log = ChangeLog.objects.get(entity="visit", entity_id=pk)
    assert log.changes == {"visited_on": [None, "2026-11-02"]} and log.child_id == child.pk
    assert VisitSchedule.objects.get(child=child).next_due_on == dt.date(2026, 12, 2)


def test_insert_with_is_all_or_nothing(children, personas):
    child = children.own
    _scheduled(child)
    duplicate = _schedule_insert(child)  # the child already has a schedule row: the primary key refuses
    with pytest.raises(IntegrityError), transaction.atomic():
        rawsql.insert_with(Visit, _visit_values(child, personas.director_a), [duplicate])
    assert not Visit.objects.exists()


def test_update_and_delete_statements(children):
    child = children.own
    _scheduled(child)
    changed = rawsql.execute(rawsql.update_statement(VisitSchedule, child.pk, {"interval_days": 90}))
    assert changed == 1 and VisitSchedule.objects.get(child=child).interval_days == 90
    assert rawsql.execute(rawsql.delete_statement(VisitSchedule, child.pk)) == 1
    assert not VisitSchedule.objects.exists()


@pytest.mark.parametrize("prepared", [True, False])
def test_statements_run_with_and_without_preparing(children, personas, settings, prepared):
    settings.DB_PREPARED_STATEMENTS = prepared
    marker = uuid.uuid4().hex  # this run's own statement text, whatever earlier tests left on the connection
    for _ in range(3):  # the same text again: prepared once on PostgreSQL, then reused
        pk = rawsql.insert(Visit, _visit_values(children.own, personas.director_a))
        with rawsql.cursor() as cursor:
            cursor.execute(
                f"SELECT client_id FROM {rawsql.quote(Visit._meta.db_table)} WHERE id = %s /* {marker} */",
                [pk],
            )
            assert cursor.fetchone() is not None
    assert Visit.objects.count() == 3
    if connection.vendor == "postgresql":  # the server holds it: psycopg did not quietly skip preparing
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{marker}%"]
            )
            assert cursor.fetchone()[0] == (1 if prepared else 0)
