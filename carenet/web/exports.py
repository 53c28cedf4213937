"""Excel exports. Every exported child gets an access record before the file is produced."""

from __future__ import annotations

import io

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.core import xlsx
from carenet.core.errors import CarenetError
from carenet.registry.models import Category, CategoryMembership, Child, Sex

MAX_EXPORT_ROWS = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def children_xlsx(*, actor: User, queryset: QuerySet[Child]) -> HttpResponse:
    total = queryset.count()
    if total > MAX_EXPORT_ROWS:
        raise CarenetError(
            _("%(n)d children match; narrow the filter to at most %(max)d rows.")
            % {"n": total, "max": MAX_EXPORT_ROWS}
        )
    rows = list(
        queryset.prefetch_related(
            Prefetch(
                "categories",
                queryset=CategoryMembership.objects.filter(end_date__isnull=True),
                to_attr="open_categories",
            )
        )
    )
    full = has_perm(actor, Perm.CHILD_VIEW_FULL_ID)
    events.accesses_recorded(
        actor=actor,
        children=[(c.pk, c.division_code) for c in rows],
        kind=AccessLog.Kind.EXPORT,
        detail="xlsx full_id" if full else "xlsx",
    )
    labels = dict(Category.choices)
    sexes = dict(Sex.choices)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Children"))
    header = [
        _("Record no."),
        _("Name"),
        _("Sex"),
        _("Birth date"),
        _("ID number"),
        _("Village / community"),
        _("Division code"),
        _("Categories"),
        _("School"),
        _("Grade"),
        _("Status"),
    ]
    ws.append([xlsx.cell(ws, h, bold=True) for h in header])
    for c in rows:
        ws.append(
            [
                c.pk,
                c.name,
                str(sexes.get(c.sex, "")),
                c.birth_date,
                c.id_number if full else c.id_number_masked,
                c.division.full_name or c.division.name,
                c.division_code,
                "、".join(str(labels.get(m.category, m.category)) for m in c.open_categories),
                c.school,
                c.grade,
                c.get_status_display(),
            ]
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="children-{stamp}.xlsx"'
    return response
