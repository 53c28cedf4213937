"""The bank file of a payroll batch (what the bank pays out) and the bank's return file (what it paid).

Only the paying district's finance officer sends money: the file carries full account and ID numbers, so
it is written for them alone, and every download is audited. The return file is checked row by row before
anything is recorded; one bad row and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import Workbook, load_workbook

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.benefits import months
from carenet.benefits.models import (
    BANK_PURPOSE,
    PROGRAMMES,
    BankAccount,
    BatchStatus,
    LineKind,
    LineStatus,
    PaymentLine,
    PayrollBatch,
    Programme,
)
from carenet.core import crypto, xlsx
from carenet.core.errors import CarenetError, PermissionDeniedError, RowErrors
from carenet.registry.models import ID_PURPOSE

# The bank reads these headers, whatever language the user interface is in: they are not translated.
HEADERS = ("序号", "姓名", "账号", "金额", "身份证号", "月份", "业务号", "备注")
TOTAL_LABEL = "合计"
MAX_AMOUNT = Decimal("9999999999.99")  # the ledger's DecimalField(max_digits=12, decimal_places=2)
# Lines that went out in the bank file (a re-download shows them all, whatever the bank answered since).
SENT = (LineStatus.EXPORTED, LineStatus.PAID, LineStatus.FAILED)

# Return-file columns, found by header text. Banks add their own columns and reorder ours.
RETURN_COLUMNS: dict[str, tuple[str, ...]] = {
    "ref": ("业务号", "业务编号", "reference", "ref", "payment no", "payment number", "line id"),
    "amount": ("金额", "交易金额", "amount"),
    "result": ("结果", "处理结果", "交易结果", "result", "status"),
    "reason": ("原因", "失败原因", "reason", "failure reason"),
}
REQUIRED_COLUMNS = ("ref", "amount", "result")
COLUMN_TITLES = {"ref": "业务号", "amount": "金额", "result": "结果", "reason": "原因"}
PAID_WORDS = frozenset(
    {"成功", "支付成功", "交易成功", "已支付", "已入账", "success", "succeeded", "paid", "ok"}
)
FAILED_WORDS = frozenset({"失败", "支付失败", "交易失败", "退回", "退票", "failed", "failure", "fail"})
HEADER_SEARCH_ROWS = 10  # banks put a title or a date line or two above the header
TOTAL_WORDS = frozenset({"合计", "总计", "total"})


# ---------------------------------------------------------------------------------------------------------
# Who may send money


def batch_for_sender(actor: User, batch: PayrollBatch) -> PayrollBatch:
    """The batch, locked, if `actor` is the finance officer of the district that pays it. A city administrator
    holds every permission but does not send a district's money; neither does another district."""
    if not has_perm(actor, Perm.PAYROLL_EXPORT):
        raise PermissionDeniedError(_("Your role may not do this."))
    if not (actor.division_id and actor.division.code == batch.district_code):
        raise PermissionDeniedError(_("Only the finance officer of the paying district sends its bank file."))
    return scope(actor, PayrollBatch.objects.select_for_update()).get(pk=batch.pk)


def _refuse_without_accounts(batch: PayrollBatch) -> None:
    if not PROGRAMMES[batch.programme].needs_account:
        raise CarenetError(
            _("%(programme)s is not paid into bank accounts; it has no bank file.")
            % {"programme": Programme(batch.programme).label}
        )


def bank_file_name(batch: PayrollBatch) -> str:
    """No personal data in the name: it shows up in download folders and mail attachments."""
    return f"payroll-{batch.district_code}-{batch.programme}-{months.label(batch.period)}.xlsx"


# ---------------------------------------------------------------------------------------------------------
# The bank file


@transaction.atomic
def bank_file_write(*, actor: User, batch: PayrollBatch) -> tuple[str, bytes]:
    """The bank file (filename, xlsx bytes). The first time, each line gets a copy of the account it is paid
    into and the batch moves to EXPORTED; later downloads give the same lines again."""
    batch = batch_for_sender(actor, batch)
    _refuse_without_accounts(batch)
    if batch.status not in (BatchStatus.APPROVED, BatchStatus.EXPORTED):
        raise CarenetError(_("Only an approved batch can be sent to the bank."))
    first = batch.status == BatchStatus.APPROVED
    if first:
        _send(actor, batch)
    lines = list(
        batch.lines.filter(status__in=SENT)
        .order_by("division_code", "child_id", "month", "id")
        .values_list(*_ROW_COLUMNS, named=True)
    )
    name = bank_file_name(batch)
    data = _workbook(batch, lines)
    changes: dict[str, list[Any]] = {"bank_file": [None, name]}
    if first:
        changes.update(
            status=[BatchStatus.APPROVED.value, BatchStatus.EXPORTED.value],
            lines=[None, len(lines)],
            total=[None, str(sum((line.amount for line in lines), Decimal(0)))],
        )
    _log_batch(actor, batch, changes)
    # The file carries full ID numbers: each child in it gets an access record, as any export does.
    events.accesses_recorded(
        actor=actor,
        children=sorted({(line.child_id, line.division_code) for line in lines}),
        kind=AccessLog.Kind.EXPORT,
        detail="xlsx full_id",
    )
    return name, data


def _send(actor: User, batch: PayrollBatch) -> int:
    """Copy each line's payee and account from the child's active account, APPROVED -> EXPORTED: one UPDATE
    for the whole batch (a district's 100,000 lines), audited once on the batch with the count."""
    approved = batch.lines.filter(status=LineStatus.APPROVED)
    if not approved.exists():
        raise CarenetError(_("The batch has no approved payments to send."))
    has_account = BankAccount.objects.filter(child_id=OuterRef("child_id"), active=True)
    missing = sorted(
        {line.child for line in approved.exclude(Exists(has_account)).select_related("child")[:1000]},
        key=lambda c: c.pk,
    )
    if missing:
        shown = "、".join(c.name for c in missing[:20])
        more = len(missing) - 20
        message = ngettext(
            "%(n)d child has no bank account on record: %(names)s%(more)s. Record the account first.",
            "%(n)d children have no bank account on record: %(names)s%(more)s. Record their accounts first.",
            len(missing),
        )
        raise CarenetError(
            message
            % {
                "n": len(missing),
                "names": shown,
                "more": (_(" and %(n)d more") % {"n": more}) if more > 0 else "",
            }
        )
    # Same encryption purpose on both columns: the ciphertext is copied, never decrypted here.
    sent = approved.update(
        payee_name=Subquery(has_account.values("holder_name")[:1]),
        account_enc=Subquery(has_account.values("account_enc")[:1]),
        account_last4=Subquery(has_account.values("account_last4")[:1]),
        status=LineStatus.EXPORTED,
    )
    batch.status, batch.exported_by, batch.exported_at = BatchStatus.EXPORTED, actor, timezone.now()
    batch.save(update_fields=["status", "exported_by", "exported_at"])
    return sent


_ROW_COLUMNS = (
    "pk",
    "child_id",
    "division_code",
    "payee_name",
    "account_enc",
    "amount",
    "child__id_number_enc",
    "month",
    "kind",
    "programme",
)


def _workbook(batch: PayrollBatch, lines: Sequence[Any]) -> bytes:
    """Rows of plain values (a district's file has 100,000): only the header, the money and the total are styled
    cells. Account, ID and payment numbers are written as strings (text cells), so Excel never turns them into
    6.22E+18."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"{batch.district_code}-{months.label(batch.period)}")
    for letter, width in zip("ABCDEFGH", (8, 14, 26, 12, 22, 10, 12, 24), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append([xlsx.cell(ws, h, bold=True) for h in HEADERS])
    total = Decimal(0)
    notes: dict[tuple[str, str], str] = {}
    for number, line in enumerate(lines, start=1):
        total += line.amount
        key = (line.programme, line.kind)
        if key not in notes:
            notes[key] = _note(line)
        ws.append(
            [
                number,
                line.payee_name,
                crypto.decrypt(line.account_enc, purpose=BANK_PURPOSE),
                xlsx.money(ws, line.amount),
                crypto.decrypt(line.child__id_number_enc, purpose=ID_PURPOSE),
                months.label(line.month),
                str(line.pk),
                notes[key],
            ]
        )
    ws.append(
        [xlsx.cell(ws, TOTAL_LABEL, bold=True), f"{len(lines)}笔", None, xlsx.money(ws, total, bold=True)]
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _note(line: Any) -> str:
    label = str(Programme(line.programme).label)
    return label if line.kind == LineKind.REGULAR else f"{label}（{LineKind(line.kind).label}）"


# ---------------------------------------------------------------------------------------------------------
# The return file


@dataclass
class ReturnReport:
    paid_count: int = 0
    paid_amount: Decimal = Decimal("0.00")
    failed_count: int = 0
    failed_amount: Decimal = Decimal("0.00")
    # Sent lines the bank has not answered for yet: they stay EXPORTED until a later return file.
    pending_count: int = 0
    pending_line_ids: list[int] = field(default_factory=list)
    # Rows that repeat what an earlier return file already recorded (a bank resending its full list).
    already_recorded: int = 0
    reconciled: bool = False


@dataclass(frozen=True)
class _Outcome:
    row: int
    line: PaymentLine
    paid: bool
    reason: str


@transaction.atomic
def bank_return_import(*, actor: User, batch: PayrollBatch, data: bytes) -> ReturnReport:
    """Record what the bank paid. Every row is checked first; any bad row raises RowErrors listing them all
    and nothing is recorded."""
    batch = batch_for_sender(actor, batch)
    if batch.status != BatchStatus.EXPORTED:
        raise CarenetError(_("Only a batch sent to the bank can take its return file."))
    lines = {line.pk: line for line in batch.lines.select_for_update().filter(status__in=SENT)}
    rows = _read_rows(data)
    outcomes, already = _check_rows(rows, lines)
    report = _apply(actor, batch, outcomes)
    report.already_recorded = already
    return report


def _read_rows(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(row number as Excel shows it, {column key: value}) for every data row below the header."""
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = wb.worksheets[0]
            # Some bank systems write a wrong <dimension> tag; trusting it would cut the sheet short.
            sheet.reset_dimensions()
            raw = [(n, tuple(v)) for n, v in enumerate(sheet.iter_rows(values_only=True), start=1)]
        finally:
            wb.close()
    except Exception as exc:  # a broken file fails in many ways (zip, XML, missing parts): all mean the same
        raise CarenetError(_("The file is not a readable Excel (.xlsx) workbook.")) from exc
    header_row, columns = _find_header(raw)
    rows = []
    for number, values in raw:
        if number <= header_row or _skippable(values):
            continue
        rows.append((number, {key: values[i] if i < len(values) else None for key, i in columns.items()}))
    if not rows:
        raise CarenetError(_("The file has no result rows."))
    return rows


def _header_key(value: object) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).strip().lower()
    text = re.sub(r"\(.*?\)", "", text)  # "金额（元）" -> "金额" (NFKC made the brackets ASCII)
    return re.sub(r"[\s_:]+", " ", text).strip()


_ALIASES = {alias: key for key, aliases in RETURN_COLUMNS.items() for alias in aliases}


def _find_header(raw: Sequence[tuple[int, tuple[Any, ...]]]) -> tuple[int, dict[str, int]]:
    for number, values in raw[:HEADER_SEARCH_ROWS]:
        columns: dict[str, int] = {}
        for i, value in enumerate(values):
            key = _ALIASES.get(_header_key(value))
            if key and key not in columns:
                columns[key] = i
        # Two known headers make a header row (a title line above it may well say 业务号 or 结果 alone).
        if len(columns) >= 2:
            missing = [COLUMN_TITLES[k] for k in REQUIRED_COLUMNS if k not in columns]
            if missing:
                raise RowErrors(
                    _("The header row lacks columns the return file needs."),
                    [(number, _("Column %(column)s is missing.") % {"column": c}) for c in missing],
                )
            return number, columns
    raise RowErrors(
        _("No header row found."),
        [
            (
                1,
                _("No header row with the columns %(columns)s was found in the first %(n)d rows.")
                % {"columns": "、".join(COLUMN_TITLES[k] for k in REQUIRED_COLUMNS), "n": HEADER_SEARCH_ROWS},
            )
        ],
    )


def _skippable(values: tuple[Any, ...]) -> bool:
    """Blank rows, and the totals row our own file ends with (banks send it back)."""
    texts = [str(v).strip() for v in values if v is not None and str(v).strip()]
    return not texts or _header_key(texts[0]) in TOTAL_WORDS


def _check_rows(
    rows: Sequence[tuple[int, dict[str, Any]]], lines: dict[int, PaymentLine]
) -> tuple[list[_Outcome], int]:
    """Every row checked, every problem collected: the user fixes the whole file in one go."""
    errors: list[tuple[int, str]] = []
    outcomes: list[_Outcome] = []
    seen: dict[int, int] = {}
    already = 0
    for number, cells in rows:
        problems: list[str] = []
        outcome = _check_row(number, cells, lines, seen, problems)
        errors.extend((number, p) for p in problems)
        if problems or outcome is None:
            continue
        if outcome.line.status == LineStatus.EXPORTED:
            outcomes.append(outcome)
        else:
            already += 1
    if errors:
        raise RowErrors(
            ngettext(
                "%(n)d problem in the return file; nothing was recorded.",
                "%(n)d problems in the return file; nothing was recorded.",
                len(errors),
            )
            % {"n": len(errors)},
            errors,
        )
    return outcomes, already


def _check_row(
    number: int,
    cells: dict[str, Any],
    lines: dict[int, PaymentLine],
    seen: dict[int, int],
    problems: list[str],
) -> _Outcome | None:
    line = _row_line(cells.get("ref"), lines, problems)
    amount = _row_amount(cells.get("amount"), problems)
    paid = _row_result(cells.get("result"), problems)
    if line is None:
        return None
    if line.pk in seen:
        problems.append(
            _("Payment %(ref)s appears twice (first on row %(row)d).")
            % {"ref": line.pk, "row": seen[line.pk]}
        )
    seen.setdefault(line.pk, number)
    if amount is not None and amount != line.amount:
        problems.append(
            _("The amount %(amount)s differs from the %(expected)s sent for payment %(ref)s.")
            % {"amount": f"{amount:.2f}", "expected": f"{line.amount:.2f}", "ref": line.pk}
        )
    if paid is None:
        return None
    # A bank may resend rows an earlier return file settled: the same answer is no news, a different one is.
    if line.status != LineStatus.EXPORTED and (line.status == LineStatus.PAID) != paid:
        problems.append(
            _("Payment %(ref)s was already recorded as %(status)s by an earlier return file.")
            % {"ref": line.pk, "status": LineStatus(line.status).label}
        )
    return _Outcome(number, line, paid, _text(cells.get("reason"))[:200])


def _row_line(value: object, lines: dict[int, PaymentLine], problems: list[str]) -> PaymentLine | None:
    text = _text(value)
    if not text:
        problems.append(_("The payment number (%(column)s) is empty.") % {"column": COLUMN_TITLES["ref"]})
        return None
    ref = _integer(value)
    line = lines.get(ref) if ref is not None else None
    if line is None:
        problems.append(_("%(ref)s is not a payment of this batch.") % {"ref": text})
    return line


def _row_amount(value: object, problems: list[str]) -> Decimal | None:
    if not _text(value):
        problems.append(_("The amount (%(column)s) is empty.") % {"column": COLUMN_TITLES["amount"]})
        return None
    try:
        return parse_money(value)
    except ValueError as exc:
        problems.append(str(exc))
        return None


def _row_result(value: object, problems: list[str]) -> bool | None:
    text = _header_key(value)
    if not text:
        problems.append(_("The result (%(column)s) is empty.") % {"column": COLUMN_TITLES["result"]})
        return None
    if text in PAID_WORDS:
        return True
    if text in FAILED_WORDS:
        return False
    problems.append(
        _("Unknown result “%(value)s”: write 成功 (success) or 失败 (failed).") % {"value": _text(value)}
    )
    return None


def _apply(actor: User, batch: PayrollBatch, outcomes: Sequence[_Outcome]) -> ReturnReport:
    report = ReturnReport()
    today = timezone.localdate()
    for outcome in outcomes:
        line = outcome.line
        if outcome.paid:
            line.status, line.settled_on, line.failure_reason = LineStatus.PAID, today, ""
            report.paid_count += 1
            report.paid_amount += line.amount
        else:
            line.status, line.failure_reason = LineStatus.FAILED, outcome.reason
            report.failed_count += 1
            report.failed_amount += line.amount
    # Set-based writes: a district's return file has 100,000 rows (bulk_update's CASE per row took minutes).
    paid_ids = [o.line.pk for o in outcomes if o.paid]
    for i in range(0, len(paid_ids), 10_000):
        PaymentLine.objects.filter(pk__in=paid_ids[i : i + 10_000]).update(
            status=LineStatus.PAID, settled_on=today, failure_reason=""
        )
    by_reason: dict[str, list[int]] = {}
    for o in outcomes:
        if not o.paid:
            by_reason.setdefault(o.line.failure_reason, []).append(o.line.pk)
    for reason, ids in by_reason.items():
        PaymentLine.objects.filter(pk__in=ids).update(status=LineStatus.FAILED, failure_reason=reason)
    # The ledger line itself records each payment's outcome; the audit trail names every failure (with the
    # bank's reason) and the batch's totals, not each of the thousands of successes.
    events.changes_recorded(
        actor=actor,
        entity="payment_line",
        action="update",
        rows=(_line_change(o, today) for o in outcomes if not o.paid),
    )
    pending = list(batch.lines.filter(status=LineStatus.EXPORTED).order_by("id").values_list("id", flat=True))
    report.pending_count, report.pending_line_ids = len(pending), pending
    changes: dict[str, list[Any]] = {
        "return_file": [
            None,
            f"paid {report.paid_count}, failed {report.failed_count}, pending {len(pending)}",
        ]
    }
    if not pending:
        batch.status, batch.reconciled_by, batch.reconciled_at = BatchStatus.RECONCILED, actor, timezone.now()
        batch.save(update_fields=["status", "reconciled_by", "reconciled_at"])
        changes["status"] = [BatchStatus.EXPORTED.value, BatchStatus.RECONCILED.value]
        report.reconciled = True
    _log_batch(actor, batch, changes)
    return report


def _line_change(outcome: _Outcome, today: dt.date) -> tuple[int, int | None, str, dict[str, Any]]:
    line = outcome.line
    changes: dict[str, list[Any]] = {"status": [LineStatus.EXPORTED.value, line.status]}
    if outcome.paid:
        changes["settled_on"] = [None, today.isoformat()]
    elif line.failure_reason:
        changes["failure_reason"] = ["", line.failure_reason]
    return line.pk, line.child_id, line.division_code, changes


def _log_batch(actor: User, batch: PayrollBatch, changes: dict[str, list[Any]]) -> None:
    events.change_recorded(
        actor=actor,
        entity="payroll_batch",
        entity_id=batch.pk,
        child_id=None,
        division_code=batch.district_code,
        action="update",
        changes=changes,
    )


# ---------------------------------------------------------------------------------------------------------
# Cell values


_MONEY_TEXT = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|[+-]?\.\d+")


def parse_money(value: object) -> Decimal:
    """A spreadsheet amount as exact Decimal: 1200, 1200.5, '1,200.00', '¥1,200.00元'. Floats are read back
    at Excel's 15 significant digits (so 1234.5600000000001 is 1234.56); more than two decimals is refused,
    never rounded away. Raises ValueError with a message to show."""
    if isinstance(value, bool):
        raise ValueError(_("“%(value)s” is not an amount.") % {"value": value})
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(_("“%(value)s” is not an amount.") % {"value": value})
        amount = Decimal(format(value, ".15g"))
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().removeprefix("¥").removesuffix("元").strip()
        if not _MONEY_TEXT.fullmatch(text):
            raise ValueError(_("“%(value)s” is not an amount.") % {"value": value.strip()})
        amount = Decimal(text.replace(",", ""))
    else:
        raise ValueError(_("“%(value)s” is not an amount.") % {"value": value})
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise ValueError(_("“%(value)s” is not an amount.") % {"value": value})
    try:
        rounded = amount.quantize(xlsx.CENT)
    except InvalidOperation as exc:
        raise ValueError(_("“%(value)s” is not an amount.") % {"value": value}) from exc
    if rounded != amount:
        raise ValueError(_("The amount %(value)s has more than two decimals.") % {"value": amount})
    return rounded


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
