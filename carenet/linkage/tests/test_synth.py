"""The synthetic benchmark data: deterministic, realistic, and damaged exactly in the recorded way."""

from __future__ import annotations

import datetime as dt
import unicodedata

import polars as pl
import pytest
from pypinyin import Style, lazy_pinyin
from stdnum.cn import ric

from carenet.linkage import synth

N = 22_000  # 11,000 copies: 1,000 per damage class


@pytest.fixture(scope="module")
def clean() -> synth.Synth:
    return synth.generate(n_reference=N, n_list=N, seed=7, noise_share=0.0)


@pytest.fixture(scope="module")
def noisy() -> synth.Synth:
    return synth.generate(n_reference=N, n_list=N, seed=7)


@pytest.fixture(scope="module")
def pairs(clean: synth.Synth) -> pl.DataFrame:
    """Each list record beside the reference record it copies (or resembles: decoys and twins)."""
    return (
        clean.truth.join(clean.list, left_on="list_id", right_on="id")
        .join(
            clean.reference,
            left_on=pl.coalesce("reference_id", "related_id"),
            right_on="id",
            how="left",
            suffix="_ref",
        )
        .sort("list_id")
    )


def rows(pairs: pl.DataFrame, cls: str) -> list[dict[str, str]]:
    found = pairs.filter(pl.col("cls") == cls).to_dicts()
    assert found, cls
    return found


def fields_other_than(row: dict[str, str], *changed: str) -> None:
    for field in {"name", "sex", "birth_date", "id_number", "address"} - set(changed):
        assert row[field] == row[f"{field}_ref"], (row, field)


def to_18(number15: str, century: str) -> str:
    body = number15[:6] + century + number15[6:]
    return body + ric.calc_check_digit(body + "0")  # stdnum reads the first 17 of 18


def test_same_seed_gives_the_same_data_and_another_seed_other_data(clean: synth.Synth) -> None:
    again = synth.generate(n_reference=N, n_list=N, seed=7, noise_share=0.0)
    other = synth.generate(n_reference=N, n_list=N, seed=8, noise_share=0.0)
    for name in ("reference", "list", "truth", "kin"):
        assert getattr(again, name).equals(getattr(clean, name))
    assert not other.reference.equals(clean.reference)


def test_frames_have_the_canonical_string_columns(noisy: synth.Synth) -> None:
    columns = ["id", "name", "sex", "birth_date", "id_number", "address"]
    for frame in (noisy.reference, noisy.list):
        assert frame.columns == columns
        assert all(dtype == pl.String for dtype in frame.dtypes)
    assert noisy.truth.columns == ["list_id", "reference_id", "cls", "related_id"]
    assert noisy.list["id"].to_list() == noisy.truth["list_id"].to_list()


def test_damage_classes_share_the_linked_half_equally(clean: synth.Synth) -> None:
    counts = dict(clean.truth["cls"].value_counts().iter_rows())
    assert {counts[c] for c in synth.CLASSES} == {N // 2 // len(synth.CLASSES)}
    assert counts["decoy"] == counts["twin"] == round(0.05 * N)
    assert counts["new"] == N - N // 2 - 2 * round(0.05 * N)
    linked = clean.truth.filter(pl.col("cls").is_in(synth.CLASSES))
    assert linked["reference_id"].null_count() == 0
    assert linked["reference_id"].n_unique() == linked.height  # each reference person copied at most once
    unlinked = clean.truth.filter(~pl.col("cls").is_in(synth.CLASSES))
    assert unlinked["reference_id"].null_count() == unlinked.height


def test_every_reference_id_number_is_valid_unique_and_agrees_with_birth_date_and_sex(
    noisy: synth.Synth,
) -> None:
    reference = noisy.reference
    assert reference["id_number"].n_unique() == reference.height
    for row in reference.iter_rows(named=True):
        number = row["id_number"]
        ric.validate(number)
        ric.get_birth_place(number)  # a region code in use in the birth year
        assert ric.get_birth_date(number).isoformat() == row["birth_date"]
        assert ("男" if int(number[16]) % 2 else "女") == row["sex"]
        assert dt.date(2005, 1, 1) <= ric.get_birth_date(number) <= dt.date(2025, 12, 31)


def test_reference_looks_like_a_tianjin_registry(noisy: synth.Synth) -> None:
    reference = noisy.reference
    tianjin = reference["id_number"].str.starts_with("12").mean()
    assert 0.85 < tianjin < 0.95  # the rest are migrant families' home counties
    assert reference["address"].str.starts_with("天津市").all()
    minority = reference["name"].str.contains("·").mean()
    assert 0.01 < minority < 0.03
    counts = reference["name"].value_counts()["count"]
    assert counts.max() > 20 and (counts == 1).sum() > 5_000  # common names collide, rare ones stand out
    given = reference.filter(~pl.col("name").str.contains("·"))["name"].str.len_chars()
    assert given.min() >= 2 and given.max() <= 5


def test_reference_twins_share_region_and_birth_date_and_differ_in_sequence(noisy: synth.Synth) -> None:
    numbers = dict(noisy.reference.select("id", "id_number").iter_rows())
    kinds = dict(noisy.kin["kind"].value_counts().iter_rows())
    assert kinds["twin"] > 0 and kinds["sibling"] > 0 and kinds["namesake"] > 0
    names = dict(noisy.reference.select("id", "name").iter_rows())
    for one, other, kind in noisy.kin.iter_rows():
        a, b = numbers[one], numbers[other]
        if kind == "twin":
            assert a[:14] == b[:14] and a[14:17] != b[14:17]
        if kind == "namesake":
            assert names[one] == names[other] and a[6:14] == b[6:14] and a != b
        if kind in ("twin", "sibling") and "·" not in names[one]:
            assert names[one][0] == names[other][0]


def test_list_twins_are_other_people_of_the_same_region_and_birth_date(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "twin"):
        number, sibling = row["id_number"], row["id_number_ref"]
        ric.validate(number)
        assert number[:14] == sibling[:14] and number[14:17] != sibling[14:17]
        assert row["birth_date"] == row["birth_date_ref"]
        assert row["name"] != row["name_ref"]
        assert lazy_pinyin(row["name"], style=Style.NORMAL) != lazy_pinyin(
            row["name_ref"], style=Style.NORMAL
        )


def test_decoys_have_the_name_and_birth_date_of_a_reference_person_and_their_own_id(
    pairs: pl.DataFrame,
) -> None:
    for row in rows(pairs, "decoy"):
        ric.validate(row["id_number"])
        assert row["name"] == row["name_ref"] and row["birth_date"] == row["birth_date_ref"]
        assert row["id_number"] != row["id_number_ref"]


def test_new_people_are_not_in_the_reference(clean: synth.Synth) -> None:
    new = clean.truth.filter(pl.col("cls") == "new").join(clean.list, left_on="list_id", right_on="id")
    assert new.join(clean.reference, on="id_number").height == 0


def test_missing_id_is_empty(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "id_missing"):
        assert row["id_number"] == ""
        fields_other_than(row, "id_number")


def test_id_typo_changes_one_character_and_breaks_the_checksum(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "id_typo"):
        number, source = row["id_number"], row["id_number_ref"]
        assert len(number) == 18
        assert sum(a != b for a, b in zip(number, source, strict=True)) == 1
        assert ric.calc_check_digit(number) != number[-1]
        fields_other_than(row, "id_number")


def test_id_transposition_swaps_two_adjacent_digits(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "id_transposition"):
        number, source = row["id_number"], row["id_number_ref"]
        at = [i for i, (a, b) in enumerate(zip(number, source, strict=True)) if a != b]
        assert len(at) == 2 and at[1] == at[0] + 1 and at[1] < 17
        assert number[at[0]] == source[at[1]] and number[at[1]] == source[at[0]]
        assert ric.calc_check_digit(number) != number[-1]
        fields_other_than(row, "id_number")


def test_id_15_is_the_legacy_form_of_the_source_number(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "id_15"):
        number = row["id_number"]
        assert len(number) == 15 and number.isdigit()
        # The registry children were born after 2000, so the century comes from the birth date.
        assert to_18(number, row["birth_date"][:2]) == row["id_number_ref"]
        fields_other_than(row, "id_number")


def test_homophone_replaces_one_character_by_one_that_reads_the_same(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "name_homophone"):
        name, source = row["name"], row["name_ref"]
        assert len(name) == len(source)
        [(new, old)] = [(a, b) for a, b in zip(name, source, strict=True) if a != b]
        assert new in synth.HOMOPHONES[old]
        assert lazy_pinyin(name, style=Style.NORMAL) == lazy_pinyin(source, style=Style.NORMAL)
        fields_other_than(row, "name")


def test_name_typo_is_a_similar_shape_or_one_character_dropped_or_added(pairs: pl.DataFrame) -> None:
    kinds = set()
    for row in rows(pairs, "name_typo"):
        name, source = row["name"], row["name_ref"]
        if len(name) == len(source):
            [(new, old)] = [(a, b) for a, b in zip(name, source, strict=True) if a != b]
            assert synth.SHAPE_SIMILAR[old] == new
            kinds.add("shape")
        else:
            longer, shorter = (name, source) if len(name) > len(source) else (source, name)
            assert len(longer) == len(shorter) + 1
            assert any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
            kinds.add("added" if len(name) > len(source) else "dropped")
        fields_other_than(row, "name")
    assert kinds == {"shape", "added", "dropped"}


def test_date_swap_exchanges_day_and_month(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "date_swap"):
        year, month, day = row["birth_date_ref"].split("-")
        assert row["birth_date"] == f"{year}-{day}-{month}" and month != day
        fields_other_than(row, "birth_date")


def test_date_typo_changes_one_digit_and_stays_a_real_date(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "date_typo"):
        date, source = row["birth_date"], row["birth_date_ref"]
        dt.date.fromisoformat(date)
        assert sum(a != b for a, b in zip(date, source, strict=True)) == 1
        assert date <= "2025-12-31"
        fields_other_than(row, "birth_date")


def test_date_missing_is_empty(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "date_missing"):
        assert row["birth_date"] == ""
        fields_other_than(row, "birth_date")


def test_short_address_keeps_only_the_last_parts(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "address_short"):
        address, source = row["address"], row["address_ref"]
        assert source.endswith(address) and len(address) < len(source) - 5
        assert not address.startswith("天津市")
        fields_other_than(row, "address")


def test_moved_address_is_another_address(pairs: pl.DataFrame) -> None:
    for row in rows(pairs, "address_moved"):
        assert row["address"] != row["address_ref"] and row["address"].startswith("天津市")
        fields_other_than(row, "address")


def test_homophone_groups_read_alike_and_shape_pairs_mostly_do_not() -> None:
    for group in synth.HOMOPHONE_GROUPS:
        assert len({lazy_pinyin(c, style=Style.NORMAL)[0] for c in group}) == 1, group
    same = [a for a, b in synth.SHAPE_SIMILAR.items() if lazy_pinyin(a) == lazy_pinyin(b)]
    assert not same


SIMPLIFIED = {t: s for s, t in synth.TRADITIONAL.items()}


def normalise(row: dict[str, str]) -> dict[str, str]:
    """What the normalisers must at least do to absorb the format noise."""
    text = {k: unicodedata.normalize("NFKC", v).replace(" ", "") for k, v in row.items()}
    text["id_number"] = text["id_number"].upper()
    text["name"] = "".join(SIMPLIFIED.get(c, c) for c in text["name"])
    date = text["birth_date"]
    if date:
        for sep in "年月/.":
            date = date.replace(sep, "-")
        parts = date.rstrip("日").split("-") if "-" in date else [date[:4], date[4:6], date[6:]]
        text["birth_date"] = dt.date(*map(int, parts)).isoformat()
    return text


def test_format_noise_touches_a_fifth_of_the_list_and_normalises_away(
    clean: synth.Synth, noisy: synth.Synth
) -> None:
    for name in ("reference", "truth"):
        assert getattr(noisy, name).equals(getattr(clean, name))
    changed = 0
    for before, after in zip(clean.list.iter_rows(named=True), noisy.list.iter_rows(named=True), strict=True):
        if before != after:
            changed += 1
            assert sum(before[k] != after[k] for k in before) == 1
            assert normalise(after) == before
    assert 0.18 * N < changed <= 0.2 * N


def test_evaluate_scores_a_result_against_the_truth(clean: synth.Synth) -> None:
    truth = clean.truth
    perfect = truth.select(
        "list_id",
        pl.col("reference_id").fill_null(""),
        probability=pl.lit(1.0),
        decision=pl.when(pl.col("reference_id").is_null()).then(pl.lit("none")).otherwise(pl.lit("match")),
    )
    scores = synth.evaluate(perfect, truth)
    assert scores["precision"] == scores["recall"] == 1.0
    assert scores["recall_by_class"] == dict.fromkeys(sorted(synth.CLASSES), 1.0)
    assert scores["twins_merged"] == scores["decoys_merged"] == 0

    # Every twin merged with its sibling, and every missing-date copy left out.
    merged = perfect.join(truth.select("list_id", "cls", "related_id"), on="list_id").select(
        "list_id",
        reference_id=pl.when(pl.col("cls") == "twin").then("related_id").otherwise("reference_id"),
        probability="probability",
        decision=pl.when(pl.col("cls") == "twin")
        .then(pl.lit("match"))
        .when(pl.col("cls") == "date_missing")
        .then(pl.lit("review"))
        .otherwise("decision"),
    )
    scores = synth.evaluate(merged, truth)
    twins = truth.filter(pl.col("cls") == "twin").height
    linked = truth["reference_id"].is_not_null().sum()
    missing = truth.filter(pl.col("cls") == "date_missing").height
    assert scores["twins_merged"] == scores["twins_to_sibling"] == twins
    assert scores["classes"]["twin"]["false_match"] == 1.0
    assert scores["classes"]["date_missing"] == {"n": missing, "recall": 0.0, "review": 1.0}
    assert scores["recall"] == round((linked - missing) / linked, 6)
    assert scores["precision"] == round((linked - missing) / (linked - missing + twins), 6)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_puts_the_files_side_by_side(tmp_path, fmt: str) -> None:
    small = synth.generate(n_reference=200, n_list=200, seed=2)
    paths = synth.write(small, tmp_path, fmt=fmt)
    assert sorted(p.name for p in paths.values()) == sorted(
        [f"reference.{fmt}", f"list.{fmt}", "truth.parquet", "kin.parquet"]
    )
    read = pl.read_parquet if fmt == "parquet" else lambda p: pl.read_csv(p, infer_schema=False)
    assert read(paths["list"]).select(pl.all().fill_null("")).equals(small.list)
    assert pl.read_parquet(paths["truth"]).equals(small.truth)


# --- A second damage, of another field, on a share of the copies -----------------------------------


@pytest.fixture(scope="module")
def double() -> synth.Synth:
    return synth.generate(n_reference=N, n_list=N, seed=7, noise_share=0.0, second_share=0.3)


def damaged_as(cls: str, row: dict[str, str]) -> None:
    """The field `cls` damages differs from the source in exactly the way `cls` says."""
    value, source = row[synth.FIELD_OF[cls]], row[synth.FIELD_OF[cls] + "_ref"]
    at = [i for i, (a, b) in enumerate(zip(value, source, strict=False)) if a != b]
    if cls in ("id_missing", "date_missing"):
        assert value == "" != source
    elif cls == "id_typo":
        assert len(value) == 18 and len(at) == 1 and ric.calc_check_digit(value) != value[-1]
    elif cls == "id_transposition":
        assert len(value) == 18 and len(at) == 2 and at[1] == at[0] + 1 < 17
        assert value[at[0]] == source[at[1]] and value[at[1]] == source[at[0]]
    elif cls == "id_15":
        assert len(value) == 15 and to_18(value, row["birth_date_ref"][:2]) == source
    elif cls == "name_homophone":
        assert len(value) == len(source) and len(at) == 1
        assert value[at[0]] in synth.HOMOPHONES[source[at[0]]]
    elif cls == "name_typo":
        if len(value) == len(source):
            assert len(at) == 1 and synth.SHAPE_SIMILAR[source[at[0]]] == value[at[0]]
        else:
            longer, shorter = sorted((value, source), key=len, reverse=True)
            assert len(longer) == len(shorter) + 1
            assert any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
    elif cls == "date_swap":
        year, month, day = source.split("-")
        assert value == f"{year}-{day}-{month}" and month != day
    elif cls == "date_typo":
        dt.date.fromisoformat(value)
        assert len(value) == len(source) and len(at) == 1
    elif cls == "address_short":
        assert source.endswith(value) and len(value) < len(source) - 5
    elif cls == "address_moved":
        assert value != source and value.startswith("天津市")
    else:
        raise AssertionError(cls)


def test_second_damage_falls_on_a_share_of_the_copies_and_another_field(double: synth.Synth) -> None:
    truth = double.truth
    assert truth.columns == ["list_id", "reference_id", "cls", "related_id", "cls2"]
    linked = truth.filter(pl.col("cls").is_in(synth.CLASSES))
    seconds = linked.filter(pl.col("cls2").is_not_null())
    assert seconds.height == round(0.3 * linked.height)
    assert truth.filter(~pl.col("cls").is_in(synth.CLASSES))["cls2"].null_count() == N - linked.height
    assert set(seconds["cls2"]) == set(synth.CLASSES)
    for first, second in seconds.select("cls", "cls2").iter_rows():
        assert synth.FIELD_OF[first] != synth.FIELD_OF[second]
    counts = seconds["cls2"].value_counts()["count"]
    assert counts.min() > 50  # day/month swaps, which few dates allow, are the rarest


def test_second_damage_leaves_the_first_damages_as_they_were(clean: synth.Synth, double: synth.Synth) -> None:
    assert double.reference.equals(clean.reference) and double.kin.equals(clean.kin)
    assert double.truth.drop("cls2").equals(clean.truth)
    single = double.truth["cls2"].is_null()
    assert double.list.filter(single).equals(clean.list.filter(single))
    assert not double.list.filter(~single).equals(clean.list.filter(~single))


def test_copies_with_two_damages_differ_from_the_source_in_both_recorded_ways(double: synth.Synth) -> None:
    pairs = (
        double.truth.filter(pl.col("cls2").is_not_null())
        .join(double.list, left_on="list_id", right_on="id")
        .join(double.reference, left_on="reference_id", right_on="id", suffix="_ref")
    )
    assert pairs.height == round(0.3 * N // 2)
    for row in pairs.iter_rows(named=True):
        damaged_as(row["cls"], row)
        damaged_as(row["cls2"], row)
        fields_other_than(row, synth.FIELD_OF[row["cls"]], synth.FIELD_OF[row["cls2"]])


def test_evaluate_reports_recall_by_second_class_when_there_is_one(
    clean: synth.Synth, double: synth.Synth
) -> None:
    none = clean.truth.select("list_id", "reference_id", decision=pl.lit("none"))
    assert "recall_by_second" not in synth.evaluate(none, clean.truth)
    truth = double.truth
    result = truth.select(
        "list_id",
        pl.col("reference_id").fill_null(""),
        # Every copy with a second damage on its date left out.
        decision=pl.when(pl.col("reference_id").is_null() | pl.col("cls2").str.starts_with("date_"))
        .then(pl.lit("none"))
        .otherwise(pl.lit("match")),
    )
    scores = synth.evaluate(result, truth)
    dates = {c for c in synth.CLASSES if synth.FIELD_OF[c] == "birth_date"}
    assert scores["recall_by_second"] == {c: 0.0 if c in dates else 1.0 for c in sorted(synth.CLASSES)}
    assert scores["precision"] == 1.0 and scores["recall"] < 1.0
