"""Payroll benchmark: a district's monthly batch at 100,000 beneficiaries, the city's monthly run over 16
districts, and the full-payment proof over 1,000,000 children x 12 months, on PostgreSQL.

    .venv/bin/python bench/payroll_bench.py               # data if missing, then measure
    .venv/bin/python bench/payroll_bench.py --rebuild     # drop and regenerate the data first

Data (database carenet_payroll_bench, its own: the figures must not depend on other benchmarks' leftovers):
16 districts x 10 streets x 10 villages; 1,000,000 children, every one enrolled in the basic living allowance
(district 120112 holds 100,000 of them, the other 15 districts 60,000 each), categories 40% scattered orphan,
10% institutional orphan, 20% de-facto unsupported, 30% poor family; a bank account each; city standards with
a raise for poor-family children six months ago; and the last 12 months paid and reconciled: one PAID ledger
line per payable child-month (children who turned 18 in the year stop at their birthday month; 5% enrolled
only three months ago), about 11.5 million lines. Then planted: 10 gaps, 10 duplicates and 10 wrong amounts,
which the proof must find exactly.

Measured (each in its own transaction, rolled back, so every run starts from the same data):
  generate  payroll_generate for 120112 and this month (100,000 beneficiaries), twice: the first creates the
            batch, the second regenerates the draft (target under 10 s)
  city      payroll_generate for all 16 districts, this month
  proof     full_payment_proof for the whole city over the 12 months (target under 60 s), and for 120112
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_bench import ensure_database, log, machine, setup_django  # noqa: E402

DEFAULT_URL = "postgres://root@127.0.0.1:5432/carenet_payroll_bench"
MAIN_DISTRICT = "120112"
TARGET_DISTRICT_S = 10.0
TARGET_PROOF_S = 60.0
PLANTED = 10


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("PAYROLL_BENCH_URL", DEFAULT_URL))
    p.add_argument("--children", type=int, default=1_000_000)
    p.add_argument("--main", type=int, default=100_000, help="beneficiaries of district 120112")
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--data-only", action="store_true")
    return p.parse_args()


# ------------------------------------------------------------------------------------------ data


def build(args: argparse.Namespace) -> float:
    from django.db import connection, transaction

    from carenet.accounts.models import Division, Role, User
    from carenet.benefits import months
    from carenet.benefits.facts import age_limit_index
    from carenet.benefits.models import (
        BankAccount,
        BatchStatus,
        Enrolment,
        LineStatus,
        PaymentLine,
        PayrollBatch,
        Standard,
    )
    from carenet.core.bulk import TableLoader, indexes_after_load, reset_sequences
    from carenet.registry.models import CategoryMembership, Child

    if Child.objects.exists():
        return 0.0
    started = time.monotonic()
    rng = random.Random(20261129)
    this = months.first(dt.date.today())
    first_paid, last_paid = months.add(this, -12), months.add(this, -1)
    with transaction.atomic():
        city = Division.objects.create(code="12", name="天津市", level="city", full_name="天津市")
        admin = User.objects.create(username="bench-admin", role=Role.CITY_ADMIN, division=city)
        villages: dict[str, list[Division]] = {}
        for d in range(1, 17):
            dcode = f"1201{d:02d}"
            district = Division.objects.create(code=dcode, name=f"第{d}区", level="district", parent=city)
            villages[dcode] = []
            for s in range(1, 11):
                street = Division.objects.create(
                    code=f"{dcode}{s:03d}", name=f"第{s}街", level="street", parent=district
                )
                villages[dcode] += Division.objects.bulk_create(
                    Division(code=f"{street.code}{v:03d}", name=f"第{v}村", level="village", parent=street)
                    for v in range(1, 11)
                )
        start_std = months.add(this, -36)
        raise_month = months.add(this, -6)
        Standard.objects.bulk_create(
            [
                Standard(
                    programme="basic_living",
                    category="orphan_scattered",
                    amount=Decimal("2100.00"),
                    valid_from=start_std,
                ),
                Standard(
                    programme="basic_living",
                    category="orphan_institutional",
                    amount=Decimal("2600.00"),
                    valid_from=start_std,
                ),
                Standard(
                    programme="basic_living",
                    category="poor_family",
                    amount=Decimal("1100.00"),
                    valid_from=start_std,
                    valid_to=months.add(raise_month, -1),
                ),
                Standard(
                    programme="basic_living",
                    category="poor_family",
                    amount=Decimal("1200.00"),
                    valid_from=raise_month,
                ),
            ]
        )
        amount = {
            "orphan_scattered": Decimal("2100.00"),
            "orphan_institutional": Decimal("2600.00"),
            "de_facto_unsupported": Decimal("2100.00"),
        }
        from carenet.benefits.standards import StandardTable

        table = StandardTable("basic_living")
        account = BankAccount(child_id=0)
        account.set_number("6222020200112233445")  # one ciphertext for all: the benchmark never decrypts
        categories = (
            ["orphan_scattered"] * 4
            + ["orphan_institutional"]
            + ["de_facto_unsupported"] * 2
            + ["poor_family"] * 3
        )
        sizes = {
            d: (args.main if d == MAIN_DISTRICT else (args.children - args.main) // 15) for d in villages
        }
        children = TableLoader(
            Child,
            [
                "id",
                "name",
                "name_pinyin",
                "name_initials",
                "sex",
                "birth_date",
                "division_id",
                "division_code",
            ],
        )
        members = TableLoader(
            CategoryMembership, ["child_id", "category", "start_date", "reason", "approved_by_id"]
        )
        enrols = TableLoader(
            Enrolment, ["id", "child_id", "programme", "category", "division_code", "start_month"]
        )
        accounts = TableLoader(
            BankAccount, ["child_id", "holder_name", "bank_name", "account_enc", "account_last4", "active"]
        )
        batches = {}
        for dcode in villages:
            for i in range(12):
                batches[(dcode, i)] = PayrollBatch.objects.create(
                    district_code=dcode,
                    programme="basic_living",
                    period=months.add(first_paid, i),
                    status=BatchStatus.RECONCILED,
                )
        lines = TableLoader(
            PaymentLine,
            [
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
                "settled_on",
            ],
            batch_size=100_000,
        )
        totals: dict[int, list] = {b.pk: [0, Decimal(0), set()] for b in batches.values()}
        pk = 1
        first_i = months.index(first_paid)
        today = dt.date.today()
        with indexes_after_load(Child, CategoryMembership, Enrolment, BankAccount, PaymentLine):
            for dcode, vills in villages.items():
                log(f"  district {dcode}: {sizes[dcode]:,} children")
                for n in range(sizes[dcode]):
                    village = vills[n % len(vills)]
                    birth = dt.date(rng.randint(2008, 2025), rng.randint(1, 12), rng.randint(1, 28))
                    if birth > today:
                        birth = dt.date(2020, 1, 1)
                    category = categories[n % 10]
                    late = rng.random() < 0.05
                    start = months.add(this, -3) if late else first_paid
                    children.extend(
                        [(pk, f"儿童{pk}", f"ertong{pk}", "et", "MF"[n % 2], birth, village.pk, village.code)]
                    )
                    members.extend([(pk, category, start, "bench", admin.pk)])
                    enrols.extend([(pk, pk, "basic_living", category, village.code, start)])
                    accounts.extend(
                        [
                            (
                                pk,
                                f"监护人{pk}",
                                "天津农商银行",
                                account.account_enc,
                                account.account_last4,
                                True,
                            )
                        ]
                    )
                    hi = min(months.index(last_paid), age_limit_index(birth))
                    rows = []
                    for m in range(max(first_i, months.index(start)), hi + 1):
                        month = months.from_index(m)
                        amt = table.amount(category, dcode, m)
                        batch = batches[(dcode, m - first_i)]
                        t = totals[batch.pk]
                        t[0] += 1
                        t[1] += amt
                        t[2].add(pk)
                        rows.append(
                            (
                                batch.pk,
                                pk,
                                pk,
                                "basic_living",
                                category,
                                month,
                                amt,
                                "regular",
                                LineStatus.PAID,
                                dcode,
                                village.code,
                                month,
                            )
                        )
                    lines.extend(rows)
                    pk += 1
            for loader in (children, members, enrols, accounts, lines):
                loader.flush()
        for batch_pk, (count, total, kids) in totals.items():
            PayrollBatch.objects.filter(pk=batch_pk).update(
                line_count=count, total=total, beneficiaries=len(kids)
            )
        reset_sequences(Child, Enrolment, PaymentLine)
        _plant(rng, months)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    del amount
    return time.monotonic() - started


def _plant(rng: random.Random, months) -> None:  # type: ignore[no-untyped-def]
    """10 gaps, 10 duplicates and 10 wrong amounts, in distinct children, that the proof must find."""
    from carenet.benefits.models import PaymentLine

    top = PaymentLine.objects.order_by("-id").values_list("id", flat=True).first() or 0
    lines = list(PaymentLine.objects.filter(id__in=[rng.randint(1, top) for _ in range(9 * PLANTED)]))
    seen: set[int] = set()
    picked = []
    for line in lines:
        if line.child_id not in seen:
            seen.add(line.child_id)
            picked.append(line)
    gaps, dups, wrong = picked[:PLANTED], picked[PLANTED : 2 * PLANTED], picked[2 * PLANTED : 3 * PLANTED]
    PaymentLine.objects.filter(pk__in=[x.pk for x in gaps]).delete()
    for line in dups:
        line.pk = None
        line.save()
    PaymentLine.objects.filter(pk__in=[x.pk for x in wrong]).update(amount=Decimal("1.00"))


# ------------------------------------------------------------------------------------------ measure


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    from django.db import transaction

    class Rollback(Exception):
        pass

    result = {}
    started = time.perf_counter()
    try:
        with transaction.atomic():
            result["value"] = fn()
            result["seconds"] = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    log(f"  {label}: {result['seconds']:.2f} s")
    return result["seconds"], result["value"]


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url, drop=args.rebuild)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    log("data …")
    built = build(args)
    if built:
        log(f"data built in {built:.0f} s")
    if args.data_only:
        return
    from carenet.benefits import months
    from carenet.benefits.models import PaymentLine
    from carenet.benefits.payroll import payroll_generate
    from carenet.benefits.proof import full_payment_proof

    this = months.first(dt.date.today())
    lines = PaymentLine.objects.count()

    def district_twice():  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        batch = payroll_generate(actor=None, district_code=MAIN_DISTRICT, month=this)
        t1 = time.perf_counter()
        again = payroll_generate(actor=None, district_code=MAIN_DISTRICT, month=this)
        t2 = time.perf_counter()
        assert again.pk == batch.pk
        return t1 - t0, t2 - t1, batch.beneficiaries, batch.line_count, batch.total

    def city():  # type: ignore[no-untyped-def]
        from carenet.accounts.models import Division

        out = []
        for code in Division.objects.filter(level="district").values_list("code", flat=True):
            out.append(payroll_generate(actor=None, district_code=code, month=this).line_count)
        return sum(out)

    def bank_cycle():  # type: ignore[no-untyped-def]
        """Review, approve, write the bank file, read the bank's return (0.5% failed) for the 100,000 district."""
        import io as _io

        from openpyxl import Workbook

        from carenet.accounts.models import Division, Role, User
        from carenet.benefits.bankfiles import bank_file_write, bank_return_import
        from carenet.benefits.payroll import batch_approve, batch_review

        district = Division.objects.get(code=MAIN_DISTRICT)
        finance, _c = User.objects.get_or_create(
            username="bench-finance", defaults={"role": Role.DISTRICT_FINANCE, "division": district}
        )
        head, _c = User.objects.get_or_create(
            username="bench-head", defaults={"role": Role.DISTRICT_SPECIALIST, "division": district}
        )
        batch = payroll_generate(actor=finance, district_code=MAIN_DISTRICT, month=this)
        out = {}
        t = time.perf_counter()
        batch = batch_review(actor=finance, batch=batch)
        batch = batch_approve(actor=head, batch=batch)
        out["approve"] = time.perf_counter() - t
        t = time.perf_counter()
        _name, data = bank_file_write(actor=finance, batch=batch)
        out["bank_file"] = time.perf_counter() - t
        out["bank_file_mb"] = len(data) / 1e6
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("回盘")
        ws.append(["业务号", "金额", "结果", "原因"])
        rng = random.Random(5)
        for pk, amount in batch.lines.values_list("pk", "amount"):
            failed = rng.random() < 0.005
            ws.append([str(pk), str(amount), "失败" if failed else "成功", "账户已冻结" if failed else ""])
        buffer = _io.BytesIO()
        wb.save(buffer)
        t = time.perf_counter()
        report = bank_return_import(actor=finance, batch=batch, data=buffer.getvalue())
        out["bank_return"] = time.perf_counter() - t
        out["report"] = report
        return out

    log("measuring …")
    _s, (first_s, again_s, beneficiaries, n_lines, total) = timed(
        "district 120112 generate + regenerate", district_twice
    )
    city_s, city_lines = timed("city run, 16 districts", city)
    _s, cycle = timed("approve, bank file, bank return for 120112", bank_cycle)
    first, last = months.add(this, -12), months.add(this, -1)
    proof_s, proof = timed(
        "proof, city, 12 months",
        lambda: full_payment_proof(actor=None, division_code="12", first=first, last=last),
    )
    dproof_s, dproof = timed(
        "proof, 120112, 12 months",
        lambda: full_payment_proof(actor=None, division_code=MAIN_DISTRICT, first=first, last=last),
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = machine()
    print()
    print(
        f"machine: {info['cpu']}, nproc {info['nproc']}, {info['ram']} RAM; PostgreSQL {info['postgresql']}"
    )
    print(f"python {info['python']}, django {info['django']}")
    print(f"ledger: {lines:,} lines; children {args.children:,}")
    print(f"{'measure':44} {'seconds':>8} {'target':>8}  result")
    print(
        f"{'generate 120112 (first)':44} {first_s:8.2f} {TARGET_DISTRICT_S:8.0f}  {beneficiaries:,} beneficiaries, {n_lines:,} lines, {total} yuan"
    )
    print(f"{'regenerate 120112 (draft)':44} {again_s:8.2f} {TARGET_DISTRICT_S:8.0f}  same batch")
    print(f"{'city monthly run, 16 districts':44} {city_s:8.2f} {'':>8}  {city_lines:,} lines")
    print(f"{'review + approve 120112 (conflict check)':44} {cycle['approve']:8.2f}")
    print(f"{'bank file 120112 (xlsx)':44} {cycle['bank_file']:8.2f} {'':>8}  {cycle['bank_file_mb']:.1f} MB")
    r = cycle["report"]
    print(
        f"{'bank return file 120112, 0.5% failed':44} {cycle['bank_return']:8.2f} {'':>8}  "
        f"paid {r.paid_count:,}, failed {r.failed_count:,}, reconciled {r.reconciled}"
    )
    d = proof.as_dict()
    print(
        f"{'proof, city, 1M children x 12 months':44} {proof_s:8.2f} {TARGET_PROOF_S:8.0f}  "
        f"{d['child_months']:,} child-months, paid_ok {d['paid_ok']:,}, gaps {d['gaps']}, duplicates {d['duplicates']}, "
        f"wrong {d['wrong_amounts']}, unexpected {d['unexpected']} (planted {PLANTED} each)"
    )
    dd = dproof.as_dict()
    print(f"{'proof, 120112, 12 months':44} {dproof_s:8.2f} {'':>8}  {dd['child_months']:,} child-months")
    print(f"peak memory {peak:,.0f} MiB")
    ok = (
        first_s < TARGET_DISTRICT_S
        and proof_s < TARGET_PROOF_S
        and (d["gaps"], d["duplicates"], d["wrong_amounts"]) == (PLANTED, PLANTED, PLANTED)
    )
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
