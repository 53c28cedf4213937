"""One generated household: its situation, children, family members and category memberships.

Pure data, no database: `population` turns these into rows. The situation decides everything that
must agree with it — an orphan's parents are dead with a death certificate as evidence, a left-behind
child's parents work away and a grandparent is the guardian, a de-facto unsupported child's parents
are imprisoned (with a release date), missing, severely disabled or seriously ill.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from enum import StrEnum

from carenet.demo import names
from carenet.demo.rand import Weighted, integer, pick
from carenet.registry.models import Category, PersonStatus, Relationship


class Situation(StrEnum):
    ORPHAN_INSTITUTIONAL = "orphan_institutional"
    ORPHAN_SCATTERED = "orphan_scattered"
    DE_FACTO = "de_facto"
    LEFT_BEHIND = "left_behind"
    MIGRANT = "migrant"
    ORDINARY = "ordinary"  # parents at home; in the registry for poverty, disability or guardianship


@dataclass(frozen=True)
class Rates:
    """Per-household probabilities, tuned so the city-wide shares match a district's real roll
    (left-behind ≈40% but only in villages, migrant ≈6% but only in city communities)."""

    orphan_institutional: float = 0.01
    orphan_scattered: float = 0.04
    de_facto: float = 0.10
    left_behind_in_village: float = 0.7
    migrant_in_city: float = 0.15
    poor_overlay: float = (
        0.04  # a left-behind or migrant family that also receives 低保 (orphans are paid as orphans)
    )
    disabled_overlay: float = 0.012  # a child with a disability in any kind of family
    second_child: float = 0.15  # ~15% of households have two children in the registry
    twins: float = 0.06  # share of two-child households that are twins: ~1.5% of children, as in births


@dataclass
class Member:
    name: str
    relationship: str
    is_guardian: bool
    birth: dt.date | None  # None: not a person (a welfare institution as guardian)
    sex: str
    status: str = PersonStatus.ALIVE
    since: dt.date | None = None
    until: dt.date | None = None
    evidence: str = ""
    phone: str = ""


@dataclass
class Membership:
    category: str
    start: dt.date
    reason: str
    end: dt.date | None = None
    end_reason: str = ""


@dataclass
class ChildPlan:
    name: str
    sex: str
    birth: dt.date
    categories: list[Membership] = field(default_factory=list)
    disability_kind: str = ""
    disability_level: str = ""
    has_id: bool = True
    archived: str = ""  # an ArchiveReason value, or "" while active
    archive_note: str = ""


@dataclass
class HouseholdPlan:
    situation: Situation
    ethnicity: str
    poor: bool
    children: list[ChildPlan]
    members: list[Member]
    origin: str = ""  # province of a migrant family's household registration


DISABILITY_KINDS = ("视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾")
# Conditions that make a parent unable to raise a child (民政部 事实无人抚养儿童 definition, 2019).
_UNABLE = (
    (PersonStatus.IMPRISONED, 30, "刑事判决书、入监通知书"),
    (PersonStatus.MISSING, 15, "公安机关出具的失联（满6个月）证明"),
    (PersonStatus.SEVERELY_DISABLED, 18, "残疾人证（一级/二级）"),
    (PersonStatus.SERIOUSLY_ILL, 17, "二级以上医院诊断证明（重特大疾病）"),
    (PersonStatus.REHAB, 5, "强制隔离戒毒决定书"),
    (PersonStatus.DECEASED, 15, "死亡证明"),
)
_STATUS_ZH = {
    PersonStatus.IMPRISONED: "服刑在押",
    PersonStatus.MISSING: "失联",
    PersonStatus.SEVERELY_DISABLED: "重度残疾",
    PersonStatus.SERIOUSLY_ILL: "患重病",
    PersonStatus.REHAB: "强制隔离戒毒",
    PersonStatus.DECEASED: "死亡",
}
_PRIMARY = {
    Situation.ORPHAN_INSTITUTIONAL: Category.ORPHAN_INSTITUTIONAL,
    Situation.ORPHAN_SCATTERED: Category.ORPHAN_SCATTERED,
    Situation.DE_FACTO: Category.DE_FACTO_UNSUPPORTED,
    Situation.LEFT_BEHIND: Category.LEFT_BEHIND,
    Situation.MIGRANT: Category.MIGRANT,
}
# What a child was before the current category, and why that ended (history rows).
_LEFT_HOME = (Category.LEFT_BEHIND, "父母均外出务工，由祖辈照料")
_BEFORE = {
    Category.ORPHAN_SCATTERED: (
        Category.DE_FACTO_UNSUPPORTED,
        "父亲患重病、母亲失联",
        "父母先后去世，转为孤儿认定",
    ),
    Category.ORPHAN_INSTITUTIONAL: (
        Category.DE_FACTO_UNSUPPORTED,
        "父亲患重病、母亲失联",
        "父母先后去世，转为孤儿集中供养",
    ),
    Category.DE_FACTO_UNSUPPORTED: (*_LEFT_HOME, "父亲服刑，转为事实无人抚养儿童认定"),
    Category.LEFT_BEHIND: (
        Category.POOR_FAMILY,
        "家庭享受城乡最低生活保障",
        "家庭收入超过低保标准，退出低保",
    ),
    Category.MIGRANT: (*_LEFT_HOME, "随父母来津生活，不再属于留守儿童"),
    Category.POOR_FAMILY: (*_LEFT_HOME, "父亲返乡就业，不再符合留守儿童条件"),
    Category.DISABLED: (Category.POOR_FAMILY, "家庭享受城乡最低生活保障", "家庭收入超过低保标准，退出低保"),
    Category.GUARDIANSHIP_LACKING: (
        Category.POOR_FAMILY,
        "家庭享受城乡最低生活保障",
        "家庭收入超过低保标准，退出低保",
    ),
}
_UNABLE_PICK = Weighted(_UNABLE, [w for _s, w, _e in _UNABLE])
_WHY_AT_HOME = Weighted(("poor", "disabled", "guardianship"), (74, 23, 3))
_DISABILITY_LEVEL = Weighted("1234", (20, 30, 30, 20))
_GUARDIAN_RELATION = Weighted(
    (
        Relationship.PATERNAL_GRANDMOTHER,
        Relationship.PATERNAL_GRANDFATHER,
        Relationship.MATERNAL_GRANDMOTHER,
        Relationship.MATERNAL_GRANDFATHER,
        Relationship.UNCLE_AUNT,
        Relationship.OTHER_RELATIVE,
    ),
    (40, 25, 15, 5, 10, 5),
)
_ARCHIVE = Weighted(
    (
        ("moved_away", "随家庭迁出本市"),
        ("resolved", "家庭情况好转，经评估退出"),
        ("duplicate", "与另一条记录重复"),
        ("deceased", "因病去世"),
        ("other", "其他原因"),
    ),
    (40, 35, 10, 5, 10),
)
MIGRANT_PROVINCES = ("河北省", "山东省", "河南省", "安徽省", "山西省", "内蒙古自治区")
_WORK_PLACES = (
    "北京市",
    "江苏省苏州市",
    "广东省深圳市",
    "上海市",
    "河北省廊坊市",
    "山东省青岛市",
    "浙江省宁波市",
    "天津市滨海新区",
)
_ILLNESSES = ("尿毒症", "恶性肿瘤", "白血病", "重度脑梗", "严重精神障碍")


def between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A uniformly random day in [start, end] (end before start collapses to start)."""
    span = (end - start).days
    return start if span <= 0 else start + dt.timedelta(days=integer(rng, 0, span))


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def phone(rng: random.Random) -> str:
    return f"1{pick(rng, '35789')}{int(rng.random() * 10**9):09d}"


class HouseholdMaker:
    """Draws households one after another from a single seeded `random.Random`."""

    def __init__(self, rng: random.Random, today: dt.date, rates: Rates) -> None:
        self.rng = rng
        self.today = today
        self.rates = rates
        self.oldest_birth = years_before(today, 18) + dt.timedelta(days=1)  # under 18 today

    # -- situation ------------------------------------------------------------------------------

    def situation(self, *, rural: bool, city_community: bool) -> Situation:
        r, rates = self.rng.random(), self.rates
        for situation, share in (
            (Situation.ORPHAN_INSTITUTIONAL, rates.orphan_institutional),
            (Situation.ORPHAN_SCATTERED, rates.orphan_scattered),
            (Situation.DE_FACTO, rates.de_facto),
        ):
            if r < share:
                return situation
            r -= share
        r = self.rng.random()
        if rural and r < rates.left_behind_in_village:
            return Situation.LEFT_BEHIND
        if city_community and r < rates.migrant_in_city:
            return Situation.MIGRANT
        return Situation.ORDINARY

    # -- the household --------------------------------------------------------------------------

    def make(
        self, *, rural: bool, city_community: bool, count: int, showcase: tuple[str, str] | None
    ) -> HouseholdPlan:
        rng = self.rng
        situation = self.situation(rural=rural, city_community=city_community)
        # A family at home is on the roll for a reason: mostly 低保, else a disabled child or a guardianship problem.
        why = _WHY_AT_HOME(rng) if situation is Situation.ORDINARY else ""
        ethnic = "汉族" if showcase else names.ethnicity(rng)
        family = names.family_names(rng, ethnic)
        if showcase:
            family = names.FamilyNames(surname=showcase[0][0], father_given=family.father_given)
        kids = self._children(family, count, showcase)
        event = between(rng, max(k.birth for k in kids), self.today - dt.timedelta(days=20))
        members = self._members(family, situation, kids, event)
        if why == "guardianship":
            self._guardianship_problem(family, members)
        elif (
            why == "poor" and rng.random() < 0.3
        ):  # 因病/因残致贫: a parent's illness or disability made the family poor
            self._poverty_cause(members, event)
        poor = why == "poor" or (
            situation in (Situation.LEFT_BEHIND, Situation.MIGRANT) and rng.random() < self.rates.poor_overlay
        )
        plan = HouseholdPlan(situation=situation, ethnicity=ethnic, poor=poor, children=kids, members=members)
        if situation is Situation.MIGRANT:
            plan.origin = pick(rng, MIGRANT_PROVINCES)
        self._classify(plan, event, why)
        return plan

    def _children(
        self, family: names.FamilyNames, count: int, showcase: tuple[str, str] | None
    ) -> list[ChildPlan]:
        rng = self.rng
        first_birth = between(rng, self.oldest_birth, self.today)
        births = [first_birth]
        if count == 2:
            births.append(
                first_birth if rng.random() < self.rates.twins else self._sibling_birth(first_birth)
            )
        kids = []
        for i, birth in enumerate(births):
            if i == 0 and showcase:
                name, sex = showcase
            else:
                sex = "M" if rng.random() < 0.52 else "F"
                name = family.child(rng, sex)
                if any(k.name == name for k in kids):
                    name = family.child(rng, sex)
            age_days = (self.today - birth).days
            # Newborns are often not yet registered: ~3% of the roll has no ID number.
            has_id = rng.random() >= (0.4 if age_days < 180 else 0.02)
            kids.append(ChildPlan(name=name, sex=sex, birth=birth, has_id=has_id))
        return kids

    def _sibling_birth(self, first: dt.date) -> dt.date:
        """A brother or sister 1-8 years apart, still under 18 and already born."""
        gap = dt.timedelta(days=integer(self.rng, 400, 3000))
        options = [d for d in (first + gap, first - gap) if self.oldest_birth <= d <= self.today]
        return (
            pick(self.rng, options)
            if options
            else first + dt.timedelta(days=1)
            if first < self.today
            else first
        )

    # -- family members -------------------------------------------------------------------------

    def _members(
        self, family: names.FamilyNames, situation: Situation, kids: list[ChildPlan], event: dt.date
    ) -> list[Member]:
        rng = self.rng
        eldest = min(k.birth for k in kids)
        father = Member(
            family.father(),
            Relationship.FATHER,
            False,
            eldest - dt.timedelta(days=integer(rng, 23 * 365, 38 * 365)),
            "M",
        )
        mother = Member(
            family.relative(rng, "F", elder=False, same_line=False),
            Relationship.MOTHER,
            False,
            eldest - dt.timedelta(days=integer(rng, 21 * 365, 36 * 365)),
            "F",
        )
        parents = [father, mother]
        self._parent_status(situation, parents, event, max(k.birth for k in kids))
        for parent in parents:
            if parent.status in (
                PersonStatus.ALIVE,
                PersonStatus.MIGRANT_WORKER,
                PersonStatus.SERIOUSLY_ILL,
                PersonStatus.SEVERELY_DISABLED,
            ):
                parent.phone = phone(rng) if rng.random() < 0.9 else ""
        guardian = self._guardian(family, situation, father, parents)
        return parents + ([guardian] if guardian else [])

    def _parent_status(
        self, situation: Situation, parents: list[Member], event: dt.date, youngest: dt.date
    ) -> None:
        rng = self.rng
        if situation in (Situation.ORPHAN_SCATTERED, Situation.ORPHAN_INSTITUTIONAL):
            for parent in parents:  # after the youngest child's birth: `event` is never before it
                self._set(parent, PersonStatus.DECEASED, between(rng, youngest, event), "死亡证明")
        elif situation is Situation.DE_FACTO:
            statuses = [self._unable() for _ in parents]
            if all(s[0] == PersonStatus.DECEASED for s in statuses):  # both dead would be an orphan
                statuses[0] = _UNABLE[0]
            for parent, (status, _w, evidence) in zip(parents, statuses, strict=True):
                self._set(
                    parent,
                    status,
                    between(rng, max(youngest, event - dt.timedelta(days=300)), event),
                    evidence,
                )
        elif situation is Situation.LEFT_BEHIND:
            for parent in parents:
                self._set(
                    parent, PersonStatus.MIGRANT_WORKER, event, f"外出务工（{pick(rng, _WORK_PLACES)}）"
                )
            if rng.random() < 0.2:  # one away, the other unable to look after the child
                self._set(
                    parents[integer(rng, 0, 1)],
                    PersonStatus.SERIOUSLY_ILL,
                    event,
                    f"诊断证明（{pick(rng, _ILLNESSES)}）",
                )

    def _unable(self) -> tuple[str, int, str]:
        return _UNABLE_PICK(self.rng)  # type: ignore[no-any-return]

    def _set(self, person: Member, status: str, since: dt.date, evidence: str) -> None:
        since = min(max(since, person.birth or since), self.today)
        person.status, person.since, person.evidence = status, since, evidence
        if status == PersonStatus.IMPRISONED:
            # Some releases fall in the next few months: the screening demo finds them.
            person.until = self.today + dt.timedelta(
                days=integer(self.rng, 10, 120) if self.rng.random() < 0.5 else integer(self.rng, 200, 3000)
            )
        elif status == PersonStatus.REHAB:
            person.until = since + dt.timedelta(days=730)

    def _guardian(
        self, family: names.FamilyNames, situation: Situation, father: Member, parents: list[Member]
    ) -> Member | None:
        rng = self.rng
        if situation is Situation.ORPHAN_INSTITUTIONAL:
            return Member("天津市儿童福利院", Relationship.OTHER, True, None, "", evidence="集中供养")
        if situation in (Situation.ORPHAN_SCATTERED, Situation.DE_FACTO, Situation.LEFT_BEHIND):
            return self._relative_guardian(family, father)
        carer = parents[1] if rng.random() < 0.6 else parents[0]
        carer.is_guardian = True
        return None

    def _relative_guardian(self, family: names.FamilyNames, father: Member) -> Member:
        rng = self.rng
        relation = _GUARDIAN_RELATION(rng)
        assert father.birth is not None
        if relation == Relationship.UNCLE_AUNT:
            sex, elder, birth = (
                pick(rng, "MF"),
                False,
                father.birth + dt.timedelta(days=integer(rng, -3000, 3000)),
            )
        else:
            sex = "M" if relation.endswith("grandfather") else "F"
            elder, birth = True, father.birth - dt.timedelta(days=integer(rng, 21 * 365, 32 * 365))
        same_line = relation in (Relationship.PATERNAL_GRANDFATHER, Relationship.UNCLE_AUNT) and sex == "M"
        name = family.relative(rng, sex, elder=elder, same_line=same_line)
        return Member(name, relation, True, birth, sex, phone=phone(rng))

    # -- categories -----------------------------------------------------------------------------

    def _classify(self, plan: HouseholdPlan, event: dt.date, why: str) -> None:
        rng = self.rng
        primary = _PRIMARY.get(plan.situation)
        for i, kid in enumerate(plan.children):
            start = min(self.today, max(event, kid.birth) + dt.timedelta(days=integer(rng, 15, 90)))
            if primary:
                kid.categories.append(Membership(primary, start, self._reason(primary, plan)))
            # The sibling of a disabled child is on the roll as a child of a family in difficulty.
            if plan.poor or (why == "disabled" and i > 0):
                kid.categories.append(
                    Membership(Category.POOR_FAMILY, start, self._reason(Category.POOR_FAMILY, plan))
                )
            if (why == "disabled" and i == 0) or rng.random() < self.rates.disabled_overlay:
                self._disability(kid, start)
            if why == "guardianship":
                kid.categories.append(
                    Membership(
                        Category.GUARDIANSHIP_LACKING,
                        start,
                        "村（居）走访发现父母长期不履行监护职责，已临时委托亲属照护",
                    )
                )
            self._history(kid)
            self._maybe_archive(kid)

    def _guardianship_problem(self, family: names.FamilyNames, members: list[Member]) -> None:
        """监护缺失: the mother left, the father does not look after the child; an aunt stands in."""
        father, mother = members[0], members[1]
        father.is_guardian = mother.is_guardian = False
        self._set(
            mother,
            PersonStatus.UNKNOWN,
            self.today - dt.timedelta(days=integer(self.rng, 60, 900)),
            "离家出走，去向不明",
        )
        mother.phone = ""
        assert father.birth is not None
        aunt = family.relative(self.rng, "F", elder=False, same_line=True)
        members.append(
            Member(
                aunt,
                Relationship.UNCLE_AUNT,
                True,
                father.birth + dt.timedelta(days=integer(self.rng, -2000, 2000)),
                "F",
                evidence="临时委托照护",
                phone=phone(self.rng),
            )
        )

    def _poverty_cause(self, members: list[Member], event: dt.date) -> None:
        parent = members[integer(self.rng, 0, 1)]
        if self.rng.random() < 0.6:
            self._set(parent, PersonStatus.SERIOUSLY_ILL, event, f"诊断证明（{pick(self.rng, _ILLNESSES)}）")
        else:
            self._set(parent, PersonStatus.SEVERELY_DISABLED, event, "残疾人证（二级）")

    def _disability(self, kid: ChildPlan, start: dt.date) -> None:
        kid.disability_kind = pick(self.rng, DISABILITY_KINDS)
        kid.disability_level = _DISABILITY_LEVEL(self.rng)
        kid.categories.append(
            Membership(
                Category.DISABLED, start, f"持残疾人证（{kid.disability_kind}{kid.disability_level}级）"
            )
        )

    def _reason(self, category: str, plan: HouseholdPlan) -> str:
        if category == Category.DE_FACTO_UNSUPPORTED:
            father, mother = plan.members[0], plan.members[1]
            return f"父亲{_STATUS_ZH[father.status]}、母亲{_STATUS_ZH[mother.status]}，经村（居）核实、街道审核、区民政局认定"
        return {
            Category.ORPHAN_SCATTERED: "父母双亡（死亡证明已核实），由亲属抚养",
            Category.ORPHAN_INSTITUTIONAL: "父母双亡，由市儿童福利院集中供养",
            Category.LEFT_BEHIND: "父母均外出务工（或一方外出、另一方无监护能力），由祖辈照料",
            Category.POOR_FAMILY: "家庭享受城乡最低生活保障",
            Category.MIGRANT: f"随父母来津务工，户籍在{plan.origin or '外省'}",
        }[category]

    def _history(self, kid: ChildPlan) -> None:
        """~5% had an earlier membership that ended when the family's situation changed."""
        if self.rng.random() >= 0.05 or not kid.categories:
            return
        current = kid.categories[0]
        end = current.start - dt.timedelta(days=1)
        if end <= kid.birth + dt.timedelta(days=60):
            return
        begin = between(self.rng, kid.birth, end - dt.timedelta(days=30))
        category, reason, end_reason = _BEFORE[current.category]
        kid.categories.insert(0, Membership(category, begin, reason, end=end, end_reason=end_reason))

    def _maybe_archive(self, kid: ChildPlan) -> None:
        """~2% of records are archived: moved away, no longer in difficulty, a duplicate, rarely a death."""
        if self.rng.random() >= 0.02:
            return
        reason, note = _ARCHIVE(self.rng)
        kid.archived, kid.archive_note = reason, note
        for m in kid.categories:
            if m.end is None:
                m.end = max(m.start, between(self.rng, m.start, self.today))
                m.end_reason = note
