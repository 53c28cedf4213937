"""The demo's payment history, one district at a time: bank accounts, then every month's basic-allowance batch,
the yearly premium subsidy and the Spring Festival grant, each paid and reconciled as payroll would have it.

Per district (its own random stream): the months each enrolment was payable (facts.Facts.payable, the
standard in force from standards.StandardTable), the bank's failures (the month before last everywhere, last
month in 津南区 too), the accounts (replaced after a failure), then the batches with their lines.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone
from stdnum import luhn

from carenet.benefits import months
from carenet.benefits.models import (
    BankAccount,
    BatchStatus,
    LineKind,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    Programme,
)
from carenet.benefits.standards import StandardTable
from carenet.core.bulk import TableLoader, next_pk, reset_sequences
from carenet.demo.rand import Weighted, integer, pick
from carenet.demo.staff import MAIN_DISTRICT

if TYPE_CHECKING:
    from carenet.demo.benefits import Clock, Enrolled, Kid

    Line = tuple[Enrolled, int, Decimal, str, str]  # (enrolment, month owed, amount, kind, status)

EXPORTED_DISTRICT = "120116"  # 滨海新区: its last batch awaits the bank's return file
FAIL_RATE = 0.005  # share of the month-before-last's payments the bank returned
MAIN_FAILURES = 0.012  # share of 津南区's last-month payments that failed (not reissued yet)

# Bank, card prefix (BIN), card length: the banks children's allowances are mostly paid into in Tianjin.
_BANKS = Weighted(
    (
        ("中国邮政储蓄银行", "621799", 19),
        ("中国农业银行", "622848", 19),
        ("天津农村商业银行", "621456", 19),
        ("中国工商银行", "622202", 19),
        ("中国建设银行", "621700", 19),
        ("中国银行", "621661", 19),
        ("天津银行", "622516", 16),
        ("交通银行", "622262", 17),
    ),
    (24, 20, 16, 12, 10, 8, 6, 4),
)
_FAILURES_CORRECTED = ("户名与账号不符", "账户已冻结", "账号不存在", "账户已销户")
_FAILURE_OPEN = "账户已销户"  # last month's failures still without a new account

ACCOUNT_COLUMNS = (
    "child_id",
    "holder_name",
    "bank_name",
    "account_enc",
    "account_last4",
    "active",
    "created_by_id",
    "created_at",
)
BATCH_COLUMNS = (
    "id",
    "district_code",
    "programme",
    "period",
    "title",
    "status",
    "beneficiaries",
    "line_count",
    "total",
    "generated_by_id",
    "generated_at",
    "reviewed_by_id",
    "reviewed_at",
    "approved_by_id",
    "approved_at",
    "exported_by_id",
    "exported_at",
    "reconciled_by_id",
    "reconciled_at",
    "created_at",
)
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
    "payee_name",
    "account_enc",
    "account_last4",
    "failure_reason",
    "settled_on",
)


class Ledger:
    """Accounts, batches and lines of every district, written in bulk; batch ids follow the table's own."""

    def __init__(self) -> None:
        self.accounts = TableLoader(BankAccount, ACCOUNT_COLUMNS)
        self.batches = TableLoader(PayrollBatch, BATCH_COLUMNS)
        self.lines = TableLoader(PaymentLine, LINE_COLUMNS)
        self.next_batch = next_pk(PayrollBatch)

    def batch_id(self) -> int:
        self.next_batch += 1
        return self.next_batch - 1

    def finish(self) -> tuple[int, int, int]:
        """(accounts, batches, lines) written."""
        for loader in (self.accounts, self.batches, self.lines):
            loader.flush()
        reset_sequences(BankAccount, PayrollBatch, PaymentLine)
        return self.accounts.written, self.batches.written, self.lines.written


@dataclass
class Account:
    holder: str
    bank: str
    enc: str
    last4: str
    since: int  # the first batch month it is paid into


def card_number(rng: random.Random) -> tuple[str, str]:
    """(bank, card number): a bank's prefix, random digits and the Luhn check digit bank cards carry."""
    bank, prefix, length = _BANKS(rng)
    body = prefix + "".join(str(integer(rng, 0, 9)) for _ in range(length - len(prefix) - 1))
    return bank, body + luhn.calc_check_digit(body)


class DistrictPayroll:
    """One district: accounts, then every month's basic-allowance batch, the yearly premium and the
    Spring Festival grant, as the district's finance officer and specialist handled them."""

    def __init__(
        self,
        district: str,
        enrolled: list[Enrolled],
        kids: dict[int, Kid],
        users: dict[str, int],
        clock: Clock,
        rng: random.Random,
        writer: Ledger,
    ) -> None:
        self.district, self.kids, self.clock, self.rng, self.writer = district, kids, clock, rng, writer
        order = sorted(enrolled, key=lambda e: (e.fact.division_code, e.fact.child_id, e.fact.start))
        self.basic = [e for e in order if e.programme == Programme.BASIC_LIVING]
        self.medical = [e for e in order if e.programme == Programme.MEDICAL_PREMIUM and not e.late]
        self.finance = users.get(f"finance-{district}")
        self.specialist = users.get(f"district-{district}")
        self.tables = {
            p: StandardTable(p)
            for p in (Programme.BASIC_LIVING, Programme.MEDICAL_PREMIUM, Programme.HOLIDAY)
        }
        self.accounts: dict[int, list[Account]] = {}
        self.failed: dict[int, tuple[int, str]] = {}  # child -> (month that failed, the bank's reason)

    def run(self) -> None:
        paid = self._months_paid()
        self._choose_failures(paid)
        self._open_accounts()
        for m in range(self.clock.first, self.clock.last + 1):
            self._monthly(m, paid)
        self._yearly()
        self._campaigns(paid)

    # What is owed ---------------------------------------------------------------------------------------

    def _months_paid(self) -> dict[int, list[tuple[Enrolled, Decimal]]]:
        """Per month of the history, each enrolment payable then with its amount (late approvals: none)."""
        table = self.tables[Programme.BASIC_LIVING]
        amounts: dict[tuple[str, int], Decimal] = {}
        out: dict[int, list[tuple[Enrolled, Decimal]]] = defaultdict(list)
        for e in self.basic:
            if e.late:
                continue
            for a, b in e.fact.payable(self.clock.last):
                for m in range(max(a, self.clock.first), b + 1):
                    key = (e.fact.category, m)
                    if key not in amounts:
                        found = table.amount(e.fact.category, self.district, m)
                        assert found is not None, f"no standard for {key}"
                        amounts[key] = found
                    out[m].append((e, amounts[key]))
        return out

    def _choose_failures(self, paid: dict[int, list[tuple[Enrolled, Decimal]]]) -> None:
        """Payments the bank returned: ~FAIL_RATE the month before last (reissued last month), and in the
        main district a few last month (owed now)."""
        rng, clock = self.rng, self.clock
        lines = paid.get(clock.failed, [])
        count = int(len(lines) * FAIL_RATE + rng.random())
        if self.district == MAIN_DISTRICT:
            count = max(count, 1)
        for e, _amount in rng.sample(lines, min(count, len(lines))):
            self.failed[e.fact.child_id] = (clock.failed, pick(rng, _FAILURES_CORRECTED))
        if self.district != MAIN_DISTRICT:
            return
        lines = [(e, a) for e, a in paid.get(clock.last, []) if e.fact.child_id not in self.failed]
        count = max(1, round(len(lines) * MAIN_FAILURES))
        for i, (e, _amount) in enumerate(rng.sample(lines, min(count, len(lines)))):
            reason = pick(rng, _FAILURES_CORRECTED[:3]) if i % 2 == 0 else _FAILURE_OPEN
            self.failed[e.fact.child_id] = (clock.last, reason)

    # Accounts -------------------------------------------------------------------------------------------

    def _open_accounts(self) -> None:
        """An account for every enrolled child, except half of those enrolled only this month and a third of
        the late approvals (not recorded yet: ~3% in all). A failed payment's account was replaced by a new
        one recorded after the bank's return, except last month's closed accounts, which still wait for one."""
        rng, clock = self.rng, self.clock
        rows = []
        for e in self.basic:  # a child's earliest enrolment comes first
            child = e.fact.child_id
            if child in self.accounts:
                continue
            new = e.fact.start >= clock.this and rng.random() < 0.5
            if new or (e.late and child % 3 == 0):
                continue
            holder = self.kids[child].holder
            created = max(e.created_at, self.clock.at(months.from_index(clock.first), 9))
            created = min(
                created + dt.timedelta(hours=integer(rng, 1, 30)), clock.now - dt.timedelta(minutes=30)
            )
            chain = [self._account(holder, e.fact.start, rng)]
            failure = self.failed.get(child)
            if failure is None:
                rows.append(self._row(child, chain[0], True, created))
            else:
                rows.append(self._row(child, chain[0], False, created))
                if not (failure[0] == clock.last and failure[1] == _FAILURE_OPEN):
                    chain.append(self._account(holder, failure[0] + 1, rng))
                    rows.append(self._row(child, chain[1], True, self._replaced_at(failure[0])))
            self.accounts[child] = chain
        self.writer.accounts.extend(rows)

    def _row(self, child: int, acct: Account, active: bool, created: dt.datetime) -> tuple[object, ...]:
        return (child, acct.holder, acct.bank, acct.enc, acct.last4, active, self.finance, created)

    @staticmethod
    def _account(holder: str, since: int, rng: random.Random) -> Account:
        bank, number = card_number(rng)
        scratch = BankAccount()
        scratch.set_number(number)
        return Account(holder, bank, scratch.account_enc, scratch.account_last4, since)

    def _replaced_at(self, failed_month: int) -> dt.datetime:
        """A new account is recorded a few days after the bank's return file (for last month's: this month)."""
        if failed_month == self.clock.last:
            return self.clock.now - dt.timedelta(hours=integer(self.rng, 2, 20))
        return self.clock.at(months.from_index(failed_month + 1), integer(self.rng, 9, 16)) + dt.timedelta(
            days=integer(self.rng, 1, 6)
        )

    def _account_for(self, child: int, month: int) -> Account:
        """The account the batch of `month` sent the money to."""
        chain = self.accounts[child]
        return [a for a in chain if a.since <= month][-1]

    # Batches --------------------------------------------------------------------------------------------

    def _steps(self, month: dt.date, *, reconciled: bool) -> tuple[tuple[object, ...], dt.datetime | None]:
        """The batch's (user, time) columns, generated through reconciled, and when it was reconciled:
        generated and reviewed by the finance officer, approved by the specialist, exported and reconciled by
        the finance officer, over a few days from about the 8th of `month`."""
        rng = self.rng
        generated = self.clock.at(
            month + dt.timedelta(days=integer(rng, 7, 10)), integer(rng, 9, 11), integer(rng, 0, 59)
        )
        reviewed = generated + dt.timedelta(hours=integer(rng, 1, 26))
        approved = reviewed + dt.timedelta(hours=integer(rng, 2, 48))
        exported = approved + dt.timedelta(hours=integer(rng, 1, 20))
        done = (
            exported + dt.timedelta(days=integer(rng, 2, 5), hours=integer(rng, 0, 6)) if reconciled else None
        )
        f, s = self.finance, self.specialist
        steps = (f, generated, f, reviewed, s, approved, f, exported, f if done else None, done, generated)
        return steps, done

    def _batch(
        self,
        programme: str,
        period: dt.date,
        title: str,
        lines: list[Line],
        *,
        generated_in: dt.date | None = None,
        exported_only: bool = False,
    ) -> None:
        """One batch and its lines. `generated_in`: the month it was run in, if not its period's (a year's
        premium registered at go-live)."""
        if not lines:
            return
        steps, reconciled = self._steps(generated_in or period, reconciled=not exported_only)
        settled = timezone.localtime(reconciled).date() if reconciled else None
        bank = programme != Programme.MEDICAL_PREMIUM  # the premium goes to the insurance bureau, not a bank
        batch = self.writer.batch_id()
        rows = []
        for e, m, amount, kind, status in lines:
            f = e.fact
            acct = self._account_for(f.child_id, months.index(period)) if bank else None
            rows.append(
                (
                    batch,
                    f.child_id,
                    f.id,
                    programme,
                    f.category,
                    months.from_index(m),
                    amount,
                    kind,
                    status,
                    self.district,
                    f.division_code,
                    acct.holder if acct else "",
                    acct.enc if acct else "",
                    acct.last4 if acct else "",
                    self.failed[f.child_id][1] if status == LineStatus.FAILED else "",
                    settled if status == LineStatus.PAID else None,
                )
            )
        self.writer.lines.extend(rows)
        total = sum((line[2] for line in lines), Decimal("0.00"))
        status = BatchStatus.EXPORTED if exported_only else BatchStatus.RECONCILED
        beneficiaries = len({line[0].fact.child_id for line in lines})
        self.writer.batches.extend(
            [
                (
                    batch,
                    self.district,
                    programme,
                    period,
                    title,
                    status,
                    beneficiaries,
                    len(lines),
                    total,
                    *steps,
                )
            ]
        )

    def _monthly(self, m: int, paid: dict[int, list[tuple[Enrolled, Decimal]]]) -> None:
        clock = self.clock
        exported_only = m == clock.last and self.district == EXPORTED_DISTRICT
        done = LineStatus.EXPORTED if exported_only else LineStatus.PAID
        lines = []
        for e, amount in paid.get(m, []):
            failure = self.failed.get(e.fact.child_id)
            status = LineStatus.FAILED if failure and failure[0] == m else done
            lines.append((e, m, amount, LineKind.REGULAR, status))
        if m == clock.failed + 1:  # the bank's failures of the month before, paid again
            for e, amount in paid.get(clock.failed, []):
                if self.failed.get(e.fact.child_id, (None,))[0] == clock.failed:
                    lines.append((e, clock.failed, amount, LineKind.REISSUE, done))
        period = months.from_index(m)
        title = f"{period.year}年{period.month}月基本生活费"
        self._batch(Programme.BASIC_LIVING, period, title, lines, exported_only=exported_only)

    def _yearly(self) -> None:
        """The premium subsidy: one payment per orphan and year, to the medical-insurance bureau (no account)."""
        table = self.tables[Programme.MEDICAL_PREMIUM]
        first_year, this_year = months.from_index(self.clock.first).year, self.clock.today.year
        for year in range(first_year, this_year + 1):
            january = dt.date(year, 1, 1)
            y = months.index(january)
            lines, seen = [], set()
            for e in self.medical:
                f = e.fact
                if f.child_id in seen or not any(b >= y for _a, b in f.payable(y + 11)):
                    continue
                seen.add(f.child_id)
                amount = table.amount(f.category, self.district, y)
                assert amount is not None
                lines.append((e, y, amount, LineKind.REGULAR, LineStatus.PAID))
            run = max(january, months.from_index(self.clock.first))  # the go-live year's was run at go-live
            title = f"{year}年度城乡居民医保个人缴费资助"
            self._batch(Programme.MEDICAL_PREMIUM, january, title, lines, generated_in=run)

    def _campaigns(self, paid: dict[int, list[tuple[Enrolled, Decimal]]]) -> None:
        """The Spring Festival grant, paid in January to every child the basic allowance paid that month."""
        table = self.tables[Programme.HOLIDAY]
        for m in range(self.clock.first, self.clock.last + 1):
            period = months.from_index(m)
            if period.month != 1:
                continue
            lines, seen = [], set()
            for e, _amount in paid.get(m, []):
                if e.fact.child_id in seen:
                    continue
                seen.add(e.fact.child_id)
                amount = table.amount(e.fact.category, self.district, m)
                assert amount is not None
                lines.append((e, m, amount, LineKind.REGULAR, LineStatus.PAID))
            self._batch(Programme.HOLIDAY, period, f"{period.year}年春节慰问金", lines)
