"""Bank accounts, the bank file of a payroll batch and the bank's return file."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from carenet.accounts.models import Role
from carenet.audit.models import AccessLog, ChangeLog
from carenet.benefits import bank, bankfiles
from carenet.benefits.models import (
    LIVE_STATUSES,
    BankAccount,
    BatchStatus,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    Programme,
)
from carenet.core.errors import CarenetError, PermissionDeniedError, RowErrors
from carenet.registry.models import Category, Child
from carenet.tests_support.factories import ChildFactory, UserFactory

PERIOD = dt.date(2026, 11, 1)
NUMBER = "6222020200112233445"
OTHER_NUMBER = "6217000010002223334"


def set_account(actor, child, number=NUMBER, holder=None):
    return bank.bank_account_set(
        actor=actor, child=child, holder_name=holder or child.name, bank_name="中国工商银行", number=number
    )


def make_batch(lines, *, status=BatchStatus.APPROVED, programme=Programme.BASIC_LIVING, district="120112"):
    """A batch with one APPROVED line per (child, amount), made straight in the ORM."""
    batch = PayrollBatch.objects.create(
        district_code=district,
        programme=programme,
        period=PERIOD,
        status=status,
        line_count=len(lines),
        beneficiaries=len({child.pk for child, _ in lines}),
        total=sum((Decimal(amount) for _, amount in lines), Decimal(0)),
    )
    for child, amount in lines:
        PaymentLine.objects.create(
            batch=batch,
            child=child,
            programme=programme,
            category=Category.ORPHAN_SCATTERED,
            month=PERIOD,
            amount=Decimal(amount),
            status=LineStatus.APPROVED,
            district_code=district,
            division_code=child.division_code,
        )
    return batch


@pytest.fixture
def paid_children(children, personas):
    """Three children of 津南 with accounts on record."""
    kids = [children.own, children.sibling_village, children.other_street]
    for i, child in enumerate(kids):
        set_account(personas.district_finance, child, number=f"62220202001122334{i}0")
    return kids


@pytest.fixture
def batch(paid_children):
    return make_batch(list(zip(paid_children, ["1234.56", "1200.00", "980.10"], strict=True)))


def lines_of(batch):
    return list(batch.lines.order_by("id"))


def sheet_rows(data):
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(row) for row in ws.iter_rows(values_only=True)]


def answered(data, answers):
    """The bank's return file: our own file sent back with 结果 and 原因 filled in per 业务号; rows of lines not in
    `answers` are dropped (the bank has not answered for them yet)."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    ref_col = [c.value for c in ws[1]].index("业务号") + 1
    width = ws.max_column
    ws.cell(1, width + 1, "结果")
    ws.cell(1, width + 2, "原因")
    for row in range(ws.max_row, 1, -1):
        ref = ws.cell(row, ref_col).value
        if ref is None:
            continue  # the totals row: banks send it back too
        if int(ref) not in answers:
            ws.delete_rows(row)
            continue
        result, reason = answers[int(ref)]
        ws.cell(row, width + 1, result)
        ws.cell(row, width + 2, reason)
    return workbook_bytes(wb)


def handmade(header, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    return workbook_bytes(wb)


def workbook_bytes(wb):
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def db_state(batch):
    batch = PayrollBatch.objects.get(pk=batch.pk)
    lines = [
        (line.status, line.settled_on, line.failure_reason, line.account_enc != "")
        for line in batch.lines.order_by("id")
    ]
    return batch.status, batch.exported_at, batch.reconciled_at, lines, ChangeLog.objects.count()


def exported(batch, personas):
    return bankfiles.bank_file_write(actor=personas.district_finance, batch=batch)[1]


def import_return(batch, personas, data):
    return bankfiles.bank_return_import(actor=personas.district_finance, batch=batch, data=data)


# --- accounts -----------------------------------------------------------------------------------------


def test_account_is_stored_encrypted_and_the_raw_column_holds_no_digits(children, personas):
    account = set_account(personas.district_finance, children.own)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT account_enc FROM {BankAccount._meta.db_table} WHERE id = %s", [account.pk])
        raw = cursor.fetchone()[0]
    assert NUMBER not in raw and NUMBER[:12] not in raw
    assert BankAccount.objects.get(pk=account.pk).number == NUMBER


def test_account_is_shown_masked_with_only_the_last_four_digits(children, personas):
    account = set_account(personas.district_finance, children.own)
    assert account.masked == "**** **** **** 3445"
    assert NUMBER[:-4] not in str(account)


def test_full_width_digits_spaces_and_dashes_are_normalised(children, personas):
    account = set_account(personas.district_finance, children.own, number="６２２２ 0202-0011 2233 445")
    assert account.number == NUMBER


@pytest.mark.parametrize(
    "number", ["", "   ", "12345678901", "1" * 31, "6222O20200112233445", "6222.0202.0011.2233"]
)
def test_bad_account_numbers_are_refused_naming_the_number_field(children, personas, number):
    with pytest.raises(CarenetError) as err:
        set_account(personas.district_finance, children.own, number=number)
    assert err.value.field == "number"
    assert not BankAccount.objects.exists()


def test_account_holder_name_is_required(children, personas):
    with pytest.raises(CarenetError) as err:
        set_account(personas.district_finance, children.own, holder="  ")
    assert err.value.field == "holder_name"
    assert not BankAccount.objects.exists()


def test_a_new_account_deactivates_the_previous_one_without_deleting_it(children, personas):
    first = set_account(personas.district_finance, children.own)
    second = set_account(personas.director_a, children.own, number=OTHER_NUMBER, holder="张建国")
    first.refresh_from_db()
    assert first.active is False and second.active is True
    assert BankAccount.objects.filter(child=children.own).count() == 2
    assert bank.active_account(children.own) == second


def test_the_same_account_again_adds_no_row(children, personas):
    first = set_account(personas.district_finance, children.own)
    again = set_account(personas.district_finance, children.own, number=" " + NUMBER)
    assert again.pk == first.pk and BankAccount.objects.count() == 1


def test_account_changes_are_audited_with_the_masked_account_only(children, personas):
    set_account(personas.district_finance, children.own)
    set_account(personas.district_finance, children.own, number=OTHER_NUMBER)
    logs = ChangeLog.objects.filter(entity="bank_account")
    assert logs.count() == 3  # created, deactivated, created
    text = json.dumps([log.changes for log in logs], ensure_ascii=False)
    assert NUMBER[:-4] not in text and OTHER_NUMBER[:-4] not in text
    assert "**** **** **** 3334" in text


def test_village_director_cannot_set_an_account_for_a_child_of_another_village(children, personas):
    with pytest.raises(Child.DoesNotExist):
        set_account(personas.director_b, children.own)
    assert not BankAccount.objects.exists()


def test_district_specialist_may_not_record_bank_accounts(children, personas):
    with pytest.raises(PermissionDeniedError):
        set_account(personas.district_specialist, children.own)


# --- the bank file ------------------------------------------------------------------------------------


def finance_of_other_district(city):
    return UserFactory(username="p-finance-other", role=Role.DISTRICT_FINANCE, division=city.other_district)


@pytest.mark.parametrize(
    "who", ["district_specialist", "city_admin", "other_district_specialist", "director_a"]
)
def test_bank_file_is_refused_to_everyone_but_the_districts_finance_officer(batch, personas, who):
    before = db_state(batch)
    with pytest.raises(PermissionDeniedError):
        bankfiles.bank_file_write(actor=getattr(personas, who), batch=batch)
    assert db_state(batch) == before


def test_finance_officer_of_another_district_cannot_export_this_districts_batch(batch, city):
    before = db_state(batch)
    with pytest.raises(PermissionDeniedError):
        bankfiles.bank_file_write(actor=finance_of_other_district(city), batch=batch)
    assert db_state(batch) == before


def test_export_copies_each_payee_account_into_the_ledger_and_moves_the_batch_to_exported(
    batch, personas, paid_children
):
    exported(batch, personas)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED
    assert batch.exported_by == personas.district_finance and batch.exported_at is not None
    for line, child in zip(lines_of(batch), paid_children, strict=True):
        account = bank.active_account(child)
        assert line.status == LineStatus.EXPORTED
        assert (line.payee_name, line.account_number, line.account_last4) == (
            account.holder_name,
            account.number,
            account.number[-4:],
        )


def test_a_later_account_change_does_not_rewrite_where_an_exported_payment_went(
    batch, personas, paid_children
):
    exported(batch, personas)
    sent_to = lines_of(batch)[0].account_number
    set_account(personas.district_finance, paid_children[0], number=OTHER_NUMBER)
    assert lines_of(batch)[0].account_number == sent_to != OTHER_NUMBER


def test_bank_file_has_the_columns_a_bank_expects_and_a_totals_row(batch, personas, paid_children):
    name, data = bankfiles.bank_file_write(actor=personas.district_finance, batch=batch)
    assert name == "payroll-120112-basic_living-2026-11.xlsx"
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert ws.title == "120112-2026-11"
    rows = sheet_rows(data)
    assert rows[0] == ["序号", "姓名", "账号", "金额", "身份证号", "月份", "业务号", "备注"]
    first = lines_of(batch)[0]
    assert rows[1][:7] == [
        1,
        paid_children[0].name,
        bank.active_account(paid_children[0]).number,
        1234.56,
        paid_children[0].id_number,
        "2026-11",
        str(first.pk),
    ]
    assert ws["D2"].number_format == "0.00" and ws["C2"].data_type == "s" and ws["E2"].data_type == "s"
    assert rows[-1][0] == "合计" and rows[-1][3] == 3414.66
    assert len(rows) == 1 + 3 + 1
    for child in paid_children:
        assert child.name not in name and child.name not in ws.title


def test_amounts_are_written_exactly_from_the_decimal(children, personas):
    set_account(personas.district_finance, children.own)
    batch = make_batch([(children.own, "1234.56"), (children.own, "0.10")])
    data = exported(batch, personas)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>1234.56</v>" in xml and "<v>0.1</v>" in xml and "<v>1234.66</v>" in xml
    assert Decimal(str(sheet_rows(data)[1][3])) == Decimal("1234.56")


def test_export_is_refused_when_a_child_has_no_account_and_nothing_changes(paid_children, children, personas):
    no_account = ChildFactory(name="陈静", division=children.own.division)
    batch = make_batch([(paid_children[0], "100.00"), (no_account, "100.00")])
    before = db_state(batch)
    with pytest.raises(CarenetError) as err:
        exported(batch, personas)
    assert "陈静" in err.value.message and paid_children[0].name not in err.value.message
    assert db_state(batch) == before


def test_bank_file_can_be_downloaded_again_and_each_download_is_audited(batch, personas):
    first = sheet_rows(exported(batch, personas))
    exported_at = PayrollBatch.objects.get(pk=batch.pk).exported_at
    again = sheet_rows(exported(batch, personas))
    assert first == again
    assert PayrollBatch.objects.get(pk=batch.pk).exported_at == exported_at
    logs = ChangeLog.objects.filter(entity="payroll_batch", entity_id=batch.pk)
    assert logs.count() == 2
    assert AccessLog.objects.filter(kind=AccessLog.Kind.EXPORT).count() == 6  # three children, twice


def test_no_account_number_ever_reaches_the_audit_log(batch, personas, paid_children):
    exported(batch, personas)
    text = json.dumps(list(ChangeLog.objects.values_list("changes", flat=True)), ensure_ascii=False)
    for child in paid_children:
        assert bank.active_account(child).number[:-4] not in text


@pytest.mark.parametrize("status", [BatchStatus.DRAFT, BatchStatus.REVIEWED, BatchStatus.RECONCILED])
def test_only_an_approved_or_exported_batch_can_be_exported(paid_children, personas, status):
    batch = make_batch([(paid_children[0], "100.00")], status=status)
    with pytest.raises(CarenetError):
        exported(batch, personas)


def test_a_programme_settled_without_bank_accounts_has_no_bank_file(paid_children, personas):
    batch = make_batch([(paid_children[0], "100.00")], programme=Programme.MEDICAL_PREMIUM)
    with pytest.raises(CarenetError):
        exported(batch, personas)


# --- the return file ----------------------------------------------------------------------------------


def test_return_file_records_paid_and_failed_lines_and_reconciles_when_all_are_back(batch, personas):
    data = exported(batch, personas)
    a, b, c = lines_of(batch)
    report = import_return(
        batch,
        personas,
        answered(data, {a.pk: ("成功", None), b.pk: ("失败", "账户已销户"), c.pk: ("success", "")}),
    )
    a, b, c = lines_of(batch)
    assert (a.status, c.status, b.status) == (LineStatus.PAID, LineStatus.PAID, LineStatus.FAILED)
    assert a.settled_on == timezone.localdate() and b.settled_on is None
    assert b.failure_reason == "账户已销户"
    assert (report.paid_count, report.paid_amount) == (2, Decimal("2214.66"))
    assert (report.failed_count, report.failed_amount) == (1, Decimal("1200.00"))
    assert report.pending_count == 0 and report.reconciled
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RECONCILED and batch.reconciled_by == personas.district_finance


def test_a_failed_payment_is_no_longer_live_so_the_next_batch_pays_it_again(batch, personas):
    data = exported(batch, personas)
    a, b, c = lines_of(batch)
    import_return(
        batch, personas, answered(data, {a.pk: ("成功", ""), b.pk: ("失败", "户名不符"), c.pk: ("成功", "")})
    )
    assert PaymentLine.objects.get(pk=b.pk).status not in LIVE_STATUSES
    assert PaymentLine.objects.get(pk=a.pk).status in LIVE_STATUSES


def test_lines_the_bank_has_not_answered_yet_stay_exported_and_are_reported_pending(batch, personas):
    data = exported(batch, personas)
    a, b, c = lines_of(batch)
    report = import_return(batch, personas, answered(data, {a.pk: ("成功", "")}))
    assert report.pending_count == 2 and report.pending_line_ids == [b.pk, c.pk]
    assert not report.reconciled
    assert PayrollBatch.objects.get(pk=batch.pk).status == BatchStatus.EXPORTED
    assert [line.status for line in lines_of(batch)] == [
        LineStatus.PAID,
        LineStatus.EXPORTED,
        LineStatus.EXPORTED,
    ]

    # The bank's next file repeats the row already settled: the same answer is accepted as no news.
    report = import_return(
        batch, personas, answered(data, {a.pk: ("成功", ""), b.pk: ("成功", ""), c.pk: ("失败", "冻结")})
    )
    assert (report.paid_count, report.failed_count, report.already_recorded) == (1, 1, 1)
    assert report.reconciled


def test_a_later_return_file_cannot_overturn_a_recorded_result(batch, personas):
    data = exported(batch, personas)
    a, *_ = lines_of(batch)
    import_return(batch, personas, answered(data, {a.pk: ("成功", "")}))
    before = db_state(batch)
    with pytest.raises(RowErrors) as err:
        import_return(batch, personas, answered(data, {a.pk: ("失败", "退票")}))
    assert [row for row, _ in err.value.errors] == [2]
    assert db_state(batch) == before


def test_return_columns_are_found_by_header_text_in_english_under_a_title_and_with_text_amounts(
    batch, personas
):
    exported(batch, personas)
    a, b, c = lines_of(batch)
    wb = Workbook()
    ws = wb.active
    ws.append(["中国工商银行 代发工资结果"])
    ws.append([])
    ws.append(["Status", "Reason", "Amount (CNY)", "Name", "Reference"])
    ws.append(["SUCCESS", None, "1,234.56", "x", str(a.pk)])
    ws.append(["failed", "closed", "1,200.00", "x", b.pk])
    ws.append(["Success", None, 980.1, "x", float(c.pk)])
    ws.append(["Total", None, "3,414.66"])
    report = import_return(batch, personas, workbook_bytes(wb))
    assert (report.paid_count, report.failed_count, report.reconciled) == (2, 1, True)
    assert PaymentLine.objects.get(pk=b.pk).failure_reason == "closed"


def assert_rejected(batch, personas, data, rows):
    before = db_state(batch)
    with pytest.raises(RowErrors) as err:
        import_return(batch, personas, data)
    assert sorted({row for row, _ in err.value.errors}) == rows
    assert db_state(batch) == before
    return err.value


def test_return_file_with_an_unknown_row_is_reported_by_row_and_changes_nothing(batch, personas, children):
    exported(batch, personas)
    a, b, c = lines_of(batch)
    stranger = make_batch([(children.own, "50.00")], district="120112", programme=Programme.EDUCATION_GRANT)
    foreign = stranger.lines.get().pk
    file = handmade(
        ["业务号", "金额", "结果", "原因"],
        [[a.pk, 1234.56, "成功", ""], [foreign, 50, "成功", ""], [999999, 1, "成功", ""]],
    )
    error = assert_rejected(batch, personas, file, [3, 4])
    assert any(str(foreign) in message for row, message in error.errors if row == 3)


def test_return_file_with_a_wrong_amount_is_reported_by_row_and_changes_nothing(batch, personas):
    data = exported(batch, personas)
    a, b, c = lines_of(batch)
    file = answered(data, {a.pk: ("成功", ""), b.pk: ("成功", ""), c.pk: ("成功", "")})
    wb = load_workbook(io.BytesIO(file))
    wb.worksheets[0]["D3"] = 1200.01
    error = assert_rejected(batch, personas, workbook_bytes(wb), [3])
    assert "1200.01" in error.errors[0][1] and "1200.00" in error.errors[0][1]


def test_return_file_with_a_duplicate_row_is_reported_by_row_and_changes_nothing(batch, personas):
    exported(batch, personas)
    a, b, c = lines_of(batch)
    file = handmade(
        ["业务号", "金额", "结果"],
        [[a.pk, "1234.56", "成功"], [b.pk, "1200", "成功"], [a.pk, "1234.56", "失败"]],
    )
    error = assert_rejected(batch, personas, file, [4])
    assert "row 2" in error.errors[0][1] or "第 2 行" in error.errors[0][1]  # names the first occurrence


def test_return_file_with_unknown_results_missing_cells_and_odd_amounts_lists_every_bad_row(batch, personas):
    exported(batch, personas)
    a, b, c = lines_of(batch)
    file = handmade(
        ["业务号", "金额", "结果"],
        [
            [a.pk, "1234.56", "maybe"],
            [b.pk, None, "成功"],
            [None, "980.10", "成功"],
            [c.pk, 980.105, "成功"],
        ],
    )
    error = assert_rejected(batch, personas, file, [2, 3, 4, 5])
    assert len(error.errors) == 4


def test_garbage_bytes_are_refused_as_a_broken_file_and_change_nothing(batch, personas):
    exported(batch, personas)
    before = db_state(batch)
    for data in (b"", b"not an excel file", b"PK\x03\x04broken zip"):
        with pytest.raises(CarenetError) as err:
            import_return(batch, personas, data)
        assert "xlsx" in err.value.message
    assert db_state(batch) == before


def test_a_file_without_the_header_is_reported_on_row_one_and_changes_nothing(batch, personas):
    exported(batch, personas)
    a, *_ = lines_of(batch)
    assert_rejected(batch, personas, handmade(["编号", "钱", "状态"], [[a.pk, "1234.56", "成功"]]), [1])


def test_a_header_missing_the_result_column_names_it(batch, personas):
    exported(batch, personas)
    a, *_ = lines_of(batch)
    error = assert_rejected(batch, personas, handmade(["业务号", "金额"], [[a.pk, "1234.56"]]), [1])
    assert "结果" in error.errors[0][1]


def test_a_file_with_a_header_and_no_rows_is_refused(batch, personas):
    exported(batch, personas)
    with pytest.raises(CarenetError):
        import_return(batch, personas, handmade(["业务号", "金额", "结果"], []))


def test_return_file_is_refused_before_the_batch_is_exported(batch, personas):
    a, *_ = lines_of(batch)
    with pytest.raises(CarenetError):
        import_return(batch, personas, handmade(["业务号", "金额", "结果"], [[a.pk, "1234.56", "成功"]]))
    assert lines_of(batch)[0].status == LineStatus.APPROVED


@pytest.mark.parametrize("who", ["district_specialist", "city_admin"])
def test_return_file_is_imported_only_by_the_districts_finance_officer(batch, personas, who):
    data = exported(batch, personas)
    a, *_ = lines_of(batch)
    before = db_state(batch)
    with pytest.raises(PermissionDeniedError):
        bankfiles.bank_return_import(
            actor=getattr(personas, who), batch=batch, data=answered(data, {a.pk: ("成功", "")})
        )
    assert db_state(batch) == before


def test_money_round_trips_exactly_through_the_bank_file(children, personas):
    set_account(personas.district_finance, children.own)
    batch = make_batch([(children.own, "1234.56")])
    data = exported(batch, personas)
    line = batch.lines.get()
    report = import_return(batch, personas, answered(data, {line.pk: ("成功", "")}))
    assert report.paid_amount == Decimal("1234.56") and isinstance(report.paid_amount, Decimal)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.56, "1234.56"),
        (1234.5600000000001, "1234.56"),
        (1200, "1200.00"),
        ("1,200.00", "1200.00"),
        ("１,２００.5", "1200.50"),
        ("¥980.10元", "980.10"),
        (Decimal("0.1"), "0.10"),
    ],
)
def test_amounts_are_read_as_exact_decimals(value, expected):
    assert bankfiles.parse_money(value) == Decimal(expected)


@pytest.mark.parametrize("value", [1234.567, "12,00", "1,2345.00", "abc", "1e3", float("nan"), True, "0.001"])
def test_amounts_with_more_than_two_decimals_or_not_numbers_are_refused(value):
    with pytest.raises(ValueError):
        bankfiles.parse_money(value)


def test_a_header_missing_the_payment_number_column_names_it(batch, personas):
    exported(batch, personas)
    error = assert_rejected(
        batch, personas, handmade(["姓名", "金额", "结果"], [["张伟", "1234.56", "成功"]]), [1]
    )
    assert "业务号" in error.errors[0][1]
