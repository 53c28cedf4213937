"""`carenet link LIST REFERENCE --out RESULT.csv [--model M.json] [--save-model M.json] [--map field=header]
[--engine local|spark]`, without Django: the console script hands `link` straight here (starting Django and its
system checks cost two seconds a link does not need). The management command of the same name calls `run` too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from carenet.linkage import io
from carenet.linkage.engine import Linked, link
from carenet.linkage.model import Model

SPARK_SAMPLE = 200_000


class UsageError(Exception):
    """Bad arguments or unreadable files: the message says which."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="carenet link",
        description="Link a list to a reference set: for every list record, which reference record it is, if any.",
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("list", help="CSV, XLSX or Parquet")
    p.add_argument("reference", help="CSV, XLSX or Parquet")
    p.add_argument("--out", required=True, help="RESULT.csv (or .parquet / .xlsx)")
    p.add_argument("--model", help="use this saved model instead of learning one")
    p.add_argument("--save-model", help="save the learnt model here (JSON)")
    p.add_argument(
        "--map", action="append", default=[], metavar="FIELD=HEADER", help="read FIELD from column HEADER"
    )
    p.add_argument("--engine", choices=["local", "spark"], default="local")


def run(
    list_path: str,
    reference_path: str,
    *,
    out: str,
    model: str | None = None,
    save_model: str | None = None,
    map: list[str] | None = None,  # noqa: A002 - the option's name
    engine: str = "local",
    **_ignored: Any,
) -> dict[str, Any]:
    """Link, write RESULT, save the model if asked; the summary the command prints."""
    mapping = {}
    for item in map or []:
        field, sep, header = item.partition("=")
        if not sep:
            raise UsageError(f"--map {item}: write FIELD=HEADER, e.g. --map name=儿童姓名")
        mapping[field.strip()] = header.strip()
    started = time.perf_counter()
    try:
        # A mapping names a header of either file: each file takes the ones it has; a header neither has is an error.
        frames = [
            io.read(list_path, mapping=mapping, strict=False),
            io.read(reference_path, mapping=mapping, strict=False),
        ]
        _check_mapping(mapping, list_path, reference_path)
        loaded = Model.load(model) if model else None
    except (io.ListError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    sizes = (len(frames[0]), len(frames[1]))
    if engine == "spark":
        linked = _link_spark(frames, loaded)
    else:
        # Handed over, not kept: link() lets each raw frame go once it is prepared (a third less memory).
        linked = link(frames.pop(0), frames.pop(0), model=loaded)
    io.write(linked.result, out)
    if save_model:
        linked.model.save(save_model)
    counts = linked.result.group_by("decision").len()
    summary = {row["decision"]: row["len"] for row in counts.iter_rows(named=True)}
    return {
        "list": sizes[0],
        "reference": sizes[1],
        "candidates": linked.candidates,
        "match": summary.get("match", 0),
        "review": summary.get("review", 0),
        "none": summary.get("none", 0),
        "seconds": round(time.perf_counter() - started, 2),
        "timings": {k: round(v, 2) for k, v in linked.timings.items()},
    }


def _check_mapping(mapping: dict[str, str], *paths: str) -> None:
    headers: set[str] = set()
    for path in paths:
        headers |= set(io.headers(path))
    for field, header in mapping.items():
        if field not in io.CANONICAL:
            raise UsageError(f"--map {field}=…: unknown field; use one of {', '.join(io.CANONICAL)}")
        if header not in headers:
            raise UsageError(f"--map {field}={header}: no column {header!r} in either file")


def _link_spark(frames: list, model: Model | None) -> Linked:  # type: ignore[type-arg]
    """The same kernels on Spark (local mode here; under spark-submit, the cluster's session). Without a saved
    model, one is learnt in process on up to SPARK_SAMPLE records of each side (EM needs patterns, not all
    pairs)."""
    try:
        from carenet.linkage.spark import link_spark, session
    except ImportError as exc:
        raise UsageError("--engine spark needs PySpark: pip install 'carenet[spark]' (and Java 17)") from exc
    left, right = frames
    if model is None:
        model = link(left.head(SPARK_SAMPLE), right.head(SPARK_SAMPLE)).model
    result = link_spark(session(), left, right, model)
    return Linked(result=result, model=model, candidates=-1, timings={})


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        summary = run(
            args.list,
            args.reference,
            **{k: v for k, v in vars(args).items() if k not in ("list", "reference")},
        )
    except UsageError as exc:
        print(f"carenet link: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False))
    return 0
