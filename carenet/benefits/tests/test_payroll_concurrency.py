"""Payroll under concurrent callers, each on its own database connection. On PostgreSQL the transactions run side
by side and the locks decide; on SQLite (a file, as in the embedded setup) the writers queue on the database's
one write lock, and the same answers must come out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from carenet.benefits.models import BatchStatus, Enrolment, LineStatus, PaymentLine, PayrollBatch
from carenet.benefits.payroll import batch_approve, batch_review, payroll_generate
from carenet.benefits.tests.test_payroll import DISTRICT, THIS_MONTH, enrol, kid, standards  # noqa: F401
from carenet.core.errors import CarenetError
from carenet.tests_support.factories import UserFactory

CALLERS = 6


def _race(fn, n: int):  # type: ignore[no-untyped-def]
    start = threading.Barrier(n)

    def run(i: int):  # type: ignore[no-untyped-def]
        try:
            start.wait(timeout=30)
            return fn(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.django_db(transaction=True)
def test_concurrent_generates_of_one_district_month_make_one_batch(kid, personas):  # noqa: F811
    enrol(kid, start=THIS_MONTH)
    ids = _race(lambda _i: payroll_generate(actor=None, district_code=DISTRICT, month=THIS_MONTH).pk, CALLERS)
    assert len(set(ids)) == 1
    assert PayrollBatch.objects.count() == 1
    assert PaymentLine.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_districts_approving_one_child_month_at_once_pay_it_once(kid, personas, city):  # noqa: F811
    enrol(kid, start=THIS_MONTH)
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
    ours = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    theirs = payroll_generate(actor=hp_finance, district_code="120101", month=THIS_MONTH)
    batch_review(actor=personas.district_finance, batch=ours)
    batch_review(actor=hp_finance, batch=theirs)
    pairs = [(personas.district_specialist, ours), (hp_head, theirs)]

    def approve(i: int) -> str:
        actor, batch = pairs[i]
        try:
            return batch_approve(actor=actor, batch=batch).status
        except CarenetError:
            return "refused"

    outcomes = sorted(_race(approve, 2))
    assert outcomes == [BatchStatus.APPROVED, "refused"]
    assert PaymentLine.objects.filter(child=kid, status=LineStatus.APPROVED).count() == 1
