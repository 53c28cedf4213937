"""The medical-insurance premium subsidy for orphans: a yearly list for the medical-insurance bureau.

The subsidy is not paid into bank accounts: the district sends the bureau the list of orphans whose resident
medical-insurance premium it pays for the year (the batch of the MEDICAL_PREMIUM programme), and the bureau's
confirmation settles the batch. Same states as a bank batch: approved → exported (list sent) → reconciled.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from carenet.accounts.models import User
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.benefits.bankfiles import batch_for_sender
from carenet.benefits.models import BatchStatus, LineStatus, PaymentLine, PayrollBatch, Programme
from carenet.core import xlsx
from carenet.core.errors import CarenetError

HEADERS = ("序号", "姓名", "性别", "公民身份号码", "参保年度", "资助金额", "所在村（社区）代码")


def _insurance_batch(actor: User, batch: PayrollBatch) -> PayrollBatch:
    batch = batch_for_sender(actor, batch)
    if batch.programme != Programme.MEDICAL_PREMIUM:
        raise CarenetError(
            _("Only the medical-insurance premium subsidy has a list for the insurance bureau.")
        )
    return batch


@transaction.atomic
def insurance_list_write(*, actor: User, batch: PayrollBatch) -> tuple[str, bytes]:
    """The list for the medical-insurance bureau (filename, xlsx). The first time, APPROVED → EXPORTED."""
    batch = _insurance_batch(actor, batch)
    if batch.status not in (BatchStatus.APPROVED, BatchStatus.EXPORTED, BatchStatus.RECONCILED):
        raise CarenetError(_("Only an approved batch can be sent to the medical-insurance bureau."))
    if batch.status == BatchStatus.APPROVED:
        batch.lines.filter(status=LineStatus.APPROVED).update(status=LineStatus.EXPORTED)
        batch.status, batch.exported_by, batch.exported_at = BatchStatus.EXPORTED, actor, timezone.now()
        batch.save(update_fields=["status", "exported_by", "exported_at"])
    lines = list(
        batch.lines.exclude(status=LineStatus.DRAFT)
        .select_related("child")
        .order_by("division_code", "child_id")
    )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"{batch.district_code}-{batch.period.year}")
    ws.append([xlsx.cell(ws, h, bold=True) for h in HEADERS])
    total = Decimal(0)
    for number, line in enumerate(lines, start=1):
        total += line.amount
        ws.append(
            [
                number,
                line.child.name,
                line.child.get_sex_display(),
                xlsx.cell(ws, line.child.id_number, text=True),
                line.month.year,
                xlsx.money(ws, line.amount),
                xlsx.cell(ws, line.division_code, text=True),
            ]
        )
    ws.append(
        [
            xlsx.cell(ws, "合计", bold=True),
            f"{len(lines)}人",
            None,
            None,
            None,
            xlsx.money(ws, total, bold=True),
        ]
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    name = f"medical-premium-{batch.district_code}-{batch.period.year}.xlsx"
    events.change_recorded(
        actor=actor,
        entity="payroll_batch",
        entity_id=batch.pk,
        child_id=None,
        division_code=batch.district_code,
        action="update",
        changes={"insurance_list": [None, name]},
    )
    events.accesses_recorded(
        actor=actor,
        children=sorted({(line.child_id, line.division_code) for line in lines}),
        kind=AccessLog.Kind.EXPORT,
        detail="xlsx full_id",
    )
    return name, buffer.getvalue()


@transaction.atomic
def insurance_confirm(*, actor: User, batch: PayrollBatch) -> PayrollBatch:
    """The bureau confirmed the list: every sent line is paid, the batch reconciled."""
    batch = _insurance_batch(actor, batch)
    if batch.status != BatchStatus.EXPORTED:
        raise CarenetError(_("Send the list to the medical-insurance bureau first."))
    count = PaymentLine.objects.filter(batch=batch, status=LineStatus.EXPORTED).update(
        status=LineStatus.PAID, settled_on=timezone.localdate()
    )
    batch.status, batch.reconciled_by, batch.reconciled_at = BatchStatus.RECONCILED, actor, timezone.now()
    batch.save(update_fields=["status", "reconciled_by", "reconciled_at"])
    events.change_recorded(
        actor=actor,
        entity="payroll_batch",
        entity_id=batch.pk,
        child_id=None,
        division_code=batch.district_code,
        action="update",
        changes={
            "status": [BatchStatus.EXPORTED.value, BatchStatus.RECONCILED.value],
            "confirmed": [None, count],
        },
    )
    return batch
