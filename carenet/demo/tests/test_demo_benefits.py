"""The demo city's benefits: standards, enrolments, accounts, the paid history and the applications, read from
the small build (400 children), and the history checked against payroll itself."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from stdnum import luhn

from carenet.accounts.models import Division, DivisionLevel, Role, User
from carenet.benefits import months
from carenet.benefits.applications import application_approve
from carenet.benefits.models import (
    Application,
    ApplicationStatus,
    BankAccount,
    BatchStatus,
    Enrolment,
    LineKind,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    PayrollStop,
    Programme,
    Standard,
    StopReason,
)
from carenet.benefits.payroll import payroll_generate
from carenet.benefits.proof import GAP, full_payment_proof
from carenet.demo import benefits as demo_benefits
from carenet.demo import payments
from carenet.demo.staff import MAIN_DISTRICT as MAIN
from carenet.registry.models import CategoryMembership, ChildStatus, FamilyMember

pytestmark = pytest.mark.django_db

THIS = months.first(timezone.localdate())
LAST = months.add(THIS, -1)
YEAR_AGO = months.add(THIS, -12)
GO_LIVE = months.add(THIS, -demo_benefits.HISTORY_MONTHS)
S = ApplicationStatus


def districts() -> list[str]:
    return list(
        Division.objects.filter(level=DivisionLevel.DISTRICT).order_by("code").values_list("code", flat=True)
    )


def test_the_city_standards_start_at_go_live_and_the_allowance_was_raised_a_year_ago(demo: str) -> None:
    rows = {
        (s.programme, s.category, s.district_code, s.valid_from, s.valid_to): s.amount
        for s in Standard.objects.all()
    }
    before = months.add(YEAR_AGO, -1)
    assert rows[("basic_living", "orphan_scattered", "", GO_LIVE, before)] == Decimal("2000.00")
    assert rows[("basic_living", "orphan_scattered", "", YEAR_AGO, None)] == Decimal("2100.00")
    assert rows[("basic_living", "orphan_institutional", "", YEAR_AGO, None)] == Decimal("2600.00")
    assert rows[("basic_living", "poor_family", "", GO_LIVE, before)] == Decimal("1100.00")
    assert rows[("basic_living", "poor_family", "", YEAR_AGO, None)] == Decimal("1200.00")
    heping = Division.objects.get(level=DivisionLevel.DISTRICT, name="和平区").code
    assert rows[("holiday", "", heping, GO_LIVE, None)] == Decimal("600.00")
    assert rows[("holiday", "", "", GO_LIVE, None)] == Decimal("500.00")
    yearly_from = GO_LIVE.replace(month=1)
    assert rows[("medical_premium", "", "", yearly_from, None)] == Decimal("380.00")
    assert rows[("education_grant", "", "", yearly_from, None)] == Decimal("5000.00")
    assert len(rows) == 10  # de-facto unsupported children are paid at the scattered-orphan standard: no row


def test_every_child_in_a_paid_category_is_enrolled_and_orphans_get_the_premium_subsidy(demo: str) -> None:
    rank = demo_benefits.PRIORITY
    wanted: dict[int, str] = {}
    for child_id, category in CategoryMembership.objects.filter(
        end_date=None, child__status=ChildStatus.ACTIVE, category__in=list(rank)
    ).values_list("child_id", "category"):
        if child_id not in wanted or rank[category] < rank[wanted[child_id]]:
            wanted[child_id] = category
    assert any(c in demo_benefits.ORPHANS for c in wanted.values())
    open_basic = {
        e.child_id: e
        for e in Enrolment.objects.filter(programme="basic_living", end_month=None).select_related("child")
    }
    assert set(open_basic) == set(wanted)
    for child_id, category in wanted.items():
        e = open_basic[child_id]
        assert (e.category, e.division_code) == (category, e.child.division_code)
        assert e.start_month >= GO_LIVE and e.start_month.day == 1
    premium = set(
        Enrolment.objects.filter(programme="medical_premium", end_month=None).values_list(
            "child_id", flat=True
        )
    )
    assert premium == {c for c, cat in wanted.items() if cat in demo_benefits.ORPHANS}
    # never two basic-allowance enrolments of one child over the same month
    spans = defaultdict(list)
    for child_id, start, end in Enrolment.objects.filter(programme="basic_living").values_list(
        "child_id", "start_month", "end_month"
    ):
        spans[child_id].append((start, end or dt.date.max))
    for child_spans in spans.values():
        child_spans.sort()
        assert all(a[1] < b[0] for a, b in zip(child_spans, child_spans[1:], strict=False))


def test_bank_accounts_are_encrypted_and_look_like_bank_cards(demo: str) -> None:
    accounts = list(BankAccount.objects.select_related("child"))
    enrolled = set(Enrolment.objects.filter(programme="basic_living").values_list("child_id", flat=True))
    active = {a.child_id for a in accounts if a.active}
    assert len(active) / len(enrolled) > 0.9
    guardians: dict[int, str] = {}
    for child_id, name in (
        FamilyMember.objects.filter(is_guardian=True).order_by("-id").values_list("child_id", "name")
    ):
        guardians[child_id] = name
    for account in accounts:
        number = account.number
        # The raw column holds no part of the number (random ciphertext may hold digits; not these eight).
        assert number[:8] not in account.account_enc and number[-8:] not in account.account_enc
        assert 16 <= len(number) <= 19 and number.isdigit() and luhn.is_valid(number)
        assert account.account_last4 == number[-4:]
        assert account.holder_name == guardians.get(account.child_id, account.child.name)
        assert account.created_by.username == f"finance-{account.child.division_code[:6]}"


def test_the_history_is_paid_in_full_except_what_jinnan_owes_now(demo: str) -> None:
    """Every district's last twelve months are proven paid, exactly; 津南区's gaps are exactly the late
    approvals' arrears and last month's failed payments, which this month's batch pays."""
    for code in districts():
        if code == MAIN:
            continue
        proof = full_payment_proof(actor=None, division_code=code, first=YEAR_AGO, last=LAST)
        assert proof.clean, (code, proof.as_dict())
    owed = set()
    for child_id, effective in Application.objects.filter(
        status=S.APPROVED, division_code__startswith=MAIN
    ).values_list("child_id", "effective_month"):
        owed |= {(child_id, m) for m in months.span(effective, LAST)}
    failed = PaymentLine.objects.filter(district_code=MAIN, month=LAST, status=LineStatus.FAILED)
    owed |= set(failed.values_list("child_id", "month"))
    assert owed and failed.exists()
    proof = full_payment_proof(actor=None, division_code=MAIN, first=YEAR_AGO, last=LAST, limit=10_000)
    assert (proof.duplicates, proof.wrong_amounts, proof.unexpected) == (0, 0, 0)
    assert {(f.child_id, f.month) for f in proof.findings if f.kind == GAP} == owed
    whole = full_payment_proof(actor=None, division_code="12", first=GO_LIVE, last=LAST)
    assert (whole.gaps, whole.duplicates, whole.wrong_amounts, whole.unexpected) == (len(owed), 0, 0, 0)
    assert whole.pending > 0  # 滨海新区's last batch waits for the bank


def test_batches_were_prepared_and_approved_by_two_people_and_add_up(demo: str) -> None:
    now = timezone.now()
    sums = _line_sums()
    batches = list(PayrollBatch.objects.all())
    assert not any(b.period >= THIS for b in batches if b.programme == Programme.BASIC_LIVING)
    for b in batches:
        count, children, total = sums[b.pk]
        assert (b.line_count, b.beneficiaries, b.total) == (count, children, total)
        assert b.generated_by.username == b.reviewed_by.username == f"finance-{b.district_code}"
        assert b.approved_by.username == f"district-{b.district_code}"
        assert b.generated_at < b.reviewed_at < b.approved_at < b.exported_at <= now
        if b.status == BatchStatus.RECONCILED:
            assert b.exported_at < b.reconciled_at <= now
    exported = [b for b in batches if b.status == BatchStatus.EXPORTED]
    assert [(b.district_code, b.programme, b.period) for b in exported] == [
        (payments.EXPORTED_DISTRICT, "basic_living", LAST)
    ]
    months_paid = Counter(
        b.period for b in batches if b.programme == Programme.BASIC_LIVING and b.district_code == MAIN
    )
    assert sorted(months_paid) == months.span(GO_LIVE, LAST)
    assert PayrollBatch.objects.filter(programme="holiday", district_code="120101").exists()


def _line_sums() -> dict[int, tuple[int, int, Decimal]]:
    lines: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for batch_id, child_id, amount in PaymentLine.objects.values_list("batch_id", "child_id", "amount"):
        lines[batch_id].append((child_id, amount))
    return {
        pk: (len(rows), len({c for c, _a in rows}), sum((a for _c, a in rows), Decimal("0.00")))
        for pk, rows in lines.items()
    }


def _ledger(district: str, programme: str) -> dict[dt.date, dict[tuple[int, dt.date, Decimal, str], str]]:
    out: dict[dt.date, dict[tuple[int, dt.date, Decimal, str], str]] = defaultdict(dict)
    for period, child_id, month, amount, kind, status in PaymentLine.objects.filter(
        district_code=district, programme=programme
    ).values_list("batch__period", "child_id", "month", "amount", "kind", "status"):
        out[period][(child_id, month, Decimal(amount), kind)] = status
    return out


@pytest.mark.parametrize("which", ["busiest", "main"])
def test_payroll_itself_generates_exactly_the_demos_history(demo: str, which: str) -> None:
    """Regenerate a district's two years (and its premiums and grants) with payroll_generate, month after
    month, the bank's answers replayed: the same child-months at the same amounts, arrears and reissues.
    In 津南区 the late approvals are set aside (they were approved after these batches) and last month's
    closed accounts count as open (they were when the money was sent)."""
    busiest = Counter(PaymentLine.objects.exclude(district_code=MAIN).values_list("district_code", flat=True))
    district = MAIN if which == "main" else busiest.most_common(1)[0][0]
    plan = [(Programme.BASIC_LIVING, p) for p in months.span(GO_LIVE, LAST)]
    plan += [(Programme.HOLIDAY, p) for p in months.span(GO_LIVE, LAST) if p.month == 1]
    plan += [(Programme.MEDICAL_PREMIUM, dt.date(y, 1, 1)) for y in range(GO_LIVE.year, THIS.year + 1)]
    ledgers = {programme: _ledger(district, programme) for programme, _p in plan}
    failures = sum(
        s == LineStatus.FAILED for periods in ledgers.values() for p in periods.values() for s in p.values()
    )
    assert failures or which == "busiest"
    with transaction.atomic():
        Enrolment.objects.filter(division_code__startswith=district, application__isnull=False).delete()
        closed = BankAccount.objects.filter(child__division_code__startswith=district)
        closed.exclude(child_id__in=closed.filter(active=True).values("child_id")).update(active=True)
        PaymentLine.objects.filter(district_code=district).delete()
        PayrollBatch.objects.filter(district_code=district).delete()
        for programme, period in plan:
            batch = payroll_generate(actor=None, district_code=district, month=period, programme=programme)
            got = set(batch.lines.values_list("child_id", "month", "amount", "kind"))
            want = ledgers[programme].get(period, {})
            assert {(c, m, Decimal(a), k) for c, m, a, k in got} == set(want), (programme, period)
            batch.lines.update(status=LineStatus.PAID)
            for (child_id, month, _amount, kind), status in want.items():
                if status == LineStatus.FAILED:
                    batch.lines.filter(child_id=child_id, month=month, kind=kind).update(status=status)
        transaction.set_rollback(True)


def test_this_months_batch_in_jinnan_pays_arrears_and_reissues_and_holds_who_has_no_account(
    demo: str,
) -> None:
    late = dict(
        Application.objects.filter(status=S.APPROVED, division_code__startswith=MAIN).values_list(
            "child_id", "effective_month"
        )
    )
    failed = set(
        PaymentLine.objects.filter(district_code=MAIN, month=LAST, status=LineStatus.FAILED).values_list(
            "child_id", flat=True
        )
    )
    with_account = set(BankAccount.objects.filter(active=True).values_list("child_id", flat=True))
    with transaction.atomic():
        batch = payroll_generate(actor=None, district_code=MAIN, month=THIS)
        lines = list(batch.lines.values_list("child_id", "month", "kind"))
        arrears = {(c, m) for c, m, k in lines if k == LineKind.ARREARS}
        assert arrears == {
            (c, m) for c, start in late.items() if c in with_account for m in months.span(start, LAST)
        }
        reissued = {(c, m) for c, m, k in lines if k == LineKind.REISSUE}
        assert reissued == {(c, LAST) for c in failed if c in with_account}
        assert all(m == THIS for _c, m, k in lines if k == LineKind.REGULAR)
        held = set(
            PayrollStop.objects.filter(batch=batch, reason=StopReason.NO_ACCOUNT).values_list(
                "child_id", flat=True
            )
        )
        assert (set(late) | failed) - with_account <= held
        transaction.set_rollback(True)


def test_applications_wait_at_every_step_with_their_evidence_and_timeline(demo: str) -> None:
    applications = list(Application.objects.select_related("child", "filed_by"))
    assert {a.status for a in applications} == set(S.values)
    assert all(
        a.division_code.startswith(MAIN) and a.division_code == a.child.division_code for a in applications
    )
    level = {"village": 12, "street": 9, "district": 6}
    now = timezone.now()
    for a in applications:
        steps = list(a.steps.order_by("at", "id").select_related("actor"))
        assert steps[0].action == "file" and steps[0].actor == a.filed_by
        assert a.filed_by.username == f"village-{a.division_code}"
        assert steps[-1].to_status == a.status and all(s.at <= now for s in steps)
        assert all(x.to_status == y.from_status for x, y in zip(steps, steps[1:], strict=False))
        for s in steps:
            kind, _, code = s.actor.username.partition("-")
            assert a.division_code.startswith(code) and len(code) == level[kind]
        assert a.evidence.exists()
        assert (a.decided_at is not None) == (a.status in (S.APPROVED, S.REJECTED))
        if a.status == S.APPROVED:
            membership = CategoryMembership.objects.get(child=a.child, category=a.category, end_date=None)
            assert membership.start_date == a.effective_month < LAST
            assert membership.approved_by.username == f"district-{a.division_code[:6]}"
            enrolment = Enrolment.objects.get(application=a)
            assert (enrolment.start_month, enrolment.end_month) == (a.effective_month, None)
            assert not PaymentLine.objects.filter(child=a.child).exists()


def test_the_specialist_approves_a_waiting_application_through_the_service(demo: str) -> None:
    waiting = Application.objects.filter(status=S.REVIEWED, kind="open").order_by("id").first()
    assert waiting is not None
    specialist = User.objects.get(username=f"district-{waiting.division_code[:6]}")
    with transaction.atomic():
        application_approve(actor=specialist, application=waiting)
        assert Enrolment.objects.filter(application=waiting, programme="basic_living").exists()
        transaction.set_rollback(True)


def test_every_district_has_a_finance_officer_and_demo_accounts_names_jinnans(demo: str) -> None:
    for code in districts():
        user = User.objects.select_related("division", "organisation").get(username=f"finance-{code}")
        assert (user.role, user.division.code) == (Role.DISTRICT_FINANCE, code)
        assert user.organisation is not None and user.organisation.division_id == user.division_id
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    assert "finance-120112" in out.getvalue() and "finance-<6" in out.getvalue()
    assert "benefits: enrolments" in demo


def test_card_numbers_are_deterministic_for_a_seed() -> None:
    rng, again = random.Random(3), random.Random(3)
    first = [payments.card_number(rng) for _ in range(20)]
    assert first == [payments.card_number(again) for _ in range(20)]
    assert all(luhn.is_valid(number) and 16 <= len(number) <= 19 for _bank, number in first)
