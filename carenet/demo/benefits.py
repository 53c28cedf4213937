"""Benefits in the demo city: standards, enrolments, bank accounts, two years of paid payroll, applications.

The story: the city moved its allowances into carenet HISTORY_MONTHS ago. The standards were entered then
(and raised RAISE_AGO months ago); every child then in a paid category (orphan, de-facto unsupported, child
of a 低保 family) was enrolled from that month, later ones from the month their category began. Every
district has paid the basic allowance every month since, in batches its finance officer generated and
reviewed, its specialist approved, the bank paid and the finance officer reconciled; orphans' medical-
insurance premiums were paid once a year, and every January a Spring Festival grant (和平区 pays more).

What the payroll pages show this month:
- the month before last, ~0.5% of payments failed at the bank (a closed account, a name mismatch); the
  accounts were corrected and last month's batch reissued them;
- last month, in 津南区 a few payments failed: half have a corrected account (the current batch reissues
  them), half none yet (held, shown as a stop);
- in 津南区 ~20 low-income applications with an effective month two or three months back were approved
  after last month's batch was generated (determination.py): the current batch pays them arrears; a third
  of them have no bank account yet (held, shown as a stop);
- 滨海新区's last batch was sent to the bank and awaits the bank's return file;
- about half the children whose category began this month have no account yet (held, shown as a stop):
  with the late approvals' and the closed accounts, ~3% of enrolled children;
- no batch of this month anywhere: the demo user generates it.

Every line is what payroll would have paid: the months owed come from facts.Facts (the same rule for
membership, age limit and enrolment range) and the amounts from standards.StandardTable; a test regenerates
a district's two years with payroll_generate and compares. `carenet payroll verify` over the history is
clean except in 津南区, where it lists the arrears and last month's failures as gaps: money owed and not yet
paid, which this month's batch pays.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from carenet.accounts.models import Division, DivisionLevel
from carenet.benefits import months
from carenet.benefits.facts import FOREVER, Facts, age_limit_index
from carenet.benefits.models import (
    BankAccount,
    EndReason,
    Enrolment,
    PaymentLine,
    PayrollBatch,
    Programme,
    Standard,
)
from carenet.core.bulk import TableLoader, indexes_after_load, next_pk, reset_sequences
from carenet.demo import determination, payments
from carenet.registry.models import Category, CategoryMembership, Child, ChildStatus, FamilyMember

HISTORY_MONTHS = 24  # payroll went live this many months ago: standards, enrolments and batches start then
RAISE_AGO = 12  # the basic allowance was raised this many months ago
TZ = ZoneInfo(settings.TIME_ZONE)

C = Category
# The open category a child is paid for when in several (orphans first, 民政部 policy order).
PRIORITY = {
    C.ORPHAN_INSTITUTIONAL: 0,
    C.ORPHAN_SCATTERED: 0,
    C.DE_FACTO_UNSUPPORTED: 1,
    C.POOR_FAMILY: 2,
}
ORPHANS = frozenset({C.ORPHAN_SCATTERED, C.ORPHAN_INSTITUTIONAL})

# (programme, category, district name or "", amount from go-live, amount after the raise or None)
STANDARDS = (
    (Programme.BASIC_LIVING, C.ORPHAN_SCATTERED, "", "2000.00", "2100.00"),
    (Programme.BASIC_LIVING, C.ORPHAN_INSTITUTIONAL, "", "2500.00", "2600.00"),
    (Programme.BASIC_LIVING, C.POOR_FAMILY, "", "1100.00", "1200.00"),
    (Programme.MEDICAL_PREMIUM, "", "", "380.00", None),
    (Programme.EDUCATION_GRANT, "", "", "5000.00", None),
    (Programme.HOLIDAY, "", "", "500.00", None),
    (Programme.HOLIDAY, "", "和平区", "600.00", None),
)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of a local working day."""
    return dt.datetime.combine(day, dt.time(hour, minute), TZ)


@dataclass(frozen=True)
class Clock:
    """The months the demo is built around, as month indexes (payroll's unit)."""

    today: dt.date
    now: dt.datetime
    at = staticmethod(at)

    @property
    def this(self) -> int:
        return months.index(self.today)

    @property
    def first(self) -> int:
        return self.this - HISTORY_MONTHS

    @property
    def last(self) -> int:
        return self.this - 1

    @property
    def failed(self) -> int:
        return self.this - 2


@dataclass
class Kid:
    """An active child as the benefits need them."""

    id: int
    code: str
    birth: dt.date
    name: str
    household: int | None
    holder: str  # whose name the account is in: the first guardian's, else the child's own
    memberships: list[tuple[str, dt.date, dt.date | None]] = field(default_factory=list)


@dataclass
class Enrolled:
    fact: Facts  # the enrolment as payroll sees it (id, child, category, months)
    programme: str
    created_at: dt.datetime
    created_by: int | None
    application: int | None = None
    late: bool = False  # approved after last month's batch: its months so far are owed, not paid


@dataclass
class BenefitStats:
    standards: int = 0
    enrolments: int = 0
    accounts: int = 0
    batches: int = 0
    lines: int = 0
    applications: int = 0


def populate_benefits(
    *,
    users: dict[str, int],
    seed: str,
    today: dt.date,
    log: Callable[[str], None] = lambda _msg: None,
) -> BenefitStats:
    """The demo's benefits for every active child, into empty tables (within the caller's transaction).
    `users`: user id by demo username (city, district-…, finance-…, street-…, village-…)."""
    started = time.monotonic()
    clock = Clock(today, timezone.now())
    stats = BenefitStats(standards=_write_standards(users, clock))
    kids = _read_kids()
    late, stats.applications = determination.populate_applications(
        kids=kids, users=users, clock=clock, rng=random.Random(f"{seed}:applications")
    )
    enrolled = plan_enrolments(kids, late, users, clock)
    ledger = payments.Ledger()
    with indexes_after_load(Enrolment, BankAccount, PayrollBatch, PaymentLine):
        stats.enrolments = _write_enrolments(enrolled)
        by_district: dict[str, list[Enrolled]] = defaultdict(list)
        for e in enrolled:
            by_district[e.fact.division_code[:6]].append(e)
        for district in sorted(by_district):
            rng = random.Random(f"{seed}:{district}")
            payments.DistrictPayroll(district, by_district[district], kids, users, clock, rng, ledger).run()
        stats.accounts, stats.batches, stats.lines = ledger.finish()
    log(
        f"  benefits: enrolments {stats.enrolments:,}, bank accounts {stats.accounts:,}, batches "
        f"{stats.batches:,}, payments {stats.lines:,}, applications {stats.applications} "
        f"({time.monotonic() - started:.1f} s)"
    )
    return stats


# -- standards -----------------------------------------------------------------------------------------


def _write_standards(users: dict[str, int], clock: Clock) -> int:
    """City standards from go-live, the basic allowance raised RAISE_AGO months ago. Yearly programmes are
    looked up at the January of the year paid, so theirs start with the go-live year."""
    go_live = months.from_index(clock.first)
    raised = months.from_index(clock.this - RAISE_AGO)
    districts = dict(Division.objects.filter(level=DivisionLevel.DISTRICT).values_list("name", "code"))
    columns = ("programme", "category", "district_code", "amount", "valid_from", "valid_to", "note")
    loader = TableLoader(Standard, (*columns, "set_by_id", "set_at"))
    city = users.get("city")
    for programme, category, district_name, amount, after in STANDARDS:
        district = districts.get(district_name, "") if district_name else ""
        if district_name and not district:
            continue  # a build without that district
        monthly = programme in (Programme.BASIC_LIVING, Programme.HOLIDAY)
        start = go_live if monthly else go_live.replace(month=1)
        end = months.add(raised, -1) if after else None
        note = "系统上线时录入的现行标准"
        loader.extend(
            [(programme, category, district, Decimal(amount), start, end, note, city, at(go_live, 9))]
        )
        if after:
            note = f"自{raised.year}年{raised.month}月起提高标准"
            announced = at(raised, 9) - dt.timedelta(days=20)
            loader.extend(
                [(programme, category, district, Decimal(after), raised, None, note, city, announced)]
            )
    loader.flush()
    return loader.written


# -- who is enrolled -------------------------------------------------------------------------------------


def _read_kids() -> dict[int, Kid]:
    kids = {
        pk: Kid(pk, code, birth, name, household, name)
        for pk, code, birth, name, household in Child.objects.filter(status=ChildStatus.ACTIVE)
        .order_by("id")
        .values_list("id", "division_code", "birth_date", "name", "household_id")
        .iterator(chunk_size=20_000)
    }
    guardians = FamilyMember.objects.filter(is_guardian=True, child__status=ChildStatus.ACTIVE)
    # Newest first, so the first guardian on record is the one left standing.
    for child_id, name in (
        guardians.order_by("-id").values_list("child_id", "name").iterator(chunk_size=20_000)
    ):
        kids[child_id].holder = name
    memberships = CategoryMembership.objects.filter(child__status=ChildStatus.ACTIVE).order_by(
        "start_date", "id"
    )
    for child_id, category, start, end in memberships.values_list(
        "child_id", "category", "start_date", "end_date"
    ).iterator(chunk_size=20_000):
        kids[child_id].memberships.append((category, start, end))
    return kids


def segments(kid: Kid, clock: Clock) -> list[tuple[str, int, int | None, str]]:
    """(category, first month, last month or None, end reason) of the child's basic-allowance enrolments:
    the open paid category (orphan before de facto before 低保) from go-live at the earliest, and before it any
    paid category the child has left, ended when it was left (never two enrolments for one month)."""
    paid = [(c, s, e) for c, s, e in kid.memberships if c in PRIORITY]
    out: list[tuple[str, int, int | None, str]] = []
    bound = None  # the next segment's first month: earlier ones end before it
    current = sorted((PRIORITY[c], s, c) for c, s, e in paid if e is None)
    if current:
        _rank, start, category = current[0]
        bound = max(months.index(start), clock.first)
        out.append((category, bound, None, ""))
    for category, start, end in sorted(
        (m for m in paid if m[2] is not None), key=lambda m: m[1], reverse=True
    ):
        assert end is not None
        first = max(months.index(start), clock.first)
        last = months.index(end) if bound is None else min(months.index(end), bound - 1)
        if first <= last:
            out.append((category, first, last, EndReason.CATEGORY_ENDED))
            bound = first
    return _age_limit(out, kid.birth, clock)


def _age_limit(
    found: list[tuple[str, int, int | None, str]], birth: dt.date, clock: Clock
) -> list[tuple[str, int, int | None, str]]:
    """Payroll ends an enrolment at the age limit in the first run after it (the stop it shows then): ended
    for limits before last month; one reached last month is left for this month's run to end."""
    limit = age_limit_index(birth)
    out = []
    for category, first, last, reason in found:
        if first > limit:
            continue
        if (last is None or last > limit) and limit < clock.last:
            last, reason = limit, EndReason.AGED_OUT
        out.append((category, first, last, reason))
    return out


def _spans(kid: Kid, category: str) -> list[tuple[int, int]]:
    """The months the child was in `category`, as facts.Facts.memberships, merged: a membership closed
    and a new one opened within one month cover that month once (one payment per child-month)."""
    spans = sorted(
        (months.index(start), months.index(end) if end else FOREVER)
        for c, start, end in kid.memberships
        if c == category
    )
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def plan_enrolments(
    kids: dict[int, Kid], late: dict[int, determination.Approval], users: dict[str, int], clock: Clock
) -> list[Enrolled]:
    """Every enrolment of the demo, numbered from the table's next id: the basic allowance per segment, and
    the medical-insurance premium subsidy alongside every orphan's."""
    next_id = next_pk(Enrolment)
    go_live = at(months.from_index(clock.first), 9)
    out = []
    for kid in kids.values():
        approval = late.get(kid.id)
        specialist = users.get(f"district-{kid.code[:6]}")
        for category, first, last, reason in segments(kid, clock):
            if approval is not None:
                created, by = approval.decided_at, approval.decided_by
            elif first == clock.first:
                created, by = go_live, specialist
            else:  # approved shortly after the category began
                day = months.from_index(first) + dt.timedelta(days=2 + kid.id % 20)
                created, by = min(at(day, 10), clock.now - dt.timedelta(hours=1)), specialist
            programmes = [Programme.BASIC_LIVING] + (
                [Programme.MEDICAL_PREMIUM] if category in ORPHANS else []
            )
            for programme in programmes:
                fact = Facts(
                    id=next_id,
                    child_id=kid.id,
                    category=category,
                    division_code=kid.code,
                    start=first,
                    end=last,
                    end_reason=reason,
                    birth=kid.birth,
                    archived=False,
                    archived_on=None,
                    child_division=kid.code,
                    memberships=_spans(kid, category),
                )
                next_id += 1
                application = approval.application if approval else None
                out.append(Enrolled(fact, programme, created, by, application, late=approval is not None))
    return out


# -- writing -------------------------------------------------------------------------------------------

ENROLMENT_COLUMNS = (
    "id",
    "child_id",
    "programme",
    "category",
    "division_code",
    "start_month",
    "end_month",
    "end_reason",
    "end_note",
    "application_id",
    "created_by_id",
    "created_at",
)


def _write_enrolments(enrolled: list[Enrolled]) -> int:
    loader = TableLoader(Enrolment, ENROLMENT_COLUMNS)
    loader.extend(
        [
            (
                f.id,
                f.child_id,
                e.programme,
                f.category,
                f.division_code,
                months.from_index(f.start),
                months.from_index(f.end) if f.end is not None else None,
                f.end_reason,
                "",
                e.application,
                e.created_by,
                e.created_at,
            )
            for e in enrolled
            for f in (e.fact,)
        ]
    )
    loader.flush()
    reset_sequences(Enrolment)
    return loader.written
