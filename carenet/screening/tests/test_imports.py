"""Importing department lists: whole or not at all, the ID numbers and the original file encrypted, the same file
only once, and a report naming each bad row and field."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.db import IntegrityError

from carenet.audit.models import ChangeLog
from carenet.core.errors import CarenetError, PermissionDeniedError, RowErrors
from carenet.screening import imports
from carenet.screening.models import DeptList, ListKind, ListRecord
from carenet.screening.tests.conftest import LAST_MONTH, TODAY, Person, csv_bytes


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def death_rows() -> tuple[list[Person], list[dict[str, str]]]:
    people = [Person.new("张建国", "M", 41), Person.new("李秀英", "F", 39), Person.new("王大力", "M", 66)]
    rows = [p.row(死亡日期=LAST_MONTH.isoformat(), 住址="天津市津南区双港镇") for p in people]
    rows[1]["死亡日期"] = f"{LAST_MONTH.year}年{LAST_MONTH.month}月{LAST_MONTH.day}日"  # another usual form
    return people, rows


def do_import(content: bytes, *, kind=ListKind.DEATH, filename="deaths.csv", actor=None, list_date=TODAY):
    return imports.import_list(
        actor=actor, kind=kind, list_date=list_date, filename=filename, content=content, department="市公安局"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_csv_import_keeps_every_row_with_the_id_encrypted(city, personas, encoding):
    people, rows = death_rows()
    content = csv_bytes(rows, encoding)

    dept_list = do_import(content, actor=personas.city_admin)

    assert dept_list.row_count == 3
    assert dept_list.kind == ListKind.DEATH
    assert dept_list.division_code == "12"
    assert dept_list.imported_by == personas.city_admin
    assert dept_list.department == "市公安局"
    assert dept_list.original_name == "deaths.csv"
    assert dept_list.sha256 == hashlib.sha256(content).hexdigest()
    assert dept_list.size == len(content)
    records = list(ListRecord.objects.filter(dept_list=dept_list).order_by("row"))
    assert [r.row for r in records] == [2, 3, 4]  # the header is row 1
    for person, record in zip(people, records, strict=True):
        assert record.name == person.name
        assert record.sex == person.sex
        assert record.birth_date == person.birth
        assert record.event_date == LAST_MONTH
        assert record.address == "天津市津南区双港镇"
        assert person.number not in record.id_number_enc
        assert record.id_number_enc
        assert record.id_number == person.number
        assert record.id_number_hash and person.number not in record.id_number_hash
    # The original, kept encrypted, and given back whole.
    assert imports.original(dept_list) == content
    on_disk = (Path(settings.MEDIA_ROOT) / dept_list.stored_file).read_bytes()
    assert on_disk != content
    for person in people:
        assert person.number.encode() not in on_disk
        assert person.name.encode(encoding) not in on_disk
    assert ChangeLog.objects.filter(entity="dept_list", entity_id=dept_list.pk, action="import").count() == 1


def test_xlsx_import_reads_ids_as_text_and_dates_as_dates(city, personas):
    people = [Person.new("赵铁柱", "M", 45), Person.new("钱小芳", "F", 40)]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "姓名", "性别", "公民身份号码", "残疾等级", "残疾类别", "发证日期"])
    sheet.append([1, people[0].name, "男", people[0].number, "一级", "肢体", LAST_MONTH])  # a date cell
    sheet.append([2, people[1].name, "女", people[1].number, "3", "视力", LAST_MONTH.isoformat()])
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()

    dept_list = do_import(content, kind=ListKind.DISABILITY, filename="残联.xlsx", actor=personas.city_admin)

    assert dept_list.row_count == 2
    first, second = ListRecord.objects.filter(dept_list=dept_list).order_by("row")
    assert (first.row, first.name, first.sex, first.level, first.detail) == (2, "赵铁柱", "M", "1", "肢体")
    assert first.id_number == people[0].number
    assert first.event_date == LAST_MONTH
    assert first.birth_date is None
    assert (second.level, second.sex) == ("3", "F")
    assert imports.original(dept_list) == content
    assert dept_list.sha256 == hashlib.sha256(content).hexdigest()


def test_a_birth_date_stands_in_for_a_missing_id_number(city):
    person = Person.new("孙丽", "F", 35)
    rows = [{"姓名": person.name, "出生日期": person.birth.strftime("%Y%m%d"), "死亡日期": "2020/1/5"}]
    dept_list = do_import(csv_bytes(rows))
    record = dept_list.records.get()
    assert record.id_number == "" and record.id_number_enc == "" and record.id_number_hash is None
    assert record.birth_date == person.birth
    assert record.event_date == dt.date(2020, 1, 5)


BAD_ROWS = [
    # (what the bad row says, the file's own header the report names)
    ({"死亡日期": "2023-02-30"}, "死亡日期"),
    ({"死亡日期": "明天"}, "死亡日期"),
    ({"死亡日期": (TODAY + dt.timedelta(days=3)).isoformat()}, "死亡日期"),
    ({"死亡日期": ""}, "死亡日期"),
    ({"公民身份号码": "12011219800101"}, "公民身份号码"),
    ({"公民身份号码": "12011219800101001A"}, "公民身份号码"),
    ({"姓名": ""}, "姓名"),
    ({"出生日期": "1980-13-01"}, "出生日期"),
    ({"性别": "未知"}, "性别"),
]


@pytest.mark.parametrize(("change", "field"), BAD_ROWS)
def test_one_bad_row_rejects_the_whole_file_naming_row_and_field(city, change, field):
    _people, rows = death_rows()
    rows[1].update(change)

    with pytest.raises(RowErrors) as caught:
        do_import(csv_bytes(rows))

    assert [(row, message.split(":")[0]) for row, message in caught.value.errors] == [(3, field)]
    assert "nothing was imported" in caught.value.message
    assert DeptList.objects.count() == 0
    assert ListRecord.objects.count() == 0
    assert stored_files() == []


def test_a_bad_disability_level_is_reported(city):
    people = [Person.new("周强", "M", 50), Person.new("吴敏", "F", 44)]
    rows = [people[0].row(残疾等级="二级"), people[1].row(残疾等级="五级")]
    with pytest.raises(RowErrors) as caught:
        do_import(csv_bytes(rows), kind=ListKind.DISABILITY)
    assert caught.value.errors == [(3, "残疾等级: “五级” is not a level from 1 to 4")]
    assert DeptList.objects.count() == 0 and ListRecord.objects.count() == 0 and stored_files() == []


def test_a_row_with_neither_id_nor_birth_date_is_reported(city):
    rows = [{"姓名": "郑某", "公民身份号码": "", "出生日期": "", "死亡日期": "2024-01-01"}]
    with pytest.raises(RowErrors) as caught:
        do_import(csv_bytes(rows))
    assert caught.value.errors == [(2, "公民身份号码: give the ID number or the birth date")]
    # A file without an ID column: the report names what is missing in words.
    rows = [
        {"姓名": "郑某", "出生日期": "1980-01-01", "死亡日期": "2024-01-01"},
        {"姓名": "王某", "出生日期": "", "死亡日期": "2024-01-01"},
    ]
    with pytest.raises(RowErrors) as caught:
        do_import(csv_bytes(rows))
    assert caught.value.errors == [(3, "ID number: give the ID number or the birth date")]
    assert DeptList.objects.count() == 0


def test_every_bad_row_is_reported_not_only_the_first(city):
    _people, rows = death_rows()
    rows[0]["姓名"] = ""
    rows[2]["死亡日期"] = "2024-99-01"
    rows[2]["公民身份号码"] = "123"
    with pytest.raises(RowErrors) as caught:
        do_import(csv_bytes(rows))
    assert sorted((row, message.split(":")[0]) for row, message in caught.value.errors) == [
        (2, "姓名"),
        (4, "公民身份号码"),
        (4, "死亡日期"),
    ]
    assert DeptList.objects.count() == 0 and stored_files() == []


def test_a_school_status_must_be_known(city):
    kid = Person.new("冯小宝", "M", 12)
    with pytest.raises(RowErrors) as caught:
        do_import(csv_bytes([kid.row(学籍状态="在逃")]), kind=ListKind.SCHOOL)
    assert caught.value.errors == [
        (2, "学籍状态: “在逃” is not a school status (在读, 辍学, 休学, 转学, 毕业)")
    ]


@pytest.mark.parametrize(
    ("kind", "columns", "named"),
    [
        (ListKind.DEATH, ["姓名", "公民身份号码", "住址"], "date"),
        (ListKind.DISABILITY, ["姓名", "公民身份号码", "残疾类别"], "disability level"),
        (ListKind.HOUSEHOLD, ["姓名", "公民身份号码", "户号"], "relation to the head of household"),
        (ListKind.SCHOOL, ["姓名", "公民身份号码"], "status"),
        (ListKind.DIBAO, ["公民身份号码", "住址"], "name"),
        (ListKind.DIBAO, ["姓名", "住址"], "ID number"),
    ],
)
def test_a_file_without_a_required_column_is_refused_naming_the_file(city, kind, columns, named):
    person = Person.new("陈刚", "M", 30)
    full = person.row(住址="某地", 残疾类别="肢体", 户号="1", 与户主关系="户主")
    rows = [{c: full[c] for c in columns}]
    with pytest.raises(CarenetError) as caught:
        do_import(csv_bytes(rows), kind=kind)
    assert not isinstance(caught.value, RowErrors)
    assert caught.value.field == "file"
    assert named in caught.value.message
    assert DeptList.objects.count() == 0 and stored_files() == []


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"PK\x03\x04 this is no spreadsheet at all", "garbage.xlsx"),
        (b"\x00\x01\x02 not a workbook", "list.xlsx"),
        (b"name,date\n", "list.docx"),
    ],
)
def test_an_unreadable_file_is_refused_naming_the_file(city, content, filename):
    with pytest.raises(CarenetError) as caught:
        do_import(content, filename=filename)
    assert caught.value.field == "file"
    assert Path(filename).name in caught.value.message
    assert DeptList.objects.count() == 0 and stored_files() == []


def test_an_empty_file_and_a_file_of_headers_only_are_refused(city):
    with pytest.raises(CarenetError) as caught:
        do_import(b"")
    assert caught.value.field == "file"
    with pytest.raises(CarenetError) as caught:
        do_import("姓名,公民身份号码,死亡日期\n".encode())
    assert caught.value.field == "file"
    assert DeptList.objects.count() == 0 and stored_files() == []


def test_the_same_file_is_imported_once(city, personas):
    _people, rows = death_rows()
    content = csv_bytes(rows)
    first = do_import(content, actor=personas.city_admin)

    with pytest.raises(CarenetError) as caught:
        do_import(content, actor=personas.city_admin, filename="renamed.csv", list_date=LAST_MONTH)
    assert caught.value.field == "file"
    assert f"list {first.pk}" in caught.value.message
    # The command line's operator files under the city too: the same division, refused as well.
    with pytest.raises(CarenetError):
        do_import(content, actor=None)
    assert DeptList.objects.count() == 1
    assert ListRecord.objects.count() == 3
    assert len(stored_files()) == 1
    # Another kind, or another division, may import the same bytes.
    do_import(content, kind=ListKind.HUKOU_CANCEL)
    do_import(content, actor=personas.district_specialist)
    assert DeptList.objects.count() == 3
    assert len(stored_files()) == 3


def test_a_list_dated_in_the_future_is_refused(city):
    _people, rows = death_rows()
    with pytest.raises(CarenetError) as caught:
        do_import(csv_bytes(rows), list_date=TODAY + dt.timedelta(days=1))
    assert caught.value.field == "list_date"
    assert DeptList.objects.count() == 0 and stored_files() == []


def test_an_unknown_kind_is_refused(city):
    _people, rows = death_rows()
    with pytest.raises(CarenetError) as caught:
        do_import(csv_bytes(rows), kind="gossip")
    assert caught.value.field == "kind"


@pytest.mark.parametrize("who", ["director_a", "street_supervisor", "social_worker", "auditor"])
def test_roles_without_the_import_permission_are_refused(city, personas, who):
    _people, rows = death_rows()
    with pytest.raises(PermissionDeniedError):
        do_import(csv_bytes(rows), actor=getattr(personas, who))
    assert DeptList.objects.count() == 0 and stored_files() == []


def test_a_district_files_its_lists_under_the_district(city, personas):
    _people, rows = death_rows()
    dept_list = do_import(csv_bytes(rows), actor=personas.district_specialist)
    assert dept_list.division_code == "120112"


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), IntegrityError("list_once")])
def test_a_failure_while_writing_leaves_neither_rows_nor_the_stored_file(city, monkeypatch, failure):
    """The stored original is removed again when the rows cannot be written (e.g. the same file imported at the
    same moment by a colleague: the unique constraint answers)."""
    _people, rows = death_rows()

    def broken(*args, **kwargs):
        raise failure

    monkeypatch.setattr(ListRecord.objects, "bulk_create", broken)
    with pytest.raises((RuntimeError, CarenetError)) as caught:
        do_import(csv_bytes(rows))
    if isinstance(failure, IntegrityError):
        assert caught.value.field == "file"
    assert DeptList.objects.count() == 0
    assert ChangeLog.objects.filter(entity="dept_list").count() == 0
    assert stored_files() == []
