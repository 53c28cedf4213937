"""The totals report as an Excel workbook: one sheet per dimension (district, category, programme, month) and
the full breakdown. Aggregates only — no child is named — so no access record is written; amounts are Decimal
cells (exact) shown as '#,##0.00'."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from carenet.benefits import months
from carenet.benefits.models import Programme
from carenet.benefits.selectors import Subtotal, TotalsReport, division_names
from carenet.core import xlsx
from carenet.registry.models import Category


def totals_file_name(report: TotalsReport) -> str:
    """Division code and period only: the name turns up in download folders and mail attachments."""
    return (
        f"benefit-totals-{report.division.code}-{months.label(report.first)}-{months.label(report.last)}"
        f"{'-' + report.programme if report.programme else ''}.xlsx"
    )


def totals_xlsx(report: TotalsReport) -> tuple[str, bytes]:
    districts = division_names({r.district_code for r in report.rows})
    categories, programmes = dict(Category.choices), dict(Programme.choices)
    wb = Workbook(write_only=True)
    labels: dict[str, Callable[[Any], str]] = {
        "district_code": lambda code: f"{districts.get(code, code)}（{code}）",
        "category": lambda value: str(categories.get(value, value)),
        "programme": lambda value: str(programmes.get(value, value)),
        "month": months.label,
    }
    titles = {
        "district_code": _("By district"),
        "category": _("By category"),
        "programme": _("By programme"),
        "month": _("By month"),
    }
    heads = {
        "district_code": _("District"),
        "category": _("Category"),
        "programme": _("Programme"),
        "month": _("Month"),
    }
    _summary_sheet(
        wb, report, titles["district_code"], heads["district_code"], report.by("district_code"), labels
    )
    for key in ("category", "programme", "month"):
        _subtotal_sheet(wb, report, titles[key], heads[key], report.by(key), labels[key])
    ws = wb.create_sheet(_("Breakdown"))
    _widths(ws, (22, 18, 24, 10, 12, 18))
    ws.append([_bold(ws, h) for h in (*heads.values(), _("Person-times"), _("Amount (yuan)"))])
    for r in report.rows:
        ws.append(
            [
                labels["district_code"](r.district_code),
                labels["category"](r.category),
                labels["programme"](r.programme),
                months.label(r.month),
                _count(ws, r.lines),
                _money(ws, r.amount),
            ]
        )
    ws.append(
        [
            _bold(ws, _("Total")),
            None,
            None,
            None,
            _count(ws, report.lines, True),
            _money(ws, report.amount, True),
        ]
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return totals_file_name(report), buffer.getvalue()


def _summary_sheet(  # type: ignore[no-untyped-def]
    wb, report: TotalsReport, title: str, head: str, groups: list[Subtotal], labels: dict
) -> None:
    """The first sheet says what the figures are (division, period, programme) above the district totals."""
    ws = wb.create_sheet(title)
    _widths(ws, (26, 14, 20))
    programme = str(dict(Programme.choices).get(report.programme, "")) or _("All programmes")
    ws.append([_bold(ws, _("Benefit totals")), report.division.full_name or report.division.name])
    ws.append([_("Period"), f"{months.label(report.first)} – {months.label(report.last)}"])
    ws.append([_("Programme"), programme])
    ws.append([_("Children paid"), _count(ws, report.beneficiaries)])
    ws.append([])
    _table(ws, head, groups, labels["district_code"], report)


def _subtotal_sheet(  # type: ignore[no-untyped-def]
    wb, report: TotalsReport, title: str, head: str, groups: list[Subtotal], label: Callable[[Any], str]
) -> None:
    ws = wb.create_sheet(title)
    _widths(ws, (26, 14, 20))
    _table(ws, head, groups, label, report)


def _table(
    ws: Any, head: str, groups: Iterable[Subtotal], label: Callable[[Any], str], report: TotalsReport
) -> None:
    ws.append([_bold(ws, head), _bold(ws, _("Person-times")), _bold(ws, _("Amount (yuan)"))])
    for g in groups:
        ws.append([label(g.key), _count(ws, g.lines), _money(ws, g.amount)])
    ws.append([_bold(ws, _("Total")), _count(ws, report.lines, True), _money(ws, report.amount, True)])


def _widths(ws: Any, widths: tuple[int, ...]) -> None:
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width


def _bold(ws: Any, value: object) -> WriteOnlyCell:
    return xlsx.cell(ws, value, bold=True)


def _money(ws: Any, amount: Decimal, bold: bool = False) -> WriteOnlyCell:
    return xlsx.money(ws, amount, bold=bold, number_format=xlsx.GROUPED_MONEY)


def _count(ws: Any, n: int, bold: bool = False) -> WriteOnlyCell:
    return xlsx.cell(ws, n, bold=bold, number_format=xlsx.COUNT)
