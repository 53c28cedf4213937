"""`carenet link --engine spark`: the same kernels, distributed with Apache Spark for national-scale jobs.

Spark moves the data; the work on each partition is done by the very functions the in-process engine uses:
normalise.prepare and compare.with_keys on the records, the BLOCKS key expressions, compare.compare_joined on
the joined pairs and engine.score on their levels (through mapInArrow, as polars frames). Spark does what needs
the whole data set: the blocking joins (with the same MAX_BLOCK limit and the same identity rule), joining each
pair with both records, and keeping each list record's two best candidates. The driver then runs
engine.decide — the same one-to-one decisions — on those, and writes the same RESULT.

PySpark is an optional extra (`pip install carenet[spark]`, Java 17). The model is learnt in process (EM on
comparison patterns is small) or loaded; pass it in.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pyarrow as pa

from carenet.linkage import compare as cmp
from carenet.linkage.engine import decide, score
from carenet.linkage.model import Model
from carenet.linkage.normalise import prepare

PREPARED = [c for c in cmp.PAIR_COLUMNS if c != "row"]


def session(master: str = "local[2]"):  # type: ignore[no-untyped-def]
    """A local Spark session tuned for small test jobs (a cluster's comes from spark-submit instead)."""
    import os
    import sys

    from pyspark.sql import SparkSession

    # The workers must run this very interpreter (its minor version and its packages: polars, the kernels).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    return (
        SparkSession.builder.master(master)
        .appName("carenet-link")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def _prepared_schema() -> pa.Schema:
    probe = pl.DataFrame({c: ["x"] for c in ("id", "name", "sex", "birth_date", "id_number", "address")})
    frame = _prepare_batch(probe.with_columns(pl.lit(0, dtype=pl.Int64).alias("grow")))
    return _arrow(frame).schema


def _prepare_batch(raw: pl.DataFrame) -> pl.DataFrame:
    """normalise.prepare + compare.with_keys on one partition; `row` becomes the global row number, and the
    identity key and the 64-bit hashes are reinterpreted as signed (Spark has no unsigned integers)."""
    keyed = cmp.with_keys(prepare(raw.drop("grow")))
    return keyed.with_columns(
        raw["grow"].alias("row"),
        pl.Series("ikey", cmp.identity_keys(keyed)).reinterpret(signed=True),
        pl.col("addr_h").list.eval(pl.element().reinterpret(signed=True)),
        pl.col("addr_key").reinterpret(signed=True),
    )


def _keys_batch(prepared: pl.DataFrame) -> pl.DataFrame:
    """Every blocking key of each record: (block, k, row)."""
    parts = [
        prepared.select(pl.lit(name).alias("block"), key.alias("k"), pl.col("row"))
        .drop_nulls("k")
        .with_columns(pl.col("k").hash().reinterpret(signed=True))
        for name, key in cmp.BLOCKS
    ]
    return pl.concat(parts)


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """Plain (not "large") strings and lists: the Arrow types Spark maps to its own."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(pa.schema([pa.field(f.name, _plain(f.type)) for f in table.schema]))


def _plain(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        return pa.list_(_plain(kind.value_type))
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    return kind


def _spark_schema(schema: pa.Schema):  # type: ignore[no-untyped-def]
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _arrow_map(fn):  # type: ignore[no-untyped-def]
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out = fn(pl.from_arrow(batch))
            if out.height:
                yield from _arrow(out).to_batches()

    return run


def link_spark(spark, list_df: pl.DataFrame, reference_df: pl.DataFrame, model: Model) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """The RESULT frame (list_id, reference_id, probability, decision, reason), as engine.link gives it."""
    from pyspark.sql import functions as F  # noqa: N812

    prepared_schema = _prepared_schema()
    left = _prepared(spark, list_df, prepared_schema).cache()
    right = _prepared(spark, reference_df, prepared_schema).cache()
    key_schema = pa.schema([("block", pa.string()), ("k", pa.int64()), ("row", pa.int64())])
    lk = left.mapInArrow(_arrow_map(_keys_batch), _spark_schema(key_schema))
    rk = right.mapInArrow(_arrow_map(_keys_batch), _spark_schema(key_schema))
    small = rk.groupBy("block", "k").count().filter(F.col("count") <= cmp.MAX_BLOCK).drop("count")
    rk = rk.join(small, ["block", "k"], "left_semi")
    pairs = (
        lk.withColumnRenamed("row", "l")
        .join(rk.withColumnRenamed("row", "r"), ["block", "k"])
        .select("l", "r")
        .distinct()
    )
    # The identity rule, as in compare.candidates: two valid, different ID numbers are two people.
    ids_l = left.select(F.col("row").alias("l"), F.col("ikey").alias("a"))
    ids_r = right.select(F.col("row").alias("r"), F.col("ikey").alias("b"))
    pairs = (
        pairs.join(ids_l, "l")
        .join(ids_r, "r")
        .filter(~((F.col("a") != 0) & (F.col("b") != 0) & (F.col("a") != F.col("b"))))
        .select("l", "r")
    )
    cols = list(cmp.PAIR_COLUMNS)
    joined = pairs.join(
        left.select([F.col(c).alias(f"{c}_l") for c in cols]), F.col("l") == F.col("row_l")
    ).join(right.select([F.col(c).alias(f"{c}_r") for c in cols]), F.col("r") == F.col("row_r"))
    tf = _name_tf(right)
    scored_schema = _scored_schema(model, tf)

    def compare_and_score(df: pl.DataFrame) -> pl.DataFrame:
        levels = cmp.compare_joined(df)
        return score(levels, model, tf).select(list(scored_schema.names))

    scored = joined.mapInArrow(_arrow_map(compare_and_score), _spark_schema(scored_schema))
    from pyspark.sql.window import Window

    best_two = (
        scored.withColumn(
            "rank", F.row_number().over(Window.partitionBy("l").orderBy(F.col("weight").desc(), F.col("r")))
        )
        .filter(F.col("rank") <= 2)
        .drop("rank")
    )
    scored_local = pl.from_arrow(best_two.toArrow())
    left_ids = pl.from_arrow(left.select("row", "id").toArrow())
    right_ids = pl.from_arrow(right.select("row", "id").toArrow())
    result = decide(scored_local, left_ids, right_ids, model)
    left.unpersist()
    right.unpersist()
    return result


def _prepared(spark, frame: pl.DataFrame, schema: pa.Schema):  # type: ignore[no-untyped-def]
    raw = frame.with_row_index("grow").with_columns(pl.col("grow").cast(pl.Int64))
    return spark.createDataFrame(_arrow(raw)).mapInArrow(_arrow_map(_prepare_batch), _spark_schema(schema))


def _name_tf(right) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """engine.name_tf, computed by Spark and brought to every partition (one row per distinct name)."""
    from pyspark.sql import functions as F  # noqa: N812

    n = max(right.count(), 1)
    counts = right.groupBy("name_raw").count()
    return pl.from_arrow(
        counts.select(
            F.col("name_raw").alias("name_raw_r"), (F.col("count") / F.lit(n)).alias("tf")
        ).toArrow()
    )


def _scored_schema(model: Model, tf: pl.DataFrame) -> pa.Schema:
    probe = pl.DataFrame(
        {
            "l": [0],
            "r": [0],
            "name_raw_l": ["x"],
            "name_raw_r": ["x"],
            **{f: pl.Series([1], dtype=pl.Int8) for f in cmp.FIELDS},
        }
    ).with_columns(pl.col("l").cast(pl.Int64), pl.col("r").cast(pl.Int64))
    return _arrow(score(probe, model, tf.head(0))).schema
