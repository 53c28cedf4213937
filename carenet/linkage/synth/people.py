"""People as numpy arrays (names and addresses as table indices), drawn in bulk, and rendered as text."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from carenet.linkage.synth.tables import (
    BOY_CHARS,
    CHARS,
    COMMUNITIES,
    DISTRICT_P,
    DISTRICTS,
    FIRST_DAY,
    GIRL_CHARS,
    ID_CHECK,
    ID_WEIGHTS,
    LAST_DAY,
    MIGRANT_REGIONS,
    MIGRANT_SHARE,
    MINORITY_SHARE,
    POW10,
    RARE_SHARE,
    STREET_COUNT,
    STREET_START,
    STREET_URBAN,
    STREETS,
    SURNAME_P,
    SURNAMES,
    UYGHUR,
    UYGHUR_BOYS,
    UYGHUR_GIRLS,
    VILLAGES,
)


@dataclass
class People:
    """One row per person; names and addresses as indices into the tables above."""

    sur: np.ndarray  # SURNAMES index (ignored for minority names)
    g1: np.ndarray  # CHARS index, or UYGHUR index of the own given name
    g2: np.ndarray  # CHARS index (0: one-character given name), or UYGHUR index of the father's
    minority: np.ndarray
    male: np.ndarray
    birth: np.ndarray  # days since 1970-01-01
    region: np.ndarray  # six-digit code the ID number starts with
    seq: np.ndarray  # three-digit sequence, odd for men (GB 11643)
    street: np.ndarray  # STREETS index
    place: np.ndarray  # VILLAGES or COMMUNITIES index
    urban: np.ndarray  # lives in a community (building/unit/room) rather than a village (house number)
    house: np.ndarray  # (n, 3): building, unit, room - or house number in column 0

    def __len__(self) -> int:
        return len(self.sur)

    def take(self, index: np.ndarray) -> People:
        return People(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[People]) -> People:
        return People(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(People)})

    def body(self) -> np.ndarray:
        """The first 17 digits of the ID number as an integer."""
        year, month, day = ymd(self.birth)
        return self.region.astype(np.int64) * 10**11 + (year * 10000 + month * 100 + day) * 1000 + self.seq


def _char_p(male: bool) -> np.ndarray:
    """Per-sex probability over CHARS: popular characters Zipf-like in their listed order, rare ones flat."""
    pool = BOY_CHARS if male else GIRL_CHARS
    p = np.zeros(len(CHARS))
    index = {c: i for i, c in enumerate(CHARS)}
    for rank, c in enumerate(dict.fromkeys(pool)):
        p[index[c]] += (1 - RARE_SHARE) / (rank + 1) ** 0.7
    p /= p.sum() / (1 - RARE_SHARE)
    rare = [index[c] for c in CHARS if c and c not in BOY_CHARS + GIRL_CHARS]
    p[rare] += RARE_SHARE / len(rare)
    return p


_CHAR_P = {True: _char_p(True), False: _char_p(False)}
_CHAR_PINYIN: np.ndarray | None = None  # toneless pinyin id per CHARS entry, computed on first use


def _char_pinyin() -> np.ndarray:
    global _CHAR_PINYIN
    if _CHAR_PINYIN is None:
        from pypinyin import Style, lazy_pinyin

        readings = [lazy_pinyin(c, style=Style.NORMAL)[0] if c else "" for c in CHARS]
        ids = {r: i for i, r in enumerate(dict.fromkeys(readings))}
        _CHAR_PINYIN = np.array([ids[r] for r in readings])
    return _CHAR_PINYIN


def _chars(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    out = np.empty(len(male), dtype=np.int32)
    for sex in (True, False):
        mask = male == sex
        out[mask] = rng.choice(len(CHARS), int(mask.sum()), p=_CHAR_P[sex])
    return out


def _uyghur(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    boys = rng.integers(0, len(UYGHUR_BOYS), len(male))
    girls = len(UYGHUR_BOYS) + rng.integers(0, len(UYGHUR_GIRLS), len(male))
    return np.where(male, boys, girls).astype(np.int32)


def _given(rng: np.random.Generator, male: np.ndarray, minority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g1 = _chars(rng, male)
    g2 = np.where(rng.random(len(male)) < 0.18, 0, _chars(rng, male))
    # Doubled characters (婷婷) are common, but not as common as chance would make them.
    again = (g1 == g2) & (rng.random(len(male)) > 0.15)
    g2[again] = _chars(rng, male[again])
    return (
        np.where(minority, _uyghur(rng, male), g1).astype(np.int32),
        np.where(minority, _uyghur(rng, np.ones_like(male)), g2).astype(np.int32),
    )


def _regions(rng: np.random.Generator, birth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ID region code, district index) - the code an ID issued in that district in the birth year carried."""
    n = len(birth)
    district = rng.choice(len(DISTRICTS), n, p=DISTRICT_P)
    region = np.array([int(d[0]) for d in DISTRICTS])[district]
    year = ymd(birth)[0]
    for i, (_code, _name, _pop, _streets, history) in enumerate(DISTRICTS):
        if history:
            since, *old = history.split()
            before = (district == i) & (year < int(since))
            region[before] = np.array(old, dtype=np.int64)[rng.integers(0, len(old), int(before.sum()))]
    migrant = rng.random(n) < MIGRANT_SHARE
    region[migrant] = MIGRANT_REGIONS[rng.integers(0, len(MIGRANT_REGIONS), int(migrant.sum()))]
    return region, district


def _region_in_year(region: np.ndarray, year: np.ndarray) -> np.ndarray:
    """The same district's code as it was in `year` (a sibling born before 蓟县 became 蓟州区)."""
    region = region.copy()
    for code, _name, _pop, _streets, history in DISTRICTS:
        if history:
            since, *old = history.split()
            ours = np.isin(region, [int(code), *map(int, old)])
            before = ours & (year < int(since))
            region[ours & ~before] = int(code)
            region[before & (region == int(code))] = int(old[0])
    return region


def draw_addresses(rng: np.random.Generator, district: np.ndarray) -> dict[str, np.ndarray]:
    n = len(district)
    # Most people live in the district their ID was issued in; migrants and movers anywhere.
    elsewhere = rng.random(n) < 0.2
    district = np.where(elsewhere, rng.choice(len(DISTRICTS), n, p=DISTRICT_P), district)
    street = STREET_START[district] + (rng.random(n) * STREET_COUNT[district]).astype(np.int64)
    urban = STREET_URBAN[street] | (rng.random(n) < 0.2)
    place = np.where(urban, rng.integers(0, len(COMMUNITIES), n), rng.integers(0, len(VILLAGES), n))
    house = np.stack(
        [
            np.where(urban, rng.integers(1, 31, n), rng.integers(1, 301, n)),
            rng.integers(1, 7, n),
            rng.integers(1, 19, n) * 100 + rng.integers(1, 5, n),
        ],
        axis=1,
    )
    return {"street": street, "place": place, "urban": urban, "house": house}


def draw_people(rng: np.random.Generator, n: int) -> People:
    male = rng.random(n) < 0.515
    minority = rng.random(n) < MINORITY_SHARE
    g1, g2 = _given(rng, male, minority)
    birth = rng.integers(FIRST_DAY, LAST_DAY + 1, n)
    region, district = _regions(rng, birth)
    return People(
        sur=rng.choice(len(SURNAMES), n, p=SURNAME_P).astype(np.int32),
        g1=g1,
        g2=g2,
        minority=minority,
        male=male,
        birth=birth,
        region=region,
        seq=(2 * rng.integers(0, 500, n) + male).astype(np.int64),
        **draw_addresses(rng, district),
    )


def namesakes_of(rng: np.random.Generator, source: People) -> People:
    """Other people with the same name, sex and birth date: different ID, address."""
    other = draw_people(rng, len(source))
    for name in ("sur", "g1", "g2", "minority", "male", "birth"):
        setattr(other, name, getattr(source, name).copy())
    other.region, _district = _regions(rng, other.birth)  # the code in use in the (copied) birth year
    other.seq = other.seq - other.seq % 2 + other.male
    return other


def kin_of(rng: np.random.Generator, source: People, *, twin: bool) -> People:
    """A twin (same birth date) or sibling (born 1-8 years apart) of each source person: same family
    name, region and (mostly) address, a similar given name that reads differently, own sequence."""
    n = len(source)
    kin = source.take(np.arange(n))
    kin.male = np.where(rng.random(n) < (0.65 if twin else 0.5), source.male, ~source.male)
    new1, new2 = _given(rng, kin.male, source.minority)
    keep = rng.random(n)
    two = (source.g2 != 0) & ~source.minority
    kin.g1 = np.where(two & (keep < 0.55), source.g1, new1)  # 浩宇 / 浩轩: the generation character
    kin.g2 = np.where(
        source.minority, source.g2, np.where(two & (keep >= 0.55) & (keep < 0.75), source.g2, new2)
    )
    kin.g2 = np.where(~source.minority & (source.g2 == 0), 0, kin.g2)
    pinyin = _char_pinyin()
    for _ in range(50):  # the names must not read alike, or no one could tell the twins apart
        same = np.where(
            source.minority,
            kin.g1 == source.g1,
            (pinyin[kin.g1] == pinyin[source.g1]) & (pinyin[kin.g2] == pinyin[source.g2]),
        )
        if not same.any():
            break
        redraw, _unused = _given(rng, kin.male[same], source.minority[same])
        kin.g1[same] = redraw
    if twin:
        # Registered together, twins often get neighbouring sequence numbers: IDs one digit apart.
        step = rng.choice(np.array([-4, -2, 2, 4]), n)
        near = np.clip(source.seq + step, 0, 999)
        kin.seq = np.where(rng.random(n) < 0.5, near, 2 * rng.integers(0, 500, n))
        kin.seq = kin.seq - kin.seq % 2 + kin.male
    else:
        gap = rng.integers(300, 3000, n) * np.where(rng.random(n) < 0.5, 1, -1)
        gap = np.where((source.birth + gap < FIRST_DAY) | (source.birth + gap > LAST_DAY), -gap, gap)
        kin.birth = source.birth + gap
        kin.region = _region_in_year(source.region, ymd(kin.birth)[0])
        kin.seq = 2 * rng.integers(0, 500, n) + kin.male
    moved = draw_addresses(rng, rng.integers(0, len(DISTRICTS), n))
    away = rng.random(n) < 0.2
    for name, values in moved.items():
        current = getattr(kin, name)
        setattr(kin, name, np.where(away[:, None] if values.ndim == 2 else away, values, current))
    return kin


def make_ids_unique(rng: np.random.Generator, people: People, fixed: np.ndarray) -> None:
    """Redraw the sequence of every person whose ID an earlier (or fixed) person already has."""
    for _ in range(100):
        body = people.body()
        order = np.lexsort((~fixed, body))  # among equal bodies, fixed rows first, then by position
        dup = np.zeros(len(body), dtype=bool)
        dup[order[1:]] = body[order[1:]] == body[order[:-1]]
        dup &= ~fixed
        if not dup.any():
            return
        people.seq[dup] = 2 * rng.integers(0, 500, int(dup.sum())) + people.male[dup]
    raise RuntimeError("could not make the ID numbers unique")


# --- Rendering -------------------------------------------------------------------------------------


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    return year, months.astype(np.int64) % 12 + 1, (d - months).astype(np.int64) + 1


def _check_chars(digits: np.ndarray) -> np.ndarray:
    """GB 11643 check character (ASCII code) for rows of 17 digits."""
    return ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11]


def id_matrix(body: np.ndarray) -> np.ndarray:
    """(n, 18) ASCII codes of the 18-digit ID numbers with a valid check character."""
    digits = (body[:, None] // POW10) % 10
    return np.concatenate([digits + 48, _check_chars(digits)[:, None]], axis=1).astype(np.uint8)


def ascii_strings(matrix: np.ndarray) -> pl.Series:
    width = matrix.shape[1]
    return pl.Series(np.ascontiguousarray(matrix).view(f"S{width}").ravel().astype(f"U{width}"))


def render_names(p: People) -> pl.Series:
    table = pl.DataFrame(
        {
            "sur": pl.Series(SURNAMES)[p.sur],
            "g1": pl.Series(CHARS)[np.where(p.minority, 0, p.g1)],
            "g2": pl.Series(CHARS)[np.where(p.minority, 0, p.g2)],
            "u1": pl.Series(UYGHUR)[np.where(p.minority, p.g1, 0)],
            "u2": pl.Series(UYGHUR)[np.where(p.minority, p.g2, 0)],
            "minority": p.minority,
        }
    )
    return table.select(
        pl.when("minority")
        .then(pl.concat_str("u1", pl.lit("·"), "u2"))
        .otherwise(pl.concat_str("sur", "g1", "g2"))
        .alias("name")
    ).to_series()


def render_addresses(p: People, start: np.ndarray | None = None) -> pl.Series:
    """天津市 + district + street + village or community + house; `start` drops the first parts (0-3)."""
    district = np.searchsorted(STREET_START, p.street, side="right") - 1
    parts = pl.DataFrame(
        {
            "district": pl.Series([d[1] for d in DISTRICTS])[district],
            "street": pl.Series(STREETS)[p.street],
            "place": pl.Series(COMMUNITIES)[np.where(p.urban, p.place, 0)],
            "village": pl.Series(VILLAGES)[np.where(p.urban, 0, p.place)],
            "urban": p.urban,
            "h0": p.house[:, 0],
            "h1": p.house[:, 1],
            "h2": p.house[:, 2],
            "start": np.zeros(len(p), dtype=np.int8) if start is None else start,
        }
    )
    house = (
        pl.when("urban")
        .then(pl.format("{}{}号楼{}单元{}", "place", "h0", "h1", "h2"))
        .otherwise(pl.format("{}{}号", "village", "h0"))
    )
    start_at = pl.col("start")
    return parts.select(
        pl.concat_str(
            pl.when(start_at <= 0).then(pl.lit("天津市")).otherwise(pl.lit("")),
            pl.when(start_at <= 1).then("district").otherwise(pl.lit("")),
            pl.when(start_at <= 2).then("street").otherwise(pl.lit("")),
            house,
        ).alias("address")
    ).to_series()


def render_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> pl.Series:
    frame = pl.DataFrame({"y": year, "m": month, "d": day})
    return frame.select(
        pl.format(
            "{}-{}-{}",
            "y",
            pl.col("m").cast(pl.String).str.zfill(2),
            pl.col("d").cast(pl.String).str.zfill(2),
        )
    ).to_series()


def record_frame(
    ids: pl.Series, p: People, names: pl.Series, dates: pl.Series, numbers: pl.Series, addresses: pl.Series
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ids,
            "name": names,
            "sex": np.where(p.male, "男", "女"),
            "birth_date": dates,
            "id_number": numbers,
            "address": addresses,
        }
    )
