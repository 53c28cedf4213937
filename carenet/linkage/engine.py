"""Link a list to a reference set: for every list record, which reference record it is, if any.

    prepare both → block → compare → (learn the model) → score → decide → explain

Decisions: `match` when the probability reaches the model's match threshold, the best candidate is clearly
ahead of the second and no better-scoring list record claims the same reference record (unless both list
records carry that reference's exact ID number: then they really are the same person); `review` for the
genuinely ambiguous (between the thresholds, or contested); `none` otherwise. Twins and siblings — two valid ID
numbers with the same area and birth date but other sequence digits — are never the same person.
Nothing here imports Django: the same functions run in the `carenet link` command, in screening, and on Spark.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from carenet.linkage import compare as cmp
from carenet.linkage.model import Model, train, u_from_random
from carenet.linkage.normalise import prepare

MARGIN_BITS = 5.0  # the best candidate must beat the runner-up by 2^5 in likelihood ratio to be a match
TF_FLOOR = 1e-7
HARD_NO = -60.0
SAME_ID = 30.0


@dataclass
class Linked:
    result: pl.DataFrame  # list_id, reference_id, probability, decision, reason
    model: Model
    candidates: int
    timings: dict[str, float]


@dataclass
class Reference:
    """A reference set made ready to link against: prepared rows, blocking tables and name frequencies. Build it
    once for a registry and link every new list against it (`save`/`load` keep it as Parquet files)."""

    rows: pl.DataFrame
    tables: dict[str, pl.DataFrame]
    tf: pl.DataFrame
    digits: np.ndarray  # compare.id_digits(rows["idn"])
    identity: np.ndarray  # compare.identity_keys(rows): the sure ID numbers, kept with the index

    @classmethod
    def build(cls, reference_df: pl.DataFrame) -> Reference:
        rows = cmp.with_keys(prepare(reference_df))
        return cls(
            rows=rows,
            tables=cmp.block_tables(rows),
            tf=name_tf(rows),
            digits=cmp.id_digits(rows["idn"]),
            identity=cmp.identity_keys(rows),
        )

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.rows.write_parquet(directory / "rows.parquet")
        self.tf.write_parquet(directory / "tf.parquet")
        for name, table in self.tables.items():
            table.write_parquet(directory / f"block-{name}.parquet")

    @classmethod
    def load(cls, directory: str | Path) -> Reference:
        directory = Path(directory)
        tables = {name: pl.read_parquet(directory / f"block-{name}.parquet") for name, _key in cmp.BLOCKS}
        rows = pl.read_parquet(directory / "rows.parquet")
        return cls(
            rows=rows,
            tables=tables,
            tf=pl.read_parquet(directory / "tf.parquet"),
            digits=cmp.id_digits(rows["idn"]),
            identity=cmp.identity_keys(rows),
        )


def link(
    list_df: pl.DataFrame,
    reference: pl.DataFrame | Reference,
    *,
    model: Model | None = None,
    timings: dict | None = None,
) -> Linked:
    t = timings if timings is not None else {}
    t0 = time.perf_counter()
    left = cmp.with_keys(prepare(list_df))
    del list_df  # the raw list is not needed any more: let a caller's temporary go
    ref = reference if isinstance(reference, Reference) else Reference.build(reference)
    del reference
    right = ref.rows
    t["prepare"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = cmp.candidates(left, ref.tables, right, right_identity=ref.identity)
    digits = (cmp.id_digits(left["idn"]), ref.digits)
    levels = cmp.compare(left, right, pairs, digits)
    n_pairs = len(pairs)
    del pairs, digits
    t["block_compare"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if model is None:
        u = u_from_random(left, right, cmp.compare)
        model = train(levels, u)
        model.name_u_exact = model.u["name"][4]
        model.match_rate = model.prior * n_pairs / max(len(left) * len(right), 1)
    t["train"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scored = score(levels, model, ref.tf)
    result = decide(scored, left, right, model)
    t["score_decide"] = time.perf_counter() - t0
    return Linked(result=result, model=model, candidates=n_pairs, timings=t)


def within(ref: Reference, model: Model, *, min_name: int = 2) -> pl.DataFrame:
    """Pairs of two different records of one set that `model` calls the same person (a duplicate inside a
    registry): a_id, b_id (a before b in the set), probability, reason. Twins stay apart by the identity rule;
    inside one registry brothers and sisters share an address (and twins a birth date), so the names must also
    be alike (at least level `min_name`: similar, homophone or the same)."""
    rows = ref.rows
    pairs = cmp.candidates(rows, ref.tables, rows, right_identity=ref.identity).filter(
        pl.col("l") < pl.col("r")
    )
    empty = pl.DataFrame(
        schema={"a_id": pl.Utf8, "b_id": pl.Utf8, "probability": pl.Float64, "reason": pl.Utf8}
    )
    if not len(pairs):
        return empty
    levels = cmp.compare(rows, rows, pairs, (ref.digits, ref.digits))
    scored = score(levels, model, ref.tf).filter(
        (pl.col("probability") >= model.match_threshold) & (pl.col("name") >= min_name)
    )
    if not len(scored):
        return empty
    ids = rows.select(pl.col("row"), pl.col("id"))
    return (
        scored.with_columns(reason_expr().alias("reason"))
        .join(ids.rename({"row": "l", "id": "a_id"}), on="l")
        .join(ids.rename({"row": "r", "id": "b_id"}), on="r")
        .select("a_id", "b_id", pl.col("probability").round(6), "reason")
        .sort("a_id", "b_id")
    )


def name_tf(right: pl.DataFrame) -> pl.DataFrame:
    """How common each exact name is in the reference set: a shared rare name weighs more than 张伟."""
    n = max(len(right), 1)
    return (
        right.group_by("name_raw")
        .len()
        .select(pl.col("name_raw").alias("name_raw_r"), (pl.col("len") / n).alias("tf"))
    )


def score(levels: pl.DataFrame, model: Model, tf: pl.DataFrame) -> pl.DataFrame:
    """Add `weight` (log2 Bayes factor incl. the prior) and `probability` to each candidate pair."""
    w = model.weights()
    rate = model.match_rate or model.prior
    prior = math.log2(rate / (1 - rate))
    total = pl.lit(prior)
    for f in cmp.FIELDS:
        table = pl.Series(f"w_{f}", w[f])
        total = total + pl.when(pl.col(f) <= 0).then(0.0).otherwise(
            pl.col(f).cast(pl.Int64).replace_strict(list(range(len(w[f]))), table.to_list(), default=0.0)
        )
    out = levels.join(tf, on="name_raw_r", how="left").with_columns(total.alias("weight"))
    if model.name_u_exact > 0:
        # Term frequency: an exact name is as strong as it is rare (Splink's tf adjustment, capped both ways).
        adj = (
            (pl.lit(model.name_u_exact) / pl.col("tf").fill_null(TF_FLOOR).clip(TF_FLOOR, None))
            .log(2)
            .clip(-5, 8)
        )
        out = out.with_columns(
            pl.when(pl.col("name") == 4)
            .then(pl.col("weight") + adj)
            .otherwise(pl.col("weight"))
            .alias("weight")
        )
    # Identity rules, above any learnt weight. The same ID number with a name that is the same, sounds or looks
    # the same, or is one slip away is the same person: u for an exact ID measured on random pairs is only the
    # sampling floor (no two people share a number), so the learnt weight understates it. The same number under a
    # different name stays for review (a borrowed number, a data error).
    out = out.with_columns(
        pl.when((pl.col("id") == 6) & (pl.col("name") >= 2))
        .then(pl.col("weight") + SAME_ID)
        .otherwise(pl.col("weight"))
        .alias("weight")
    )
    # Two valid, different ID numbers are two people (twins and siblings — same area and birth date, other
    # sequence digits — included), however alike their names and dates.
    out = out.with_columns(
        pl.when(pl.col("id").is_in([2, 3])).then(HARD_NO).otherwise(pl.col("weight")).alias("weight")
    )
    return out.with_columns((1.0 / (1.0 + (2.0 ** (-pl.col("weight"))))).alias("probability"))


def decide(scored: pl.DataFrame, left: pl.DataFrame, right: pl.DataFrame, model: Model) -> pl.DataFrame:
    # Only what deciding and explaining read: the names and frequencies the score needed would be carried through
    # the sort and the grouping for nothing.
    ranked = scored.select("l", "r", *cmp.FIELDS, "weight", "probability").sort(
        ["l", "weight"], descending=[False, True]
    )
    best = ranked.group_by("l", maintain_order=True).agg(
        pl.all().first(),
        pl.col("weight").slice(1, 1).first().alias("runner_up"),
    )
    best = best.with_columns(
        pl.when(pl.col("probability") >= model.match_threshold)
        .then(pl.lit("match"))
        .when(pl.col("probability") >= model.review_threshold)
        .then(pl.lit("review"))
        .otherwise(pl.lit("none"))
        .alias("decision")
    )
    close = pl.col("runner_up").is_not_null() & ((pl.col("weight") - pl.col("runner_up")) < MARGIN_BITS)
    best = best.with_columns(
        pl.when((pl.col("decision") == "match") & close)
        .then(pl.lit("review"))
        .otherwise(pl.col("decision"))
        .alias("decision")
    )
    best = _one_to_one(best)
    # A reason depends only on the five levels: phrased once per distinct pattern (a few hundred), not per row.
    patterns = best.select(cmp.FIELDS).unique().with_columns(reason_expr().alias("reason"))
    best = best.join(patterns, on=list(cmp.FIELDS), how="left", nulls_equal=True, maintain_order="left")
    out = left.select(pl.col("row").alias("l"), pl.col("id").alias("list_id")).join(best, on="l", how="left")
    out = out.join(
        right.select(pl.col("row").alias("r"), pl.col("id").alias("reference_id")), on="r", how="left"
    )
    return out.select(
        "list_id",
        pl.when(pl.col("decision").is_in(["match", "review"]))
        .then(pl.col("reference_id"))
        .otherwise(None)
        .alias("reference_id"),
        pl.col("probability").fill_null(0.0).round(6),
        pl.col("decision").fill_null("none"),
        pl.col("reason").fill_null("无候选"),
    ).sort("list_id", maintain_order=True)


def _one_to_one(best: pl.DataFrame) -> pl.DataFrame:
    """A reference record is claimed as `match` by its best-scoring list record; others claiming it become
    `review` — unless they carry exactly that record's ID number (the list holds the same person twice)."""
    matches = best.filter(pl.col("decision") == "match").sort("weight", descending=True)
    first = matches.group_by("r", maintain_order=True).agg(pl.col("l").first().alias("winner"))
    losers = (
        matches.join(first, on="r")
        .filter((pl.col("l") != pl.col("winner")) & (pl.col("id") != 6))
        .select("l")
    )
    return best.with_columns(
        pl.when(pl.col("l").is_in(losers["l"].implode()))
        .then(pl.lit("review"))
        .otherwise(pl.col("decision"))
        .alias("decision")
    )


_PHRASES = {
    "id": {
        6: "身份证号一致",
        5: "身份证号一位不同",
        4: "身份证号相邻两位颠倒",
        3: "同地区同日出生、顺序码不同（双胞胎或兄弟姐妹）",
        2: "两个有效身份证号不同",
        1: "身份证号不同",
        0: "身份证号缺失",
    },
    "name": {4: "姓名一致", 3: "姓名同音或形近", 2: "姓名相近", 1: "姓名不同", 0: "姓名缺失"},
    "birth": {
        -1: "",
        4: "出生日期一致",
        3: "出生日期日月颠倒",
        2: "出生日期一处不同",
        1: "出生日期不同",
        0: "出生日期缺失",
    },
    "sex": {-1: "", 2: "", 1: "性别不同", 0: ""},
    "addr": {3: "住址一致", 2: "住址部分相同", 1: "住址不同", 0: ""},
}


def reason_expr() -> pl.Expr:
    parts = [
        pl.col(f).cast(pl.Int64).replace_strict(list(p.keys()), list(p.values()), default="")
        for f, p in _PHRASES.items()
    ]
    return pl.concat_list(parts).list.eval(pl.element().filter(pl.element() != "")).list.join("；")


def evaluate_pairs(result: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """Precision and recall of `match` against known truth (list_id, reference_id)."""
    got = result.filter(pl.col("decision") == "match").select("list_id", "reference_id")
    true = truth.drop_nulls("reference_id").select("list_id", "reference_id")
    tp = len(got.join(true, on=["list_id", "reference_id"]))
    return {
        "precision": tp / max(len(got), 1),
        "recall": tp / max(len(true), 1),
        "matches": len(got),
        "true": len(true),
        "tp": tp,
    }
