"""The linkage engine: comparisons, the identity rules, the learnt model, decisions and reasons, reading lists."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from carenet.linkage import io, synth
from carenet.linkage.engine import evaluate_pairs, link
from carenet.linkage.model import Model
from carenet.linkage.normalise import id_with_check


def person(pid: str, name: str, birth: str, idn: str | None, sex: str = "", address: str = "") -> dict:
    return {"id": pid, "name": name, "sex": sex, "birth_date": birth, "id_number": idn, "address": address}


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={c: pl.Utf8 for c in io.CANONICAL})


@pytest.fixture(scope="module")
def trained() -> tuple[Model, synth.Synth]:
    data = synth.generate(n_reference=6000, n_list=6000, seed=11)
    return link(data.list, data.reference).model, data


def ident(region: str, birth: dt.date, seq: int) -> str:
    return id_with_check(f"{region}{birth:%Y%m%d}{seq:03d}")


BIRTH = dt.date(2013, 5, 17)
ZHANG = ident("120112", BIRTH, 101)
TWIN = ident("120112", BIRTH, 103)  # same area and day, next sequence number: the twin brother


def reference() -> pl.DataFrame:
    return frame(
        person("R1", "张子涵", "2013-05-17", ZHANG, "男", "天津市津南区双港镇幸福路1号"),
        person("R2", "张子轩", "2013-05-17", TWIN, "男", "天津市津南区双港镇幸福路1号"),
        person(
            "R3",
            "李娜",
            "2014-02-03",
            ident("120101", dt.date(2014, 2, 3), 202),
            "女",
            "天津市和平区劝业场街",
        ),
        person(
            "R4", "王浩然", "2012-09-30", ident("120104", dt.date(2012, 9, 30), 311), "男", "天津市南开区"
        ),
    )


def decide_one(model: Model, row: dict) -> dict:
    result = link(frame(row), reference(), model=model).result
    return result.row(0, named=True)


def test_the_same_child_with_one_mistyped_id_digit_is_a_match(trained):
    typo = ZHANG[:10] + ("1" if ZHANG[10] != "1" else "2") + ZHANG[11:]
    got = decide_one(trained[0], person("L1", "张子涵", "2013-05-17", typo, "男"))
    assert (got["reference_id"], got["decision"]) == ("R1", "match")
    assert "身份证号一位不同" in got["reason"] and "姓名一致" in got["reason"]


def test_two_neighbouring_digits_swapped_is_a_match(trained):
    swapped = ZHANG[:15] + ZHANG[16] + ZHANG[15] + ZHANG[17:]
    assert swapped != ZHANG
    got = decide_one(trained[0], person("L1", "张子涵", "2013-05-17", swapped, "男"))
    assert (got["reference_id"], got["decision"]) == ("R1", "match")


def test_a_twin_is_never_merged_with_the_sibling(trained):
    got = decide_one(
        trained[0], person("L1", "张子轩", "2013-05-17", TWIN, "男", "天津市津南区双港镇幸福路1号")
    )
    assert (got["reference_id"], got["decision"]) == ("R2", "match")
    third = ident("120112", BIRTH, 105)  # a third child born that day, with a name like the first's
    got = decide_one(
        trained[0], person("L2", "张子涵", "2013-05-17", third, "男", "天津市津南区双港镇幸福路1号")
    )
    assert got["decision"] == "none"


def test_same_name_and_birth_date_with_another_valid_id_is_another_person(trained):
    other = ident("120223", BIRTH, 457)
    got = decide_one(trained[0], person("L1", "张子涵", "2013年5月17日", other, "男"))
    assert got["decision"] == "none"


def test_a_homophone_name_with_the_same_id_matches_and_says_so(trained):
    got = decide_one(trained[0], person("L1", "张子含", "", ZHANG))
    assert (got["reference_id"], got["decision"]) == ("R1", "match")
    assert "姓名同音或形近" in got["reason"]


def test_a_missing_id_is_matched_on_name_birth_date_and_address(trained):
    got = decide_one(trained[0], person("L1", "王浩然", "2012/9/30", None, "男", "天津市南开区"))
    assert (got["reference_id"], got["decision"]) == ("R4", "match")
    assert "身份证号缺失" in got["reason"]


def test_a_legacy_15_digit_id_matches_its_18_digit_form(trained):
    legacy = ZHANG[:6] + ZHANG[8:17]
    got = decide_one(trained[0], person("L1", "张子涵", "20130517", legacy))
    assert (got["reference_id"], got["decision"]) == ("R1", "match")


def test_a_stranger_gets_none(trained):
    got = decide_one(
        trained[0], person("L1", "赵一鸣", "2010-01-01", ident("130102", dt.date(2010, 1, 1), 5))
    )
    assert (got["reference_id"], got["decision"]) == (None, "none")


def test_only_one_list_record_claims_a_reference_record(trained):
    rows = frame(
        person("L1", "李娜", "2014-02-03", None, "女", "天津市和平区劝业场街"),
        person("L2", "李娜", "2014-02-03", None, "女", ""),
    )
    result = link(rows, reference(), model=trained[0]).result
    assert sorted(result["decision"].to_list()) == ["match", "review"]
    same = frame(person("L1", "张子涵", "", ZHANG), person("L2", "张子涵", "2013-05-17", ZHANG))
    result = link(same, reference(), model=trained[0]).result
    assert result["decision"].to_list() == [
        "match",
        "match",
    ]  # both carry R1's exact ID: the same person twice


def test_the_model_is_learnt_without_labels_and_finds_the_synthetic_truth(trained):
    model, data = trained
    result = link(data.list, data.reference, model=model).result
    figures = evaluate_pairs(result, data.truth)
    assert figures["precision"] >= 0.999 and figures["recall"] >= 0.99
    assert model.prior > 0 and model.weights()["id"][6] > 10 > model.weights()["id"][1]


def test_a_saved_model_reloads_to_the_same_decisions(trained, tmp_path):
    model, data = trained
    path = tmp_path / "model.json"
    model.save(path)
    assert json.loads(path.read_text())["version"] == 1
    again = Model.load(path)
    sample_l, sample_r = data.list.head(800), data.reference
    assert link(sample_l, sample_r, model=again).result.equals(link(sample_l, sample_r, model=model).result)


def test_lists_with_chinese_headers_are_read_as_text(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(
        "序号,姓名,性别,出生日期,公民身份号码,户籍地址\n1,张子涵,男,2013-05-17,012011220130517,幸福路\n",
        encoding="gbk",
    )
    df = io.read(path)
    assert df.columns == list(io.CANONICAL)
    assert (
        df.row(0, named=True)["id_number"] == "012011220130517"
    )  # a leading zero survives: text, not a number


def test_a_list_without_an_id_column_names_what_was_looked_for(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("姓名,性别\n张三,男\n")
    with pytest.raises(io.ListError, match="no id column"):
        io.read(path)
    assert io.read(path, mapping={"id": "姓名"}).height == 1


def test_a_broken_file_is_a_clear_error(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(io.ListError, match="list.xlsx"):
        io.read(path)


def test_a_saved_reference_index_links_a_new_list_as_the_raw_reference_does(trained, tmp_path):
    from carenet.linkage.engine import Reference

    model, data = trained
    Reference.build(data.reference).save(tmp_path / "index")
    index = Reference.load(tmp_path / "index")
    new_list = data.list.head(500)
    assert link(new_list, index, model=model).result.equals(
        link(new_list, data.reference, model=model).result
    )


def test_latin_names_and_other_identifiers_link_sensibly(trained):
    reference = frame(
        person("R1", "José Müller", "1990-04-02", "X1234567", "M", "12 Rue de la Paix, Paris"),
        person("R2", "Anna Schmidt", "1988-11-30", "C9876543", "F", "Hauptstraße 5, Berlin"),
        person("R3", "John Smith", "2001-01-01", "P5551234", "M", "1 Main Street, Springfield"),
    )
    rows = frame(
        person("L1", "Jose Muller", "02/04/1990", "x 123 4567", "M"),
        person("L2", "Anna Schmit", "1988-11-30", "C9876543", "F"),
        person("L3", "John Smith", "2001-01-01", "P5551235", "M", "1 Main Street, Springfield"),
        person("L4", "Maria Garcia", "1975-05-05", "Z0000001", "F"),
    )
    result = {r["list_id"]: r for r in link(rows, reference, model=trained[0]).result.iter_rows(named=True)}
    assert (result["L1"]["reference_id"], result["L1"]["decision"]) == ("R1", "match")
    assert (result["L2"]["reference_id"], result["L2"]["decision"]) == ("R2", "match")
    assert result["L3"]["reference_id"] == "R3" and result["L3"]["decision"] in ("match", "review")
    assert "身份证号一位不同" in result["L3"]["reason"]
    assert result["L4"]["decision"] == "none"
