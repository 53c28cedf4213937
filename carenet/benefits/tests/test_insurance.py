"""The yearly medical-insurance premium subsidy: a list for the insurance bureau, not a bank file."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from carenet.benefits import months
from carenet.benefits.insurance import insurance_confirm, insurance_list_write
from carenet.benefits.models import BatchStatus, Enrolment, LineStatus
from carenet.benefits.payroll import batch_approve, batch_review, payroll_generate
from carenet.benefits.tests.test_payroll import DISTRICT, THIS_MONTH, enrol, kid, standards  # noqa: F401
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.tests_support.factories import ChildFactory


def test_orphans_premiums_go_to_the_bureau_as_a_yearly_list(kid, personas):  # noqa: F811
    poor = ChildFactory(name="贫困童", division=kid.division)
    for child, category in ((kid, "orphan_scattered"), (poor, "poor_family")):
        enrolment = enrol(child, category=category, start=months.add(THIS_MONTH, -14), account=False)
        if category == "orphan_scattered":
            Enrolment.objects.create(
                child=child,
                programme="medical_premium",
                category=category,
                division_code=child.division_code,
                start_month=months.add(THIS_MONTH, -14),
            )
        assert enrolment.pk
    batch = payroll_generate(
        actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH, programme="medical_premium"
    )
    assert batch.period == THIS_MONTH.replace(month=1)
    # This year and last year's premium (never paid: arrears), for the orphan only; no bank account needed.
    assert sorted(batch.lines.values_list("month", "amount")) == [
        (THIS_MONTH.replace(year=THIS_MONTH.year - 1, month=1), Decimal("380.00")),
        (THIS_MONTH.replace(month=1), Decimal("380.00")),
    ]
    batch_review(actor=personas.district_finance, batch=batch)
    batch_approve(actor=personas.district_specialist, batch=batch)
    with pytest.raises(PermissionDeniedError):
        insurance_list_write(actor=personas.district_specialist, batch=batch)
    name, data = insurance_list_write(actor=personas.district_finance, batch=batch)
    assert kid.name not in name and name.endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[1][1] == kid.name and rows[1][3] == kid.id_number and len(rows) == 4
    batch = insurance_confirm(actor=personas.district_finance, batch=batch)
    assert batch.status == BatchStatus.RECONCILED
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PAID}
    again = payroll_generate(
        actor=None, district_code=DISTRICT, month=THIS_MONTH, programme="medical_premium"
    )
    assert again.pk == batch.pk


def test_a_basic_allowance_batch_has_no_insurance_list(kid, personas):  # noqa: F811
    enrol(kid, start=THIS_MONTH)
    batch = payroll_generate(actor=personas.district_finance, district_code=DISTRICT, month=THIS_MONTH)
    batch_review(actor=personas.district_finance, batch=batch)
    batch_approve(actor=personas.district_specialist, batch=batch)
    with pytest.raises(CarenetError):
        insurance_list_write(actor=personas.district_finance, batch=batch)
