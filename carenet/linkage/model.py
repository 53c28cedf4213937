"""The Fellegi–Sunter model: for each field and level, how often true matches (m) and random pairs (u) show it.

u is measured on random (list, reference) pairs, which are almost all non-matches; m and the share of matches
among candidate pairs (lambda) are learnt by expectation–maximisation over the candidates, without labels.
EM runs on the distinct comparison patterns with their counts (a few hundred), not on the millions of pairs.
Missing and IMPLIED levels carry no evidence and are left out of both the estimate and the score.
The model is saved as JSON and reloaded as it was; `explain` says what each level weighs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from carenet.linkage.compare import FIELDS, LEVELS

VERSION = 1
# Starting points for EM: what a match usually looks like (the best levels), before the data speaks.
_M_START = {
    "id": [0.0, 0.02, 0.001, 0.001, 0.01, 0.02, 0.95],
    "name": [0.0, 0.02, 0.03, 0.05, 0.90],
    "birth": [0.0, 0.02, 0.03, 0.02, 0.93],
    "sex": [0.0, 0.02, 0.98],
    "addr": [0.0, 0.1, 0.3, 0.6],
}
FLOOR = 1e-6
PSEUDO_PAIRS = 200.0


@dataclass
class Model:
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float  # share of matches among candidate pairs (what EM estimates)
    # The chance that two records drawn at random match: the prior a score starts from. u is measured on random
    # pairs, so starting from the share among candidates would count the blocking's agreement twice.
    match_rate: float = 0.0
    name_u_exact: float = 0.0  # average u of an exact name, for the term-frequency adjustment
    match_threshold: float = 0.99
    review_threshold: float = 0.5
    iterations: int = 0
    notes: dict[str, object] = field(default_factory=dict)

    def weights(self) -> dict[str, np.ndarray]:
        """log2(m/u) per field and level; 0 for the missing level (and IMPLIED, handled by the caller)."""
        out = {}
        for f in FIELDS:
            m = np.maximum(np.array(self.m[f]), FLOOR)
            u = np.maximum(np.array(self.u[f]), FLOOR)
            w = np.log2(m / u)
            w[0] = 0.0
            out[f] = w
        return out

    def save(self, path: str | Path) -> None:
        data = {"version": VERSION, **self.__dict__}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Model:
        data = json.loads(Path(path).read_text())
        if data.pop("version", None) != VERSION:
            raise ValueError(f"{path}: not a carenet linkage model (version {VERSION})")
        return cls(**data)

    def explain(self) -> str:
        lines = [
            f"prior (matches among candidates) {self.prior:.4f}; thresholds {self.match_threshold}/{self.review_threshold}"
        ]
        for f, w in self.weights().items():
            lines.append(f"{f:6} " + "  ".join(f"L{i}:{x:+.1f}" for i, x in enumerate(w) if i))
        return "\n".join(lines)


def u_from_random(
    left: pl.DataFrame, right: pl.DataFrame, compare_fn, *, n: int = 200_000, seed: int = 7
) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Level frequencies among random pairs (with add-one smoothing so no level is impossible)."""
    rng = np.random.default_rng(seed)
    n = min(n, len(left) * len(right))
    pairs = pl.DataFrame(
        {
            "l": rng.integers(0, len(left), n, dtype=np.uint32),
            "r": rng.integers(0, len(right), n, dtype=np.uint32),
        }
    ).unique()
    levels = compare_fn(left, right, pairs)
    u = {}
    for f in FIELDS:
        counts = np.bincount(levels[f].clip(0, None).to_numpy(), minlength=LEVELS[f]).astype(float)[
            : LEVELS[f]
        ]
        counts[1:] += 1.0
        counts[0] = 0.0
        u[f] = list(counts / counts.sum())
    return u


def patterns(levels: pl.DataFrame) -> pl.DataFrame:
    """Distinct comparison vectors with their counts."""
    return levels.group_by(list(FIELDS)).len("count")


def train(levels: pl.DataFrame, u: dict[str, list[float]], *, max_iter: int = 60, tol: float = 1e-7) -> Model:
    """EM for m and the prior, u fixed (measured on random pairs)."""
    pats = patterns(levels)
    counts = pats["count"].to_numpy().astype(float)
    lv = {f: pats[f].to_numpy().astype(np.int64) for f in FIELDS}
    m = {f: np.array(_M_START[f], dtype=float) for f in FIELDS}
    uu = {f: np.maximum(np.array(u[f], dtype=float), FLOOR) for f in FIELDS}
    prior = 0.1
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is kept in the model
        log_m = np.zeros(len(counts))
        log_u = np.zeros(len(counts))
        for f in FIELDS:
            seen = lv[f] > 0
            idx = np.where(seen, lv[f], 0)
            log_m += np.where(seen, np.log(np.maximum(m[f][idx], FLOOR)), 0.0)
            log_u += np.where(seen, np.log(uu[f][idx]), 0.0)
        a = math.log(prior) + log_m
        b = math.log(1 - prior) + log_u
        post = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        weighted = counts * post
        new_prior = min(max(weighted.sum() / counts.sum(), 1e-9), 1 - 1e-9)
        delta = abs(new_prior - prior)
        prior = new_prior
        for f in FIELDS:
            seen = lv[f] > 0
            per_level = np.bincount(lv[f][seen], weights=weighted[seen], minlength=LEVELS[f])[: LEVELS[f]]
            # A Dirichlet prior from the starting m: a level the candidates rarely show (a day/month swap when
            # nearly every copy kept its ID) keeps a plausible weight instead of one learnt from a handful of pairs.
            per_level += PSEUDO_PAIRS * np.array(_M_START[f])
            per_level[0] = 0.0
            new = per_level / per_level.sum()
            delta = max(delta, float(np.abs(new - m[f]).max()))
            m[f] = new
        if delta < tol:
            break
    return Model(
        m={f: list(map(float, m[f])) for f in FIELDS},
        u={f: list(map(float, uu[f])) for f in FIELDS},
        prior=float(prior),
        iterations=iterations,
    )
