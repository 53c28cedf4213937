"""The recorded damage of list copies and the unrecorded format noise on top."""

from __future__ import annotations

import random

import numpy as np
import polars as pl

from carenet.linkage.synth.tables import (
    BOY_CHARS,
    CLASSES,
    FIELD_OF,
    GIRL_CHARS,
    HOMOPHONES,
    SHAPE_SIMILAR,
    TRADITIONAL,
)


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    start = (year - 1970) * 12 + (np.clip(month, 1, 12) - 1)
    return (start + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - start.astype(
        "datetime64[M]"
    ).astype("datetime64[D]").astype(np.int64)


def date_typo(
    rng: np.random.Generator, y: np.ndarray, m: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, ...]:
    """One digit of YYYYMMDD (after the century) changed, the result still a real date up to 2025."""
    text = y * 10000 + m * 100 + d
    out = text.copy()
    todo = np.ones(len(y), dtype=bool)
    for _ in range(200):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        place = 10 ** (7 - rng.integers(2, 8, len(idx)))
        digit = text[idx] // place % 10
        new = text[idx] + ((digit + rng.integers(1, 10, len(idx))) % 10 - digit) * place
        cy, cm, cd = new // 10000, new // 100 % 100, new % 100
        ok = (cm >= 1) & (cm <= 12) & (cd >= 1) & (cd <= _days_in_month(cy, cm)) & (cy >= 2000)
        ok &= new <= 20251231
        out[idx[ok]] = new[ok]
        todo[idx[ok]] = False
    return out // 10000, out // 100 % 100, out % 100


def mistype_id(rng: np.random.Generator, matrix: np.ndarray) -> None:
    """One character changed in place; any change of one character breaks the GB 11643 checksum."""
    n = len(matrix)
    pos = rng.integers(0, 18, n)
    rows = np.arange(n)
    old = matrix[rows, pos]
    body = pos < 17
    matrix[rows[body], pos[body]] = 48 + (old[body] - 48 + rng.integers(1, 10, int(body.sum()))) % 10
    check = np.frombuffer(b"0123456789X", dtype=np.uint8)
    rank = np.zeros(256, dtype=np.int64)
    rank[check] = np.arange(11)
    shift = rng.integers(1, 11, int((~body).sum()))
    matrix[rows[~body], 17] = check[(rank[old[~body]] + shift) % 11]


def transpose_id(rng: np.random.Generator, matrix: np.ndarray) -> None:
    """Two adjacent, different digits of the first 17 swapped in place (also breaks the checksum)."""
    differ = matrix[:, :16] != matrix[:, 1:17]
    pos = np.argmax(rng.random(differ.shape) * differ, axis=1)
    rows = np.arange(len(matrix))
    left, right = matrix[rows, pos].copy(), matrix[rows, pos + 1].copy()
    matrix[rows, pos], matrix[rows, pos + 1] = right, left


def homophone_of(name: str, surname_len: int, r: random.Random) -> str:
    spots = [i for i, c in enumerate(name) if c in HOMOPHONES]
    i = r.choices(spots, [3 if i >= surname_len else 1 for i in spots])[0]
    return name[:i] + r.choice(HOMOPHONES[name[i]]) + name[i + 1 :]


def typo_of(name: str, surname_len: int, r: random.Random) -> str:
    """A similar-shape character, or a given-name character dropped or added."""
    given_end = name.index("·") if "·" in name else len(name)
    shapes = [i for i, c in enumerate(name) if c in SHAPE_SIMILAR]
    options = ["shape", "shape"] * bool(shapes) + ["drop"] * (given_end - surname_len >= 2) + ["add"]
    kind = r.choice(options)
    if kind == "shape":
        i = r.choice(shapes)
        return name[:i] + SHAPE_SIMILAR[name[i]] + name[i + 1 :]
    if kind == "drop":
        i = r.randrange(surname_len, given_end)
        return name[:i] + name[i + 1 :]
    i = r.randint(max(surname_len, 1), given_end)
    extra = name[i - 1] if r.random() < 0.4 else r.choice(BOY_CHARS + GIRL_CHARS)
    return name[:i] + extra + name[i:]


def assign_classes(
    rng: np.random.Generator, sources: np.ndarray, swappable: np.ndarray, homophonable: np.ndarray
) -> np.ndarray:
    """Roughly equal shares of CLASSES; day/month swaps and homophones only where the source allows."""
    n = len(sources)
    counts = n // len(CLASSES) + (np.arange(len(CLASSES)) < n % len(CLASSES))
    code = np.full(n, -1)
    for k, eligible in (
        (CLASSES.index("date_swap"), swappable),
        (CLASSES.index("name_homophone"), homophonable),
    ):
        chosen = np.flatnonzero((code < 0) & eligible)[: counts[k]]
        code[chosen] = k
    others = [
        k
        for k in range(len(CLASSES))
        if k not in (CLASSES.index("date_swap"), CLASSES.index("name_homophone"))
    ]
    rest = np.flatnonzero(code < 0)
    labels = np.repeat(others, counts[others])
    labels = np.concatenate([labels, rng.choice(others, max(0, len(rest) - len(labels)))])
    code[rest] = rng.permutation(labels)[: len(rest)]
    return code


def assign_second(
    rng: np.random.Generator, code: np.ndarray, share: float, swappable: np.ndarray, homophonable: np.ndarray
) -> np.ndarray:
    """A second class (CLASSES index, -1: none) for `share` of the copies, drawn evenly among the classes
    of the other fields that the source allows (day/month swaps and homophones only where possible)."""
    n = len(code)
    second = np.full(n, -1)
    chosen = np.sort(rng.choice(n, round(share * n), replace=False))
    field = np.array([FIELD_OF[c] for c in CLASSES])
    allowed = field[None, :] != field[code[chosen]][:, None]
    allowed[:, CLASSES.index("date_swap")] &= swappable[chosen]
    allowed[:, CLASSES.index("name_homophone")] &= homophonable[chosen]
    second[chosen] = np.argmax(rng.random(allowed.shape) * allowed, axis=1)
    return second


_FULL_WIDTH = [chr(0xFF10 + i) for i in range(10)]
_TRADITIONAL_RE = "[" + "".join(TRADITIONAL) + "]"


def format_noise(
    rng: np.random.Generator, frame: pl.DataFrame, surname_len: np.ndarray, share: float
) -> pl.DataFrame:
    """Light changes the normalisers must absorb: full-width digits, x, spaces, date formats, 張偉."""
    rows = np.sort(rng.choice(frame.height, round(share * frame.height), replace=False))
    date = pl.col("birth_date")
    sub = frame[rows].with_columns(
        y=date.str.slice(0, 4),
        m=date.str.slice(5, 2).str.strip_chars_start("0"),
        d=date.str.slice(8, 2).str.strip_chars_start("0"),
        mm=date.str.slice(5, 2),
        dd=date.str.slice(8, 2),
        slen=surname_len[rows],
    )
    applicable = sub.select(
        a=pl.col("id_number") != "",
        b=pl.col("id_number").str.ends_with("X"),
        c=pl.col("id_number").str.len_chars() == 18,
        d=pl.col("birth_date") != "",
        e=pl.col("slen") > 0,
        f=pl.col("name").str.contains(_TRADITIONAL_RE),
    ).to_numpy()
    kind = np.where(applicable.any(axis=1), np.argmax(rng.random(applicable.shape) * applicable, axis=1), -1)
    sub = sub.with_columns(kind=kind, fmt=rng.integers(0, 4, len(rows)))
    k, fmt, number, name = pl.col("kind"), pl.col("fmt"), pl.col("id_number"), pl.col("name")
    mm, dd = pl.col("mm"), pl.col("dd")
    changed = sub.select(
        pl.when(k == 0)
        .then(number.str.replace_many([str(i) for i in range(10)], _FULL_WIDTH))
        .when(k == 1)
        .then(number.str.to_lowercase())
        .when(k == 2)
        .then(
            pl.concat_str(
                number.str.head(6), pl.lit(" "), number.str.slice(6, 8), pl.lit(" "), number.str.slice(14)
            )
        )
        .otherwise(number)
        .alias("id_number"),
        pl.when(k != 3)
        .then(pl.col("birth_date"))
        .when(fmt == 0)
        .then(pl.format("{}年{}月{}日", "y", "m", "d"))
        .when(fmt == 1)
        .then(pl.concat_str("y", mm, dd))
        .when(fmt == 2)
        .then(pl.format("{}/{}/{}", "y", "m", "d"))
        .otherwise(pl.format("{}.{}.{}", "y", mm, dd))
        .alias("birth_date"),
        pl.when(k == 4)
        .then(pl.concat_str(name.str.head(pl.col("slen")), pl.lit(" "), name.str.slice(pl.col("slen"))))
        .when(k == 5)
        .then(name.str.replace_many(list(TRADITIONAL), list(TRADITIONAL.values())))
        .otherwise(name)
        .alias("name"),
    )
    return frame.with_columns(scatter(frame[c], rows, changed[c]) for c in changed.columns)


def scatter(column: pl.Series, rows: np.ndarray, values: pl.Series | np.ndarray | str) -> pl.Series:
    out = column.clone()
    if isinstance(values, str):
        values = pl.Series([values] * len(rows), dtype=pl.String)
    out.scatter(rows, values)
    return out
