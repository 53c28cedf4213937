"""Reads of screening data for a user, each through jurisdiction.scope(): a finding's department-list records
are read through it too, never through the finding's foreign keys (a city list's record holds a full ID
number; jurisdiction.py decides who sees it: the list's division, and whoever sees a finding made from it)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import User
from carenet.screening.models import Finding, ListRecord


def _records(user: User) -> QuerySet[ListRecord]:
    return scope(user, ListRecord.objects.select_related("dept_list"))


def finding_record(*, user: User, finding: Finding) -> ListRecord | None:
    """The list record `finding` was made from, with its list; None when it has none. Outside the user's
    jurisdiction: ListRecord.DoesNotExist."""
    if finding.record_id is None:
        return None
    return _records(user).get(pk=finding.record_id)


def finding_records(*, user: User, findings: Iterable[Finding]) -> dict[int, ListRecord]:
    """The list records of `findings` (each one's record and other record) the user may see, with their lists,
    by id: one query for a page of findings."""
    ids = {pk for f in findings for pk in (f.record_id, f.other_record_id) if pk is not None}
    if not ids:
        return {}
    return {record.pk: record for record in _records(user).filter(pk__in=ids)}
