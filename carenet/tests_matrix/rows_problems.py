"""Authorization-matrix rows for the problems routes (joined into ROWS by tests/test_authorization_matrix.py)."""

from __future__ import annotations

from carenet.accounts.permissions import Perm
from carenet.problems.models import Problem, ProblemAction
from carenet.tests_matrix.checks import Kind, Row

NOTE = "矩阵备注"
NEW_PROBLEM = "矩阵新问题"


def noted(t) -> bool:  # type: ignore[no-untyped-def]
    return ProblemAction.objects.filter(problem=t.problem, kind="note", text=NOTE).exists()


def raised(t) -> bool:  # type: ignore[no-untyped-def]
    return Problem.objects.filter(child=t.child, description=NEW_PROBLEM).exists()


NEW_PROBLEM_FORM = {
    "category": "health",
    "severity": "general",
    "description": NEW_PROBLEM,
    "owner_kind": "street",
    "owner_department": "",
}

ROWS: list[Row] = [
    # web
    Row("web:problem_list", Kind.SIGNED_IN, perm=Perm.CHILD_VIEW),  # the caller's supervision list
    Row("web:problem_list", Kind.CHILD_LIST, perm=Perm.CHILD_VIEW, data={"list": "all"}),
    Row("web:problem_detail", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, obj="problem"),
    Row(
        "web:problem_action",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.PROBLEM_HANDLE,
        obj="problem",
        data={"action": "note", "text": NOTE},
        effect=noted,
    ),
    # Raising a problem needs VISIT_RECORD or PROBLEM_HANDLE; every role holding the second holds the first.
    Row("web:problem_create", Kind.CHILD_READ, perm=Perm.VISIT_RECORD),
    Row(
        "web:problem_create",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.VISIT_RECORD,
        data=NEW_PROBLEM_FORM,
        effect=raised,
    ),
    Row("web:notification_list", Kind.SIGNED_IN),
    Row("web:notification_read", Kind.SIGNED_IN, "POST"),
    # API
    Row("api-v1:problem_list", Kind.CHILD_LIST, perm=Perm.CHILD_VIEW),
    Row("api-v1:problem_list", Kind.SIGNED_IN, perm=Perm.CHILD_VIEW, data={"list": "supervision"}),
    Row("api-v1:problem_summary", Kind.SIGNED_IN, perm=Perm.CHILD_VIEW),
    Row("api-v1:problem_get", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, obj="problem"),
    Row(
        "api-v1:problem_act",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.PROBLEM_HANDLE,
        obj="problem",
        data={"action": "note", "text": NOTE},
        effect=noted,
    ),
]
