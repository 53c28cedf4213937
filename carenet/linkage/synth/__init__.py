"""Synthetic registry and department list with known truth, for the linkage benchmark and tests.

`generate` builds a reference set (registry children, with twins, siblings and namesakes among them)
and a list of which `linked_share` are copies of reference people, each damaged in one recorded way
(`CLASSES`) - and `second_share` of them in a second way, of another field - and the rest decoys (same
name and birth date, another person), twins of a reference person (same region and birth date, other
sequence digits) and new people. On top of that, a share of all list records gets light format noise
(full-width digits, 2012年3月4日, 張偉 ...) that the normalisers must absorb; it is not recorded.
`evaluate` scores a RESULT against the truth.

Everything is vectorised with numpy/polars except the string surgery on the damaged names: a
million-by-a-million set takes well under a minute. Standalone: no Django, so it runs anywhere the
linkage engine does. The name and place tables are condensed from carenet.demo (names.py, places.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from carenet.linkage.synth.damage import (
    assign_classes,
    assign_second,
    date_typo,
    format_noise,
    homophone_of,
    mistype_id,
    scatter,
    transpose_id,
    typo_of,
)
from carenet.linkage.synth.people import (
    People,
    ascii_strings,
    draw_addresses,
    draw_people,
    id_matrix,
    kin_of,
    make_ids_unique,
    namesakes_of,
    record_frame,
    render_addresses,
    render_dates,
    render_names,
    ymd,
)
from carenet.linkage.synth.tables import (
    CHARS,
    CLASSES,
    DISTRICTS,
    FIELD_OF,
    HOMOPHONE_GROUPS,
    HOMOPHONES,
    SHAPE_SIMILAR,
    SURNAMES,
    TRADITIONAL,
    UNLINKED,
    UYGHUR,
)

__all__ = [
    "CHARS",
    "CLASSES",
    "FIELD_OF",
    "HOMOPHONE_GROUPS",
    "HOMOPHONES",
    "SHAPE_SIMILAR",
    "SURNAMES",
    "TRADITIONAL",
    "UNLINKED",
    "UYGHUR",
    "Synth",
    "evaluate",
    "generate",
    "write",
]


# --- The generator ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synth:
    """reference and list: string columns id, name, sex, birth_date, id_number, address ("" when
    missing). truth: list_id, reference_id (null: not in the reference), cls (a CLASSES damage, or
    decoy / twin / new), related_id (the reference person a decoy or twin resembles) and, only when
    generated with a second_share, cls2 (the second damage, of another field than cls; null: none).
    kin: pairs inside the reference (reference_id, kin_id, kind: twin / sibling / namesake)."""

    reference: pl.DataFrame
    list: pl.DataFrame
    truth: pl.DataFrame
    kin: pl.DataFrame


def _reference(rng: np.random.Generator, n: int) -> tuple[People, pl.DataFrame]:
    """Registry people in random order, 1.5% twins, 3% siblings, 0.5% namesakes of someone else in it."""
    n_twin, n_sibling, n_namesake = round(0.015 * n), round(0.03 * n), round(0.005 * n)
    n_base = n - n_twin - n_sibling - n_namesake
    base = draw_people(rng, n_base)
    sources = [rng.choice(n_base, k, replace=False) for k in (n_twin, n_sibling)] + [
        rng.integers(0, n_base, n_namesake)
    ]
    everyone = People.concat(
        [
            base,
            kin_of(rng, base.take(sources[0]), twin=True),
            kin_of(rng, base.take(sources[1]), twin=False),
            namesakes_of(rng, base.take(sources[2])),
        ]
    )
    make_ids_unique(rng, everyone, np.zeros(n, dtype=bool))
    order = rng.permutation(n)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    kin = pl.DataFrame(
        {
            "reference": position[np.arange(n_base, n)],
            "kin": position[np.concatenate(sources)],
            "kind": np.repeat(["twin", "sibling", "namesake"], [n_twin, n_sibling, n_namesake]),
        }
    )
    return everyone.take(order), kin


def _ids(prefix: str, n: int) -> pl.Series:
    numbers = pl.int_range(1, n + 1, dtype=pl.Int64).cast(pl.String).str.zfill(7)
    return pl.select(pl.concat_str(pl.lit(prefix), numbers).alias("id")).to_series()


def generate(
    *,
    n_reference: int,
    n_list: int,
    linked_share: float = 0.5,
    seed: int = 1,
    decoy_share: float = 0.05,
    twin_share: float = 0.05,
    noise_share: float = 0.2,
    second_share: float = 0.0,
) -> Synth:
    """A registry of `n_reference` people and a list of `n_list` records with known truth.

    `linked_share` of the list are damaged copies of reference people (one class of CLASSES each, in
    equal shares); `decoy_share` and `twin_share` of the list are namesakes and twins of reference
    people who are not in it; the rest are new people. `second_share` of the copies get a second damage,
    of another field (truth column cls2); it draws from its own stream, so the first damages are those
    of the same seed without it. `noise_share` of all list records also get unrecorded format noise.
    Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    reference, kin = _reference(rng, n_reference)
    n_linked, n_decoy, n_twin = (round(n_list * share) for share in (linked_share, decoy_share, twin_share))
    n_new = n_list - n_linked - n_decoy - n_twin
    if n_linked > n_reference or n_new < 0:
        raise ValueError("the list cannot hold that many linked, decoy and twin records")
    reference_names = render_names(reference)
    surname_len = np.array([len(s) for s in SURNAMES])

    sources = rng.choice(n_reference, n_linked, replace=False)
    _y, m, d = ymd(reference.birth[sources])
    homophonable = reference_names.gather(sources).str.contains("[" + "".join(HOMOPHONES) + "]").to_numpy()
    swappable = (d <= 12) & (d != m)
    code = assign_classes(rng, sources, swappable, homophonable)
    # The second damage draws from its own stream: without it, the data is what it always was.
    second_rng = np.random.default_rng([seed, 2])
    code2 = (
        assign_second(second_rng, code, second_share, swappable, homophonable)
        if second_share > 0
        else np.full(n_linked, -1)
    )
    related = [rng.integers(0, n_reference, k) for k in (n_decoy, n_twin)]
    people = People.concat(
        [
            reference.take(sources),
            namesakes_of(rng, reference.take(related[0])),
            kin_of(rng, reference.take(related[1]), twin=True),
            draw_people(rng, n_new),
        ]
    )
    everyone = People.concat([reference, people])
    make_ids_unique(rng, everyone, np.arange(len(everyone)) < n_reference + n_linked)
    people.seq = everyone.seq[n_reference:]

    cls = np.concatenate(
        [np.array(CLASSES)[code], np.repeat(["decoy", "twin", "new"], [n_decoy, n_twin, n_new])]
    )
    cls2 = np.concatenate(
        [np.where(code2 >= 0, np.array(CLASSES)[code2], ""), np.full(n_list - n_linked, "")]
    )
    list_surname_len = np.where(people.minority, 0, surname_len[people.sur])
    damages = [(rng, cls)] + ([(second_rng, cls2)] if second_share > 0 else [])
    frame = _damaged_list(damages, people, list_surname_len)
    # Noise draws from its own stream, so a list with and without it differs in nothing else.
    frame = format_noise(np.random.default_rng([seed, 1]), frame, list_surname_len, noise_share)
    order = rng.permutation(n_list)
    reference_ids = _ids("R", n_reference)
    none = np.full(n_new, -1)
    source = np.concatenate([sources, np.full(n_decoy + n_twin, -1), none])
    near = np.concatenate([np.full(n_linked, -1), related[0], related[1], none])[order]
    truth = pl.DataFrame(
        {
            "list_id": _ids("L", n_list),
            "reference_id": reference_ids.gather(np.maximum(source[order], 0)),
            "cls": cls[order],
            "related_id": reference_ids.gather(np.maximum(near, 0)),
        }
    ).with_columns(
        reference_id=pl.when(pl.Series(source[order] >= 0)).then("reference_id"),
        related_id=pl.when(pl.Series(near >= 0)).then("related_id"),
    )
    if second_share > 0:
        truth = truth.with_columns(cls2=pl.Series(cls2[order]).replace("", None))
    return Synth(
        reference=record_frame(
            reference_ids,
            reference,
            reference_names,
            render_dates(*ymd(reference.birth)),
            ascii_strings(id_matrix(reference.body())),
            render_addresses(reference),
        ),
        list=frame[order].with_columns(id=truth["list_id"]),
        truth=truth,
        kin=kin.select(
            reference_id=reference_ids.gather(kin["reference"]),
            kin_id=reference_ids.gather(kin["kin"]),
            kind="kind",
        ),
    )


def _damaged_list(
    damages: list[tuple[np.random.Generator, np.ndarray]], people: People, surname_len: np.ndarray
) -> pl.DataFrame:
    """Render the list with each record's recorded damage: one (generator, class per record) pair per
    round of damage - the first classes, then the second ones. Each round draws only from its own
    generator, so adding a second round leaves the first one's draws as they were."""
    rounds = [
        (rng, random.Random(int(rng.integers(2**63))), {c: np.flatnonzero(cls == c) for c in CLASSES})
        for rng, cls in damages
    ]
    start = np.zeros(len(people), dtype=np.int8)
    for rng, _r, rows in rounds:
        moved = draw_addresses(rng, rng.integers(0, len(DISTRICTS), len(rows["address_moved"])))
        for name, values in moved.items():
            getattr(people, name)[rows["address_moved"]] = values
        start[rows["address_short"]] = rng.integers(2, 4, len(rows["address_short"]))  # keep 3 or 2 parts

    y, m, d = ymd(people.birth)
    for rng, _r, rows in rounds:
        swap = rows["date_swap"]
        m[swap], d[swap] = d[swap], m[swap].copy()
        typo = rows["date_typo"]
        y[typo], m[typo], d[typo] = date_typo(rng, y[typo], m[typo], d[typo])

    matrix = id_matrix(people.body())
    for rng, _r, rows in rounds:
        for name, damage in (("id_typo", mistype_id), ("id_transposition", transpose_id)):
            part = matrix[rows[name]]
            damage(rng, part)
            matrix[rows[name]] = part
    numbers = ascii_strings(matrix)
    for _rng, _r, rows in rounds:
        numbers = scatter(numbers, rows["id_15"], ascii_strings(matrix[rows["id_15"]][:, np.r_[0:6, 8:17]]))
        numbers = scatter(numbers, rows["id_missing"], "")

    names = render_names(people)
    for _rng, r, rows in rounds:
        for name, damage in (("name_homophone", homophone_of), ("name_typo", typo_of)):
            index = rows[name]
            changed = [
                damage(text, int(n), r)
                for text, n in zip(names.gather(index).to_list(), surname_len[index], strict=True)
            ]
            names = scatter(names, index, pl.Series(changed, dtype=pl.String))

    dates = render_dates(y, m, d)
    for _rng, _r, rows in rounds:
        dates = scatter(dates, rows["date_missing"], "")
    return record_frame(
        pl.select(pl.repeat("", len(people), dtype=pl.String)).to_series(),
        people,
        names,
        dates,
        numbers,
        render_addresses(people, start),
    )


def write(synth: Synth, directory: str | Path, fmt: Literal["parquet", "csv"] = "parquet") -> dict[str, Path]:
    """reference.<fmt>, list.<fmt>, truth.parquet and kin.parquet in `directory`; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"reference": directory / f"reference.{fmt}", "list": directory / f"list.{fmt}"}
    for name in ("reference", "list"):
        frame: pl.DataFrame = getattr(synth, name)
        if fmt == "csv":
            frame.write_csv(paths[name])
        else:
            frame.write_parquet(paths[name])
    for name in ("truth", "kin"):
        paths[name] = directory / f"{name}.parquet"
        getattr(synth, name).write_parquet(paths[name])
    return paths


# --- Scoring a result -----------------------------------------------------------------------------


def evaluate(result: pl.DataFrame, truth: pl.DataFrame) -> dict[str, Any]:
    """Precision and recall of `match` decisions against the truth, recall per damage class (and per
    second damage class, recall_by_second, when the truth has cls2), and the false matches among decoys
    and twins (twins_merged: twins matched to anyone; to_sibling: to the very reference person they are
    the twin of)."""
    got = result.select(
        pl.col("list_id").cast(pl.String),
        pl.col("reference_id").cast(pl.String).replace("", None).alias("found"),
        pl.col("decision").cast(pl.String),
    )
    joined = truth.join(got, on="list_id", how="left").with_columns(
        match=pl.col("decision") == "match",
        review=pl.col("decision") == "review",
        right=(pl.col("decision") == "match") & (pl.col("found") == pl.col("reference_id")).fill_null(False),
    )
    totals = joined.select(
        n_match=pl.col("match").sum(),
        n_review=pl.col("review").sum(),
        correct=pl.col("right").sum(),
        linked=pl.col("reference_id").is_not_null().sum(),
        twins_merged=(pl.col("match") & (pl.col("cls") == "twin")).sum(),
        twins_to_sibling=(
            pl.col("match") & (pl.col("cls") == "twin") & (pl.col("found") == pl.col("related_id"))
        ).sum(),
        decoys_merged=(pl.col("match") & (pl.col("cls") == "decoy")).sum(),
        missing=pl.col("decision").is_null().sum(),
    ).row(0, named=True)
    per_class = joined.group_by("cls").agg(
        n=pl.len(),
        recall=pl.col("right").mean(),
        matched=pl.col("match").mean(),
        review=pl.col("review").mean(),
    )
    classes: dict[str, dict[str, float]] = {}
    for row in per_class.sort("cls").iter_rows(named=True):
        linked = row["cls"] not in UNLINKED
        classes[row["cls"]] = {
            "n": row["n"],
            ("recall" if linked else "false_match"): round(row["recall" if linked else "matched"], 5),
            "review": round(row["review"], 5),
        }
    second: dict[str, float] = {}
    if "cls2" in joined.columns:
        per_second = (
            joined.filter(pl.col("cls2").is_not_null()).group_by("cls2").agg(recall=pl.col("right").mean())
        )
        second = {
            row["cls2"]: round(row["recall"], 5) for row in per_second.sort("cls2").iter_rows(named=True)
        }
    return {
        "precision": round(totals["correct"] / totals["n_match"], 6) if totals["n_match"] else None,
        "recall_by_class": {k: v["recall"] for k, v in classes.items() if k not in UNLINKED},
        **({"recall_by_second": second} if "cls2" in joined.columns else {}),
        "recall": round(totals["correct"] / totals["linked"], 6) if totals["linked"] else None,
        **{
            k: totals[k]
            for k in ("n_match", "n_review", "twins_merged", "twins_to_sibling", "decoys_merged", "missing")
        },
        "classes": classes,
    }
