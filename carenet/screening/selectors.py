"""Reads of screening data for a user, each through jurisdiction.scope(): what a finding refers to (its
department-list records, its children, the family member) is read through it too, never through the finding's
foreign keys. A city list's record holds a full ID number (jurisdiction.py decides who sees it: the list's
division, and whoever sees a finding made from it); a duplicate pair found by a city run can join a child of
this district with one of another, and a child may have moved away since the run."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import User
from carenet.registry.models import Child, FamilyMember
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


def finding_children(*, user: User, findings: Iterable[Finding]) -> dict[int, Child]:
    """The children of `findings` (each one's child and the other child of a pair) the user may see, with their
    divisions, by id: one query for a page of findings."""
    ids = {pk for f in findings for pk in (f.child_id, f.other_child_id) if pk is not None}
    if not ids:
        return {}
    return {c.pk: c for c in scope(user, Child.objects.select_related("division").filter(pk__in=ids))}


def finding_member(*, user: User, finding: Finding) -> FamilyMember | None:
    """The family member `finding` concerns (a parent whose status changed); None when it has none. Outside
    the user's jurisdiction: FamilyMember.DoesNotExist."""
    if finding.member_id is None:
        return None
    return scope(user, FamilyMember.objects.all()).get(pk=finding.member_id)
