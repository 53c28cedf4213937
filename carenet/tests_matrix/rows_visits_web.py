"""Authorization-matrix rows for the visits web pages (joined into ROWS by tests/test_authorization_matrix.py).

The matrix world gives each target child an open left-behind category, one pending visit three days ago (with
one photo) and an open problem on it, so every child is scheduled but neither overdue nor due soon: the lists
are called with the tab or filter that shows them (work list "all", review queue "pending")."""

from __future__ import annotations

from carenet.accounts.permissions import Perm
from carenet.tests_matrix.checks import Kind, Row
from carenet.visits.models import ReviewState, Visit


def _state(t) -> str:  # type: ignore[no-untyped-def]
    return Visit.objects.get(pk=t.visit.pk).review_state


def _returned_first(t) -> None:  # type: ignore[no-untyped-def]
    Visit.objects.filter(pk=t.visit.pk).update(review_state=ReviewState.RETURNED, review_comment="矩阵")


ROWS: list[Row] = [
    Row("web:visit_worklist", Kind.CHILD_LIST, perm=Perm.CHILD_VIEW, data={"tab": "all"}),
    Row("web:visit_worklist", Kind.SIGNED_IN, perm=Perm.CHILD_VIEW, data={"tab": "overdue"}),
    Row("web:visit_detail", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, obj="visit"),
    Row("web:visit_photo", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, obj="visit_photo", shows="visit_photo"),
    Row("web:visit_review", Kind.CHILD_LIST, perm=Perm.VISIT_REVIEW),
    Row("web:visit_review", Kind.CHILD_LIST, perm=Perm.VISIT_REVIEW, data={"state": "all"}),
    Row(
        "web:visit_review_action",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.VISIT_REVIEW,
        obj="visit",
        data={"action": "check"},
        effect=lambda t: _state(t) == ReviewState.CHECKED,
    ),
    Row(
        "web:visit_review_action",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.VISIT_REVIEW,
        obj="visit",
        data={"action": "return", "comment": "照片不清楚"},
        effect=lambda t: _state(t) == ReviewState.RETURNED,
    ),
    Row(
        "web:visit_correct",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.VISIT_RECORD,
        obj="visit",
        prepare=_returned_first,
        data={"note": "已补充照片"},
        effect=lambda t: _state(t) == ReviewState.PENDING,
    ),
    Row("web:visit_sample", Kind.SIGNED_IN, "POST", perm=Perm.VISIT_REVIEW, data={"n": "2"}),
    Row("web:visit_stats", Kind.SIGNED_IN, perm=Perm.VISIT_REVIEW),
    Row("web:visit_rules", Kind.SIGNED_IN, perm=Perm.CHILD_VIEW),
    Row(
        "web:visit_rules",
        Kind.SIGNED_IN,
        "POST",
        perm=Perm.VISIT_RULES,
        data={"category": "migrant", "interval_days": "30", "note": "矩阵"},
    ),
]
