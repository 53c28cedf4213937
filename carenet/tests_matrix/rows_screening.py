"""Authorization-matrix rows for the screening pages (joined into ROWS by tests/test_authorization_matrix.py).

The matrix world has no screening objects. A row about a finding, a department list or a run makes one in
`prepare`, inside the call's rolled-back savepoint, filed under the target child's village and with the target
child's id as its own primary key, so the URL the matrix fills with the target's id names it: a persona outside
the child's jurisdiction gets the same 404 as for an id that does not exist. The list holds a row with the
child's name and the run's error text is the child's name, so the pages' own data proves what came back.
"""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from carenet.accounts.permissions import Perm
from carenet.core import crypto
from carenet.screening import imports
from carenet.screening.models import DeptList, Finding, FindingState, ListRecord, RunState, ScreeningRun
from carenet.tests_matrix.checks import Kind, Row


def _csv(name: str) -> bytes:
    return f"姓名,性别,出生日期,学籍状态\n{name},男,2014-03-04,辍学\n".encode()


def listed(t) -> DeptList:  # type: ignore[no-untyped-def]
    child = t.child
    content = _csv(child.name)
    dept_list = DeptList.objects.create(
        pk=child.pk,
        kind="school",
        list_date=timezone.localdate(),
        division_code=child.division_code,
        original_name="school.csv",
        stored_file=imports._store(content),
        sha256=f"{child.pk:064d}",
        size=len(content),
        row_count=1,
    )
    ListRecord.objects.create(
        pk=child.pk,
        dept_list=dept_list,
        row=2,
        name=child.name,
        sex="M",
        birth_date=child.birth_date,
        id_number_enc=crypto.encrypt("", purpose="id_number"),
        status="dropout",
    )
    return dept_list


def found(t) -> None:  # type: ignore[no-untyped-def]
    dept_list = listed(t)
    Finding.objects.create(
        pk=t.child.pk,
        rule="school_dropout",
        key=f"matrix:{t.child.pk}",
        evidence_hash="0" * 64,
        division_code=t.child.division_code,
        child=t.child,
        record=dept_list.records.get(),
        proposal="raise_problem",
        probability=1.0,
        reason="姓名一致；出生日期一致",
    )


def ran(t) -> None:  # type: ignore[no-untyped-def]
    ScreeningRun.objects.create(
        pk=t.child.pk, division_code=t.child.division_code, state=RunState.FAILED, error=t.child.name
    )


def dismissed(t) -> bool:  # type: ignore[no-untyped-def]
    return Finding.objects.filter(pk=t.child.pk, state=FindingState.DISMISSED).exists()


def new_list(t) -> dict:  # type: ignore[no-untyped-def]
    return {
        "kind": "school",
        "list_date": timezone.localdate().isoformat(),
        "department": "矩阵",
        "file": SimpleUploadedFile("school.csv", _csv("矩阵儿童"), content_type="text/csv"),
    }


ROWS: list[Row] = [
    Row("web:screening_home", Kind.SIGNED_IN, perm=Perm.SCREENING_VIEW),
    Row("web:screening_finding_list", Kind.SIGNED_IN, perm=Perm.SCREENING_VIEW),
    Row(
        "web:screening_finding_list",
        Kind.SIGNED_IN,
        perm=Perm.SCREENING_VIEW,
        data={"state": "", "rule": "aged_out"},
    ),
    Row("web:screening_finding_detail", Kind.CHILD_READ, perm=Perm.SCREENING_VIEW, prepare=found),
    Row(
        "web:screening_finding_decide",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.SCREENING_REVIEW,
        prepare=found,
        data={"decision": "dismiss", "note": "矩阵：同名不同人"},
        effect=dismissed,
    ),
    Row("web:screening_list_import", Kind.SIGNED_IN, perm=Perm.SCREENING_IMPORT),
    Row("web:screening_list_import", Kind.SIGNED_IN, "POST", perm=Perm.SCREENING_IMPORT, data=new_list),
    Row("web:screening_list_detail", Kind.CHILD_READ, perm=Perm.SCREENING_IMPORT, prepare=listed),
    Row("web:screening_list_original", Kind.CHILD_READ, perm=Perm.SCREENING_IMPORT, prepare=listed),
    Row("web:screening_run_start", Kind.SIGNED_IN, "POST", perm=Perm.SCREENING_IMPORT, data={}),
    Row("web:screening_run_detail", Kind.CHILD_READ, perm=Perm.SCREENING_IMPORT, prepare=ran),
]
