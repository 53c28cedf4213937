"""Payroll generation, the batch's states, and the proof of full payment (issue #5)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from carenet.accounts.models import User
from carenet.benefits import months
from carenet.benefits.models import (
    BankAccount,
    BatchStatus,
    EndReason,
    Enrolment,
    LineKind,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    PayrollStop,
    Standard,
    StopReason,
)
from carenet.benefits.payroll import batch_approve, batch_review, payroll_generate
from carenet.benefits.proof import full_payment_proof
from carenet.benefits.standards import standard_set
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry.models import CategoryMembership, Child
from carenet.registry.services import child_archive, child_update
from carenet.tests_support.factories import ChildFactory

THIS_MONTH = months.first(timezone.localdate())
LAST_MONTH = months.add(THIS_MONTH, -1)
DISTRICT = "120112"


def ago(n: int) -> dt.date:
    return months.add(THIS_MONTH, -n)


@pytest.fixture
def standards(personas):  # type: ignore[no-untyped-def]
    """City standards in force for the last few years (made directly: standard_set only allows forward)."""
    start = ago(36)
    for category, amount in [
        ("orphan_scattered", "2100.00"),
        ("orphan_institutional", "2600.00"),
        ("poor_family", "1200.00"),
    ]:
        Standard.objects.create(
            programme="basic_living", category=category, amount=Decimal(amount), valid_from=start
        )
    Standard.objects.create(programme="holiday", category="", amount=Decimal("500.00"), valid_from=start)
    Standard.objects.create(
        programme="holiday", category="", district_code="120101", amount=Decimal("600.00"), valid_from=start
    )
    Standard.objects.create(
        programme="medical_premium", category="", amount=Decimal("380.00"), valid_from=start
    )


def enrol(
    child: Child, *, category: str = "orphan_scattered", start: dt.date, account: bool = True
) -> Enrolment:
    CategoryMembership.objects.get_or_create(
        child=child,
        category=category,
        end_date=None,
        defaults={"start_date": start, "reason": "test", "approved_by": User.objects.order_by("pk").first()},
    )
    if account:
        acct = BankAccount(child=child, holder_name=child.name, bank_name="天津农商银行")
        acct.set_number("6230200012345678")
        acct.save()
    return Enrolment.objects.create(
        child=child,
        programme="basic_living",
        category=category,
        division_code=child.division_code,
        start_month=start,
    )


def pay(personas, month: dt.date, district: str = DISTRICT, finance=None, approver=None) -> PayrollBatch:  # type: ignore[no-untyped-def]
    """Generate, review and approve one month, then mark the lines paid (as the bank's return would)."""
    batch = payroll_generate(actor=finance or personas.district_finance, district_code=district, month=month)
    if batch.line_count:
        batch = batch_review(actor=finance or personas.district_finance, batch=batch)
        batch = batch_approve(actor=approver or personas.district_specialist, batch=batch)
        PaymentLine.objects.filter(batch=batch).update(status=LineStatus.PAID)
    return batch


@pytest.fixture
def kid(city, personas, standards):  # type: ignore[no-untyped-def]
    child = ChildFactory(name="赵小明", division=city.village_a, birth_date=dt.date(2015, 6, 1))
    CategoryMembership.objects.filter(child=child).delete()
    return child


def test_a_month_pays_every_enrolled_child_at_the_standard(kid, personas):
    enrol(kid, start=THIS_MONTH)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    line = batch.lines.get()
    assert (line.amount, line.kind, line.month) == (Decimal("2100.00"), LineKind.REGULAR, THIS_MONTH)
    assert (batch.beneficiaries, batch.total, batch.status) == (1, Decimal("2100.00"), BatchStatus.DRAFT)


def test_de_facto_unsupported_child_is_paid_at_the_scattered_orphan_standard(kid, personas):
    enrol(kid, category="de_facto_unsupported", start=THIS_MONTH)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert batch.lines.get().amount == Decimal("2100.00")


def test_late_approval_with_an_earlier_effective_month_pays_arrears(kid, personas):
    enrol(kid, start=ago(3))
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    lines = list(batch.lines.order_by("month").values_list("month", "kind"))
    assert lines == [
        (ago(3), LineKind.ARREARS),
        (ago(2), LineKind.ARREARS),
        (ago(1), LineKind.ARREARS),
        (THIS_MONTH, LineKind.REGULAR),
    ]
    assert batch.total == Decimal("8400.00")


def test_months_already_paid_are_not_paid_again(kid, personas):
    enrol(kid, start=ago(2))
    pay(personas, ago(2))
    pay(personas, ago(1))
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert list(batch.lines.values_list("month", flat=True)) == [THIS_MONTH]


def test_regenerating_the_same_district_month_gives_the_same_batch(kid, personas):
    enrol(kid, start=ago(1))
    out1, out2 = io.StringIO(), io.StringIO()
    call_command(
        "payroll", "generate", "--district", DISTRICT, "--month", months.label(THIS_MONTH), stdout=out1
    )
    call_command(
        "payroll", "generate", "--district", DISTRICT, "--month", months.label(THIS_MONTH), stdout=out2
    )
    first, second = json.loads(out1.getvalue()), json.loads(out2.getvalue())
    assert first == second
    assert (first["beneficiaries"], first["total"]) == (1, "4200.00")
    assert PayrollBatch.objects.count() == 1 and PaymentLine.objects.count() == 2


def test_a_batch_past_draft_is_returned_unchanged_by_generate(kid, personas):
    enrol(kid, start=THIS_MONTH)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    batch_review(actor=personas.district_finance, batch=batch)
    other = ChildFactory(name="钱多多", division=kid.division)
    enrol(other, start=THIS_MONTH)
    again = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert again.pk == batch.pk and again.status == BatchStatus.REVIEWED and again.line_count == 1


def test_payment_stops_after_the_month_of_the_18th_birthday_read_from_the_id(kid, personas, settings):
    turned = ago(1)
    child = ChildFactory(
        name="孙大", division=kid.division, birth_date=dt.date(turned.year - 18, turned.month, 20)
    )
    assert child.id_number[6:14] == child.birth_date.strftime("%Y%m%d")
    enrol(child, start=ago(3))
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert max(batch.lines.values_list("month", flat=True)) == turned  # paid through the birthday month
    stop = PayrollStop.objects.get(batch=batch)
    assert stop.reason == StopReason.AGED_OUT
    enrolment = Enrolment.objects.get(child=child)
    assert (enrolment.end_month, enrolment.end_reason) == (turned, EndReason.AGED_OUT)


def test_the_age_limit_policy_can_stop_the_month_before_the_birthday(kid, personas, settings):
    settings.PAY_THROUGH_18TH_BIRTHDAY_MONTH = False
    turned = THIS_MONTH
    child = ChildFactory(
        name="孙二", division=kid.division, birth_date=dt.date(turned.year - 18, turned.month, 2)
    )
    enrol(child, start=ago(1))
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert list(batch.lines.values_list("month", flat=True)) == [ago(1)]


def test_an_archived_child_is_paid_through_the_archive_month_and_stopped_visibly(kid, personas):
    enrol(kid, start=ago(1))
    pay(personas, ago(1))
    child_archive(actor=personas.district_specialist, child=kid, reason="deceased")
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert list(batch.lines.values_list("month", flat=True)) == [THIS_MONTH]  # the archive month is paid
    Child.objects.filter(pk=kid.pk).update(archived_on=ago(1))
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert batch.line_count == 0
    assert PayrollStop.objects.get(batch=batch).reason == StopReason.ARCHIVED


def test_leaving_the_category_stops_payment(kid, personas):
    enrol(kid, start=ago(2))
    CategoryMembership.objects.filter(child=kid).update(end_date=ago(1) + dt.timedelta(days=9))
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert sorted(batch.lines.values_list("month", flat=True)) == [ago(2), ago(1)]
    assert PayrollStop.objects.get(batch=batch).reason == StopReason.CATEGORY_ENDED


def test_a_child_without_a_bank_account_is_held_visibly_not_dropped(kid, personas):
    enrol(kid, start=ago(1), account=False)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert batch.line_count == 0
    stop = PayrollStop.objects.get(batch=batch)
    assert stop.reason == StopReason.NO_ACCOUNT and "2" in stop.detail


def test_suspended_months_are_not_owed_and_are_shown(kid, personas):
    from carenet.benefits.enrolment import suspension_start

    enrolment = enrol(kid, start=ago(1))
    suspension_start(
        actor=personas.district_specialist, enrolment=enrolment, from_month=THIS_MONTH, reason="核查中"
    )
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert list(batch.lines.values_list("month", flat=True)) == [ago(1)]
    assert PayrollStop.objects.get(batch=batch).reason == StopReason.SUSPENDED


def test_a_standard_change_applies_only_from_its_month_forward(kid, personas):
    enrol(kid, start=THIS_MONTH)
    this = pay(personas, THIS_MONTH)
    with pytest.raises(CarenetError) as backdated:
        standard_set(
            actor=personas.city_admin,
            programme="basic_living",
            category="orphan_scattered",
            district_code="",
            amount="2300",
            valid_from=LAST_MONTH,
        )
    assert backdated.value.field == "valid_from"
    standard_set(
        actor=personas.city_admin,
        programme="basic_living",
        category="orphan_scattered",
        district_code="",
        amount="2300.00",
        valid_from=months.add(THIS_MONTH, 1),
    )
    assert this.lines.get().amount == Decimal("2100.00")  # what was paid stays as it was
    nxt = payroll_generate(
        actor=personas.district_finance, district_code=DISTRICT, month=months.add(THIS_MONTH, 1)
    )
    assert nxt.lines.get().amount == Decimal("2300.00")
    old = Standard.objects.get(programme="basic_living", category="orphan_scattered", valid_to__isnull=False)
    assert old.valid_to == THIS_MONTH


def test_a_district_standard_overrides_the_city_for_that_district_only(kid, personas, city):
    enrol(kid, start=THIS_MONTH)
    far = ChildFactory(name="周远", division=city.village_d)
    enrol(far, start=THIS_MONTH)
    batch = payroll_generate(actor=None, district_code="120101", month=THIS_MONTH, programme="holiday")
    assert batch.lines.get().amount == Decimal("600.00")  # 和平区 600 yuan
    here = payroll_generate(actor=None, district_code=DISTRICT, month=THIS_MONTH, programme="holiday")
    assert here.lines.get().amount == Decimal("500.00")


def test_a_failed_bank_payment_is_reissued_in_the_next_batch(kid, personas):
    enrol(kid, start=LAST_MONTH)
    batch = pay(personas, LAST_MONTH)
    PaymentLine.objects.filter(batch=batch).update(status=LineStatus.FAILED, failure_reason="账户已销户")
    nxt = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert sorted(nxt.lines.values_list("month", "kind")) == [
        (LAST_MONTH, LineKind.REISSUE),
        (THIS_MONTH, LineKind.REGULAR),
    ]


def test_a_move_to_another_district_pays_every_month_exactly_once(kid, personas, city):
    from carenet.tests_support.factories import UserFactory

    enrol(kid, start=ago(3))
    for n in (3, 2, 1):
        pay(personas, ago(n))
    child_update(actor=personas.city_admin, child=kid, division=city.village_d)  # moved this month
    old, new = Enrolment.objects.filter(child=kid).order_by("id")
    assert (old.end_month, old.end_reason) == (THIS_MONTH, EndReason.MOVED)
    assert (new.division_code, new.start_month) == (city.village_d.code, months.add(THIS_MONTH, 1))
    pay(personas, THIS_MONTH)  # the old district pays the move month
    other_finance = UserFactory(username="hp-finance", role="district_finance", division=city.other_district)
    nxt = months.add(THIS_MONTH, 1)
    here = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=nxt)
    assert here.line_count == 0 and PayrollStop.objects.get(batch=here).reason == StopReason.MOVED
    there = payroll_generate(actor=other_finance, district_code="120101", month=nxt)
    assert list(there.lines.values_list("month", flat=True)) == [nxt]
    proof = full_payment_proof(actor=None, division_code="12", first=ago(3), last=THIS_MONTH)
    assert (proof.child_months, proof.paid_ok, proof.gaps, proof.duplicates) == (4, 4, 0, 0)


def test_two_districts_cannot_both_pay_one_child_month(kid, personas, city):
    from carenet.tests_support.factories import UserFactory

    enrol(kid, start=THIS_MONTH)
    # A second, wrongly opened segment in another district for the same month (e.g. a late transfer).
    Enrolment.objects.filter(child=kid).update(end_month=THIS_MONTH)
    Enrolment.objects.create(
        child=kid,
        programme="basic_living",
        category="orphan_scattered",
        division_code=city.village_d.code,
        start_month=THIS_MONTH,
    )
    hp_finance = UserFactory(username="hp-fin", role="district_finance", division=city.other_district)
    hp_head = UserFactory(username="hp-head", role="district_specialist", division=city.other_district)
    theirs = payroll_generate(actor=hp_finance, district_code="120101", month=THIS_MONTH)
    assert theirs.line_count == 1
    pay(personas, THIS_MONTH)
    batch_review(actor=hp_finance, batch=theirs)
    with pytest.raises(CarenetError) as refused:
        batch_approve(actor=hp_head, batch=theirs)
    assert kid.name in refused.value.message
    theirs.refresh_from_db()
    assert theirs.status == BatchStatus.REVIEWED
    assert PaymentLine.objects.filter(child=kid, status=LineStatus.PAID).count() == 1


def test_approval_needs_a_second_person_of_the_paying_district(kid, personas, city):
    enrol(kid, start=THIS_MONTH)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    batch = batch_review(actor=personas.district_finance, batch=batch)
    for who in (personas.district_finance, personas.city_admin, personas.street_supervisor):
        with pytest.raises((PermissionDeniedError, PayrollBatch.DoesNotExist)):
            batch_approve(actor=who, batch=batch)
    with pytest.raises(PayrollBatch.DoesNotExist):
        batch_approve(actor=personas.other_district_specialist, batch=batch)
    assert batch_approve(actor=personas.district_specialist, batch=batch).status == BatchStatus.APPROVED


def test_only_the_districts_finance_generates_its_payroll(kid, personas):
    for who in (
        personas.district_specialist,
        personas.city_admin,
        personas.director_a,
        personas.other_district_specialist,
    ):
        with pytest.raises(PermissionDeniedError):
            payroll_generate(actor=who, district_code=DISTRICT, month=THIS_MONTH)
    assert not PayrollBatch.objects.exists()


def test_bad_generate_input_names_the_field(kid, personas):
    with pytest.raises(CarenetError) as unknown:
        payroll_generate(actor=None, district_code="999999", month=THIS_MONTH)
    assert unknown.value.field == "district"
    with pytest.raises(CarenetError) as ahead:
        payroll_generate(actor=None, district_code=DISTRICT, month=months.add(THIS_MONTH, 3))
    assert ahead.value.field == "month"
    with pytest.raises(CarenetError) as bad:
        months.parse("2026-13")
    assert bad.value.field == "month"


def _paid_ledger(kid, personas):  # type: ignore[no-untyped-def]
    enrol(kid, start=ago(3))
    for n in (3, 2, 1):
        pay(personas, ago(n))


def test_the_proof_is_clean_when_every_month_was_paid_once_rightly(kid, personas):
    _paid_ledger(kid, personas)
    out = io.StringIO()
    call_command(
        "payroll",
        "verify",
        "--district",
        DISTRICT,
        "--from",
        months.label(ago(3)),
        "--to",
        months.label(ago(1)),
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["child_months"] == 3 and result["paid_ok"] == 3
    assert (result["gaps"], result["duplicates"], result["wrong_amounts"]) == (0, 0, 0)


def test_the_proof_finds_a_planted_gap_duplicate_and_wrong_amount(kid, personas, city):
    _paid_ledger(kid, personas)
    second = ChildFactory(name="吴二", division=city.village_b)
    third = ChildFactory(name="郑三", division=city.village_c)
    for child in (second, third):
        enrol(child, start=ago(3))
    for n in (3, 2, 1):
        batch = PayrollBatch.objects.get(period=ago(n))
        PayrollBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DRAFT)
        batch.refresh_from_db()
        PaymentLine.objects.filter(batch=batch).delete()
        batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=ago(n))
        PaymentLine.objects.filter(batch=batch).update(status=LineStatus.PAID)
    # plant: a gap (kid, 2 months ago), a duplicate (second, last month) and a wrong amount (third, 3 months ago)
    PaymentLine.objects.filter(child=kid, month=ago(2)).delete()
    dup = PaymentLine.objects.get(child=second, month=ago(1))
    dup.pk = None
    dup.save()
    PaymentLine.objects.filter(child=third, month=ago(3)).update(amount=Decimal("2000.00"))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            "payroll",
            "verify",
            "--district",
            DISTRICT,
            "--from",
            months.label(ago(3)),
            "--to",
            months.label(ago(1)),
            "--findings",
            "10",
            stdout=out,
        )
    assert exited.value.code == 1
    head, *findings = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (head["child_months"], head["gaps"], head["duplicates"], head["wrong_amounts"]) == (9, 1, 1, 1)
    assert head["paid_ok"] == 6
    kinds = {(f["kind"], f["child"], f["month"]) for f in findings}
    assert kinds == {
        ("gap", kid.pk, months.label(ago(2))),
        ("duplicate", second.pk, months.label(ago(1))),
        ("wrong_amount", third.pk, months.label(ago(3))),
    }


def test_the_proof_counts_a_payment_nobody_owed(kid, personas):
    _paid_ledger(kid, personas)
    Enrolment.objects.filter(child=kid).update(start_month=ago(2))
    proof = full_payment_proof(actor=None, division_code=DISTRICT, first=ago(3), last=ago(1))
    assert (proof.unexpected, proof.paid_ok, proof.child_months) == (1, 2, 2)
    assert not proof.clean


def test_the_proof_is_refused_outside_the_callers_jurisdiction(kid, personas):
    from django.http import Http404

    with pytest.raises(Http404):
        full_payment_proof(
            actor=personas.other_district_specialist, division_code=DISTRICT, first=ago(1), last=ago(1)
        )
    with pytest.raises(PermissionDeniedError):
        full_payment_proof(actor=personas.charity, division_code=DISTRICT, first=ago(1), last=ago(1))


def test_money_is_exact_decimal_everywhere(kid, personas):
    float_fields = [
        f"{m.__name__}.{f.name}"
        for m in __import__("django.apps", fromlist=["apps"]).apps.get_app_config("benefits").get_models()
        for f in m._meta.fields
        if isinstance(f, models.FloatField)
    ]
    assert float_fields == []
    Standard.objects.filter(category="poor_family").update(amount=Decimal("0.10"))
    for name in ("甲", "乙", "丙"):
        enrol(ChildFactory(name=f"钱{name}", division=kid.division), category="poor_family", start=THIS_MONTH)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    batch.refresh_from_db()
    assert batch.total == Decimal("0.30") and str(batch.total) == "0.30"
    with pytest.raises(CarenetError):
        standard_set(
            actor=personas.city_admin,
            programme="basic_living",
            category="poor_family",
            district_code="",
            amount=0.1,
            valid_from=months.add(THIS_MONTH, 1),  # a float is refused
        )


def test_a_bank_return_with_a_failure_is_reissued_next_month_end_to_end(kid, personas):
    from openpyxl import Workbook

    from carenet.benefits.bankfiles import bank_file_write, bank_return_import

    second = ChildFactory(name="冯二", division=kid.division)
    for child in (kid, second):
        enrol(child, start=LAST_MONTH)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=LAST_MONTH)
    batch_review(actor=personas.district_finance, batch=batch)
    batch_approve(actor=personas.district_specialist, batch=batch)
    bank_file_write(actor=personas.district_finance, batch=batch)
    wb = Workbook()
    wb.active.append(["业务号", "金额", "结果", "原因"])
    for line in batch.lines.order_by("child_id"):
        failed = line.child_id == second.pk
        wb.active.append(
            [str(line.pk), "2100.00", "失败" if failed else "成功", "账户已冻结" if failed else ""]
        )
    data = io.BytesIO()
    wb.save(data)
    report = bank_return_import(actor=personas.district_finance, batch=batch, data=data.getvalue())
    assert (report.paid_count, report.failed_count, report.reconciled) == (1, 1, True)
    nxt = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert sorted(nxt.lines.values_list("child_id", "month", "kind")) == sorted(
        [
            (kid.pk, THIS_MONTH, LineKind.REGULAR),
            (second.pk, LAST_MONTH, LineKind.REISSUE),
            (second.pk, THIS_MONTH, LineKind.REGULAR),
        ]
    )
    proof = full_payment_proof(actor=None, division_code=DISTRICT, first=LAST_MONTH, last=LAST_MONTH)
    assert (proof.paid_ok, proof.gaps) == (1, 1)  # until the reissue is paid, the failed month is a gap


def test_two_memberships_meeting_inside_a_month_owe_that_month_once(kid, personas):
    enrolment = enrol(kid, start=ago(2))
    CategoryMembership.objects.filter(child=kid).update(end_date=ago(1))  # ends on the 1st…
    CategoryMembership.objects.create(
        child=kid,
        category="orphan_scattered",
        start_date=ago(1) + dt.timedelta(days=1),  # …and the next starts on the 2nd
        reason="test",
        approved_by=personas.city_admin,
    )
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    assert sorted(batch.lines.values_list("month", flat=True)) == [ago(2), ago(1), THIS_MONTH]
    assert enrolment.pk == batch.lines.first().enrolment_id
    proof = full_payment_proof(actor=None, division_code=DISTRICT, first=ago(2), last=THIS_MONTH)
    assert proof.child_months == 3
