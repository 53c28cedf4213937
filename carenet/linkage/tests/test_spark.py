"""`carenet link --engine spark` in Spark local mode decides exactly as the in-process engine (needs Java 17)."""

from __future__ import annotations

import polars as pl
import pytest

from carenet.linkage import synth
from carenet.linkage.engine import link


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    from carenet.linkage.spark import session

    s = session("local[2]")
    yield s
    s.stop()


def test_spark_local_mode_gives_the_in_process_decisions(spark):
    from carenet.linkage.spark import link_spark

    data = synth.generate(n_reference=3000, n_list=3000, seed=21)
    local = link(data.list, data.reference)
    distributed = link_spark(spark, data.list, data.reference, local.model)
    assert distributed.columns == local.result.columns
    assert distributed.height == local.result.height == 3000
    key = ["list_id"]
    ours, theirs = local.result.sort(key), distributed.sort(key)
    assert ours.select("list_id", "reference_id", "decision").equals(
        theirs.select("list_id", "reference_id", "decision")
    )
    assert (ours["probability"] - theirs["probability"]).abs().max() < 1e-6
    assert ours["reason"].equals(theirs["reason"])
    assert ours.filter(pl.col("decision") == "match").height > 1000


def test_the_link_command_runs_on_spark(spark, tmp_path):
    import io as _io
    import json

    from django.core.management import call_command

    data = synth.generate(n_reference=1500, n_list=1500, seed=4)
    data.list.write_parquet(tmp_path / "list.parquet")
    data.reference.write_parquet(tmp_path / "reference.parquet")
    printed = _io.StringIO()
    call_command(
        "link",
        str(tmp_path / "list.parquet"),
        str(tmp_path / "reference.parquet"),
        "--out",
        str(tmp_path / "result.csv"),
        "--engine",
        "spark",
        stdout=printed,
    )
    summary = json.loads(printed.getvalue())
    result = pl.read_csv(tmp_path / "result.csv", infer_schema=False)
    assert result.height == 1500 and summary["match"] > 500
    assert synth.evaluate(result, data.truth)["precision"] >= 0.999
