"""Authorization-matrix rows for the benefits pages (joined into ROWS by tests/test_authorization_matrix.py).

The matrix world has no benefits objects. A row about a payroll batch makes one in `prepare`, inside the call's
rolled-back savepoint: in the target child's district, with one payment line for the target child, and with the
target child's id as its own primary key, so the URL the matrix fills with the target's id names that batch.

A batch is a district's (scope() shows it to its district and the city only), which the matrix's per-child oracle
cannot say for the readers: a street or village persona sees the target child but never the child's batch. The
batch page therefore sends anyone below the district to the batch list before looking anything up, whatever the
id (302, saying nothing about which batches exist); for them 302 counts as refused. District personas outside the
child's district get the 404 of a missing id, and the city and the district see the batch and the child's name.

The moves of a batch need a right only district and city roles hold (prepare, approve, export), so there the
oracle matches exactly: the district's own persona in jurisdiction gets the page back (302), one of another
district a 404, every other role a 403. The city administrator holds every right but does not run a district's
payroll: the services refuse it and the page says so (302), so these rows have no `effect`; the services' tests
and carenet/web/tests/test_benefit_pages.py check that each move lands for the right person.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from carenet.accounts.permissions import Perm
from carenet.benefits import months
from carenet.benefits.models import (
    BankAccount,
    BatchStatus,
    Enrolment,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    Suspension,
)
from carenet.tests_matrix.checks import Kind, Row

ACCOUNT = "6230200012345678"


def _this_month() -> dt.date:
    return months.first(timezone.localdate())


def _batch(t, status: str, line_status: str) -> PayrollBatch:  # type: ignore[no-untyped-def]
    child = t.child
    batch = PayrollBatch.objects.create(
        pk=child.pk,
        district_code=child.division_code[:6],
        programme="basic_living",
        period=_this_month(),
        status=status,
        beneficiaries=1,
        line_count=1,
        total=Decimal("2100.00"),
        generated_by=t.account,
        reviewed_by=t.account if status != BatchStatus.DRAFT else None,
    )
    PaymentLine.objects.create(
        batch=batch,
        child=child,
        programme="basic_living",
        category="orphan_scattered",
        month=batch.period,
        amount=Decimal("2100.00"),
        status=line_status,
        district_code=batch.district_code,
        division_code=child.division_code,
    )
    account = BankAccount(child=child, holder_name=child.name, bank_name="天津农商银行")
    account.set_number(ACCOUNT)
    account.save()
    return batch


def draft(t) -> None:  # type: ignore[no-untyped-def]
    _batch(t, BatchStatus.DRAFT, LineStatus.DRAFT)


def reviewed(t) -> None:  # type: ignore[no-untyped-def]
    _batch(t, BatchStatus.REVIEWED, LineStatus.DRAFT)


def approved(t) -> None:  # type: ignore[no-untyped-def]
    _batch(t, BatchStatus.APPROVED, LineStatus.APPROVED)


def exported(t) -> None:  # type: ignore[no-untyped-def]
    _batch(t, BatchStatus.EXPORTED, LineStatus.EXPORTED)


def return_file(t) -> dict:  # type: ignore[no-untyped-def]
    """A return file naming a payment no batch has: refused row by row, nothing recorded."""
    wb = Workbook()
    wb.active.append(["业务号", "金额", "结果"])
    wb.active.append([987654321, "2100.00", "成功"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return {"file": SimpleUploadedFile("return.xlsx", buffer.getvalue())}


def enrolled(t) -> None:  # type: ignore[no-untyped-def]
    Enrolment.objects.create(
        child=t.child,
        programme="basic_living",
        category="orphan_scattered",
        division_code=t.child.division_code,
        start_month=months.add(_this_month(), -2),
    )


def suspended(t) -> None:  # type: ignore[no-untyped-def]
    enrolled(t)
    Suspension.objects.create(
        enrolment=Enrolment.objects.get(child=t.child),
        from_month=_this_month(),
        reason="矩阵",
        decided_by=t.account,
    )


def _enrolment_of(t) -> int | str:  # type: ignore[no-untyped-def]
    found = Enrolment.objects.filter(child=t.child).first()  # none for the call aimed at a missing id
    return found.pk if found else ""


def suspend_form(t) -> dict:  # type: ignore[no-untyped-def]
    return {"enrolment": _enrolment_of(t), "from_month": months.label(_this_month()), "reason": "矩阵"}


def resume_form(t) -> dict:  # type: ignore[no-untyped-def]
    found = Suspension.objects.filter(enrolment__child=t.child).first()
    return {"suspension": found.pk if found else ""}


def account_recorded(t) -> bool:  # type: ignore[no-untyped-def]
    return BankAccount.objects.filter(child=t.child, active=True, account_last4="3334").exists()


ROWS: list[Row] = [
    # District-level pages: no particular record (the default division is the caller's own).
    Row("web:payroll_list", Kind.SIGNED_IN, perm=Perm.BENEFIT_VIEW),
    Row(
        "web:payroll_list",
        Kind.SIGNED_IN,
        perm=Perm.BENEFIT_VIEW,
        data={"status": "draft", "period": "2026-01"},
    ),
    Row(
        "web:payroll_generate",
        Kind.SIGNED_IN,
        "POST",
        perm=Perm.PAYROLL_PREPARE,
        data=lambda _t: {"programme": "basic_living", "month": months.label(_this_month())},
    ),
    Row("web:benefit_proof", Kind.SIGNED_IN, perm=Perm.BENEFIT_VIEW),
    Row(
        "web:benefit_proof",
        Kind.SIGNED_IN,
        perm=Perm.BENEFIT_VIEW,
        data={"division": "", "first": "2026-01", "last": "2026-02", "programme": "basic_living"},
    ),
    Row("web:benefit_totals", Kind.SIGNED_IN, perm=Perm.BENEFIT_VIEW),
    Row("web:benefit_totals_export", Kind.SIGNED_IN, perm=Perm.BENEFIT_VIEW),
    Row("web:standard_list", Kind.SIGNED_IN, perm=Perm.BENEFIT_VIEW),
    Row(
        "web:standard_list",
        Kind.SIGNED_IN,
        "POST",
        perm=Perm.STANDARD_MANAGE,
        data={"programme": "holiday", "amount": "600.00", "valid_from": "2099-01"},
    ),
    # One batch (made in prepare for the target child's district, with the target child's id).
    Row(
        "web:payroll_detail",
        Kind.CHILD_READ,
        perm=Perm.BENEFIT_VIEW,
        prepare=draft,
        denied=frozenset({404, 302}),
    ),
    Row("web:payroll_review", Kind.CHILD_WRITE, "POST", perm=Perm.PAYROLL_PREPARE, prepare=draft),
    Row("web:payroll_approve", Kind.CHILD_WRITE, "POST", perm=Perm.PAYROLL_APPROVE, prepare=reviewed),
    Row(
        "web:payroll_return",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.PAYROLL_APPROVE,
        prepare=reviewed,
        data={"comment": "矩阵"},
    ),
    Row("web:payroll_bank_file", Kind.CHILD_WRITE, "POST", perm=Perm.PAYROLL_EXPORT, prepare=approved),
    # The insurance list routes refuse a basic-allowance batch (302 with the message) once authorised: the rows
    # check who gets that far; carenet/benefits/tests/test_insurance.py checks the list itself.
    Row("web:payroll_insurance_list", Kind.CHILD_WRITE, "POST", perm=Perm.PAYROLL_EXPORT, prepare=approved),
    Row(
        "web:payroll_insurance_confirm", Kind.CHILD_WRITE, "POST", perm=Perm.PAYROLL_EXPORT, prepare=exported
    ),
    Row(
        "web:payroll_bank_return",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.PAYROLL_EXPORT,
        prepare=exported,
        data=return_file,
    ),
    # A child's benefits.
    Row("web:benefit_child", Kind.CHILD_READ, perm=Perm.BENEFIT_VIEW, prepare=enrolled),
    Row(
        "web:benefit_account",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.BANK_ACCOUNT_EDIT,
        data={"holder_name": "矩阵监护人", "bank_name": "中国银行", "number": "6217000010002223334"},
        effect=account_recorded,
    ),
    Row(
        "web:benefit_suspend",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.BENEFIT_SUSPEND,
        prepare=enrolled,
        data=suspend_form,
    ),
    Row(
        "web:benefit_resume",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.BENEFIT_SUSPEND,
        prepare=suspended,
        data=resume_form,
    ),
]
