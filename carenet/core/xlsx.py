"""Cells for the spreadsheets carenet writes (openpyxl write-only workbooks): bank files, the insurance
bureau's list, benefit totals, the children export. Plain values stay plain (a bank file has 100,000 rows);
only headers, long digit strings and money become styled cells."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

CENT = Decimal("0.01")
PLAIN_MONEY = "0.00"  # what banks' and bureaus' systems read back
GROUPED_MONEY = "#,##0.00"  # for people: 1,234.00
COUNT = "#,##0"


def cell(
    ws: Any, value: object, *, bold: bool = False, text: bool = False, number_format: str = ""
) -> WriteOnlyCell:
    """A styled cell. `text`: long digit strings (accounts, ID numbers) stay text; as numbers Excel would
    show 6.22E+18 and drop the last digits."""
    out = WriteOnlyCell(ws, value=value)
    if bold:
        out.font = Font(bold=True)
    if text:
        out.number_format = "@"
    elif number_format:
        out.number_format = number_format
    return out


def money(ws: Any, amount: Decimal, *, bold: bool = False, number_format: str = PLAIN_MONEY) -> WriteOnlyCell:
    """An amount in yuan to the cent, as a Decimal cell: openpyxl writes 16 significant digits, exact for the
    ledger's 12."""
    return cell(ws, amount.quantize(CENT), bold=bold, number_format=number_format)
