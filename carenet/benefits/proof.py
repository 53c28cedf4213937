"""Proof of full payment (足额发放): for a division and a period, every child-month owed was paid exactly once at
the right amount — and every gap, duplicate, wrong amount and payment nobody owed, listed.

What is owed comes from the same facts payroll uses (facts.Facts); what was paid is the ledger. The check is
exact and fast: the ledger is summed per (child, amount) in SQL, and a child whose sums differ from what is owed
is re-checked month by month. Per (child, amount), when the months owed at that amount are one run first..last,
the ledger agrees exactly when it holds (last - first + 1) lines from first to last and no month twice (the
duplicate query), by pigeonhole; anything else goes month by month.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope, subtree_division_or_404
from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.benefits import months
from carenet.benefits.facts import as_date, chunked_values, load_facts
from carenet.benefits.models import LIVE_STATUSES, PROGRAMMES, LineStatus, PaymentLine, Programme
from carenet.benefits.standards import StandardTable
from carenet.core.errors import CarenetError, PermissionDeniedError

GAP, DUPLICATE, WRONG_AMOUNT, UNEXPECTED = "gap", "duplicate", "wrong_amount", "unexpected"


@dataclass
class Finding:
    kind: str
    child_id: int
    month: dt.date
    expected: Decimal | None
    paid: list[Decimal]
    lines: list[int]


@dataclass
class Proof:
    division_code: str
    programme: str
    first: dt.date
    last: dt.date
    child_months: int = 0
    paid_ok: int = 0
    pending: int = 0  # approved or sent, the bank has not confirmed yet
    gaps: int = 0
    duplicates: int = 0
    wrong_amounts: int = 0
    unexpected: int = 0
    amount_owed: Decimal = Decimal("0.00")
    amount_paid: Decimal = Decimal("0.00")
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.gaps or self.duplicates or self.wrong_amounts or self.unexpected)

    def as_dict(self) -> dict[str, object]:
        return {
            "division": self.division_code,
            "programme": self.programme,
            "from": months.label(self.first),
            "to": months.label(self.last),
            "child_months": self.child_months,
            "paid_ok": self.paid_ok,
            "pending": self.pending,
            "gaps": self.gaps,
            "duplicates": self.duplicates,
            "wrong_amounts": self.wrong_amounts,
            "unexpected": self.unexpected,
            "amount_owed": str(self.amount_owed),
            "amount_paid": str(self.amount_paid),
        }


def _runs(
    table: StandardTable, category: str, district: str, a: int, b: int
) -> list[tuple[int, int, Decimal | None]]:
    """Split months a..b into runs of one amount (a standard change inside the span makes two runs)."""
    out: list[tuple[int, int, Decimal | None]] = []
    for m in range(a, b + 1):
        amount = table.amount(category, district, m)
        if out and out[-1][2] == amount and out[-1][1] == m - 1:
            out[-1] = (out[-1][0], m, amount)
        else:
            out.append((m, m, amount))
    return out


class _RunCache:
    def __init__(self, table: StandardTable, lo: int, hi: int) -> None:
        self.table, self.lo, self.hi = table, lo, hi
        self._full: dict[tuple[str, str], list[tuple[int, int, Decimal | None]]] = {}

    def runs(self, category: str, district: str, a: int, b: int) -> list[tuple[int, int, Decimal | None]]:
        key = (category, district)
        if key not in self._full:
            self._full[key] = _runs(self.table, category, district, self.lo, self.hi)
        return [(max(x, a), min(y, b), amt) for x, y, amt in self._full[key] if x <= b and y >= a]


def _owed(
    actor: User | None, division_code: str, programme: str, lo: int, hi: int
) -> dict[int, dict[Decimal | None, list[tuple[int, int]]]]:
    """Per child, per amount owed: the runs of months owed (inclusive month indexes)."""
    spec = PROGRAMMES[programme]
    first, last = months.from_index(lo), months.from_index(hi)
    from carenet.benefits.models import Enrolment

    base = Enrolment.objects.all() if actor is None else scope(actor, Enrolment.objects.all())
    enrolments = base.filter(
        programme=programme, division_code__startswith=division_code, start_month__lte=last
    ).exclude(end_month__lt=first)
    facts = load_facts(enrolments, spec.categories)
    cache = _RunCache(StandardTable(programme), lo, hi)
    owed: dict[int, dict[Decimal | None, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for f in facts.values():
        for a, b in f.payable(hi):
            a = max(a, lo)
            if a > b:
                continue
            for x, y, amount in cache.runs(f.category, f.division_code[:6], a, b):
                owed[f.child_id][amount].append((x, y))
    return owed


def _ledger_sql(
    division_code: str, programme: str, first: dt.date, last: dt.date
) -> tuple[str, list[object]]:
    live = ", ".join(["%s"] * len(LIVE_STATUSES))
    where = f"programme = %s AND district_code LIKE %s AND month >= %s AND month <= %s AND status IN ({live})"
    return where, [programme, division_code[:6] + "%", first, last, *LIVE_STATUSES]


def _aggregates(division_code: str, programme: str, first: dt.date, last: dt.date):  # type: ignore[no-untyped-def]
    where, params = _ledger_sql(division_code, programme, first, last)
    dup_sql = f"SELECT child_id FROM benefits_paymentline WHERE {where} GROUP BY child_id, month HAVING COUNT(*) > 1"  # noqa: S608
    agg_sql = f"""SELECT child_id, amount, COUNT(*), MIN(month), MAX(month),
                         SUM(CASE WHEN status = %s THEN 1 ELSE 0 END)
                  FROM benefits_paymentline WHERE {where} GROUP BY child_id, amount"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(dup_sql, params)
        duplicated = {row[0] for row in cursor.fetchall()}
        cursor.execute(agg_sql, [LineStatus.PAID, *params])
        groups: dict[int, dict[Decimal, tuple[int, int, int, int]]] = defaultdict(dict)
        for child_id, amount, count, lo, hi, paid in cursor.fetchall():
            amount = Decimal(str(amount)).quantize(Decimal("0.01"))
            groups[child_id][amount] = (count, months.index(as_date(lo)), months.index(as_date(hi)), paid)
    return duplicated, groups


def full_payment_proof(
    *,
    actor: User | None,
    division_code: str,
    first: dt.date,
    last: dt.date,
    programme: str = Programme.BASIC_LIVING,
    limit: int = 500,
) -> Proof:
    """`actor` None is the operator at the command line; a user sees only their own subtree."""
    if programme not in Programme.values or PROGRAMMES[programme].periodicity != "monthly":
        raise CarenetError(_("The proof covers the monthly allowance."), field="programme")
    if actor is not None:
        if not has_perm(actor, Perm.BENEFIT_VIEW):
            raise PermissionDeniedError(_("Your role may not do this."))
        subtree_division_or_404(actor, division_code)
    if len(division_code) not in (2, 4, 6):
        raise CarenetError(_("The proof is made for a district or the whole city."), field="district")
    first, last = months.first(first), months.first(last)
    if last < first:
        raise CarenetError(_("The period ends before it starts."), field="to")
    last = min(last, months.first(timezone.localdate()))  # months not yet due are not owed yet
    proof = Proof(division_code=division_code, programme=programme, first=first, last=last)
    lo, hi = months.index(first), months.index(last)
    if hi < lo:
        return proof
    owed = _owed(actor, division_code, programme, lo, hi)
    duplicated, groups = _aggregates(division_code, programme, first, last)
    recheck: set[int] = set(duplicated)
    for child_id, by_amount in owed.items():
        for amount, runs in by_amount.items():
            size = sum(b - a + 1 for a, b in runs)
            proof.child_months += size
            proof.amount_owed += (amount or Decimal(0)) * size
        if child_id in recheck:
            continue
        paid = groups.get(child_id, {})
        if set(paid) != set(by_amount) or any(not _agrees(by_amount[amt], paid[amt]) for amt in by_amount):
            recheck.add(child_id)
            continue
        for count, _lo, _hi, n_paid in paid.values():
            proof.paid_ok += n_paid
            proof.pending += count - n_paid
        proof.amount_paid += sum(amt * g[0] for amt, g in paid.items())
    recheck |= set(groups) - set(owed)  # paid, but nothing owed in this division and period
    _month_by_month(proof, sorted(recheck), owed, limit)
    return proof


def _agrees(runs: list[tuple[int, int]], group: tuple[int, int, int, int]) -> bool:
    runs = sorted(runs)
    merged = [list(runs[0])]
    for a, b in runs[1:]:
        if a == merged[-1][1] + 1:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    if len(merged) != 1:
        return False  # owed months with a hole in between: checked month by month
    a, b = merged[0]
    count, lo, hi, _paid = group
    return count == b - a + 1 and lo == a and hi == b


def _month_by_month(proof: Proof, child_ids: list[int], owed: dict, limit: int) -> None:  # type: ignore[type-arg]
    where_lines = PaymentLine.objects.filter(
        programme=proof.programme,
        district_code__startswith=proof.division_code[:6],
        month__gte=proof.first,
        month__lte=proof.last,
        status__in=LIVE_STATUSES,
    )
    lines: dict[tuple[int, int], list[tuple[int, Decimal, str]]] = defaultdict(list)
    for pk, child_id, month, amount, status in chunked_values(
        where_lines, "child_id", child_ids, ("id", "child_id", "month", "amount", "status")
    ):
        lines[(child_id, months.index(as_date(month)))].append((pk, Decimal(str(amount)), status))
    for child_id in child_ids:
        expected: dict[int, Decimal | None] = {}
        for amount, runs in owed.get(child_id, {}).items():
            for a, b in runs:
                for m in range(a, b + 1):
                    expected[m] = amount
        months_seen = set(expected) | {m for (c, m) in lines if c == child_id}
        for m in sorted(months_seen):
            got = lines.get((child_id, m), [])
            kind = _classify(m in expected, expected.get(m), got)
            proof.amount_paid += sum(amount for _pk, amount, _s in got)
            if kind is None:
                if got[0][2] == LineStatus.PAID:
                    proof.paid_ok += 1
                else:
                    proof.pending += 1
                continue
            setattr(proof, _COUNTER[kind], getattr(proof, _COUNTER[kind]) + 1)
            if len(proof.findings) < limit:
                proof.findings.append(
                    Finding(
                        kind,
                        child_id,
                        months.from_index(m),
                        expected.get(m),
                        [amount for _pk, amount, _s in got],
                        [pk for pk, _a, _s in got],
                    )
                )


_COUNTER = {GAP: "gaps", DUPLICATE: "duplicates", WRONG_AMOUNT: "wrong_amounts", UNEXPECTED: "unexpected"}


def _classify(is_owed: bool, amount: Decimal | None, got: list[tuple[int, Decimal, str]]) -> str | None:
    if not is_owed:
        return UNEXPECTED
    if not got:
        return GAP
    if len(got) > 1:
        return DUPLICATE
    if amount is None or got[0][1] != amount:
        return WRONG_AMOUNT
    return None


def proof_lines(*, actor: User, proof: Proof) -> dict[int, PaymentLine]:
    """The ledger lines a proof's findings name, read through scope() (for the report page)."""
    ids = [pk for finding in proof.findings for pk in finding.lines]
    return {
        line.pk: line for line in scope(actor, PaymentLine.objects.filter(pk__in=ids)).select_related("batch")
    }
