"""Children, households, family members and category memberships, written in bulk.

The city is generated district by district. Each district is an independent unit of work with its
own random stream, its own precomputed range of household and child ids, and its own lane of ID
sequence numbers, so the result is the same whether the districts are generated one after another
in this process or, for a big PostgreSQL build, by worker processes while this one writes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection

from carenet.core import crypto, pinyin
from carenet.core.bulk import TableLoader, indexes_after_load, next_pk, reset_sequences
from carenet.core.dates import age_on
from carenet.demo import idgen, names
from carenet.demo.families import ChildPlan, HouseholdMaker, HouseholdPlan, Member, Rates, Situation
from carenet.demo.places import DISTRICTS, Setting, Street, Village
from carenet.demo.rand import integer, pick
from carenet.registry.models import ID_PURPOSE, CategoryMembership, Child, FamilyMember, Household

CHILD_COLUMNS = (
    "id",
    "name",
    "name_pinyin",
    "name_initials",
    "sex",
    "birth_date",
    "ethnicity",
    "id_number_enc",
    "id_number_hash",
    "division_id",
    "division_code",
    "household_id",
    "address",
    "school",
    "grade",
    "health",
    "disability_kind",
    "disability_level",
    "status",
    "archive_reason",
    "archive_note",
    "created_by_id",
)
HOUSEHOLD_COLUMNS = ("id", "division_id", "division_code", "address", "hukou_number", "phone", "low_income")
MEMBER_COLUMNS = (
    "child_id",
    "name",
    "relationship",
    "is_guardian",
    "id_number_enc",
    "id_number_hash",
    "phone",
    "status",
    "status_since",
    "status_until",
    "evidence_note",
)
MEMBERSHIP_COLUMNS = (
    "child_id",
    "category",
    "start_date",
    "end_date",
    "reason",
    "end_reason",
    "approved_by_id",
    "ended_by_id",
)

# Below this many children the build stays in one process: starting workers would cost more than it saves.
PARALLEL_FROM = 50_000

_ROADS = "建设 解放 胜利 和平 幸福 团结 友谊 人民 民主 光明 朝阳 向阳 新华 东风 红旗 育才 文化 兴业 富民 长江 黄河 津塘 津港 振兴".split()
_SCHOOL_STAGES = ((3, ""), (6, "幼儿园"), (12, "小学"), (15, "初级中学"), (18, "高级中学"))
_GRADES = {
    3: "小班",
    4: "中班",
    5: "大班",
    6: "一年级",
    7: "二年级",
    8: "三年级",
    9: "四年级",
    10: "五年级",
    11: "六年级",
    12: "初一",
    13: "初二",
    14: "初三",
    15: "高一",
    16: "高二",
    17: "高三",
}


@dataclass(frozen=True)
class VillageContext:
    """What a household needs to know about the village it is registered in."""

    village: Village
    street: Street
    division_id: int
    director_id: int  # registered the children: the village's child director
    specialist_id: int  # approved their categories: the district's child-work specialist

    @property
    def city_community(self) -> bool:
        return not self.village.rural and self.street.district.setting is not Setting.SUBURBAN


@dataclass
class PopulationStats:
    households: int = 0
    children: int = 0
    members: int = 0
    memberships: int = 0


@dataclass
class DistrictUnit:
    """Everything needed to generate one district's people, picklable for a worker process."""

    index: int  # position in DISTRICTS: the ID-sequence lane
    seed: str
    today: dt.date
    rates: Rates
    villages: list[tuple[VillageContext, int]]  # each village with its number of children
    first_child_id: int
    first_household_id: int  # households never outnumber children: the range is as long as the children's
    showcase: dict[int, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # village position -> names to use


@dataclass
class UnitRows:
    households: list[tuple[object, ...]] = field(default_factory=list)
    children: list[tuple[object, ...]] = field(default_factory=list)
    members: list[tuple[object, ...]] = field(default_factory=list)
    memberships: list[tuple[object, ...]] = field(default_factory=list)


# -- planning -------------------------------------------------------------------------------------------


def allocate(total: int, contexts: list[VillageContext], rng: random.Random) -> list[int]:
    """Children per village, drawn by weight: villages hold more children of concern than city
    communities, and every village differs a little. A small build fills an evenly spread subset of
    villages (every district gets some) with ~5 children each rather than scattering one per village."""
    weights = [
        (2.0 if c.village.rural else 0.8 if c.street.is_town else 0.6) * rng.uniform(0.4, 1.6)
        for c in contexts
    ]
    populated = min(len(contexts), max(64, total // 5))
    if populated < len(contexts):
        step, offset = len(contexts) / populated, rng.random()
        keep = {int((offset + i) * step) for i in range(populated)}
        weights = [w if i in keep else 0.0 for i, w in enumerate(weights)]
    counts = [0] * len(contexts)
    for i in rng.choices(range(len(contexts)), weights=weights, k=total):
        counts[i] += 1
    return counts


def tuned_rates(counts: list[int], contexts: list[VillageContext]) -> Rates:
    """Set the village-only and city-only rates so city-wide shares come out at ≈40% left-behind and ≈6% migrant."""
    total = sum(counts) or 1
    rural = sum(n for n, c in zip(counts, contexts, strict=True) if c.village.rural) / total
    city = sum(n for n, c in zip(counts, contexts, strict=True) if c.city_community) / total
    base = Rates()
    at_home = 1 - base.orphan_institutional - base.orphan_scattered - base.de_facto
    return dataclasses.replace(
        base,
        left_behind_in_village=min(0.9, 0.40 / (at_home * rural)) if rural else 0.0,
        migrant_in_city=min(0.9, 0.06 / (at_home * city)) if city else 0.0,
    )


def plan_units(
    contexts: list[VillageContext],
    counts: list[int],
    *,
    seed: str,
    today: dt.date,
    first_child_id: int,
    first_household_id: int,
) -> list[DistrictUnit]:
    rates = tuned_rates(counts, contexts)
    index_of = {d.code: i for i, d in enumerate(DISTRICTS)}
    units: dict[str, DistrictUnit] = {}
    for ctx, count in zip(contexts, counts, strict=True):
        code = ctx.street.district.code
        if code not in units:
            units[code] = DistrictUnit(index_of[code], f"{seed}:{code}", today, rates, [], 0, 0)
        units[code].villages.append((ctx, count))
    child_id, household_id = first_child_id, first_household_id
    for unit in units.values():
        unit.first_child_id, unit.first_household_id = child_id, household_id
        size = sum(n for _ctx, n in unit.villages)
        child_id, household_id = child_id + size, household_id + size
    _place_showcase(list(units.values()), sum(counts))
    return list(units.values())


def _place_showcase(units: list[DistrictUnit], total: int) -> None:
    """Spread the homophone showcase (张伟/张玮 …) evenly over the city so every district has a few."""
    every = max(1, total // (len(names.SHOWCASE) + 1))
    targets = iter(range(0, every * len(names.SHOWCASE), every))
    showcase = iter(names.SHOWCASE)
    target, seen = next(targets, None), 0
    for unit in units:
        for position, (_ctx, count) in enumerate(unit.villages):
            while target is not None and count and target < seen + count:
                unit.showcase.setdefault(position, []).append(next(showcase))
                target = next(targets, None)
            seen += count


# -- generation (pure: no database) ---------------------------------------------------------------------


class RowMaker:
    """Turns household plans into table rows: ID numbers issued and encrypted, pinyin keys computed once per name."""

    def __init__(self, unit: DistrictUnit, rng: random.Random) -> None:
        self.rng = rng
        self.today = unit.today
        district = DISTRICTS[unit.index]
        self.ids = idgen.IdAllocator(
            rng, own=frozenset((district.code, *district.old_regions)), lane=unit.index, lanes=len(DISTRICTS)
        )
        self.rows = UnitRows()
        self._name_keys: dict[str, tuple[str, str]] = {}
        self._next_household = unit.first_household_id
        self._next_child = unit.first_child_id
        self._house_numbers: dict[str, int] = {}

    def name_keys(self, name: str) -> tuple[str, str]:
        keys = self._name_keys.get(name)
        if keys is None:
            keys = self._name_keys[name] = (pinyin.name_key(name), pinyin.name_initials(name))
        return keys

    def regions(self, ctx: VillageContext, plan: HouseholdPlan) -> tuple[str, ...]:
        """Candidate issuing counties, newest first: a migrant family's home counties (starting from a
        random one), else the district's code and its predecessors (each 滨海新区 street keeps the one
        old district it was part of)."""
        if plan.situation is Situation.MIGRANT:
            codes = next(codes for province, codes in idgen.MIGRANT_ORIGINS if province == plan.origin)
            start = integer(self.rng, 0, len(codes) - 1)
            return codes[start:] + codes[:start]
        district = ctx.street.district
        old = district.old_regions
        if district.setting is Setting.MIXED and old:
            old = (old[ctx.street.index % len(old)],)
        return (district.code, *old)

    def _id(self, regions: tuple[str, ...], birth: dt.date, sex: str) -> tuple[str, str | None]:
        number = self.ids.issue(idgen.pick_region(regions, birth.year), birth, sex)
        return crypto.encrypt(number, purpose=ID_PURPOSE), crypto.blind_index(number, purpose=ID_PURPOSE)

    def add(self, ctx: VillageContext, plan: HouseholdPlan) -> None:
        household_id = self._next_household
        self._next_household += 1
        regions = self.regions(ctx, plan)
        address = self._address(ctx)
        code = ctx.village.code
        self.rows.households.append(
            (
                household_id,
                ctx.division_id,
                code,
                address,
                f"{code[2:9]}{household_id % 10**6:06d}",
                self._household_phone(plan),
                plan.poor,
            )
        )
        members = [self._member_values(m, regions) for m in plan.members]
        for kid in plan.children:
            child_id = self._next_child
            self._next_child += 1
            self._child(child_id, household_id, ctx, plan, kid, regions, address)
            self.rows.members.extend((child_id, *values) for values in members)
            for m in kid.categories:
                ended_by = ctx.specialist_id if m.end else None
                self.rows.memberships.append(
                    (
                        child_id,
                        m.category,
                        m.start,
                        m.end,
                        m.reason,
                        m.end_reason,
                        ctx.specialist_id,
                        ended_by,
                    )
                )

    def _child(
        self,
        child_id: int,
        household_id: int,
        ctx: VillageContext,
        plan: HouseholdPlan,
        kid: ChildPlan,
        regions: tuple[str, ...],
        address: str,
    ) -> None:
        enc, digest = self._id(regions, kid.birth, kid.sex) if kid.has_id else ("", None)
        key, initials = self.name_keys(kid.name)
        school, grade = self._school(ctx, kid.birth)
        health = "良好" if not kid.disability_kind else f"{kid.disability_kind}，需定期康复"
        self.rows.children.append(
            (
                child_id,
                kid.name,
                key,
                initials,
                kid.sex,
                kid.birth,
                plan.ethnicity,
                enc,
                digest,
                ctx.division_id,
                ctx.village.code,
                household_id,
                address,
                school,
                grade,
                health,
                kid.disability_kind,
                kid.disability_level,
                "archived" if kid.archived else "active",
                kid.archived,
                kid.archive_note,
                ctx.director_id,
            )
        )

    def _member_values(self, m: Member, regions: tuple[str, ...]) -> tuple[object, ...]:
        """One family member's columns, shared by the siblings of a household (the same father twice)."""
        enc, digest = "", None
        if m.birth is not None and self.rng.random() < 0.85:  # most adults' ID numbers are on file
            enc, digest = self._id(regions, m.birth, m.sex)
        return (
            m.name,
            m.relationship,
            m.is_guardian,
            enc,
            digest,
            m.phone,
            m.status,
            m.since,
            m.until,
            m.evidence,
        )

    def _address(self, ctx: VillageContext) -> str:
        rng = self.rng
        number = self._house_numbers.get(ctx.village.code, integer(rng, 1, 30)) + integer(rng, 1, 6)
        self._house_numbers[ctx.village.code] = number
        road = pick(rng, _ROADS) + pick(rng, "路道街")
        if ctx.village.rural:
            return f"{ctx.village.name}{road}{number}号"
        # Urban: building-unit-room, e.g. 建设路12号3-2-1102.
        return f"{road}{number}号{integer(rng, 1, 30)}-{integer(rng, 1, 6)}-{integer(rng, 1, 28)}0{integer(rng, 1, 4)}"

    @staticmethod
    def _household_phone(plan: HouseholdPlan) -> str:
        for m in plan.members:
            if m.is_guardian and m.phone:
                return m.phone
        return next((m.phone for m in plan.members if m.phone), "")

    def _school(self, ctx: VillageContext, birth: dt.date) -> tuple[str, str]:
        age = age_on(birth, self.today)
        stage = next(label for limit, label in _SCHOOL_STAGES if age < limit)
        if not stage:
            return "", ""
        place = ctx.street.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        return f"{ctx.street.district.name}{place}{stage}", _GRADES.get(age, "")


def generate_unit(unit: DistrictUnit) -> UnitRows:
    """One district's rows. Runs in a worker process for big builds: touches no database."""
    rng = random.Random(unit.seed)
    maker = HouseholdMaker(rng, unit.today, unit.rates)
    rows = RowMaker(unit, rng)
    for position, (ctx, count) in enumerate(unit.villages):
        showcase = list(unit.showcase.get(position, ()))
        left = count
        while left > 0:
            size = 2 if left >= 2 and rng.random() < unit.rates.second_child else 1
            special = showcase.pop(0) if showcase else _random_homophone(rng)
            rows.add(
                ctx,
                maker.make(
                    rural=ctx.village.rural, city_community=ctx.city_community, count=size, showcase=special
                ),
            )
            left -= size
    return rows.rows


def _random_homophone(rng: random.Random) -> tuple[str, str] | None:
    """Beyond the showcase, ~1% of households carry a homophone name, as real rolls do."""
    if rng.random() >= 0.01:
        return None
    return pick(rng, pick(rng, names.HOMOPHONES))


# -- writing ------------------------------------------------------------------------------------------------


def worker_count(total: int, requested: int | None) -> int:
    """Worker processes for a build: only for big PostgreSQL builds on a machine that can fork
    (SQLite would serialise the writes anyway; a small build is done before workers start)."""
    if requested is not None:
        wanted = requested
    elif total < PARALLEL_FROM or connection.vendor != "postgresql":
        wanted = 1
    else:
        wanted = os.cpu_count() or 1
    return wanted if wanted > 1 and "fork" in multiprocessing.get_all_start_methods() else 1


def _unit_results(units: list[DistrictUnit], workers: int) -> Iterator[UnitRows]:
    """Districts' rows in order: generated here, or by forked workers while this process writes."""
    if workers < 2:
        yield from map(generate_unit, units)
        return
    crypto.encrypt(
        "warm-up", purpose=ID_PURPOSE
    )  # derive the keys once, before the fork, not in every worker
    # Fork, not spawn: workers inherit the configured Django and the keys. They never touch the open
    # database connection and leave through os._exit, so the parent's transaction is not disturbed.
    with multiprocessing.get_context("fork").Pool(min(workers, len(units))) as pool:
        yield from pool.imap(generate_unit, units)


def populate(
    *,
    contexts: list[VillageContext],
    total: int,
    seed: str,
    today: dt.date,
    log: Callable[[str], None],
    workers: int | None = None,
) -> PopulationStats:
    counts = allocate(total, contexts, random.Random(f"{seed}:allocation"))
    units = plan_units(
        contexts,
        counts,
        seed=seed,
        today=today,
        first_child_id=next_pk(Child),
        first_household_id=next_pk(Household),
    )
    loaders = (
        TableLoader(Household, HOUSEHOLD_COLUMNS),
        TableLoader(Child, CHILD_COLUMNS),
        TableLoader(FamilyMember, MEMBER_COLUMNS, batch_size=50_000),
        TableLoader(CategoryMembership, MEMBERSHIP_COLUMNS),
    )
    started, done = time.monotonic(), 0
    with indexes_after_load(Household, Child, FamilyMember, CategoryMembership):
        for rows in _unit_results(units, worker_count(total, workers)):
            for loader, batch in zip(
                loaders, (rows.households, rows.children, rows.members, rows.memberships), strict=True
            ):
                loader.extend(batch)
            done += len(rows.children)
            log(f"  children {done:,}/{total:,}  {time.monotonic() - started:.0f} s")
        for loader in loaders:
            loader.flush()
        reset_sequences(Household, Child, FamilyMember, CategoryMembership)
        indexing = time.monotonic()
        log("  building indexes and checking foreign keys …")
    log(f"  indexes and foreign keys {time.monotonic() - indexing:.0f} s")
    return PopulationStats(*(loader.written for loader in loaders))
