"""Splink 5 (DuckDB) on the synthetic linkage benchmark, set up as a careful Chinese-aware analyst would.

    .venv/bin/python bench/linkage_splink.py --dir var/linkage-bench/100k --generate 100000
    .venv/bin/python bench/linkage_splink.py --dir var/linkage-bench/100k --save-model var/splink-100k.json
    .venv/bin/python bench/linkage_splink.py --dir var/linkage-bench/100k --model var/splink-100k.json
    .venv/bin/python bench/linkage_splink.py LIST REFERENCE --out RESULT.csv [--model M.json] [--save-model M.json]

Reads LIST and REFERENCE (CSV or Parquet; `--dir` holds list.*, reference.* and truth.parquet as
carenet.linkage.synth.write leaves them, `--generate N` writes an N x N set there first, untimed),
normalises them with polars (toneless pinyin of every distinct name via pypinyin, ID numbers
NFKC/upper-cased with 15-digit numbers converted, dates of any common form parsed), links them with
Splink and writes RESULT.csv (list_id, reference_id, probability, decision: the best reference record
per list record, `match` from --match, `review` from --review). Without --model the model is trained
in the run (u by random sampling, m by EM on two blocking rules); with --model a saved model is loaded
and only prediction runs. Wall time is files in to RESULT out; peak memory is the process's maximum
resident set (getrusage), DuckDB included. The last stdout line is one JSON object with the figures,
and precision/recall against truth.parquet when there is one.

Splink is a bench-only dependency: `pip install -r requirements-bench.lock`.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carenet.linkage import synth  # noqa: E402

_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_ID_CHECK = "10X98765432"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("list", type=Path, nargs="?", help="the list file (default: DIR/list.*)")
    parser.add_argument(
        "reference", type=Path, nargs="?", help="the reference file (default: DIR/reference.*)"
    )
    parser.add_argument("--dir", type=Path, help="folder with list.*, reference.* (and truth.parquet)")
    parser.add_argument(
        "--truth", type=Path, help="truth to score against (default: truth.parquet beside LIST)"
    )
    parser.add_argument(
        "--generate", type=int, metavar="N", help="first write an N x N synthetic set to --dir"
    )
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="for --generate")
    parser.add_argument("--seed", type=int, default=1, help="for --generate")
    parser.add_argument("--out", type=Path, help="RESULT.csv (default: DIR/splink_result.csv)")
    parser.add_argument("--model", type=Path, help="load this saved Splink model and only predict")
    parser.add_argument("--save-model", type=Path, help="save the trained model here")
    parser.add_argument("--match", type=float, default=0.99, help="match probability threshold")
    parser.add_argument("--review", type=float, default=0.5, help="review probability threshold")
    parser.add_argument("--u-pairs", type=float, default=1e7, help="max pairs for u by random sampling")
    parser.add_argument("--verbose", action="store_true", help="show Splink's own log")
    args = parser.parse_args()
    if args.dir is None and (args.list is None or args.reference is None):
        parser.error("give LIST and REFERENCE, or --dir")
    return args


def _find(directory: Path | None, name: str) -> Path:
    assert directory is not None
    for suffix in (".parquet", ".csv"):
        if (directory / f"{name}{suffix}").exists():
            return directory / f"{name}{suffix}"
    raise SystemExit(f"no {name}.parquet or {name}.csv in {directory}")


def read(path: Path) -> pl.DataFrame:
    columns = ["id", "name", "sex", "birth_date", "id_number", "address"]
    if path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False)
    else:
        frame = pl.read_parquet(path)
    return frame.select(
        pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns
    )


# --- Normalising, as a careful analyst would before handing the data to Splink --------------------


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).str.normalize("NFKC").str.replace_all(r"\s+", "")
    return pl.when(text == "").then(None).otherwise(text)


def _dates(column: str) -> pl.Expr:
    """2012-03-04, 2012/3/4, 2012.3.4, 20120304 and 2012年3月4日 as a date."""
    text = _clean(column).str.replace_all(r"[年月/.]", "-").str.strip_chars_end("日")
    text = (
        pl.when(text.str.contains(r"^\d{8}$"))
        .then(
            pl.concat_str(
                text.str.slice(0, 4), pl.lit("-"), text.str.slice(4, 2), pl.lit("-"), text.str.slice(6, 2)
            )
        )
        .otherwise(text)
    )
    return text.str.to_date("%Y-%m-%d", strict=False)


def _check_digit(body: pl.Expr) -> pl.Expr:
    total = pl.sum_horizontal(
        body.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(_ID_WEIGHTS)
    )
    return (total % 11).replace_strict(list(range(11)), list(_ID_CHECK), return_dtype=pl.String)


def _id_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """`id_number` upper-cased, 18 characters; 15-digit legacy numbers converted (century from the
    birth date when there is one, else 19 as the old cards were), anything else null. In steps, so
    that polars computes each part once."""
    text = pl.col("id_number")
    frame = frame.with_columns(text.str.replace_all("-", "").str.to_uppercase())
    century = pl.coalesce(pl.col("dob_date").dt.year().cast(pl.String).str.slice(0, 2), pl.lit("19"))
    frame = frame.with_columns(body=pl.concat_str(text.str.slice(0, 6), century, text.str.slice(6, 9)))
    return frame.with_columns(
        pl.when(text.str.contains(r"^\d{15}$"))
        .then(pl.concat_str("body", _check_digit(pl.col("body"))))
        .when(text.str.contains(r"^\d{17}[\dX]$"))
        .then(text)
        .otherwise(None)
        .alias("id_number")
    ).drop("body")


def pinyin_of(names: pl.Series) -> pl.DataFrame:
    """(text, pinyin): toneless pinyin of every distinct name and every distinct first character."""
    from pypinyin import Style, lazy_pinyin

    distinct = pl.concat([names.drop_nulls().unique(), names.drop_nulls().str.slice(0, 1).unique()]).unique()
    readings = ["".join(lazy_pinyin(n, style=Style.NORMAL)).replace("·", "") for n in distinct]
    return pl.DataFrame({"text": distinct, "pinyin": readings})


def prepare(frame: pl.DataFrame, pinyin: pl.DataFrame) -> pl.DataFrame:
    frame = frame.select(
        pl.col("id"),
        name=_clean("name"),
        dob_date=_dates("birth_date"),
        id_number=_clean("id_number"),
        address=_clean("address").str.strip_prefix("天津市"),
    )
    return (
        _id_numbers(frame)
        .with_columns(
            first=pl.col("name").str.slice(0, 1),
            dob=pl.col("dob_date").dt.to_string("%Y-%m-%d"),
            region=pl.col("id_number").str.slice(0, 6),
        )
        .join(pinyin.rename({"text": "name", "pinyin": "name_pinyin"}), on="name", how="left")
        # The surname's reading: 張/张/章 agree; a minority name's first syllable.
        .join(pinyin.rename({"text": "first", "pinyin": "surname"}), on="first", how="left")
        .drop("dob_date", "first")
    )


# --- The Splink model -----------------------------------------------------------------------------


def settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_pinyin").configure(label_for_charts="same toneless pinyin"),
            cll.JaroWinklerLevel("name_pinyin", 0.92),
            cll.JaroWinklerLevel("name_pinyin", 0.8),
            cll.ElseLevel(),
        ],
    )
    swapped = (
        "(substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2)"
        " AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)) OR levenshtein(dob_l, dob_r) <= 1"
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(swapped, label_for_charts="day/month swapped or one digit apart"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="id",
        comparisons=[
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            name,
            dob,
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
        ],
        # Surname + birth year + region was tried too: 1.1 million pairs at 100,000 x 100,000 and
        # about 115 million at a million, which a careful analyst would not keep; surname + birth
        # date covers the same damaged-name-and-ID case at a tenth of the pairs.
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("name_pinyin", "dob"),
            block_on("dob", "region"),
            block_on("surname", "dob"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def train(linker: Any, u_pairs: float) -> None:
    from splink import block_on

    # Same ID, or same name and birth date: few false positives, most of the matches.
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number"), block_on("name", "dob")], recall=0.95
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_pinyin", "dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_number"))


def best_per_list_record(
    predictions: pl.DataFrame, list_ids: pl.Series, *, match: float, review: float
) -> pl.DataFrame:
    left_is_list = pl.col("source_dataset_l") == "list"
    pairs = predictions.select(
        list_id=pl.when(left_is_list).then("id_l").otherwise("id_r"),
        reference_id=pl.when(left_is_list).then("id_r").otherwise("id_l"),
        probability="match_probability",
    )
    best = pairs.sort("probability", descending=True).unique("list_id", keep="first")
    return (
        pl.DataFrame({"list_id": list_ids})
        .join(best, on="list_id", how="left")
        .with_columns(
            reference_id=pl.col("reference_id").fill_null(""),
            probability=pl.col("probability").fill_null(0.0).round(6),
            decision=pl.when(pl.col("probability") >= match)
            .then(pl.lit("match"))
            .when(pl.col("probability") >= review)
            .then(pl.lit("review"))
            .otherwise(pl.lit("none")),
        )
        .with_columns(
            reference_id=pl.when(pl.col("decision") == "none").then(pl.lit("")).otherwise("reference_id")
        )
    )


def run(
    list_path: Path,
    reference_path: Path,
    out: Path,
    *,
    model: Path | None = None,
    save_model: Path | None = None,
    match: float = 0.99,
    review: float = 0.5,
    u_pairs: float = 1e7,
) -> dict[str, Any]:
    """Files in, RESULT out; returns the stage timings (seconds) and counts."""
    from splink import DuckDBAPI, Linker

    stages: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages[stage] = round(now - clock, 2)
        clock = now

    raw_list, raw_reference = read(list_path), read(reference_path)
    lap("read")
    pinyin = pinyin_of(
        pl.concat([raw_list["name"], raw_reference["name"]]).str.normalize("NFKC").str.replace_all(r"\s+", "")
    )
    lap("pinyin")
    prepared_list, prepared_reference = prepare(raw_list, pinyin), prepare(raw_reference, pinyin)
    lap("normalise")

    db_api = DuckDBAPI()
    tables = [
        db_api.register(prepared_list.to_arrow(), dataset_display_name="list", table_name="list"),
        db_api.register(
            prepared_reference.to_arrow(), dataset_display_name="reference", table_name="reference"
        ),
    ]
    # log_level=None: Splink leaves the "splink" logger as main() set it (quiet unless --verbose).
    linker = Linker(tables, str(model) if model else settings(), log_level=None)
    if model is None:
        train(linker, u_pairs)
        lap("train")
        if save_model:
            linker.misc.save_model_to_json(str(save_model), overwrite=True)
    predictions = linker.inference.predict(threshold_match_probability=review, warning_mode="never")
    pairs = pl.from_arrow(predictions.as_duckdbpyrelation().arrow())
    assert isinstance(pairs, pl.DataFrame)
    lap("predict")
    result = best_per_list_record(pairs, prepared_list["id"], match=match, review=review)
    result.write_csv(out)
    lap("decide_write")
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "stages_s": stages,
        "pairs_scored_above_review": pairs.height,
        "result": result,
    }


def main() -> None:
    args = parse_args()
    logging.basicConfig(format="%(message)s", stream=sys.stderr)
    logging.getLogger("splink").setLevel(logging.INFO if args.verbose else logging.WARNING)
    if args.generate:
        started = time.perf_counter()
        data = synth.generate(n_reference=args.generate, n_list=args.generate, seed=args.seed)
        synth.write(data, args.dir, fmt=args.format)
        print(
            f"generated {args.generate:,} x {args.generate:,} in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    list_path = args.list or _find(args.dir, "list")
    reference_path = args.reference or _find(args.dir, "reference")
    out = args.out or (args.dir or list_path.parent) / "splink_result.csv"
    truth_path = args.truth or list_path.parent / "truth.parquet"

    figures = run(
        list_path,
        reference_path,
        out,
        model=args.model,
        save_model=args.save_model,
        match=args.match,
        review=args.review,
        u_pairs=args.u_pairs,
    )
    result = figures.pop("result")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    line: dict[str, Any] = {
        "engine": "splink",
        "splink": __import__("splink").__version__,
        "mode": "saved model" if args.model else "trained in run",
        "list": result.height,
        "reference": pl.scan_parquet(reference_path).select(pl.len()).collect().item()
        if reference_path.suffix == ".parquet"
        else None,
        "seconds": figures.pop("wall_s"),
        "peak_mib": round(peak_mib),
        **figures,
        "decisions": dict(result["decision"].value_counts().iter_rows()),
        "out": str(out),
    }
    if truth_path and truth_path.exists():
        line["scores"] = synth.evaluate(result, pl.read_parquet(truth_path))
    print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
