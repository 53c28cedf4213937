"""Authorization-matrix rows for the visits routes (joined into ROWS by tests/test_authorization_matrix.py).

The API's visit list takes the child as a query parameter (?child=), which the matrix cannot aim at a
missing id, so it is checked here as a plain list (each persona sees exactly its children's visits) and
?child= of an outsider's child is tested in carenet/api/tests/test_visits_api.py."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from carenet.accounts.permissions import Perm
from carenet.tests_matrix.checks import Kind, Row
from carenet.visits.models import Visit

MATRIX_NOTE = "矩阵走访"


def new_visit(t: Any) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "child": t.child.pk,
        "visited_on": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
        "living": "good",
        "notes": MATRIX_NOTE,
    }


def visit_recorded(t: Any) -> bool:
    return Visit.objects.filter(child=t.child, notes=MATRIX_NOTE).exists()


ROWS: list[Row] = [
    Row(
        "api-v1:visit_create",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.VISIT_RECORD,
        data=new_visit,
        effect=visit_recorded,
        denied=frozenset({422}),  # a child outside one's jurisdiction is a 422 on `child`, like a missing one
    ),
    Row("api-v1:visit_list", Kind.CHILD_LIST, perm=Perm.CHILD_VIEW),
    Row("api-v1:visit_get", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, obj="visit"),
    Row("api-v1:visit_photo", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, obj="visit_photo", shows="visit_photo"),
    Row("api-v1:visit_due", Kind.SIGNED_IN, perm=Perm.CHILD_VIEW),
    Row("api-v1:visit_rollup", Kind.SIGNED_IN, perm=Perm.CHILD_VIEW),
]
