"""Blocking and comparison: which (list, reference) pairs are looked at, and how each field agrees.

Both frames come from normalise.prepare(). Everything here is polars expressions and joins (and one rapidfuzz
call over the distinct name pairs), so the same kernels run on any frame engine; nothing imports Django.

Comparison levels per field (0 is always "missing on one side", never evidence either way):

    id      6 same number · 5 one digit off with a broken checksum (a typo) · 4 two neighbouring digits swapped
            · 3 two valid numbers, same area and birth date, other sequence digits (twins and siblings)
            · 2 two valid, different numbers (two people: the check digit catches every single-digit typo and
              every swap of neighbours, so two valid numbers never differ by one slip)
            · 1 different, one of them broken · 0 missing
    name    4 same characters · 3 same sound or same shapes (张伟/张玮, 己/已) · 2 one edit apart in pinyin
            · 1 different · 0 missing
    birth   4 same · 3 day and month swapped · 2 one part differs (a typo) · 1 different · 0 missing
    sex     2 same · 1 different · 0 missing
    addr    3 mostly the same places · 2 some in common · 1 nothing in common · 0 missing

When both ID numbers are the same, the birth date and sex are read from that number: their comparisons would
only repeat it, so they are set to IMPLIED (no weight).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

IMPLIED = -1
FIELDS = ("id", "name", "birth", "sex", "addr")
LEVELS = {"id": 7, "name": 5, "birth": 5, "sex": 3, "addr": 4}

# Blocking rules: a pair is a candidate when any rule's key agrees. A single slip anywhere (a mistyped or missing
# ID, a misheard name, a wrong date) leaves the exact ID or the name + birth date intact; the ID slices and the
# shape key also catch two slips at once (a digit typo in the area or the sequence, with a misspelt name).
BLOCKS: tuple[tuple[str, pl.Expr], ...] = (
    ("id", pl.col("idn")),
    ("id_area_birth", pl.col("idn").str.slice(0, 14)),
    ("id_birth_seq", pl.col("idn").str.slice(6, 12)),
    # A 15-digit legacy number carries no century: its converted form can differ from the 18-digit one there.
    ("id_core15", pl.col("idn").str.slice(0, 6) + pl.col("idn").str.slice(8, 9)),
    ("name_birth", pl.col("name_py") + "|" + pl.col("birth_any").cast(pl.Utf8)),
    ("shape_birth", pl.col("name_sk") + "|" + pl.col("birth_any").cast(pl.Utf8)),
    # Where the ID is missing or slipped in its date digits and the date or the name is wrong too, the address
    # (its first two parts: street or town, and community or village) still places the child.
    ("name_place", pl.when(pl.col("addr_key").is_not_null()).then(pl.struct("name_py", "addr_key"))),
    ("birth_place", pl.when(pl.col("addr_key").is_not_null()).then(pl.struct("birth_any", "addr_key"))),
)
# A key shared by more reference records than this is not a block (a placeholder date, a common name with
# no other evidence): those pairs would swamp the run without ever deciding anything.
MAX_BLOCK = 200
# Characters of an identifier compared position by position: 18 for a Chinese ID number, more for others
# (longer ones are compared on their first ID_WIDTH characters).
ID_WIDTH = 24


def with_keys(df: pl.DataFrame) -> pl.DataFrame:
    """The row index and only the columns blocking and comparison use (a million rows of unused strings and
    address lists would double the run's memory)."""
    return (
        df.lazy()
        .with_row_index("row")
        .select(
            "row",
            "id",
            "name_raw",
            "name_py",
            "name_sk",
            # A Chinese ID number, else any other identifier: compared as characters either way (the identity
            # rules and what is read from the number need id_valid, which only a Chinese number has).
            pl.coalesce("idn", "id_other").alias("idn"),
            pl.col("id_valid").fill_null(False),
            "id_from_15",
            pl.coalesce("birth", "id_birth").alias("birth_any"),
            pl.coalesce("sex", "id_sex").alias("sex_any"),
            # Address parts as 64-bit hashes: set operations on integers are ten times cheaper than on strings.
            pl.col("addr_tokens").list.eval(pl.element().hash()).alias("addr_h"),
            # Street or town, and community or village: where a child lives, for the place blocks.
            pl.when(pl.col("addr_tokens").list.len() >= 2)
            .then(pl.col("addr_tokens").list.head(2).list.join("|").hash())
            .alias("addr_key"),
        )
        .collect()
    )


def block_tables(right: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Per blocking rule, the reference rows by key (k, r), without keys shared by more than MAX_BLOCK rows.
    Built once per reference set: this is what an index of the registry keeps. The rules are one plan, so
    polars reads the frame once and builds the tables side by side."""
    plans = [_keyed(right.lazy(), key, "r").filter(pl.len().over("k") <= MAX_BLOCK) for _name, key in BLOCKS]
    return dict(zip((name for name, _key in BLOCKS), pl.collect_all(plans), strict=True))


def _keyed(frame: pl.LazyFrame, key: pl.Expr, row: str) -> pl.LazyFrame:
    # Keys are joined as 64-bit hashes (a collision only adds a candidate, which the comparison then rejects).
    return (
        frame.select(pl.col("row").alias(row), key.alias("k"))
        .drop_nulls("k")
        .with_columns(pl.col("k").hash())
    )


def candidates(
    left: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    right: pl.DataFrame | None = None,
    *,
    right_identity: np.ndarray | None = None,
) -> pl.DataFrame:
    """Distinct (l, r) row pairs sharing at least one blocking key. With `right`, pairs of two valid, different
    ID numbers are dropped before any comparison: the identity rule makes them two people whatever else agrees,
    and they are most of the candidates (every new person, every decoy, every twin)."""
    kl = identity_keys(left) if right is not None else None
    kr = None if right is None else right_identity if right_identity is not None else identity_keys(right)
    pairs = []
    keyed = pl.collect_all([_keyed(left.lazy(), key, "l") for _name, key in BLOCKS])
    for (name, _key), lk in zip(BLOCKS, keyed, strict=True):
        table = tables[name]
        if kl is None or kr is None or name == "id":
            pairs.append(lk.join(table, on="k", how="inner").select("l", "r"))
            continue
        # Two valid, different ID numbers are two people, and the same valid number is found by the "id" block:
        # the other blocks need only pairs where one side lacks a sure number.
        if len(lk) * 4 < len(table):
            # A short list against a big registry: join, then drop the pairs of two sure numbers.
            found = lk.join(table, on="k", how="inner").select("l", "r")
            a, b = kl[found["l"].to_numpy()], kr[found["r"].to_numpy()]
            pairs.append(found.filter(pl.Series((a == 0) | (b == 0))))
            continue
        # Lists as big as the registry: area + birth date alone pairs every child born the same day in a county,
        # so the pairs of two sure numbers are kept out of the join itself (most of its work).
        sure_l = pl.Series(kl[lk["l"].to_numpy()] != 0)
        sure_r = pl.Series(kr[table["r"].to_numpy()] != 0)
        pairs.append(lk.filter(~sure_l).join(table, on="k", how="inner").select("l", "r"))
        pairs.append(lk.filter(sure_l).join(table.filter(~sure_r), on="k", how="inner").select("l", "r"))
    return pl.concat(pairs).unique()


def identity_keys(df: pl.DataFrame) -> np.ndarray:
    """A 64-bit key per row for a valid, 18-digit ID number (0 otherwise: missing, broken, or from 15 digits)."""
    sure = df["id_valid"].fill_null(False) & ~df["id_from_15"].fill_null(False)
    keys = df["idn"].hash().to_numpy().copy()
    keys[~sure.to_numpy()] = 0
    return keys


def id_digits(idn: pl.Series) -> np.ndarray:
    """The 18 characters of each normalised ID number as a (rows, 18) byte matrix (zeros where missing), so
    pairs compare position by position in numpy instead of slicing strings."""
    fixed = np.array(idn.fill_null("").to_list(), dtype=f"S{ID_WIDTH}")  # ASCII, zero-padded
    return (
        fixed.view(np.uint8).reshape(-1, ID_WIDTH) if len(fixed) else np.zeros((0, ID_WIDTH), dtype=np.uint8)
    )


def id_levels(
    a: np.ndarray, b: np.ndarray, va: np.ndarray, vb: np.ndarray, fa: np.ndarray, fb: np.ndarray
) -> np.ndarray:
    """ID comparison level per pair (see the module docstring). `a`/`b`: (pairs, 18) digit bytes, zero rows for
    a missing number; `va`/`vb`: the check digit holds; `fa`/`fb`: converted from 15 digits, whose century (always
    taken as 19) and check digit are not evidence, so their 15 original digits are compared instead."""
    missing = (a[:, 0] == 0) | (b[:, 0] == 0)
    diff = a != b
    n_diff = diff.sum(axis=1)
    first = diff.argmax(axis=1)
    nxt = np.minimum(first + 1, a.shape[1] - 1)
    rows = np.arange(len(a))
    swapped = (
        (n_diff == 2) & diff[rows, nxt] & (a[rows, first] == b[rows, nxt]) & (a[rows, nxt] == b[rows, first])
    )
    legacy = fa | fb
    core = np.r_[0:6, 8:17]
    same_core = ~diff[:, core].any(axis=1)
    both_valid = va & vb & ~legacy
    same_area_birth = ~diff[:, :14].any(axis=1)
    level = np.full(len(a), 1, dtype=np.int8)
    level[swapped] = 4
    level[n_diff == 1] = 5
    level[both_valid] = 2
    level[both_valid & same_area_birth] = 3
    level[(n_diff == 0) | (legacy & same_core)] = 6
    level[missing] = 0
    return level


def _birth_level(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    same_y, same_m, same_d = (
        a.dt.year() == b.dt.year(),
        a.dt.month() == b.dt.month(),
        a.dt.day() == b.dt.day(),
    )
    swapped = same_y & (a.dt.month() == b.dt.day()) & (a.dt.day() == b.dt.month())
    two_of_three = (same_y.cast(pl.Int8) + same_m.cast(pl.Int8) + same_d.cast(pl.Int8)) == 2
    return (
        pl.when(a.is_null() | b.is_null())
        .then(0)
        .when(a == b)
        .then(4)
        .when(swapped)
        .then(3)
        .when(two_of_three)
        .then(2)
        .otherwise(1)
    )


PAIR_COLUMNS = (
    "row",
    "idn",
    "id_valid",
    "id_from_15",
    "name_raw",
    "name_py",
    "name_sk",
    "birth_any",
    "sex_any",
    "addr_h",
)


def compare(
    left: pl.DataFrame,
    right: pl.DataFrame,
    pairs: pl.DataFrame,
    digits: tuple[np.ndarray, np.ndarray] | None = None,
) -> pl.DataFrame:
    """One row per candidate pair with the comparison level of each field (int8) and what the reasons need.
    `digits`: id_digits() of left and right, when the caller keeps them between calls."""
    cols = list(PAIR_COLUMNS)
    df = pairs.join(
        left.select(cols).rename({c: f"{c}_l" for c in cols}), left_on="l", right_on="row_l"
    ).join(right.select(cols).rename({c: f"{c}_r" for c in cols}), left_on="r", right_on="row_r")
    dl, dr = digits if digits is not None else (id_digits(left["idn"]), id_digits(right["idn"]))
    return compare_joined(df, dl[df["l"].to_numpy()], dr[df["r"].to_numpy()])


def compare_joined(
    df: pl.DataFrame, digits_l: np.ndarray | None = None, digits_r: np.ndarray | None = None
) -> pl.DataFrame:
    """The comparison kernel on pairs already joined with both records' PAIR_COLUMNS (suffixed _l and _r):
    what runs, unchanged, on each Spark partition."""
    if digits_l is None or digits_r is None:
        digits_l, digits_r = id_digits(df["idn_l"]), id_digits(df["idn_r"])
    near = _name_edits(df)
    ids = id_levels(
        digits_l,
        digits_r,
        df["id_valid_l"].fill_null(False).to_numpy(),
        df["id_valid_r"].fill_null(False).to_numpy(),
        df["id_from_15_l"].fill_null(False).to_numpy(),
        df["id_from_15_r"].fill_null(False).to_numpy(),
    )
    name_missing = (pl.col("name_py_l").fill_null("") == "") | (pl.col("name_py_r").fill_null("") == "")
    name_level = (
        pl.when(name_missing)
        .then(0)
        .when(pl.col("name_raw_l") == pl.col("name_raw_r"))
        .then(4)
        .when((pl.col("name_py_l") == pl.col("name_py_r")) | (pl.col("name_sk_l") == pl.col("name_sk_r")))
        .then(3)
        .when(pl.Series(near) <= 1)
        .then(2)
        .otherwise(1)
    )
    overlap = df.select(
        pl.col("addr_h_l").list.set_intersection(pl.col("addr_h_r")).list.len().alias("i"),
        pl.col("addr_h_l").list.set_union(pl.col("addr_h_r")).list.len().alias("u"),
    )
    inter, union = overlap["i"].to_numpy(), overlap["u"].to_numpy()
    empty = (df["addr_h_l"].list.len().fill_null(0).to_numpy() == 0) | (
        df["addr_h_r"].list.len().fill_null(0).to_numpy() == 0
    )
    jaccard = np.divide(inter, union, out=np.zeros(len(union)), where=union > 0)
    addr = np.select([empty, jaccard >= 0.75, jaccard >= 0.4], [0, 3, 2], default=1).astype(np.int8)
    sex_level = (
        pl.when(pl.col("sex_any_l").is_null() | pl.col("sex_any_r").is_null())
        .then(0)
        .when(pl.col("sex_any_l") == pl.col("sex_any_r"))
        .then(2)
        .otherwise(1)
    )
    out = df.with_columns(
        pl.Series("id", ids, dtype=pl.Int8),
        name_level.cast(pl.Int8).alias("name"),
        _birth_level(pl.col("birth_any_l"), pl.col("birth_any_r")).cast(pl.Int8).alias("birth"),
        sex_level.cast(pl.Int8).alias("sex"),
        pl.Series("addr", addr, dtype=pl.Int8),
    )
    # The same ID number says the same birth date and sex: not counted twice. (A legacy number's century is a
    # guess, so with one of those the birth date still counts.)
    implied = (pl.col("idn_l") == pl.col("idn_r")) & pl.col("id_valid_l") & pl.col("id_valid_r")
    return out.with_columns(
        pl.when(implied).then(IMPLIED).otherwise(pl.col("birth")).cast(pl.Int8).alias("birth"),
        pl.when(implied).then(IMPLIED).otherwise(pl.col("sex")).cast(pl.Int8).alias("sex"),
    ).select("l", "r", "name_raw_l", "name_raw_r", *FIELDS)


def _name_edits(df: pl.DataFrame) -> np.ndarray:
    """Levenshtein distance between the pinyin of each pair's names, computed once per distinct pair."""
    names = df.select(pl.col("name_py_l").fill_null(""), pl.col("name_py_r").fill_null(""))
    distinct = names.unique()
    dist = process.cpdist(
        distinct["name_py_l"].to_list(),
        distinct["name_py_r"].to_list(),
        scorer=Levenshtein.distance,
        workers=-1,
    )
    lookup = distinct.with_columns(pl.Series("d", dist, dtype=pl.Int32))
    return names.join(lookup, on=["name_py_l", "name_py_r"], how="left", maintain_order="left")[
        "d"
    ].to_numpy()
