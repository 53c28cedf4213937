"""Payroll batches: generating a district's batch for a period, and moving it draft → reviewed → approved.

What a batch pays is computed from facts, never typed in: every enrolment of the district, each month it is
payable (the category membership covers it, the child is under the age limit and not archived, no suspension
is running), minus the months already paid by any district (money approved, sent or paid), at the standard in
force for the month owed. Earlier months still owed are arrears; months whose payment the bank returned as
failed are reissued. A child enrolled but not paid for the period appears as a stop with its reason.

Export and the bank's return file are in bankfiles.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import Division, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.benefits import months
from carenet.benefits.facts import (
    Facts,
    as_date,
    chunked_values,
    district_enrolments,
    load_facts,
    paid_ranges,
    paid_units,
    subtract,
)
from carenet.benefits.models import (
    LIVE_STATUSES,
    PROGRAMMES,
    BankAccount,
    BatchStatus,
    EndReason,
    Enrolment,
    LineKind,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    PayrollStop,
    Periodicity,
    Programme,
    StopReason,
)
from carenet.benefits.standards import StandardTable
from carenet.core.errors import CarenetError, PermissionDeniedError

CENT = Decimal("0.01")


# ---------------------------------------------------------------- who may act


def _district_of(actor: User) -> str:
    return actor.division.code if actor.division_id and len(actor.division.code) == 6 else ""


def _require(actor: User | None, perm: Perm, district_code: str) -> None:
    """Payroll is the paying district's own business: the right permission AND a seat in that district.
    `actor` None is the operator at the command line (`carenet payroll generate`)."""
    if actor is None:
        return
    if not has_perm(actor, perm):
        raise PermissionDeniedError(_("Your role may not do this."))
    if _district_of(actor) != district_code:
        raise PermissionDeniedError(_("Only the district's own staff handle its payroll."))


def _log(actor: User | None, batch: PayrollBatch, action: str, changes: dict) -> None:
    events.change_recorded(
        actor=actor,
        entity="payroll_batch",
        entity_id=batch.pk,
        child_id=None,
        division_code=batch.district_code,
        action=action,
        changes=changes,
    )


# ---------------------------------------------------------------- planning a batch


@dataclass
class Plan:
    lines: list[tuple] = field(default_factory=list)  # type: ignore[type-arg]  # LINE_COLUMNS order
    stops: list[PayrollStop] = field(default_factory=list)
    ended: list[tuple[int, int, StopReason]] = field(default_factory=list)  # (enrolment, last month, reason)
    stopped: set[int] = field(
        default_factory=set
    )  # enrolments with a stop (one each: the first reason found)


def _plan_enrolments(
    batch: PayrollBatch, programme: str, horizon: dt.date, actor: User | None
) -> tuple[dict[int, Facts], Plan, QuerySet]:  # type: ignore[type-arg]
    """The district's facts, and its children as a subquery for the other reads."""
    enrolments = district_enrolments(batch.district_code, programme, horizon, actor)
    facts = load_facts(enrolments, PROGRAMMES[programme].categories)
    return facts, Plan(), enrolments.values("child_id")


def plan_batch(batch: PayrollBatch, actor: User | None = None) -> Plan:
    spec = PROGRAMMES[batch.programme]
    if spec.periodicity == Periodicity.CAMPAIGN:
        return _plan_campaign(batch, actor)
    if spec.periodicity == Periodicity.YEARLY:
        return _plan_yearly(batch, actor)
    return _plan_monthly(batch, actor)


def _accounts(child_ids: list[int] | QuerySet) -> set[int]:  # type: ignore[type-arg]
    qs = BankAccount.objects.filter(active=True)
    return {row[0] for row in chunked_values(qs, "child_id", child_ids, ("child_id",))}


def _plan_monthly(batch: PayrollBatch, actor: User | None) -> Plan:
    period = batch.period
    p = months.index(period)
    facts, plan, child_ids = _plan_enrolments(batch, batch.programme, period, actor)
    table = StandardTable(batch.programme)
    ranges = paid_ranges(batch.district_code, batch.programme, period)
    failed = paid_units(batch.programme, child_ids, period, [LineStatus.FAILED])
    irregular = [
        f.child_id for pk, f in facts.items() if pk in ranges and ranges[pk][0] != _width(ranges[pk])
    ]
    exact = paid_units(batch.programme, irregular, period, LIVE_STATUSES)
    has_account = _accounts(child_ids) if PROGRAMMES[batch.programme].needs_account else None
    for f in facts.values():
        spans = f.payable(p)
        if f.id in ranges and f.child_id not in exact:
            _count, first, last = ranges[f.id]
            owed = _expand(subtract(spans, months.index(first), months.index(last)))
        else:
            owed = [m for m in _expand(spans) if m not in exact.get(f.child_id, ())]
        _add_lines(plan, batch, f, owed, p, table, failed, has_account)
        if not any(a <= p <= b for a, b in spans):
            _add_stop(plan, batch, f, p)
    return plan


def _width(r: tuple[int, dt.date, dt.date]) -> int:
    return months.index(r[2]) - months.index(r[1]) + 1


def _expand(spans: list[tuple[int, int]]) -> list[int]:
    return [m for a, b in spans for m in range(a, b + 1)]


def _add_lines(
    plan: Plan,
    batch: PayrollBatch,
    f: Facts,
    owed: list[int],
    period_index: int,
    table: StandardTable,
    failed: dict[int, set[int]],
    has_account: set[int] | None,
) -> None:
    if not owed:
        return
    if has_account is not None and f.child_id not in has_account:
        _stop(
            plan,
            batch,
            f,
            StopReason.NO_ACCOUNT,
            _("%(n)s month(s) owed, held until an account is recorded") % {"n": len(owed)},
        )
        return
    for m in owed:
        amount = table.amount(f.category, batch.district_code, m)
        if amount is None:
            _stop(plan, batch, f, StopReason.NO_STANDARD, months.label(months.from_index(m)))
            continue
        kind = LineKind.REGULAR
        if m < period_index:
            kind = LineKind.REISSUE if m in failed.get(f.child_id, ()) else LineKind.ARREARS
        plan.lines.append(
            (
                batch.pk,
                f.child_id,
                f.id,
                batch.programme,
                f.category,
                months.from_index(m),
                amount,
                kind.value,
                LineStatus.DRAFT.value,
                batch.district_code,
                f.division_code,
            )
        )


def _stop(plan: Plan, batch: PayrollBatch, f: Facts, reason: StopReason, detail: str = "") -> None:
    if f.id in plan.stopped:
        return
    plan.stopped.add(f.id)
    plan.stops.append(
        PayrollStop(
            batch=batch,
            child_id=f.child_id,
            enrolment_id=f.id,
            reason=reason,
            detail=detail[:200],
            division_code=f.division_code,
        )
    )


def _add_stop(plan: Plan, batch: PayrollBatch, f: Facts, p: int) -> None:
    """An enrolment not payable for the period: shown when the stop is new (it was payable last month, or is
    still open); a lasting stop also ends the enrolment, so next month it is no longer listed."""
    if f.end is not None and f.end < p:
        if f.end == p - 1:  # ended last month: say why this month has no line
            reason = StopReason.MOVED if f.end_reason == EndReason.MOVED else StopReason.ENDED
            _stop(plan, batch, f, reason, f.end_reason)
        return
    if f.start > p:
        return
    reason, last = f.stop_reason(p)
    detail = months.label(months.from_index(last)) if last is not None and last >= 0 else ""
    _stop(plan, batch, f, reason, detail)
    if reason in (StopReason.AGED_OUT, StopReason.ARCHIVED, StopReason.CATEGORY_ENDED) and last is not None:
        plan.ended.append((f.id, max(last, f.start), reason))


def _plan_yearly(batch: PayrollBatch, actor: User | None) -> Plan:
    """One payment per child and year, owed when the enrolment is payable in any month of the year; earlier
    years never paid are arrears."""
    year_first = months.index(batch.period)
    horizon = months.add(batch.period, 11)
    facts, plan, child_ids = _plan_enrolments(batch, batch.programme, horizon, actor)
    table = StandardTable(batch.programme)
    paid = paid_units(batch.programme, child_ids, batch.period, LIVE_STATUSES)
    failed = paid_units(batch.programme, child_ids, batch.period, [LineStatus.FAILED])
    has_account = _accounts(child_ids) if PROGRAMMES[batch.programme].needs_account else None
    for f in facts.values():
        spans = f.payable(months.index(horizon))
        years = sorted({m - m % 12 for m in _expand(spans)})
        owed = [y for y in years if y not in paid.get(f.child_id, ())]
        _add_lines(plan, batch, f, owed, year_first, table, failed, has_account)
        if year_first not in years and (f.end is None or f.end >= year_first) and f.start <= year_first + 11:
            reason, _last = f.stop_reason(year_first)
            _stop(plan, batch, f, reason)
    return plan


def _plan_campaign(batch: PayrollBatch, actor: User | None) -> Plan:
    """A fixed amount for every child the basic allowance pays this month in the district (e.g. 和平区 600
    yuan at the Spring Festival); nothing owed from earlier campaigns."""
    p = months.index(batch.period)
    via = PROGRAMMES[batch.programme].via or Programme.BASIC_LIVING
    facts, plan, child_ids = _plan_enrolments(batch, via, batch.period, actor)
    table = StandardTable(batch.programme)
    paid = paid_units(batch.programme, child_ids, batch.period, LIVE_STATUSES)
    has_account = _accounts(child_ids)
    seen: set[int] = set()
    for f in facts.values():
        payable = any(a <= p <= b for a, b in f.payable(p))
        if not payable or f.child_id in seen or p in paid.get(f.child_id, ()):
            continue
        seen.add(f.child_id)
        _add_lines(plan, batch, f, [p], p, table, {}, has_account)
    return plan


# ---------------------------------------------------------------- services


def _batch_for(district_code: str, programme: str, period: dt.date, title: str) -> PayrollBatch:
    """The one batch of (district, programme, period): found, or created exactly once even when two
    generate at the same time (the unique constraint decides; the loser reads the winner's row)."""
    try:
        with transaction.atomic():
            batch, _created = PayrollBatch.objects.get_or_create(
                district_code=district_code, programme=programme, period=period, defaults={"title": title}
            )
    except IntegrityError:
        batch = PayrollBatch.objects.get(district_code=district_code, programme=programme, period=period)
    return PayrollBatch.objects.select_for_update().get(pk=batch.pk)


def normalise_period(programme: str, month: dt.date) -> dt.date:
    month = months.first(month)
    if PROGRAMMES[programme].periodicity == Periodicity.YEARLY:
        return month.replace(month=1)
    return month


@transaction.atomic
def payroll_generate(
    *,
    actor: User | None,
    district_code: str,
    month: dt.date,
    programme: str = Programme.BASIC_LIVING,
    title: str = "",
) -> PayrollBatch:
    """Create (or find) the district's batch for the period. A draft is recomputed from the facts (late
    approvals get in); a batch past draft is returned as it is. Either way it is the same batch."""
    if programme not in Programme.values:
        raise CarenetError(_("Unknown programme."), field="programme")
    district = Division.objects.filter(code=district_code, level="district").first()
    if district is None:
        raise CarenetError(
            _("No district has the code %(code)s.") % {"code": district_code}, field="district"
        )
    _require(actor, Perm.PAYROLL_PREPARE, district_code)
    period = normalise_period(programme, month)
    if period > months.add(months.first(timezone.localdate()), 1):
        raise CarenetError(_("Payroll can be prepared at most one month ahead."), field="month")
    batch = _batch_for(district_code, programme, period, title)
    if batch.status != BatchStatus.DRAFT:
        return batch
    PaymentLine.objects.filter(batch=batch).delete()  # draft lines are a proposal, not payments
    PayrollStop.objects.filter(batch=batch).delete()
    plan = plan_batch(batch, actor)
    _insert_lines(plan.lines)
    PayrollStop.objects.bulk_create(plan.stops, batch_size=5000)
    _end_stopped(actor, batch, plan.ended)
    _set_totals(batch, plan.lines)
    batch.generated_by, batch.generated_at = actor, timezone.now()
    if title:
        batch.title = title[:100]
    batch.save()
    _log(
        actor,
        batch,
        "generate",
        {
            "beneficiaries": [None, batch.beneficiaries],
            "lines": [None, batch.line_count],
            "total": [None, str(batch.total)],
            "stops": [None, len(plan.stops)],
        },
    )
    return batch


def _end_stopped(actor: User | None, batch: PayrollBatch, ended: list[tuple[int, int, StopReason]]) -> None:
    """Lasting stops (18, archived, category left) end the enrolment at its last payable month, so the child's
    page says so and later batches no longer list it. In bulk: a run may find thousands (the first run after a
    migration). An enrolment this district already paid past that month is left open: the proof lists those
    months, and the stop stays visible."""
    reasons = {
        StopReason.AGED_OUT: EndReason.AGED_OUT,
        StopReason.ARCHIVED: EndReason.ARCHIVED,
        StopReason.CATEGORY_ENDED: EndReason.CATEGORY_ENDED,
    }
    last_of = {pk: (last, reason) for pk, last, reason in ended}
    paid_through = dict(
        PaymentLine.objects.filter(
            enrolment_id__in=list(last_of), status__in=LIVE_STATUSES, district_code=batch.district_code
        )
        .values_list("enrolment_id")
        .annotate(top=Max("month"))
        .order_by()
    )
    groups: dict[tuple[int, StopReason], list[int]] = defaultdict(list)
    for pk, (last, reason) in last_of.items():
        top = paid_through.get(pk)
        if top is None or months.index(as_date(top)) <= last:
            groups[(last, reason)].append(pk)
    audit = []
    for (last, reason), pks in groups.items():
        month = months.from_index(last)
        open_pks = list(
            Enrolment.objects.filter(pk__in=pks, end_month__isnull=True).values_list(
                "pk", "child_id", "division_code"
            )
        )
        Enrolment.objects.filter(pk__in=[p for p, _c, _d in open_pks]).update(
            end_month=month, end_reason=reasons[reason]
        )
        audit += [
            (
                pk,
                child_id,
                code,
                {"end_month": [None, months.label(month)], "end_reason": ["", reasons[reason].value]},
            )
            for pk, child_id, code in open_pks
        ]
    events.changes_recorded(actor=actor, entity="enrolment", action="update", rows=audit)


def _insert_lines(lines: list[tuple]) -> None:  # type: ignore[type-arg]
    """A district's lines (tuples in LINE_COLUMNS order) in one go: COPY on PostgreSQL, executemany
    elsewhere (bulk_create spent seconds building model instances and SQL for 100,000 rows)."""
    from carenet.core.bulk import TableLoader

    loader = TableLoader(PaymentLine, LINE_COLUMNS, batch_size=50_000)
    loader.extend(lines)
    loader.flush()


LINE_COLUMNS = (
    "batch_id",
    "child_id",
    "enrolment_id",
    "programme",
    "category",
    "month",
    "amount",
    "kind",
    "status",
    "district_code",
    "division_code",
)


def _set_totals(batch: PayrollBatch, lines: list[tuple]) -> None:  # type: ignore[type-arg]
    batch.line_count = len(lines)
    batch.beneficiaries = len({line[1] for line in lines})
    batch.total = sum((line[6] for line in lines), Decimal("0.00"))


def _locked(actor: User, batch: PayrollBatch, perm: Perm, expected: Iterable[str]) -> PayrollBatch:
    batch = scope(actor, PayrollBatch.objects.select_for_update()).get(pk=batch.pk)
    _require(actor, perm, batch.district_code)
    if batch.status not in expected:
        raise CarenetError(
            _("The batch is %(status)s; this step is not possible now.")
            % {"status": batch.get_status_display()}
        )
    return batch


@transaction.atomic
def batch_review(*, actor: User, batch: PayrollBatch) -> PayrollBatch:
    batch = _locked(actor, batch, Perm.PAYROLL_PREPARE, [BatchStatus.DRAFT])
    if batch.line_count == 0:
        raise CarenetError(_("The batch has no payments."))
    batch.status, batch.reviewed_by, batch.reviewed_at = BatchStatus.REVIEWED, actor, timezone.now()
    batch.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    _log(actor, batch, "review", {"status": [BatchStatus.DRAFT, BatchStatus.REVIEWED]})
    return batch


@transaction.atomic
def batch_return(*, actor: User, batch: PayrollBatch, comment: str) -> PayrollBatch:
    """The approver sends a reviewed batch back to draft (it can then be regenerated)."""
    batch = _locked(actor, batch, Perm.PAYROLL_APPROVE, [BatchStatus.REVIEWED])
    if not comment.strip():
        raise CarenetError(_("Say why the batch is sent back."), field="comment")
    batch.status, batch.reviewed_by, batch.reviewed_at = BatchStatus.DRAFT, None, None
    batch.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    _log(
        actor,
        batch,
        "return",
        {"status": [BatchStatus.REVIEWED, BatchStatus.DRAFT], "comment": [None, comment]},
    )
    return batch


def conflicts(batch: PayrollBatch, limit: int = 20) -> list[PaymentLine]:
    """Lines of `batch` whose child-month another batch has already paid (or approved)."""
    other = PaymentLine.objects.filter(
        child_id=OuterRef("child_id"),
        programme=OuterRef("programme"),
        month=OuterRef("month"),
        status__in=LIVE_STATUSES,
    ).exclude(batch_id=batch.pk)
    return list(
        PaymentLine.objects.filter(batch=batch, status=LineStatus.DRAFT)
        .filter(Exists(other))
        .select_related("child")
        .order_by("child_id", "month")[:limit]
    )


def _serialise_approvals() -> None:
    """Two districts approving at once must not both pay one child-month: approvals queue on one lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x5041_5952])  # "PAYR"


@transaction.atomic
def batch_approve(*, actor: User, batch: PayrollBatch) -> PayrollBatch:
    _serialise_approvals()
    batch = _locked(actor, batch, Perm.PAYROLL_APPROVE, [BatchStatus.REVIEWED])
    if actor.pk in (batch.reviewed_by_id, batch.generated_by_id):
        raise PermissionDeniedError(
            _("A batch is approved by someone other than the person who prepared it.")
        )
    clashes = conflicts(batch)
    if clashes:
        named = "；".join(
            _("%(name)s %(month)s (batch of %(district)s)")
            % {"name": line.child.name, "month": months.label(line.month), "district": _paying_district(line)}
            for line in clashes[:5]
        )
        raise CarenetError(
            _(
                "%(n)s payment(s) in this batch are already paid by another batch: %(list)s. Regenerate the batch or settle it with that district first."
            )
            % {"n": len(clashes), "list": named}
        )
    PaymentLine.objects.filter(batch=batch, status=LineStatus.DRAFT).update(status=LineStatus.APPROVED)
    batch.status, batch.approved_by, batch.approved_at = BatchStatus.APPROVED, actor, timezone.now()
    batch.save(update_fields=["status", "approved_by", "approved_at"])
    _log(
        actor,
        batch,
        "approve",
        {"status": [BatchStatus.REVIEWED, BatchStatus.APPROVED], "total": [None, str(batch.total)]},
    )
    return batch


def _paying_district(line: PaymentLine) -> str:
    other = (
        PaymentLine.objects.filter(
            child_id=line.child_id, programme=line.programme, month=line.month, status__in=LIVE_STATUSES
        )
        .exclude(batch_id=line.batch_id)
        .values_list("district_code", flat=True)
        .first()
    )
    division = Division.objects.filter(code=other).first()
    return division.name if division else (other or "")


def batch_summary(batch: PayrollBatch) -> dict[str, object]:
    """What `carenet payroll generate` prints and the batch page heads with."""
    by_kind = dict(
        PaymentLine.objects.filter(batch=batch).values_list("kind").annotate(total=Sum("amount")).order_by()
    )
    return {
        "batch": batch.pk,
        "district": batch.district_code,
        "programme": batch.programme,
        "period": months.label(batch.period),
        "status": batch.status,
        "beneficiaries": batch.beneficiaries,
        "lines": batch.line_count,
        "total": str(batch.total),
        "arrears": str(Decimal(by_kind.get(LineKind.ARREARS) or 0).quantize(CENT)),
        "reissued": str(Decimal(by_kind.get(LineKind.REISSUE) or 0).quantize(CENT)),
        "stops": PayrollStop.objects.filter(batch=batch).count(),
    }
