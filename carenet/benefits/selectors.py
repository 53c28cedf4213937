"""Reads for the benefits pages: payroll batches and their lines and stops, a child's benefits, the ledger's
totals. Every function takes the acting user and starts from scope(): a batch is seen by its district and the
city only, lines and stops by whoever sees the village they are filed under."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import BigIntegerField, Count, F, Prefetch, QuerySet, Sum
from django.db.models.functions import Cast, Round

from carenet.accounts.jurisdiction import get_scoped_or_404, scope, under
from carenet.accounts.models import Division, User
from carenet.benefits import months
from carenet.benefits.models import (
    LIVE_STATUSES,
    BankAccount,
    Enrolment,
    PaymentLine,
    PayrollBatch,
    PayrollStop,
    Suspension,
)
from carenet.registry.models import Child

CENT = Decimal("0.01")


# ---------------------------------------------------------------- batches


@dataclass(frozen=True)
class BatchFilters:
    programme: str = ""
    period: dt.date | None = None
    status: str = ""
    district_code: str = ""


def batch_list(*, actor: User, filters: BatchFilters) -> QuerySet[PayrollBatch]:
    qs = scope(actor, PayrollBatch.objects.all())
    if filters.programme:
        qs = qs.filter(programme=filters.programme)
    if filters.period is not None:
        qs = qs.filter(period=filters.period)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.district_code:
        qs = qs.filter(district_code=filters.district_code)
    return qs.order_by("-period", "district_code", "programme", "-id")


def batch_get(*, actor: User, pk: int) -> PayrollBatch:
    """A batch of the caller's district (or any, for the city); anything else is a 404 like a missing id."""
    related = ("generated_by", "reviewed_by", "approved_by", "exported_by", "reconciled_by")
    return get_scoped_or_404(actor, PayrollBatch.objects.select_related(*related), pk=pk)


@dataclass(frozen=True)
class LineFilters:
    status: str = ""
    kind: str = ""
    division_code: str = ""  # a street or village of the district


def batch_lines(*, actor: User, batch: PayrollBatch, filters: LineFilters) -> QuerySet[PaymentLine]:
    qs = scope(actor, PaymentLine.objects.filter(batch=batch))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.division_code:
        qs = under(qs, filters.division_code)
    return qs.select_related("child").order_by("division_code", "child_id", "month", "id")


def batch_villages(*, actor: User, batch: PayrollBatch) -> set[str]:
    """The villages the caller sees paid in the batch (for the lines filter)."""
    lines = scope(actor, PaymentLine.objects.filter(batch=batch))
    return set(lines.values_list("division_code", flat=True).distinct().order_by())


def line_status_counts(*, actor: User, batch: PayrollBatch) -> dict[str, int]:
    rows = scope(actor, PaymentLine.objects.filter(batch=batch)).values_list("status").annotate(n=Count("id"))
    return dict(rows.order_by())


def batch_stops(*, actor: User, batch: PayrollBatch) -> QuerySet[PayrollStop]:
    return (
        scope(actor, PayrollStop.objects.filter(batch=batch))
        .select_related("child")
        .order_by("reason", "division_code", "child_id")
    )


def division_names(codes: set[str]) -> dict[str, str]:
    """Names of the villages (and districts) a page mentions, in one query. Division names are not personal."""
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))


# ---------------------------------------------------------------- one child


@dataclass
class ChildBenefits:
    enrolments: list[Enrolment]
    account: BankAccount | None
    payments: list[PaymentLine]


RECENT_PAYMENTS = 24


def child_benefits(*, actor: User, child: Child) -> ChildBenefits:
    suspensions = Prefetch(
        "suspensions",
        queryset=Suspension.objects.select_related("decided_by", "lifted_by").order_by("-from_month"),
    )
    enrolments = (
        scope(actor, Enrolment.objects.filter(child=child))
        .prefetch_related(suspensions)
        .order_by(F("end_month").desc(nulls_first=True), "-start_month", "-id")
    )
    account = scope(actor, BankAccount.objects.filter(child=child, active=True)).first()
    payments = (
        scope(actor, PaymentLine.objects.filter(child=child))
        .select_related("batch")
        .order_by("-month", "-id")[:RECENT_PAYMENTS]
    )
    return ChildBenefits(list(enrolments), account, list(payments))


def child_names(*, actor: User, ids: set[int]) -> dict[int, Child]:
    """The children a report names, read through scope(): one outside the caller's sight is left out."""
    return {c.pk: c for c in scope(actor, Child.objects.filter(pk__in=ids)).select_related("division")}


# ---------------------------------------------------------------- totals of the ledger


@dataclass
class TotalsRow:
    district_code: str
    category: str
    programme: str
    month: dt.date
    lines: int  # 人次: one payment line is one person-time
    amount: Decimal


@dataclass
class Subtotal:
    key: object
    lines: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class TotalsReport:
    division: Division
    first: dt.date
    last: dt.date
    programme: str
    rows: list[TotalsRow] = field(default_factory=list)
    beneficiaries: int = 0

    @property
    def lines(self) -> int:
        return sum(r.lines for r in self.rows)

    @property
    def amount(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal("0.00"))

    def by(self, attribute: str) -> list[Subtotal]:
        groups: dict[object, Subtotal] = {}
        for row in self.rows:
            key = getattr(row, attribute)
            group = groups.setdefault(key, Subtotal(key))
            group.lines += row.lines
            group.amount += row.amount
        return [groups[k] for k in sorted(groups, key=str)]

    # For the templates, which cannot pass an argument.
    @property
    def by_district(self) -> list[Subtotal]:
        return self.by("district_code")

    @property
    def by_category(self) -> list[Subtotal]:
        return self.by("category")

    @property
    def by_programme(self) -> list[Subtotal]:
        return self.by("programme")

    @property
    def by_month(self) -> list[Subtotal]:
        return self.by("month")


def totals_report(
    *, actor: User, division: Division, first: dt.date, last: dt.date, programme: str = ""
) -> TotalsReport:
    """Money paid or on its way (approved, sent, paid) by district, category, programme and month, for the
    lines filed under `division` (one of the caller's own subtree) over first..last."""
    first, last = months.first(first), months.first(last)
    report = TotalsReport(division=division, first=first, last=last, programme=programme)
    qs = scope(actor, PaymentLine.objects.filter(month__gte=first, month__lte=last, status__in=LIVE_STATUSES))
    qs = under(qs, division.code)
    if programme:
        qs = qs.filter(programme=programme)
    # Whole cents summed as integers: SQLite keeps decimals as REAL, and a float sum is not exact money.
    cents = Sum(Cast(Round(F("amount") * 100), BigIntegerField()))
    grouped = (
        qs.values_list("district_code", "category", "programme", "month")
        .annotate(n=Count("id"), cents=cents)
        .order_by("district_code", "category", "programme", "month")
    )
    for district, category, prog, month, n, total in grouped:
        amount = (Decimal(int(total or 0)) / 100).quantize(CENT)
        report.rows.append(TotalsRow(district, category, prog, months.first(month), n, amount))
    report.beneficiaries = qs.values("child_id").distinct().count() if report.rows else 0
    return report
