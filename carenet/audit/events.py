"""One function per event, each writing append-only rows: one (`*_recorded`), many at once (`changes_recorded`,
`accesses_recorded`), or a statement to run with the write it records (`*_statement`, rawsql.insert_with).
Single rows go in by hand-written SQL (core.rawsql): every write in the system makes one, and the ORM's INSERT
costs several times the row itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile

from carenet.accounts.models import User
from carenet.audit.models import AccessLog, ChangeLog
from carenet.core import idnumber, rawsql

SENSITIVE = {"id_number"}
SKIP = {
    "updated_at",
    "created_at",
    "name_pinyin",
    "name_initials",
    "id_number_enc",
    "id_number_hash",
    "division_code",
}


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def snapshot(instance: models.Model, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in SKIP or field.primary_key:
            continue
        data[field.name] = _plain(getattr(instance, field.attname if field.is_relation else field.name))
    data.update(extra or {})
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            if key in SENSITIVE:
                old, new = idnumber.mask(old or ""), idnumber.mask(new or "")
            changes[key] = [old, new]
    return changes


def _change_log(
    *,
    actor: User | None,
    entity: str,
    entity_id: int | object,
    child_id: int | None,
    division_code: str,
    action: str,
    changes: dict[str, list[Any]],
) -> ChangeLog:
    """One unsaved ChangeLog row, for all three writers: one insert (change_recorded), many at once
    (changes_recorded), a statement run with the write it records (change_statement, whose entity id is
    rawsql.NEW_ID). The actor goes by id; `at` is set on insert (auto_now_add). `changes` is written as
    given: sensitive values come masked from diff()."""
    return ChangeLog(
        actor_id=actor.pk if actor is not None else None,
        entity=entity,
        entity_id=entity_id,
        child_id=child_id,
        division_code=division_code,
        action=action,
        changes=changes,
    )


def change_recorded(
    *,
    actor: User | None,
    entity: str,
    entity_id: int,
    child_id: int | None,
    division_code: str,
    action: str,
    changes: dict[str, list[Any]],
) -> ChangeLog:
    return rawsql.insert_instance(
        _change_log(
            actor=actor,
            entity=entity,
            entity_id=entity_id,
            child_id=child_id,
            division_code=division_code,
            action=action,
            changes=changes,
        )
    )


def change_statement(
    *, actor: User, entity: str, child_id: int, division_code: str, changes: dict[str, list[Any]]
) -> rawsql.Statement:
    """The "create" record of a row being inserted by rawsql.insert_with, as a statement to run with it
    (its entity id is the new row's)."""
    row = _change_log(
        actor=actor,
        entity=entity,
        entity_id=rawsql.NEW_ID,
        child_id=child_id,
        division_code=division_code,
        action=ChangeLog.Action.CREATE.value,
        changes=changes,
    )
    return rawsql.insert_statement(ChangeLog, rawsql.values_of(row))


def changes_recorded(
    *,
    actor: User | None,
    entity: str,
    action: str,
    rows: Iterable[tuple[int, int | None, str, dict[str, Any]]],
) -> int:
    """The bulk form of change_recorded, one INSERT for many records of one kind (a sample drawn, a run of
    escalations): each row is (entity_id, child_id, division_code, changes)."""
    logs = [
        _change_log(
            actor=actor,
            entity=entity,
            entity_id=entity_id,
            child_id=child_id,
            division_code=division_code,
            action=action,
            changes=changes,
        )
        for entity_id, child_id, division_code, changes in rows
    ]
    return len(ChangeLog.objects.bulk_create(logs))


def access_recorded(
    *, actor: User, child_id: int, division_code: str, kind: str, detail: str = ""
) -> AccessLog:
    return rawsql.insert_instance(
        AccessLog(actor=actor, child_id=child_id, division_code=division_code, kind=kind, detail=detail)
    )


def access_statement(
    *, actor: User, child_id: int, division_code: str, kind: str, detail: str = ""
) -> rawsql.Statement:
    """access_recorded as a statement to run with the write whose answer shows the child's data
    (rawsql.insert_with): the data is never sent without its access record, nor the write kept without it."""
    row = AccessLog(actor=actor, child_id=child_id, division_code=division_code, kind=kind, detail=detail)
    return rawsql.insert_statement(AccessLog, rawsql.values_of(row))


def accesses_recorded(
    *, actor: User, children: Iterable[tuple[int, str]], kind: str, detail: str = ""
) -> int:
    """One access row per child. Many at once (a district's bank file names 100,000) go by COPY on PostgreSQL."""
    rows = [(actor.pk, cid, code, kind, detail) for cid, code in children]
    # One child read (a replay answered to a phone, one file opened): the cheap single insert.
    if len(rows) == 1:
        access_recorded(actor=actor, child_id=rows[0][1], division_code=rows[0][2], kind=kind, detail=detail)
        return 1
    if len(rows) < BULK_ACCESS_ROWS:
        AccessLog.objects.bulk_create(
            [AccessLog(actor_id=a, child_id=c, division_code=d, kind=k, detail=t) for a, c, d, k, t in rows],
            batch_size=2000,
        )
        return len(rows)
    from carenet.core.bulk import TableLoader

    loader = TableLoader(
        AccessLog, ["actor_id", "child_id", "division_code", "kind", "detail"], batch_size=50_000
    )
    loader.extend(rows)
    loader.flush()
    return loader.written


BULK_ACCESS_ROWS = 5000
