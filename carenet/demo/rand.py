"""Faster draws for the generator's hot loops.

`random.Random.choice` and `randint` go through a Python-level rejection loop (`_randbelow`) and cost
~1 µs each; a million children make tens of millions of draws. Scaling `random()` is ~4x cheaper
and, for demo data, uniform enough. Still deterministic for a seeded `Random`.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def integer(rng: random.Random, low: int, high: int) -> int:
    """Uniform in [low, high], both included."""
    return low + int(rng.random() * (high - low + 1))


class Weighted:
    """A fixed weighted choice, with the cumulative weights computed once (random.choices redoes it per call)."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = tuple(items)
        self.cumulative = tuple(itertools.accumulate(weights))

    def __call__(self, rng: random.Random):  # type: ignore[no-untyped-def]
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]
