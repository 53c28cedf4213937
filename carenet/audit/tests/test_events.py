"""The change record: change_recorded (one row), changes_recorded (many) and change_statement (a statement run
with the write it records) write the same row from the same arguments, built in one place."""

from __future__ import annotations

import pytest

from carenet.audit import events
from carenet.audit.models import ChangeLog
from carenet.core import rawsql

FULL = "120112201403041234"
OTHER = "120112201403045678"
COLUMNS = ("actor_id", "entity", "child_id", "division_code", "action", "changes")


def _run(statement: rawsql.Statement, entity_id: int) -> None:
    """A change_statement on its own, its NEW_ID standing for `entity_id` (as insert_with binds it)."""
    params = [entity_id if p is rawsql.NEW_ID else p for p in statement.params]
    rawsql.execute(rawsql.Statement(statement.sql, params))


def _write_all_three(actor, child, changes) -> None:
    common = {"actor": actor, "entity": "child", "child_id": child.pk, "division_code": child.division_code}
    events.change_recorded(**common, entity_id=1, action="create", changes=changes)
    events.changes_recorded(
        actor=actor, entity="child", action="create", rows=[(2, child.pk, child.division_code, changes)]
    )
    _run(events.change_statement(**common, changes=changes), 3)


@pytest.fixture
def masked() -> dict[str, list[str]]:
    return events.diff({"id_number": FULL, "name": "张伟"}, {"id_number": OTHER, "name": "张伟"})


def test_the_three_writers_write_the_same_row(personas, children, masked):
    assert masked == {"id_number": ["120112********1234", "120112********5678"]}

    _write_all_three(personas.director_a, children.own, masked)

    rows = list(ChangeLog.objects.order_by("entity_id").values("entity_id", "at", *COLUMNS))
    assert [r["entity_id"] for r in rows] == [1, 2, 3]
    expected = (
        personas.director_a.pk,
        "child",
        children.own.pk,
        children.own.division_code,
        "create",
        masked,
    )
    assert [tuple(r[c] for c in COLUMNS) for r in rows] == [expected] * 3
    assert all(r["at"] is not None for r in rows)
    stored = str(list(ChangeLog.objects.values_list("changes", flat=True)))
    assert FULL not in stored and OTHER not in stored  # written as diff() masked them, never in clear


def test_an_unattributed_change_is_written_without_an_actor(children):
    events.change_recorded(
        actor=None,
        entity="child",
        entity_id=1,
        child_id=children.own.pk,
        division_code="",
        action="update",
        changes={},
    )
    events.changes_recorded(actor=None, entity="child", action="update", rows=[(2, None, "", {})])
    assert list(ChangeLog.objects.order_by("entity_id").values_list("actor_id", "child_id")) == [
        (None, children.own.pk),
        (None, None),
    ]


def test_every_writer_builds_its_row_with_the_one_row_builder(personas, children, monkeypatch, masked):
    built: list[str] = []
    real = events._change_log

    def spy(**kwargs):
        built.append(kwargs["action"])
        row = real(**kwargs)
        row.entity = "spied"
        return row

    monkeypatch.setattr(events, "_change_log", spy)

    _write_all_three(personas.director_a, children.own, masked)

    assert built == ["create"] * 3
    assert list(ChangeLog.objects.values_list("entity", flat=True)) == ["spied"] * 3
