"""The benefits pages: payroll batches and their moves, the bank file and return file, the full-payment proof, the
totals report and its Excel file, standards, and a child's benefits with the bank account masked."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from carenet.accounts.models import User
from carenet.audit.models import AccessLog
from carenet.benefits import months
from carenet.benefits.models import (
    BankAccount,
    BatchStatus,
    Enrolment,
    LineKind,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    Standard,
    Suspension,
)
from carenet.benefits.payroll import batch_approve, batch_review, payroll_generate
from carenet.registry.models import CategoryMembership, Child
from carenet.web.templatetags.benefits_tags import month, yuan

THIS_MONTH = months.first(timezone.localdate())
DISTRICT = "120112"
NUMBER = "6230200012345678"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ago(n: int) -> dt.date:
    return months.add(THIS_MONTH, -n)


@pytest.fixture
def standards(personas):
    """City standards in force for the last three years (made directly: standard_set only goes forward)."""
    for category, amount in [("orphan_scattered", "2100.00"), ("poor_family", "1200.00")]:
        Standard.objects.create(
            programme="basic_living", category=category, amount=Decimal(amount), valid_from=ago(36)
        )


def enrol(
    child: Child, *, start: dt.date, category: str = "orphan_scattered", account: bool = True
) -> Enrolment:
    CategoryMembership.objects.get_or_create(
        child=child,
        category=category,
        end_date=None,
        defaults={"start_date": start, "reason": "test", "approved_by": User.objects.order_by("pk").first()},
    )
    if account:
        acct = BankAccount(child=child, holder_name=child.name, bank_name="天津农商银行")
        acct.set_number(NUMBER)
        acct.save()
    return Enrolment.objects.create(
        child=child,
        programme="basic_living",
        category=category,
        division_code=child.division_code,
        start_month=start,
    )


@pytest.fixture
def enrolled(children, standards):
    """The two children of 双港镇 (villages A and B) draw the basic allowance from this month."""
    enrol(children.own, start=THIS_MONTH)
    enrol(children.sibling_village, start=THIS_MONTH)
    return children


def generated(personas) -> PayrollBatch:
    return payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)


def approved(personas) -> PayrollBatch:
    batch = batch_review(actor=personas.district_finance, batch=generated(personas))
    return batch_approve(actor=personas.district_specialist, batch=batch)


def as_user(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def field_error(html: str, name: str) -> str:
    """The error shown right under the input called `name` (the _field.html layout), or ""."""
    closing = r'(?:(?:(?!name=").)*?</(?:select|textarea)>)?'
    match = re.search(rf'name="{name}"[^>]*>{closing}\s*<small class="error">([^<]*)</small>', html, re.S)
    return match.group(1) if match else ""


# ---------------------------------------------------------------- display filters


def test_amounts_show_in_yuan_with_two_decimals_and_grouped_thousands():
    assert yuan(Decimal("1234.5")) == "¥1,234.50"
    assert yuan(Decimal("5500000")) == "¥5,500,000.00"
    assert yuan("0.3") == "¥0.30"
    assert yuan(None) == "—"


def test_months_show_the_chinese_way_in_chinese():
    with translation.override("zh-hans"):
        assert month(dt.date(2026, 11, 1)) == "2026年11月"
    with translation.override("en"):
        assert month(dt.date(2026, 11, 1)) == "November 2026"


# ---------------------------------------------------------------- batches


def test_the_districts_finance_generates_a_batch_from_the_page(client, personas, enrolled):
    as_user(client, personas.district_finance)
    page = client.get(reverse("web:payroll_list"))
    assert 'action="/benefits/payroll/generate/"' in text(page)
    response = client.post(
        reverse("web:payroll_generate"), {"programme": "basic_living", "month": months.label(THIS_MONTH)}
    )
    batch = PayrollBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "web:payroll_detail", args=[batch.pk]
    )
    assert (batch.district_code, batch.status, batch.line_count, batch.total) == (
        DISTRICT,
        BatchStatus.DRAFT,
        2,
        Decimal("4200.00"),
    )
    detail = text(client.get(response["Location"]))
    assert "张伟" in detail and "李娜" in detail and "¥4,200.00" in detail and "¥2,100.00" in detail
    assert (
        AccessLog.objects.filter(actor=personas.district_finance, detail=f"payroll batch {batch.pk}").count()
        == 2
    )


def test_generating_again_finds_the_same_batch(client, personas, enrolled):
    as_user(client, personas.district_finance)
    data = {"programme": "basic_living", "month": months.label(THIS_MONTH)}
    first = client.post(reverse("web:payroll_generate"), data)
    second = client.post(reverse("web:payroll_generate"), data)
    assert first["Location"] == second["Location"] and PayrollBatch.objects.count() == 1


def test_a_bad_generate_form_is_shown_again_with_the_error_next_to_the_field(client, personas, enrolled):
    as_user(client, personas.district_finance)
    response = client.post(reverse("web:payroll_generate"), {"programme": "basic_living", "month": "2026-13"})
    assert response.status_code == 200 and field_error(text(response), "month")
    ahead = client.post(
        reverse("web:payroll_generate"),
        {"programme": "basic_living", "month": months.label(months.add(THIS_MONTH, 3))},
    )
    assert ahead.status_code == 200 and field_error(text(ahead), "month")
    campaign = client.post(reverse("web:payroll_generate"), {"programme": "holiday", "month": "2026-01"})
    assert field_error(text(campaign), "title")
    assert not PayrollBatch.objects.exists()


def test_review_by_finance_then_approval_by_the_specialist_moves_the_states(client, personas, enrolled):
    batch = generated(personas)
    as_user(client, personas.district_finance)
    page = text(client.get(reverse("web:payroll_detail", args=[batch.pk])))
    assert f"/benefits/payroll/{batch.pk}/review/" in page
    client.post(reverse("web:payroll_review", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.REVIEWED
    assert client.post(reverse("web:payroll_approve", args=[batch.pk])).status_code == 403  # finance may not
    as_user(client, personas.district_specialist)
    page = text(client.get(reverse("web:payroll_detail", args=[batch.pk])))
    assert (
        f"/benefits/payroll/{batch.pk}/approve/" in page and f"/benefits/payroll/{batch.pk}/return/" in page
    )
    response = client.post(reverse("web:payroll_approve", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.APPROVED}


def test_returning_a_batch_needs_a_comment_shown_next_to_the_field(client, personas, enrolled):
    batch = batch_review(actor=personas.district_finance, batch=generated(personas))
    as_user(client, personas.district_specialist)
    response = client.post(reverse("web:payroll_return", args=[batch.pk]), {"comment": ""})
    assert response.status_code == 200 and field_error(text(response), "comment")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.REVIEWED
    client.post(reverse("web:payroll_return", args=[batch.pk]), {"comment": "李娜的账户待核实"})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT


def test_approval_refused_for_a_child_month_another_batch_paid_says_who_and_changes_nothing(
    client, personas, enrolled, city
):
    batch = batch_review(actor=personas.district_finance, batch=generated(personas))
    elsewhere = PayrollBatch.objects.create(
        district_code="120101", programme="basic_living", period=THIS_MONTH, status=BatchStatus.APPROVED
    )
    PaymentLine.objects.create(
        batch=elsewhere,
        child=enrolled.own,
        programme="basic_living",
        category="orphan_scattered",
        month=THIS_MONTH,
        amount=Decimal("2100.00"),
        status=LineStatus.APPROVED,
        district_code="120101",
        division_code=city.village_d.code,
    )
    as_user(client, personas.district_specialist)
    page = text(client.get(reverse("web:payroll_detail", args=[batch.pk])))
    assert (
        'class="form-errors" role="alert"' in page and "张伟" in page
    )  # the conflict is shown before approving
    response = client.post(reverse("web:payroll_approve", args=[batch.pk]), follow=True)
    flash = re.findall(r'<p class="flash error" role="status">([^<]*)</p>', text(response))
    assert flash and "张伟" in flash[0] and "和平区" in flash[0]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.REVIEWED


def test_a_batch_is_seen_by_its_district_and_the_city_only(client, personas, enrolled):
    batch = generated(personas)
    url = reverse("web:payroll_detail", args=[batch.pk])
    for who in (personas.city_admin, personas.auditor, personas.district_specialist):
        assert as_user(client, who).get(url).status_code == 200
    assert as_user(client, personas.other_district_specialist).get(url).status_code == 404
    street = as_user(client, personas.street_supervisor).get(url)
    assert street.status_code == 302 and street["Location"] == reverse("web:payroll_list")
    assert as_user(client, personas.social_worker).get(url).status_code == 403
    listed = text(as_user(client, personas.other_district_specialist).get(reverse("web:payroll_list")))
    assert url not in listed


def test_the_lines_table_filters_by_village_and_masks_accounts(client, personas, enrolled, city):
    batch = approved(personas)
    from carenet.benefits.bankfiles import bank_file_write

    bank_file_write(actor=personas.district_finance, batch=batch)
    as_user(client, personas.district_specialist)
    url = reverse("web:payroll_detail", args=[batch.pk])
    page = text(client.get(url))
    assert "**** **** **** 5678" in page and NUMBER not in page
    only_b = text(client.get(url, {"division": city.village_b.code}))
    assert "李娜" in only_b and "张伟" not in only_b


# ---------------------------------------------------------------- bank file and return file


def test_the_bank_file_is_refused_to_the_specialist_and_downloaded_by_finance(client, personas, enrolled):
    batch = approved(personas)
    url = reverse("web:payroll_bank_file", args=[batch.pk])
    assert as_user(client, personas.district_specialist).post(url).status_code == 403
    assert (
        as_user(client, personas.district_finance).get(url).status_code == 405
    )  # never a GET: it sends money
    response = as_user(client, personas.district_finance).post(url)
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="payroll-{DISTRICT}-basic_living-{months.label(THIS_MONTH)}.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert NUMBER in cells and "张伟" in cells
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED


def _return_file(rows: list[list[object]]) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(["业务号", "金额", "结果", "原因"])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "return.xlsx"
    return buffer


@pytest.fixture
def sent(personas, enrolled):
    from carenet.benefits.bankfiles import bank_file_write

    batch = approved(personas)
    bank_file_write(actor=personas.district_finance, batch=batch)
    return batch


def test_a_bad_return_file_shows_the_per_row_report_and_changes_nothing(client, personas, sent):
    lines = list(sent.lines.order_by("id"))
    bad = _return_file(
        [
            [lines[0].pk, "2100.00", "成功", ""],
            [999999, "2100.00", "成功", ""],  # not a payment of this batch
            [lines[1].pk, "2000.00", "也许", ""],  # wrong amount, unknown result
        ]
    )
    as_user(client, personas.district_finance)
    response = client.post(reverse("web:payroll_bank_return", args=[sent.pk]), {"file": bad})
    assert response.status_code == 200
    page = text(response)
    report = page[page.index('id="row-errors"') :]
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td></tr>', report)
    assert {row for row, _message in rows} == {"3", "4"}
    assert any("999999" in message for _row, message in rows)
    assert len([r for r in rows if r[0] == "4"]) == 2  # both problems of row 4
    sent.refresh_from_db()
    assert sent.status == BatchStatus.EXPORTED
    assert set(sent.lines.values_list("status", flat=True)) == {LineStatus.EXPORTED}


def test_a_return_file_that_is_no_workbook_is_refused_next_to_the_file_field(client, personas, sent):
    junk = io.BytesIO(b"not a workbook")
    junk.name = "return.xlsx"
    as_user(client, personas.district_finance)
    response = client.post(reverse("web:payroll_bank_return", args=[sent.pk]), {"file": junk})
    assert response.status_code == 200 and field_error(text(response), "file")
    sent.refresh_from_db()
    assert sent.status == BatchStatus.EXPORTED


def test_a_good_return_file_records_paid_and_failed_payments(client, personas, sent):
    paid, failed = sent.lines.order_by("id")
    good = _return_file([[paid.pk, "2100.00", "成功", ""], [failed.pk, "2100.00", "失败", "账户已销户"]])
    as_user(client, personas.district_finance)
    response = client.post(reverse("web:payroll_bank_return", args=[sent.pk]), {"file": good})
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == BatchStatus.RECONCILED
    assert PaymentLine.objects.get(pk=failed.pk).status == LineStatus.FAILED
    assert "账户已销户" in text(client.get(reverse("web:payroll_detail", args=[sent.pk])))


# ---------------------------------------------------------------- the proof of full payment


def test_the_proof_page_shows_a_planted_gap(client, personas, children, standards):
    enrol(children.own, start=ago(2))
    batch = PayrollBatch.objects.create(
        district_code=DISTRICT, programme="basic_living", period=ago(1), status=BatchStatus.RECONCILED
    )
    PaymentLine.objects.create(  # ago(1) is paid; ago(2), owed as well, is not: the planted gap
        batch=batch,
        child=children.own,
        programme="basic_living",
        category="orphan_scattered",
        month=ago(1),
        amount=Decimal("2100.00"),
        status=LineStatus.PAID,
        district_code=DISTRICT,
        division_code=children.own.division_code,
    )
    as_user(client, personas.district_specialist)
    assert "张伟" not in text(client.get(reverse("web:benefit_proof")))  # nothing runs before the button
    query = {
        "division": DISTRICT,
        "first": months.label(ago(2)),
        "last": months.label(ago(1)),
        "programme": "basic_living",
    }
    with translation.override("zh-hans"):
        page = text(client.get(reverse("web:benefit_proof"), query))
    figures = dict(re.findall(r"<small>([^<]+)</small><br><strong[^>]*>([^<]+)</strong>", page))
    assert list(figures.values())[:4] == ["2", "1", "0", "1"]  # owed, paid, pending, gaps
    findings = page[page.index("<tbody>", page.index("Findings") if "Findings" in page else 0) :]
    assert "张伟" in findings and month(ago(2)) in findings
    assert AccessLog.objects.filter(child_id=children.own.pk, detail="payment proof").exists()


def test_the_proof_of_a_division_outside_the_callers_jurisdiction_is_refused(client, personas, enrolled):
    as_user(client, personas.other_district_specialist)
    response = client.get(
        reverse("web:benefit_proof"),
        {"division": DISTRICT, "first": "2026-01", "last": "2026-02", "programme": "basic_living"},
    )
    assert response.status_code == 200 and field_error(text(response), "division")


# ---------------------------------------------------------------- totals


@pytest.fixture
def ledger(children, standards):
    """Live lines in 津南 (three at 2,100.00, one at 1,234.56) and lines that do not count."""
    batch = PayrollBatch.objects.create(
        district_code=DISTRICT, programme="basic_living", period=ago(1), status=BatchStatus.EXPORTED
    )
    rows = [
        (children.own, ago(2), "2100.00", LineStatus.PAID, LineKind.ARREARS),
        (children.own, ago(1), "2100.00", LineStatus.PAID, LineKind.REGULAR),
        (children.sibling_village, ago(1), "2100.00", LineStatus.EXPORTED, LineKind.REGULAR),
        (children.other_street, ago(1), "1234.56", LineStatus.APPROVED, LineKind.REGULAR),
        (children.other_street, ago(2), "999.00", LineStatus.FAILED, LineKind.REGULAR),  # not paid
        (children.sibling_village, ago(2), "888.00", LineStatus.DRAFT, LineKind.REGULAR),  # not yet money
    ]
    for child, month_, amount, status, kind in rows:
        PaymentLine.objects.create(
            batch=batch,
            child=child,
            programme="basic_living",
            category="orphan_scattered",
            month=month_,
            amount=Decimal(amount),
            status=status,
            kind=kind,
            district_code=DISTRICT,
            division_code=child.division_code,
        )
    return Decimal("7534.56")


def test_the_totals_page_counts_live_money_and_person_times(client, personas, ledger):
    as_user(client, personas.district_finance)
    query = {"division": DISTRICT, "first": months.label(ago(2)), "last": months.label(ago(1))}
    page = text(client.get(reverse("web:benefit_totals"), query))
    assert "¥7,534.56" in page
    figures = re.findall(r"<small>([^<]+)</small><br><strong[^>]*>([^<]+)</strong>", page)
    assert [v for _k, v in figures] == ["¥7,534.56", "4", "3"]


def test_the_totals_excel_downloads_with_the_right_total(client, personas, ledger):
    as_user(client, personas.district_finance)
    query = {"division": DISTRICT, "first": months.label(ago(2)), "last": months.label(ago(1))}
    response = client.get(reverse("web:benefit_totals_export"), query)
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    name = f"benefit-totals-{DISTRICT}-{months.label(ago(2))}-{months.label(ago(1))}.xlsx"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    book = load_workbook(io.BytesIO(response.content))
    first = book.worksheets[0]
    last_row = list(first.iter_rows(values_only=True))[-1]
    assert Decimal(str(last_row[2])) == ledger and last_row[1] == 4
    assert first.cell(first.max_row, 3).number_format == "#,##0.00"
    breakdown = list(book.worksheets[-1].iter_rows(values_only=True))
    assert sum(Decimal(str(r[5])) for r in breakdown[1:-1]) == ledger
    names = {str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v}
    assert not names & {"张伟", "李娜", "王芳"}  # aggregates only


def test_the_totals_of_a_street_are_those_of_its_own_villages(client, personas, ledger, city):
    as_user(client, personas.street_supervisor)
    assert client.get(reverse("web:benefit_totals")).status_code == 200  # defaults: own street, this year
    query = {"division": city.street.code, "first": months.label(ago(2)), "last": months.label(ago(1))}
    page = text(client.get(reverse("web:benefit_totals"), query))
    figures = re.findall(r"<small>([^<]+)</small><br><strong[^>]*>([^<]+)</strong>", page)
    assert [v for _k, v in figures] == ["¥6,300.00", "3", "2"]  # 张伟 (A) twice, 李娜 (B) once; not 王芳 (C)
    outside = client.get(reverse("web:benefit_totals"), query | {"division": DISTRICT})
    assert field_error(text(outside), "division") and "¥7,534.56" not in text(outside)


# ---------------------------------------------------------------- standards


def test_the_standards_form_refuses_a_bad_amount_naming_the_field(client, personas, standards):
    as_user(client, personas.district_finance)
    data = {
        "programme": "basic_living",
        "category": "orphan_scattered",
        "district_code": DISTRICT,
        "amount": "2,300.555",
        "valid_from": months.label(months.add(THIS_MONTH, 1)),
    }
    response = client.post(reverse("web:standard_list"), data)
    assert response.status_code == 200
    assert field_error(text(response), "amount")
    assert not Standard.objects.filter(district_code=DISTRICT).exists()
    backdated = client.post(
        reverse("web:standard_list"), data | {"amount": "2300", "valid_from": months.label(ago(1))}
    )
    assert field_error(text(backdated), "valid_from")
    response = client.post(reverse("web:standard_list"), data | {"amount": "2,300.50"})
    assert response.status_code == 302
    assert Standard.objects.get(district_code=DISTRICT).amount == Decimal("2300.50")
    page = text(client.get(reverse("web:standard_list")))
    assert "¥2,300.50" in page and "¥2,100.00" in page


def test_standards_are_read_by_the_auditor_and_set_only_with_the_right(client, personas, standards):
    as_user(client, personas.auditor)
    page = client.get(reverse("web:standard_list"))
    assert page.status_code == 200 and "¥2,100.00" in text(page) and 'name="amount"' not in text(page)
    assert client.post(reverse("web:standard_list"), {"amount": "1"}).status_code == 403


# ---------------------------------------------------------------- a child's benefits


def test_the_child_benefits_page_masks_the_account(client, personas, enrolled):
    as_user(client, personas.director_a)
    url = reverse("web:benefit_child", args=[enrolled.own.pk])
    page = text(client.get(url))
    assert "**** **** **** 5678" in page and NUMBER not in page
    assert "基本生活" in page or "Basic living" in page
    assert AccessLog.objects.filter(child_id=enrolled.own.pk, detail="benefits").exists()


def test_changing_the_account_never_shows_the_full_number(client, personas, enrolled):
    as_user(client, personas.director_a)
    url = reverse("web:benefit_account", args=[enrolled.own.pk])
    bad = client.post(url, {"holder_name": "张建国", "bank_name": "中国银行", "number": "62170000123"})
    assert bad.status_code == 200 and field_error(text(bad), "number") and "62170000123" not in text(bad)
    new = "6217000010002223334"
    response = client.post(
        url, {"holder_name": "张建国", "bank_name": "中国银行", "number": new}, follow=True
    )
    page = text(response)
    assert "**** **** **** 3334" in page and new not in page
    assert BankAccount.objects.get(child=enrolled.own, active=True).number == new


def test_the_specialist_suspends_and_resumes_payments_from_the_childs_page(client, personas, enrolled):
    enrolment = Enrolment.objects.get(child=enrolled.own)
    as_user(client, personas.district_specialist)
    url = reverse("web:benefit_suspend", args=[enrolled.own.pk])
    missing = client.post(
        url, {"enrolment": enrolment.pk, "from_month": months.label(THIS_MONTH), "reason": ""}
    )
    assert missing.status_code == 200 and field_error(text(missing), "reason")
    client.post(url, {"enrolment": enrolment.pk, "from_month": months.label(THIS_MONTH), "reason": "核查中"})
    suspension = Suspension.objects.get(enrolment=enrolment)
    assert suspension.to_month is None
    client.post(reverse("web:benefit_resume", args=[enrolled.own.pk]), {"suspension": suspension.pk})
    suspension.refresh_from_db()
    assert suspension.to_month is not None
    assert as_user(client, personas.director_a).post(url, {"enrolment": enrolment.pk}).status_code == 403


def test_an_enrolment_of_another_child_cannot_be_suspended_through_this_childs_page(
    client, personas, enrolled
):
    other = Enrolment.objects.get(child=enrolled.sibling_village)
    as_user(client, personas.district_specialist)
    response = client.post(
        reverse("web:benefit_suspend", args=[enrolled.own.pk]),
        {"enrolment": other.pk, "from_month": months.label(THIS_MONTH), "reason": "x"},
    )
    assert response.status_code == 404 and not Suspension.objects.exists()


def test_the_benefits_block_is_a_partial_for_htmx(client, personas, enrolled):
    as_user(client, personas.director_a)
    response = client.get(
        reverse("web:benefit_child", args=[enrolled.own.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert text(response).startswith('<section id="benefits"') and "<html" not in text(response)


def test_a_child_outside_the_jurisdiction_has_no_benefits_page(client, personas, enrolled):
    as_user(client, personas.director_b)
    assert client.get(reverse("web:benefit_child", args=[enrolled.own.pk])).status_code == 404
