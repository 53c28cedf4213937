"""`carenet link LIST REFERENCE --out RESULT.csv [--model M.json] [--save-model M.json] [--map field=header]`"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carenet.linkage import io
from carenet.linkage.engine import link
from carenet.linkage.model import Model


class Command(BaseCommand):
    help = "Link a list to a reference set: for every list record, which reference record it is, if any."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("list", help="CSV, XLSX or Parquet")
        parser.add_argument("reference", help="CSV, XLSX or Parquet")
        parser.add_argument("--out", required=True, help="RESULT.csv (or .parquet / .xlsx)")
        parser.add_argument("--model", help="use this saved model instead of learning one")
        parser.add_argument("--save-model", help="save the learnt model here (JSON)")
        parser.add_argument(
            "--map", action="append", default=[], metavar="FIELD=HEADER", help="read FIELD from column HEADER"
        )
        parser.add_argument("--engine", choices=["local", "spark"], default="local")

    def handle(self, *args: Any, **options: Any) -> None:
        mapping = {}
        for item in options["map"]:
            field, sep, header = item.partition("=")
            if not sep:
                raise CommandError(f"--map {item}: write FIELD=HEADER, e.g. --map name=儿童姓名")
            mapping[field.strip()] = header.strip()
        started = time.perf_counter()
        try:
            # A mapping names a header of either file: each file takes the ones it has; a header neither has is
            # an error.
            frames = [
                io.read(options["list"], mapping=mapping, strict=False),
                io.read(options["reference"], mapping=mapping, strict=False),
            ]
            _check_mapping(mapping, options["list"], options["reference"])
            model = Model.load(options["model"]) if options["model"] else None
        except (io.ListError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        sizes = (len(frames[0]), len(frames[1]))
        if options["engine"] == "spark":
            linked = _link_spark(frames, model)
        else:
            # Handed over, not kept: link() lets each raw frame go once it is prepared (a third less memory).
            linked = link(frames.pop(0), frames.pop(0), model=model)
        io.write(linked.result, options["out"])
        if options["save_model"]:
            linked.model.save(options["save_model"])
        counts = linked.result.group_by("decision").len()
        summary = {row["decision"]: row["len"] for row in counts.iter_rows(named=True)}
        self.stdout.write(
            json.dumps(
                {
                    "list": sizes[0],
                    "reference": sizes[1],
                    "candidates": linked.candidates,
                    "match": summary.get("match", 0),
                    "review": summary.get("review", 0),
                    "none": summary.get("none", 0),
                    "seconds": round(time.perf_counter() - started, 2),
                    "timings": {k: round(v, 2) for k, v in linked.timings.items()},
                },
                ensure_ascii=False,
            )
        )


def _check_mapping(mapping: dict[str, str], *paths: str) -> None:
    headers: set[str] = set()
    for path in paths:
        headers |= set(io.headers(path))
    for field, header in mapping.items():
        if field not in io.CANONICAL:
            raise CommandError(f"--map {field}=…: unknown field; use one of {', '.join(io.CANONICAL)}")
        if header not in headers:
            raise CommandError(f"--map {field}={header}: no column {header!r} in either file")


SPARK_SAMPLE = 200_000


def _link_spark(frames: list, model: Model | None):  # type: ignore[no-untyped-def, type-arg]
    """The same kernels on Spark (local mode here; under spark-submit, the cluster's session). Without a saved
    model, one is learnt in process on up to SPARK_SAMPLE records of each side (EM needs patterns, not all
    pairs)."""
    try:
        from carenet.linkage.spark import link_spark, session
    except ImportError as exc:
        raise CommandError(
            "--engine spark needs PySpark: pip install 'carenet[spark]' (and Java 17)"
        ) from exc
    from carenet.linkage.engine import Linked

    left, right = frames
    if model is None:
        model = link(left.head(SPARK_SAMPLE), right.head(SPARK_SAMPLE)).model
    spark = session()
    result = link_spark(spark, left, right, model)
    return Linked(result=result, model=model, candidates=-1, timings={})
