"""The linkage normalisers: ID numbers, dates, names, shape keys, addresses, sex.

Each rule is checked on prepare() (the vectorised path the engine uses) and, where there is one, on
the scalar helper that explains decisions, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest
from stdnum.cn import ric

from carenet.linkage.normalise import (
    PREPARED_COLUMNS,
    check_digit,
    id_with_check,
    name_pinyin,
    normalise_id,
    parse_date,
    prepare,
    shape_key,
    simplify,
)

VALID_ID = "11010519491231002X"  # the GB 11643 example: Beijing Chaoyang, 1949-12-31, female


def prep(**columns: list[object]) -> pl.DataFrame:
    rows = len(next(iter(columns.values())))
    return prepare(pl.DataFrame({"id": [str(i) for i in range(rows)], **columns}))


def one(column: str, **fields: object) -> object:
    frame = prepare(pl.DataFrame({"id": ["1"], **{k: [v] for k, v in fields.items()}}))
    return frame[column][0]


# ---------------------------------------------------------------- ID numbers


def test_full_width_digits_and_x_are_read_as_ascii() -> None:
    assert one("idn", id_number="１１０１０５１９４９１２３１００２ｘ") == VALID_ID
    assert normalise_id("１１０１０５１９４９１２３１００２Ｘ").number == VALID_ID


def test_lower_case_x_becomes_upper_case() -> None:
    assert one("idn", id_number=VALID_ID.lower()) == VALID_ID
    assert normalise_id(VALID_ID.lower()).number == VALID_ID


def test_spaces_dashes_and_ideographic_spaces_are_removed() -> None:
    for written in (
        "110105 19491231 002X",
        "110105-1949-1231-002X",
        "110105\u300019491231002X",
        " 11010519491231002X ",
    ):
        assert one("idn", id_number=written) == VALID_ID
        assert normalise_id(written).number == VALID_ID


def test_a_15_digit_legacy_number_gets_the_century_and_the_right_check_digit() -> None:
    frame = prep(id_number=["110105491231002"])
    assert frame["idn"][0] == VALID_ID
    assert frame["id_from_15"][0] is True
    assert frame["id_valid"][0] is True
    info = normalise_id("110105491231002")
    assert info.number == VALID_ID and info.converted_from_15


def test_a_bad_check_digit_is_flagged_not_dropped() -> None:
    typo = VALID_ID[:10] + "3" + VALID_ID[11:]  # one digit of the date mistyped
    frame = prep(id_number=[typo])
    assert frame["idn"][0] == typo
    assert frame["id_valid"][0] is False
    assert frame["id_raw_bad"][0] is False
    assert normalise_id(typo).valid is False


def test_garbage_is_null_and_marked_bad_but_an_empty_cell_is_just_missing() -> None:
    frame = prep(id_number=["abc", "1101051949123100", "11010519491231002Y", "", None])
    assert frame["idn"].to_list() == [None] * 5
    assert frame["id_valid"].to_list() == [None] * 5
    assert frame["id_raw_bad"].to_list() == [True, True, True, False, False]
    assert normalise_id("abc") is None and normalise_id("") is None and normalise_id(None) is None


def test_the_number_says_region_birth_date_sequence_and_sex() -> None:
    row = prep(id_number=[VALID_ID, "120112201203040013"]).to_dicts()
    assert (row[0]["id_region"], row[0]["id_birth"], row[0]["id_seq"], row[0]["id_sex"]) == (
        "110105",
        dt.date(1949, 12, 31),
        "002",
        "F",
    )
    assert row[1]["id_sex"] == "M" and row[1]["id_birth"] == dt.date(2012, 3, 4)
    info = normalise_id(VALID_ID)
    assert (info.region, info.birth, info.seq, info.sex, info.valid) == (
        "110105",
        dt.date(1949, 12, 31),
        "002",
        "F",
        True,
    )


def test_birth_digits_that_are_no_date_give_no_id_birth() -> None:
    number = id_with_check("11010519990230001")  # 30 February
    assert one("id_birth", id_number=number) is None
    assert one("id_valid", id_number=number) is True
    assert normalise_id(number).birth is None


def test_check_digit_agrees_with_python_stdnum_and_the_vectorised_one() -> None:
    rng = random.Random(4)
    bodies = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(2000)] + [
        "9" * 17,
        "0" * 17,
    ]
    frame = prep(id_number=[b + "0" for b in bodies])
    expected = [ric.calc_check_digit(b + "0") for b in bodies]
    assert [check_digit(b) for b in bodies] == expected
    assert frame["id_valid"].to_list() == [e == "0" for e in expected]
    assert id_with_check("11010519491231002") == VALID_ID


# ---------------------------------------------------------------- dates

DATE_FORMS = [
    "2012-03-04",
    "2012-3-4",
    "2012/3/4",
    "2012/03/04",
    "2012.3.4",
    "20120304",
    "2012年3月4日",
    "2012年03月04日",
    "2012-3-4 00:00:00",
    "2012-03-04T00:00:00",
    "2012/3/4 0:00",
    "40972",  # Excel serial
    "40972.0",
    "２０１２－０３－０４",
    " 2012-03-04 ",
    "4/3/2012",  # year last: day first
    "04.03.2012",
]


@pytest.mark.parametrize("written", DATE_FORMS)
def test_each_common_date_form_is_read(written: str) -> None:
    assert parse_date(written) == dt.date(2012, 3, 4)
    assert one("birth", birth_date=written) == dt.date(2012, 3, 4)


def test_a_year_last_date_whose_middle_cannot_be_a_month_is_read_month_first() -> None:
    assert parse_date("3/25/2012") == dt.date(2012, 3, 25)
    assert one("birth", birth_date="3/25/2012") == dt.date(2012, 3, 25)


@pytest.mark.parametrize(
    "written", ["2012-02-30", "2012-13-01", "20121301", "2012年2月30日", "2012", "abc", "", None]
)
def test_invalid_dates_are_null(written: str | None) -> None:
    assert parse_date(written) is None
    assert one("birth", birth_date=written) is None


def test_an_already_typed_date_column_is_kept() -> None:
    frame = prepare(pl.DataFrame({"id": ["1"], "birth_date": [dt.date(2012, 3, 4)]}))
    assert frame["birth"][0] == dt.date(2012, 3, 4)
    frame = prepare(pl.DataFrame({"id": ["1"], "birth_date": [dt.datetime(2012, 3, 4, 8, 30)]}))
    assert frame["birth"][0] == dt.date(2012, 3, 4)


# ---------------------------------------------------------------- names


def test_homophones_share_the_pinyin_key() -> None:
    frame = prep(name=["张伟", "张玮", "章伟"])
    assert frame["name_py"].to_list() == ["zhangwei"] * 3
    assert name_pinyin("张玮") == "zhangwei"


def test_shan_is_read_as_a_surname_and_dan_elsewhere() -> None:
    frame = prep(name=["单雄", "王单"])
    assert frame["name_py"].to_list() == ["shanxiong", "wangdan"]
    assert frame["surname"].to_list() == ["单", "王"]
    assert frame["given_py"].to_list() == ["xiong", "dan"]
    assert name_pinyin("单雄") == "shanxiong"


def test_compound_surnames_are_recognised_when_a_given_name_follows() -> None:
    frame = prep(name=["欧阳娜娜", "司马光", "欧阳"])
    assert frame["surname"].to_list() == ["欧阳", "司马", "欧"]
    assert frame["given_py"].to_list() == ["nana", "guang", "yang"]
    assert frame["name_py"].to_list() == ["ouyangnana", "simaguang", "ouyang"]


def test_traditional_characters_become_simplified() -> None:
    frame = prep(name=["張偉", "劉德華"])
    assert frame["name_raw"].to_list() == ["张伟", "刘德华"]
    assert frame["name_py"].to_list() == ["zhangwei", "liudehua"]
    assert simplify("張偉") == "张伟"


@pytest.mark.parametrize(
    "written",
    [
        "阿依古丽·买买提",
        "阿依古丽•买买提",
        "阿依古丽.买买提",
        "阿依古丽．买买提",
        "阿依古丽・买买提",
        "阿依古丽‧买买提",
        "阿依古丽。买买提",
        "阿依古丽-买买提",
        "阿依古丽 · 买买提",
        "阿依古丽··买买提",
    ],
)
def test_every_interpunct_in_a_minority_name_becomes_one(written: str) -> None:
    row = prep(name=[written]).row(0, named=True)
    assert row["name_raw"] == "阿依古丽·买买提"
    assert row["name_py"] == "ayigulimaimaiti"
    assert row["surname"] == "买买提"
    assert row["given_py"] == "ayiguli"
    assert name_pinyin(written) == "ayigulimaimaiti"


def test_latin_names_are_lower_case_ascii_letters_without_accents() -> None:
    frame = prep(name=["José Müller", "JOSE MULLER", "Jean-Pierre O'Neil", "Łukasz Straße"])
    assert frame["name_py"].to_list() == ["josemuller", "josemuller", "jeanpierreoneil", "lukaszstrasse"]
    assert frame["given_py"].to_list() == frame["name_py"].to_list()
    assert frame["surname"].to_list() == [None] * 4
    assert frame["name_raw"][2] == "Jean-PierreO'Neil"
    assert name_pinyin("José Müller") == "josemuller"


def test_spaces_and_bracketed_notes_are_not_part_of_the_name() -> None:
    frame = prep(name=["张　伟", " 张 伟 ", "张伟(1)", "张伟（曾用名张三）", "张伟【小】"])
    assert frame["name_raw"].to_list() == ["张伟"] * 5


def test_a_missing_name_gives_null_keys() -> None:
    row = prep(name=[None]).row(0, named=True)
    assert [row[k] for k in ("name_raw", "name_py", "name_sk", "given_py", "surname")] == [None] * 5


# ---------------------------------------------------------------- shape keys


def test_look_alike_characters_share_the_shape_key() -> None:
    frame = prep(name=["李己", "李已", "李巳", "侯明", "候明"])
    assert frame["name_sk"].to_list() == ["李己", "李己", "李己", "侯明", "侯明"]
    assert shape_key("王已") == shape_key("王己") == "王己"
    assert shape_key("张伟") == "张伟"


def test_the_shape_key_works_on_the_simplified_name() -> None:
    assert shape_key("張已") == "张己"


# ---------------------------------------------------------------- addresses


def test_the_province_city_and_district_prefix_is_stripped() -> None:
    frame = prep(
        address=[
            "天津市津南区双港镇幸福路1号",
            "双港镇幸福路1号",
            "天津津南区双港镇幸福路1号",
            "中国天津市津南区双港镇幸福路1号",
            "天津市 津南区 双港镇 幸福路1号",
            "天津市津南區雙港鎮幸福路1號",
        ]
    )
    assert frame["addr"].to_list() == ["双港镇幸福路1号"] * 6
    assert frame["addr_area"].to_list()[:3] == ["天津市津南区", None, "天津津南区"]


def test_province_city_and_county_levels_are_all_recognised() -> None:
    frame = prep(
        address=["河北省石家庄市长安区建北街道5号", "石家庄长安区建北街道5号", "吉林市船营区北京路5号"]
    )
    assert frame["addr"].to_list() == ["建北街道5号", "建北街道5号", "北京路5号"]


def test_a_road_named_after_a_city_is_not_a_prefix() -> None:
    frame = prep(address=["南京路5号", "北京东路5号", "上海新村3号", "天津市南京路5号"])
    assert frame["addr"].to_list() == ["南京路5号", "北京东路5号", "上海新村3号", "南京路5号"]


def test_an_address_that_is_only_a_district_has_no_detail_left() -> None:
    row = prep(address=["天津市津南区"]).row(0, named=True)
    assert row["addr"] is None and row["addr_tokens"] is None and row["addr_area"] == "天津市津南区"


def test_addresses_split_into_their_parts() -> None:
    frame = prep(address=["双港镇幸福路1号", "天津市河西区友谊路街道幸福小区3号楼2单元301室", "幸福村5组"])
    assert frame["addr_tokens"].to_list() == [
        ["双港镇", "幸福路", "1号"],
        ["友谊路", "街道", "幸福小区", "3号楼", "2单元", "301室"],
        ["幸福村", "5组"],
    ]


def test_latin_addresses_split_into_words() -> None:
    row = prep(address=["12 Main Street, Springfield"]).row(0, named=True)
    assert row["addr_tokens"] == ["12", "main", "street", "springfield"]
    assert row["addr"] == "12mainstreet,springfield"


def test_a_missing_address_is_null() -> None:
    frame = prep(address=[None, "", "  "])
    assert frame["addr"].to_list() == [None] * 3
    assert frame["addr_tokens"].to_list() == [None] * 3


# ---------------------------------------------------------------- sex


def test_sex_is_read_from_the_column_in_its_usual_spellings() -> None:
    frame = prep(sex=["男", "女", "M", "f", "Male", "FEMALE", "1", "2", "男性", "女性"])
    assert frame["sex"].to_list() == ["M", "F", "M", "F", "M", "F", "M", "F", "M", "F"]


def test_sex_comes_from_the_id_number_when_the_column_is_empty_or_unreadable() -> None:
    frame = prep(sex=[None, "", "unknown", "男"], id_number=[VALID_ID, VALID_ID, VALID_ID, VALID_ID])
    assert frame["sex"].to_list() == ["F", "F", "F", "M"]  # the column wins when it says something
    assert frame["id_sex"].to_list() == ["F"] * 4


def test_sex_comes_from_the_id_number_when_there_is_no_sex_column() -> None:
    assert prep(id_number=[VALID_ID])["sex"][0] == "F"


# ---------------------------------------------------------------- the frame


def test_prepare_keeps_one_row_per_input_row_in_order_with_every_column() -> None:
    frame = prepare(pl.DataFrame({"id": [3, 1, 2], "name": ["张伟", None, "李娜"]}))
    assert frame.columns == list(PREPARED_COLUMNS)
    assert frame["id"].to_list() == ["3", "1", "2"]
    assert frame["name_py"].to_list() == ["zhangwei", None, "lina"]
    assert frame.schema["birth"] == pl.Date and frame.schema["addr_tokens"] == pl.List(pl.Utf8)


def test_an_empty_list_gives_an_empty_frame_with_every_column() -> None:
    frame = prepare(pl.DataFrame({"id": []}, schema={"id": pl.Utf8}))
    assert frame.height == 0 and frame.columns == list(PREPARED_COLUMNS)


def test_numeric_cells_from_a_spreadsheet_are_read() -> None:
    frame = prepare(
        pl.DataFrame({"id": [1], "id_number": [110105194912310021], "birth_date": [40972], "sex": [2]})
    )
    row = frame.row(0, named=True)
    assert (row["id"], row["idn"], row["birth"], row["sex"]) == (
        "1",
        "110105194912310021",
        dt.date(2012, 3, 4),
        "F",
    )


def test_the_scalar_helpers_agree_with_prepare() -> None:
    names = ["张伟", "張偉", "单雄", "欧阳娜娜", "阿依古丽•买买提", "José Müller", "李已", "㐂", "张Wei2"]
    dates = [*DATE_FORMS, "2012-02-30", "3/25/2012", "", "1850-01-01"]
    ids = [VALID_ID, VALID_ID.lower(), "110105491231002", "110105194912310021", "abc", "11010519990230001X"]
    frame = prep(name=names)
    assert frame["name_py"].fill_null("").to_list() == [name_pinyin(n) for n in names]
    assert frame["name_sk"].to_list() == [shape_key(n) for n in names]
    assert prep(birth_date=dates)["birth"].to_list() == [parse_date(d) for d in dates]
    by_frame = prep(id_number=ids).select("idn", "id_valid", "id_birth").rows()
    by_scalar = [(i.number, i.valid, i.birth) if i else (None, None, None) for i in map(normalise_id, ids)]
    assert by_frame == by_scalar
