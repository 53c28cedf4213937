"""Importing a department list: read the file, check every row, then keep it all or nothing.

The file may be CSV (UTF-8 or GBK), XLSX or Parquet with the departments' usual Chinese headers. Every row is
checked before anything is written; a single bad row rejects the whole file with a report naming each bad row
and field (RowErrors), and a file that cannot be read at all is refused naming the file (CarenetError). An
accepted file is kept encrypted (it holds ID numbers) with its SHA-256; the same file of the same kind cannot be
imported twice by the same division.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.models import Division, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.core import crypto
from carenet.core.errors import CarenetError, PermissionDeniedError, RowErrors
from carenet.linkage import io as list_io
from carenet.linkage.normalise import normalise_id, parse_date
from carenet.screening.models import ID_PURPOSE, DeptList, ListKind, ListRecord

MAX_BYTES = 200 * 1024 * 1024
MAX_REPORTED = 500  # rows named in an error report (the count says how many more)

# Headers beyond the person's own (name, sex, birth date, ID, address: linkage.io.ALIASES).
EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "event_date": (
        "event_date",
        "日期",
        "死亡日期",
        "注销日期",
        "入监日期",
        "收监日期",
        "释放日期",
        "出狱日期",
        "刑满释放日期",
        "入所日期",
        "发证日期",
        "入学日期",
        "辍学日期",
        "参保日期",
        "认定日期",
    ),
    "until": ("until", "刑满日期", "预计释放日期", "刑期止日", "出所日期", "有效期至", "截止日期"),
    "household_no": ("household_no", "户号", "户编号", "家庭编号"),
    "relation": ("relation", "与户主关系", "关系"),
    "level": ("level", "残疾等级", "等级"),
    "status": ("status", "状态", "在读状态", "学籍状态", "参保状态"),
    "detail": ("detail", "原因", "死亡原因", "注销原因", "残疾类别", "学校", "罪名", "备注"),
    "division_code": ("division_code", "行政区划代码", "区划代码"),
}
PERSON = ("name", "sex", "birth_date", "id_number", "address")
FIELDS = PERSON + tuple(EXTRA_ALIASES)

# What each kind needs besides a name and an ID number or birth date.
REQUIRED: dict[str, tuple[str, ...]] = {
    ListKind.DEATH: ("event_date",),
    ListKind.HUKOU_CANCEL: ("event_date",),
    ListKind.PRISON_IN: ("event_date",),
    ListKind.PRISON_OUT: ("event_date",),
    ListKind.REHAB: ("event_date",),
    ListKind.DISABILITY: ("level",),
    ListKind.DIBAO: (),
    ListKind.SCHOOL: ("status",),
    ListKind.INSURANCE: (),
    ListKind.HOUSEHOLD: ("household_no", "relation"),
}

SEXES = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F", "1": "M", "2": "F"}
LEVELS = {"1": "1", "2": "2", "3": "3", "4": "4", "一级": "1", "二级": "2", "三级": "3", "四级": "4"}
SCHOOL_STATUS = {
    "在读": "enrolled",
    "在校": "enrolled",
    "入学": "enrolled",
    "enrolled": "enrolled",
    "辍学": "dropout",
    "失学": "dropout",
    "dropout": "dropout",
    "休学": "suspended",
    "suspended": "suspended",
    "转学": "transferred",
    "transferred": "transferred",
    "毕业": "graduated",
    "graduated": "graduated",
}
_ID_SHAPE = re.compile(r"^(\d{15}|\d{17}[\dX])$")


def field_label(name: str) -> str:
    return {
        "name": _("name"),
        "sex": _("sex"),
        "birth_date": _("birth date"),
        "id_number": _("ID number"),
        "address": _("address"),
        "event_date": _("date"),
        "until": _("until"),
        "household_no": _("household number"),
        "relation": _("relation to the head of household"),
        "level": _("disability level"),
        "status": _("status"),
        "detail": _("detail"),
        "division_code": _("division code"),
        "file": _("file"),
    }.get(name, name)


@dataclass
class Parsed:
    rows: list[dict]
    errors: list[tuple[int, str]]


def _columns(df: pl.DataFrame, kind: str) -> dict[str, str]:
    headers = {str(c).strip(): c for c in df.columns}
    lowered = {h.lower(): c for h, c in headers.items()}
    aliases = {**{f: list_io.ALIASES[f] for f in PERSON}, **EXTRA_ALIASES}
    chosen: dict[str, str] = {}
    for field_name, names in aliases.items():
        for alias in names:
            if alias in headers or alias.lower() in lowered:
                chosen[field_name] = headers.get(alias) or lowered[alias.lower()]
                break
    missing = [f for f in ("name", *REQUIRED[kind]) if f not in chosen]
    if "id_number" not in chosen and "birth_date" not in chosen:
        missing.append("id_number")
    if missing:
        raise CarenetError(
            _("The file has no column for: %(fields)s.")
            % {"fields": "、".join(field_label(f) for f in missing)},
            field="file",
        )
    return chosen


def _text(value: object) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "null", "none") else text


def _date(value: str, today: dt.date) -> dt.date | None:
    date = parse_date(value)
    if date is None or date > today or date.year < 1900:
        raise ValueError
    return date


def parse(df: pl.DataFrame, kind: str, today: dt.date | None = None) -> Parsed:
    """Every row checked; rows as dicts ready for ListRecord, or the errors (row number, message)."""
    today = today or timezone.localdate()
    columns = _columns(df, kind)
    data = {f: df[c].cast(pl.Utf8, strict=False).to_list() for f, c in columns.items()}
    n = len(df)
    rows: list[dict] = []
    errors: list[tuple[int, str]] = []

    def bad(row: int, field_name: str, message: str) -> None:
        # Named by the file's own header (死亡日期), or by what is missing when the file has no such column.
        header = str(columns[field_name]).strip() if field_name in columns else field_label(field_name)
        errors.append((row, f"{header}: {message}"))

    for i in range(n):
        row_no = i + 2  # the header is row 1
        value = {f: _text(data[f][i]) if f in data else "" for f in FIELDS}
        if not any(value.values()):
            continue  # a blank line
        out: dict = {"row": row_no}
        ok = True
        if not value["name"]:
            bad(row_no, "name", _("missing"))
            ok = False
        out["name"] = value["name"][:100]
        sex = value["sex"]
        if sex and sex.lower() not in SEXES:
            bad(row_no, "sex", _("“%(value)s” is neither 男 nor 女") % {"value": sex[:10]})
            ok = False
        out["sex"] = SEXES.get(sex.lower(), "") if sex else ""
        number = ""
        if value["id_number"]:
            info = normalise_id(value["id_number"])
            number = info.number if info is not None else ""
            if not number or not _ID_SHAPE.match(number):
                bad(row_no, "id_number", _("not an ID number (15 or 18 characters)"))
                ok = False
        out["id_number"] = number
        for f in ("birth_date", "event_date", "until"):
            out[f] = None
            if not value[f]:
                continue
            try:
                out[f] = _date(value[f], today) if f != "until" else parse_date(value[f])
                if out[f] is None:
                    raise ValueError
            except ValueError:
                bad(
                    row_no, f, _("“%(value)s” is not a date (or is in the future)") % {"value": value[f][:20]}
                )
                ok = False
        if not number and out["birth_date"] is None and not value["birth_date"]:
            bad(row_no, "id_number", _("give the ID number or the birth date"))
            ok = False
        for f in REQUIRED[kind]:
            if not value[f]:
                bad(row_no, f, _("missing"))
                ok = False
        level = value["level"]
        if level and level not in LEVELS:
            bad(row_no, "level", _("“%(value)s” is not a level from 1 to 4") % {"value": level[:10]})
            ok = False
        out["level"] = LEVELS.get(level, "")
        status = value["status"]
        if kind == ListKind.SCHOOL and status and status.lower() not in SCHOOL_STATUS:
            bad(
                row_no,
                "status",
                _("“%(value)s” is not a school status (在读, 辍学, 休学, 转学, 毕业)")
                % {"value": status[:10]},
            )
            ok = False
        out["status"] = (
            SCHOOL_STATUS.get(status.lower(), status[:20]) if kind == ListKind.SCHOOL else status[:20]
        )
        code = value["division_code"]
        if code and not re.fullmatch(r"\d{6}|\d{9}|\d{12}", code):
            bad(row_no, "division_code", _("not a 6-, 9- or 12-digit code"))
            ok = False
        out["division_code"] = code
        out["address"] = value["address"][:300]
        out["household_no"] = value["household_no"][:40]
        out["relation"] = value["relation"][:20]
        out["detail"] = value["detail"][:200]
        if ok:
            rows.append(out)
    return Parsed(rows=rows, errors=errors)


def _store(raw: bytes) -> str:
    """Keep the original file encrypted under MEDIA_ROOT; the path relative to it."""
    relative = Path("screening") / timezone.localdate().strftime("%Y/%m") / f"{uuid.uuid4().hex}.bin"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(crypto.encrypt_bytes(raw, purpose="screening-list"))
    return str(relative)


def original(dept_list: DeptList) -> bytes:
    path = Path(settings.MEDIA_ROOT) / dept_list.stored_file
    return crypto.decrypt_bytes(path.read_bytes(), purpose="screening-list")


def acting_division(actor: User | None) -> str:
    """The division code an import or a run is filed under: the actor's, or the city's for the command line."""
    if actor is None:
        city = Division.objects.filter(parent__isnull=True).order_by("code").first()
        if city is None:
            raise CarenetError(_("There is no division yet: import the divisions first."))
        return city.code
    return actor.division.code


def import_list(
    *,
    actor: User | None,
    kind: str,
    list_date: dt.date,
    filename: str,
    content: bytes,
    department: str = "",
) -> DeptList:
    """Import one department list (actor None: the command line's operator, filed under the city)."""
    if actor is not None and not has_perm(actor, Perm.SCREENING_IMPORT):
        raise PermissionDeniedError(_("Your role may not import department lists."))
    if kind not in ListKind.values:
        raise CarenetError(_("Choose the kind of list."), field="kind")
    if not isinstance(list_date, dt.date):
        raise CarenetError(_("Give the date of the list."), field="list_date")
    if list_date > timezone.localdate():
        raise CarenetError(_("The date of the list is in the future."), field="list_date")
    if not content:
        raise CarenetError(_("The file is empty."), field="file")
    if len(content) > MAX_BYTES:
        raise CarenetError(_("The file is larger than 200 MB."), field="file")
    division_code = acting_division(actor)
    sha = hashlib.sha256(content).hexdigest()
    earlier = DeptList.objects.filter(kind=kind, sha256=sha, division_code=division_code).first()
    if earlier is not None:
        raise CarenetError(
            _("This file was already imported on %(date)s (list %(id)s).")
            % {"date": timezone.localtime(earlier.imported_at).date().isoformat(), "id": earlier.pk},
            field="file",
        )
    name = Path(filename).name
    as_read = name if Path(name).suffix else f"{name or 'list'}.csv"  # a name without a suffix: CSV
    try:
        df = list_io.read_raw(as_read, content=content)  # from the bytes in hand: no second copy on disk
    except list_io.ListError as exc:
        message = str(exc).removeprefix(f"{as_read}: ")
        raise CarenetError(
            _("%(file)s cannot be read: %(why)s") % {"file": name, "why": message}, field="file"
        ) from exc
    parsed = parse(df, kind)
    if parsed.errors:
        raise RowErrors(
            _("%(n)d rows are wrong; nothing was imported. Correct them and import the file again.")
            % {"n": len(parsed.errors)},
            parsed.errors[:MAX_REPORTED],
        )
    if not parsed.rows:
        raise CarenetError(_("The file has no rows."), field="file")
    stored = _store(content)
    try:
        with transaction.atomic():
            dept_list = DeptList.objects.create(
                kind=kind,
                list_date=list_date,
                department=department.strip()[:100],
                division_code=division_code,
                original_name=name[:200],
                stored_file=stored,
                sha256=sha,
                size=len(content),
                row_count=len(parsed.rows),
                imported_by=actor,
            )
            ListRecord.objects.bulk_create([_record(dept_list, row) for row in parsed.rows], batch_size=2000)
            events.change_recorded(
                actor=actor,
                entity="dept_list",
                entity_id=dept_list.pk,
                child_id=None,
                division_code=division_code,
                action="import",
                changes={
                    "kind": [None, kind],
                    "list_date": [None, list_date.isoformat()],
                    "file": [None, dept_list.original_name],
                    "sha256": [None, sha],
                    "rows": [None, dept_list.row_count],
                },
            )
    except IntegrityError as exc:
        (Path(settings.MEDIA_ROOT) / stored).unlink(missing_ok=True)
        raise CarenetError(_("This file was already imported."), field="file") from exc
    except BaseException:
        (Path(settings.MEDIA_ROOT) / stored).unlink(missing_ok=True)
        raise
    return dept_list


def _record(dept_list: DeptList, row: dict) -> ListRecord:
    number = row["id_number"]
    return ListRecord(
        dept_list=dept_list,
        row=row["row"],
        name=row["name"],
        sex=row["sex"],
        birth_date=row["birth_date"],
        id_number_enc=crypto.encrypt(number, purpose=ID_PURPOSE),
        id_number_hash=crypto.blind_index(number, purpose=ID_PURPOSE),
        address=row["address"],
        event_date=row["event_date"],
        until=row["until"],
        household_no=row["household_no"],
        relation=row["relation"],
        level=row["level"],
        status=row["status"],
        detail=row["detail"],
        division_code=row["division_code"],
    )
