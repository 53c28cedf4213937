"""Authorization-matrix rows for the determination routes (joined into ROWS by tests/test_authorization_matrix.py).

The matrix world has no applications. A row about one application makes it in `prepare`, inside the call's
rolled-back savepoint, for the target child and with the target child's id as its own (an explicit primary
key), so the URL the matrix fills with the target's id names that application: a persona outside the
child's jurisdiction gets the same 404 as for an id that does not exist.

The moves themselves (check, review, approve...) are taken by one level only: a persona in jurisdiction
holding APPLICATION_DECIDE but at another level gets the page back with the refusal (302), so the action row
has no `effect`; carenet/benefits/tests/test_applications.py checks each level and role move by move.
"""

from __future__ import annotations

from django.utils import timezone

from carenet.accounts.permissions import Perm
from carenet.benefits import months
from carenet.benefits.models import Application, ApplicationEvidence, ApplicationStatus, ApplicationStep
from carenet.tests_matrix.checks import Kind, Row

REASON = "矩阵申请"


def _file(t, *, evidence: bool) -> Application:  # type: ignore[no-untyped-def]
    child = t.child
    application = Application.objects.create(
        pk=child.pk,
        child=child,
        kind="open",
        category="orphan_scattered",
        effective_month=months.first(timezone.localdate()),
        reason="矩阵",
        status=ApplicationStatus.FILED,
        division_code=child.division_code,
        filed_by=t.account,
    )
    step = ApplicationStep.objects.create(
        application=application, action="file", from_status="", to_status=application.status, actor=t.account
    )
    if evidence:
        ApplicationEvidence.objects.create(
            application=application, document=t.document, step=step, added_by=t.account
        )
    return application


def filed(t) -> None:  # type: ignore[no-untyped-def]
    _file(t, evidence=True)


def filed_without_evidence(t) -> None:  # type: ignore[no-untyped-def]
    _file(t, evidence=False)


def application_filed(t) -> bool:  # type: ignore[no-untyped-def]
    return Application.objects.filter(child=t.child, reason=REASON).exists()


def evidence_attached(t) -> bool:  # type: ignore[no-untyped-def]
    return ApplicationEvidence.objects.filter(application_id=t.child.pk, document=t.document).exists()


def new_application(t) -> dict:  # type: ignore[no-untyped-def]
    return {
        "kind": "open",
        "category": "orphan_scattered",
        "effective_month": months.label(timezone.localdate()),
        "reason": REASON,
        "documents": [t.document.pk],
    }


ROWS: list[Row] = [
    # The queue holds the caller's own step; "all" everything in jurisdiction. The world has no application,
    # so these are checked for the right (BENEFIT_VIEW) only; the services' tests check who sees which.
    Row("web:application_list", Kind.SIGNED_IN, perm=Perm.BENEFIT_VIEW),
    Row(
        "web:application_list", Kind.SIGNED_IN, perm=Perm.BENEFIT_VIEW, data={"list": "all", "status": "open"}
    ),
    Row("web:application_detail", Kind.CHILD_READ, perm=Perm.BENEFIT_VIEW, prepare=filed),
    Row("web:application_create", Kind.CHILD_READ, perm=Perm.APPLICATION_FILE),
    Row(
        "web:application_create",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.APPLICATION_FILE,
        data=new_application,
        effect=application_filed,
    ),
    Row(
        "web:application_action",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.APPLICATION_DECIDE,
        prepare=filed,
        data={"action": "check", "comment": "矩阵"},
    ),
    Row(
        "web:application_evidence",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.APPLICATION_DECIDE,
        prepare=filed_without_evidence,
        data=lambda t: {"document": t.document.pk},
        effect=evidence_attached,
    ),
]
