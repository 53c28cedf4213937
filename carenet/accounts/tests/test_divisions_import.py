"""Loading the division tree from CSV: idempotent, all-or-nothing, every bad line named."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from carenet.accounts.models import Division, DivisionLevel
from carenet.accounts.services import DivisionImportResult, divisions_import, divisions_parse
from carenet.core.errors import RowErrors

pytestmark = pytest.mark.django_db

TREE = """代码,名称
12,天津市
120112,津南区
120112100,双港镇
120112100201,东泥沽村
120112100202,西泥沽村
120112101,辛庄镇
120112101201,大韩庄村
"""


def load(text: str) -> DivisionImportResult:
    with translation.override("en"):  # the assertions below read the English messages
        return divisions_import(rows=divisions_parse(text))


def snapshot() -> list[tuple[str, str, str, str, str | None]]:
    return [
        (d.code, d.name, d.level, d.full_name, d.parent.code if d.parent else None)
        for d in Division.objects.select_related("parent")
    ]


def test_a_tree_is_created_with_levels_parents_and_full_names() -> None:
    result = load(TREE)
    assert (result.created, result.updated, result.unchanged) == (7, 0, 0)
    village = Division.objects.get(code="120112100201")
    assert (village.level, village.parent.code, village.full_name) == (
        DivisionLevel.VILLAGE,
        "120112100",
        "天津市/津南区/双港镇/东泥沽村",
    )
    assert Division.objects.get(code="120112").parent.code == "12"  # a municipality has no 4-digit level


def test_importing_the_same_file_again_changes_nothing() -> None:
    load(TREE)
    before = snapshot()
    result = load(TREE)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 7)
    assert snapshot() == before


def test_a_renamed_division_is_updated_and_its_descendants_full_names_follow() -> None:
    load(TREE)
    result = load("code,name\n120112100,双港新镇\n")
    assert (result.created, result.updated, result.descendants_renamed) == (0, 1, 2)
    assert Division.objects.get(code="120112100").name == "双港新镇"
    assert Division.objects.get(code="120112100202").full_name == "天津市/津南区/双港新镇/西泥沽村"
    assert Division.objects.get(code="120112101201").full_name == "天津市/津南区/辛庄镇/大韩庄村"


def test_zero_padded_twelve_digit_codes_are_trimmed() -> None:
    load(
        "统计用区划代码,名称\n120000000000,天津市\n120112000000,津南区\n120112100000,双港镇\n120112100201,东泥沽村\n"
    )
    assert sorted(Division.objects.values_list("code", flat=True)) == [
        "12",
        "120112",
        "120112100",
        "120112100201",
    ]


def test_full_width_digits_from_a_spreadsheet_are_read_as_digits() -> None:
    load("code,name\n１２,天津市\n１２０１１２,津南区\n")
    assert sorted(Division.objects.values_list("code", flat=True)) == ["12", "120112"]


def test_new_rows_may_hang_on_divisions_already_in_the_database() -> None:
    load(TREE)
    result = load("code,name\n120112100203,南泥沽村\n")
    assert result.created == 1
    assert Division.objects.get(code="120112100203").full_name == "天津市/津南区/双港镇/南泥沽村"


@pytest.mark.parametrize(
    ("bad_row", "words"),
    [
        ("12011X,坏代码", "12011X"),
        ("1201121,七位数", "1201121"),
        ("120112100201,重复的村", "appears twice"),
        ("120199001,没有上级的街道", "parent"),
        ("120112100209,", "name is empty"),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_nothing_is_written(bad_row: str, words: str) -> None:
    load("code,name\n12,天津市\n")
    before = snapshot()
    with pytest.raises(RowErrors) as info:
        load(TREE + bad_row + "\n")
    lines = [line for line, _message in info.value.errors]
    assert lines == [TREE.count("\n") + 1]
    assert words in info.value.errors[0][1]
    assert snapshot() == before


def test_a_missing_header_is_reported_on_line_one() -> None:
    with pytest.raises(RowErrors) as info:
        load("12,天津市\n120112,津南区\n")
    assert info.value.errors[0][0] == 1
    assert not Division.objects.exists()


def test_every_bad_row_is_listed_not_only_the_first() -> None:
    with pytest.raises(RowErrors) as info:
        load("code,name\n12,天津市\nabc,坏\n120112,\n120199001,孤儿街道\n")
    assert [line for line, _m in info.value.errors] == [3, 4, 5]


def test_line_numbers_count_a_quoted_cell_that_spans_lines() -> None:
    rows = divisions_parse('code,name\n12,"天津\n市"\n\n120112,津南区\n')
    assert [line for line, _c, _n in rows] == [2, 5]


# -- the management command ------------------------------------------------------------------------


def test_the_command_reads_utf8_with_a_bom_and_reports_counts(tmp_path: Path) -> None:
    path = tmp_path / "divisions.csv"
    path.write_bytes(TREE.encode("utf-8-sig"))
    out = io.StringIO()
    call_command("import_divisions", str(path), stdout=out)
    assert "created 7" in out.getvalue()
    out = io.StringIO()
    call_command("import_divisions", str(path), stdout=out)
    assert "unchanged 7" in out.getvalue()


def test_the_command_reads_gbk(tmp_path: Path) -> None:
    path = tmp_path / "divisions.csv"
    path.write_bytes(TREE.encode("gbk"))
    call_command("import_divisions", str(path), stdout=io.StringIO())
    assert Division.objects.get(code="120112101201").name == "大韩庄村"


def test_the_command_lists_every_bad_line_and_fails_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "divisions.csv"
    path.write_text(TREE + "1201121,坏\n120112100201,重复\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_divisions", str(path), stdout=io.StringIO(), stderr=err)
    assert "第9行:" in err.getvalue() and "第10行:" in err.getvalue()
    assert not Division.objects.exists()


# -- scale -------------------------------------------------------------------------------------------


def _big_tree(streets_per_district: int = 100, villages_per_street: int = 62) -> str:
    """1 city, 16 districts, 1,600 streets, 99,200 villages: ~100,000 rows, a province's worth."""
    lines = ["code,name", "12,天津市"]
    for d in range(16):
        district = f"1201{d + 1:02d}"
        lines.append(f"{district},区{d}")
        for s in range(streets_per_district):
            street = f"{district}{s + 1:03d}"
            lines.append(f"{street},街{s}")
            lines.extend(f"{street}{v + 1:03d},村{v}" for v in range(villages_per_street))
    return "\n".join(lines) + "\n"


def test_a_hundred_thousand_divisions_import_and_a_subtree_is_an_index_range() -> None:
    result = load(_big_tree())
    assert result.created == 1 + 16 + 1600 + 1600 * 62
    assert Division.objects.filter(code__startswith="120112").count() == 1 + 100 + 100 * 62
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_division")
    plan = Division.objects.filter(code__startswith="120112").explain()
    assert "Index" in plan and "Seq Scan" not in plan, plan
