"""Valid, unique 18-digit ID numbers for demo people.

The first six digits are the county where the number was issued, and a county code is only valid for
the years it existed (python-stdnum knows them): a child born in 蓟州 in 2012 carries 蓟县 120225,
because 蓟州区 120119 dates from 2016. Every candidate is checked with carenet.core.idnumber.parse,
so the demo can never hold a number the registry itself would refuse.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import lru_cache

from carenet.core import idnumber

# Where migrant families' household registrations (and so their ID numbers) come from. County codes
# date from the 1980s; the prefecture code last in each list is valid in every year, for grandparents.
MIGRANT_ORIGINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("河北省", ("130102", "130104", "130203", "130983", "131002", "130100")),
    ("山东省", ("370102", "370211", "370100")),
    ("河南省", ("410102", "410105", "410100")),
    ("安徽省", ("340102", "340104", "340100")),
    ("山西省", ("140121", "140122", "140123")),
    ("内蒙古自治区", ("150121", "150122")),
)


@lru_cache(maxsize=4096)
def region_valid(region: str, year: int) -> bool:
    try:
        idnumber.parse(idnumber.make(region, dt.date(year, 1, 1), 1))
    except idnumber.IdNumberError:
        return False
    return True


@lru_cache(maxsize=4096)
def pick_region(candidates: tuple[str, ...], year: int) -> str:
    """The first candidate code that was in use in `year`."""
    for region in candidates:
        if region_valid(region, year):
            return region
    raise ValueError(f"none of {candidates} was a valid region code in {year}")


# GB 11643 check digit (ISO 7064 MOD 11-2): weight 2^(17-i) mod 11 per position, then this table.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK = "10X98765432"
_SEQUENCES = tuple(
    (f"{n:03d}", sum(int(c) * w for c, w in zip(f"{n:03d}", _WEIGHTS[14:], strict=True))) for n in range(1000)
)


@lru_cache(maxsize=4096)
def _region_part(region: str) -> int:
    return sum(int(c) * w for c, w in zip(region, _WEIGHTS[:6], strict=True))


@lru_cache(maxsize=65536)
def _date_part(birth: dt.date) -> tuple[str, int]:
    text = f"{birth.year:04d}{birth.month:02d}{birth.day:02d}"
    return text, sum(int(c) * w for c, w in zip(text, _WEIGHTS[6:14], strict=True))


def compose(region: str, birth: dt.date, sequence: int) -> str:
    """Same result as core.idnumber.make, from cached partial checksums: the demo builds ~3 numbers
    per child and stdnum's per-number digit loop was a tenth of the build time. Tests check every
    generated number with core.idnumber.parse."""
    date_text, date_sum = _date_part(birth)
    seq_text, seq_sum = _SEQUENCES[sequence]
    return f"{region}{date_text}{seq_text}{_CHECK[(_region_part(region) + date_sum + seq_sum) % 11]}"


class IdAllocator:
    """Hands out numbers never handed out before: the registry holds one child per ID number.

    Districts are generated independently (possibly in parallel). Each district's own region codes
    are used by it alone; a code several districts use (a migrant family's home county) is shared
    by giving each district its own lane of sequence numbers, so no two districts can collide."""

    def __init__(
        self, rng: random.Random, *, own: frozenset[str] = frozenset(), lane: int = 0, lanes: int = 1
    ) -> None:
        self._rng = rng
        self._own = own
        self._lane_slots = tuple(range(lane, 500, lanes))
        self._used: set[int] = set()

    def issue(self, region: str, birth: dt.date, sex: str) -> str:
        """A number for someone born on `birth`; the sequence's last digit is odd for men (GB 11643)."""
        stem = int(region) * 10**11 + (birth.year * 10000 + birth.month * 100 + birth.day) * 1000
        parity = 1 if sex == "M" else 0
        slots = 500 if region in self._own else len(self._lane_slots)
        for _attempt in range(2000):
            slot = int(self._rng.random() * slots)
            sequence = 2 * (slot if region in self._own else self._lane_slots[slot]) + parity
            if stem + sequence not in self._used:
                self._used.add(stem + sequence)
                return compose(region, birth, sequence)
        raise RuntimeError(f"no free ID sequence left for {region} {birth}")

    def __len__(self) -> int:
        return len(self._used)
