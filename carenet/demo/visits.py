"""Visit history for the demo city: home visits, the problems they raised, reviews, and each child's schedule.

Every active child with a scheduled category is visited by its village's director at about its rule's
frequency over the last HISTORY_DAYS: ~85% of visits are on time, ~7% of children are overdue today, ~3% were
never visited. Answers vary (living situation, school, guardian, health, notes in Chinese); a visit now and
then raises a problem (督办) that has since moved on — opened, worked on, resolved, verified, closed, or
overdue and escalated. Recent visits mostly await review; older ones were checked (a few sent back).

The schedule rows are computed here with the very rule the application uses (schedule.compute_due on the
child's open categories, last visit and the rules in force), so they equal what schedule.refresh() would
write. Like the population, the city is generated district by district with one random stream per district
(the same seed gives the same visits whatever the number of worker processes), and written with COPY on
PostgreSQL (bulk INSERTs elsewhere), indexes built after the load.

`extend_history()` adds older visits before each child's first one (the visits benchmark uses it to reach
ten million visits); it leaves the schedule alone, since the last visit does not change.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from carenet.core.bulk import TableLoader, indexes_after_load, next_pk, reset_sequences
from carenet.demo.population import worker_count
from carenet.demo.rand import Weighted, integer, pick
from carenet.problems.models import Notification, Problem, ProblemAction
from carenet.registry.models import CategoryMembership, Child, ChildStatus
from carenet.visits import tally
from carenet.visits.models import Visit, VisitSchedule
from carenet.visits.schedule import Rules, compute_due
from carenet.visits.services import VISIT_FIELDS

HISTORY_DAYS = 120  # how far back the demo's visit history goes

VISIT_COLUMNS = (
    "id",
    "client_id",
    "child_id",
    "division_code",
    "visited_on",
    "recorded_by_id",
    "received_at",
    "body_hash",
    *VISIT_FIELDS,  # the answers, in the order the service knows them
    "due_on",
    "on_time",
    "review_state",
    "reviewed_by_id",
    "reviewed_at",
    "review_comment",
)
SCHEDULE_COLUMNS = ("child_id", "division_code", "interval_days", "category", "last_visit_on", "next_due_on")
PROBLEM_COLUMNS = (
    "id",
    "child_id",
    "visit_id",
    "division_code",
    "category",
    "severity",
    "description",
    "owner_kind",
    "owner_department",
    "state",
    "level",
    "deadline",
    "raised_by_id",
    "raised_at",
    "escalated_at",
    "resolved_at",
    "closed_at",
    "updated_at",
)
ACTION_COLUMNS = ("problem_id", "kind", "actor_id", "from_state", "to_state", "text", "at")
NOTIFICATION_COLUMNS = ("recipient_id", "problem_id", "text", "created_at", "read_at")

TZ_OFFSET = dt.timedelta(hours=8)  # visits happen in Tianjin's daytime (Asia/Shanghai has no DST)

# -- answer pools ---------------------------------------------------------------------------------------

_LIVING = Weighted(("good", "adequate", "difficult", "unsafe"), (56, 32.6, 11, 0.4))
_LIVING_NOTES = {
    "good": (
        "住房整洁，生活用品齐全",
        "居住环境良好，饮食正常",
        "家中干净整洁，孩子有独立的学习桌",
        "新修缮的住房，采光通风良好",
        "",
        "",
    ),
    "adequate": (
        "住房较旧但基本安全",
        "生活条件一般，基本需求能够满足",
        "冬季取暖条件一般，已提醒注意保暖",
        "家中物品摆放较乱，已提醒监护人整理",
        "",
    ),
    "difficult": (
        "房屋漏雨，需要修缮",
        "家庭收入低，生活较为困难",
        "祖辈年迈多病，照料能力有限",
        "冬季取暖困难，煤火炉存在隐患",
        "孩子衣物单薄，缺少过冬棉衣",
    ),
    "unsafe": (
        "房屋墙体开裂，存在倒塌危险",
        "孩子长期独自居住，无人照料",
        "家中电线老化裸露，存在火灾隐患",
    ),
}
_MET_OTHERS = ("", "", "", "", "祖父母", "奶奶", "外婆", "邻居", "村（居）委会委员", "班主任", "姑姑")
_GUARDIANSHIP_CHANGES = (
    "父亲外出务工，委托祖父照料",
    "母亲返乡就业，恢复由母亲照料",
    "祖母住院，暂由姑姑照料",
    "父亲刑满释放，回家照料孩子",
)
_HEALTH = (
    "身体健康",
    "身体健康",
    "良好",
    "良好",
    "近期感冒，已好转",
    "视力下降，建议配镜",
    "牙齿需要治疗",
    "",
)
_HEALTH_DISABLED = ("按时参加康复训练", "康复训练效果明显", "康复训练中断一个月，已督促恢复")
_SAFETY = (
    "放学后常独自在河边玩耍，已进行防溺水教育",
    "家中存在用电安全隐患，已提醒监护人",
    "反映在校受到同学欺凌，已联系学校",
    "夜间常独自在家",
)
_NEEDS = (
    "",
    "",
    "",
    "需要学习用品",
    "希望提供课业辅导",
    "申请冬季取暖补贴",
    "申请助学金",
    "需要心理疏导",
    "希望协助办理低保",
    "希望参加暑期托管班",
)
_NOTES = (
    "孩子性格开朗，学习成绩中等。",
    "与孩子单独交谈，情绪稳定。",
    "已告知监护人有困难及时联系儿童主任。",
    "孩子近期学习积极性有所提高。",
    "送去学习用品一套。",
    "提醒监护人注意防溺水、防火安全。",
    "孩子每周与外出务工的父母视频通话。",
    "孩子较内向，下次走访继续关注情绪状况。",
    "监护人反映孩子沉迷手机，已给予教育建议。",
    "宣传了未成年人保护法和救助热线。",
    "",
)
_RETURN_COMMENTS = (
    "请补充监护人联系方式",
    "走访记录过于简单，请补充孩子的学习情况",
    "未见儿童本人，请尽快补访",
    "居住情况与上次记录差异较大，请核实",
)

# (category, severity, description, owner kind, department)
_PROBLEMS = {
    "living": (
        ("living", "serious", "房屋漏雨严重，需要协调修缮", "street", ""),
        ("living", "general", "冬季取暖设施损坏，需要更换", "street", ""),
        ("living", "general", "缺少过冬衣物和被褥", "street", ""),
    ),
    "unsafe": (
        ("safety", "critical", "房屋墙体开裂，存在倒塌危险，需立即转移安置", "street", ""),
        ("safety", "critical", "孩子长期独自居住，无人照料", "department", "区民政局"),
        ("safety", "serious", "家中电线老化，存在火灾隐患", "street", ""),
    ),
    "safety": (
        ("safety", "serious", "孩子放学后常独自在河边玩耍，需落实看护", "street", ""),
        ("safety", "general", "家中用电存在安全隐患，需协助整改", "street", ""),
        ("safety", "serious", "孩子反映在校受到同学欺凌，需联系学校处理", "department", "区教育局"),
        ("safety", "critical", "孩子夜间常独自在家，存在安全风险", "street", ""),
    ),
    "guardianship": (
        ("guardianship", "serious", "监护人年迈多病，无力照料，需落实委托照护", "street", ""),
        ("guardianship", "critical", "孩子反映遭受家庭暴力", "department", "公安派出所"),
    ),
    "schooling": (
        ("schooling", "serious", "孩子连续两周未到校，有辍学风险", "department", "区教育局"),
        ("schooling", "general", "需要课业辅导，成绩明显下滑", "street", ""),
    ),
    "health": (
        ("health", "general", "孩子需要眼科复查，家庭无力承担费用", "department", "区卫生健康委员会"),
        ("health", "serious", "慢性病用药中断，需协调医疗救助", "department", "区医疗保障局"),
    ),
    "benefits": (
        ("benefits", "general", "低保金未按时发放", "department", "区民政局"),
        ("benefits", "serious", "孤儿基本生活费未到账", "department", "区民政局"),
        ("other", "general", "户籍登记信息有误，需协助更正", "guardian", ""),
    ),
}
_PROBLEM_KINDS = Weighted(("living", "guardianship", "schooling", "health", "benefits"), (30, 15, 20, 20, 15))
_NOTE_TEXTS = ("已电话联系相关部门", "已上门核实情况", "协调会已召开，明确责任分工", "监护人已知悉并配合")
_ESCALATE_TEXT = {1: "逾期未办结，升级至区级督办", 2: "区级督办逾期，升级至市级督办"}
_LEVEL_NAMES = {1: "区级", 2: "市级"}
_CATEGORY_NAMES = {
    "guardianship": "监护",
    "schooling": "就学",
    "health": "健康",
    "safety": "安全",
    "living": "生活",
    "benefits": "待遇保障",
    "other": "其他",
}


def _uuid4_hex(rng: random.Random) -> str:
    """A random (version 4) UUID as the 32 hex digits both backends accept, from the seeded stream."""
    bits = rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET
    return f"{bits:032x}"


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)

# -- planning -----------------------------------------------------------------------------------------------


@dataclass
class Staff:
    """Who records, reviews and handles in one district: user ids by division code."""

    directors: dict[str, int]  # village code -> its director
    supervisors: dict[str, int]  # street code -> its supervisor
    specialist: int | None  # the district's specialist
    city: int | None  # the city administrator


@dataclass
class VisitUnit:
    """One district's children and everything needed to generate their visits, picklable for a worker."""

    district: str
    seed: str
    today: dt.date
    now: dt.datetime
    since: dt.date  # no visit before this day
    intervals: dict[str, int]  # the rules in force for this district
    staff: Staff
    # (child id, village code, birth date, grade, disabled, open categories as ((category, start), ...),
    #  earliest stored visit or None)
    kids: list[tuple[int, str, dt.date, str, bool, tuple[tuple[str, dt.date], ...], dt.date | None]]
    extra: float = 0.0  # extend_history: visits to add before each child's first one (mean)


@dataclass
class VisitRows:
    visits: list[tuple[object, ...]] = field(default_factory=list)  # without the id
    schedules: list[tuple[object, ...]] = field(default_factory=list)
    problems: list[tuple[object, ...]] = field(default_factory=list)  # id and visit_id as local indexes
    actions: list[tuple[object, ...]] = field(default_factory=list)  # problem_id as a local index
    notifications: list[tuple[object, ...]] = field(default_factory=list)  # problem_id as a local index


@dataclass
class VisitStats:
    visits: int = 0
    schedules: int = 0
    problems: int = 0
    actions: int = 0
    notifications: int = 0


def _staff_by_district(users: dict[str, int]) -> dict[str, Staff]:
    out: dict[str, Staff] = {}
    city = users.get("city")

    def get(district: str) -> Staff:
        if district not in out:
            out[district] = Staff({}, {}, users.get(f"district-{district}"), city)
        return out[district]

    for username, pk in users.items():
        kind, _, code = username.partition("-")
        if kind == "village" and len(code) == 12:
            get(code[:6]).directors[code] = pk
        elif kind == "street" and len(code) == 9:
            get(code[:6]).supervisors[code] = pk
    return out


def _units(
    *,
    users: dict[str, int],
    seed: str,
    today: dt.date,
    since: dt.date,
    first_visits: dict[int, dt.date] | None = None,
    extra: float = 0.0,
) -> list[VisitUnit]:
    """Read the active children and their open categories, grouped by district in code order."""
    rules = Rules()
    staff = _staff_by_district(users)
    categories: dict[int, list[tuple[str, dt.date]]] = defaultdict(list)
    for child_id, category, start in (
        CategoryMembership.objects.filter(end_date__isnull=True, child__status=ChildStatus.ACTIVE)
        # refresh()'s order (the model's): compute_due keeps the first of equally strict categories
        .order_by("-start_date", "-id")
        .values_list("child_id", "category", "start_date")
        .iterator(chunk_size=20_000)
    ):
        categories[child_id].append((category, start))
    by_district: dict[str, list[tuple]] = defaultdict(list)  # type: ignore[type-arg]
    for child_id, code, birth, grade, disability in (
        Child.objects.filter(status=ChildStatus.ACTIVE)
        .order_by("id")
        .values_list("id", "division_code", "birth_date", "grade", "disability_kind")
        .iterator(chunk_size=20_000)
    ):
        cats = categories.get(child_id)
        if not cats:
            continue
        first = first_visits.get(child_id) if first_visits is not None else None
        if first_visits is not None and first is None:
            continue  # extending history: only children that have visits
        by_district[code[:6]].append((child_id, code, birth, grade, bool(disability), tuple(cats), first))
    now = timezone.now()
    return [
        VisitUnit(
            district=district,
            seed=f"{seed}:{district}",
            today=today,
            now=now,
            since=since,
            intervals=rules.intervals(district),
            staff=staff.get(district, Staff({}, {}, None, None)),
            kids=kids,
            extra=extra,
        )
        for district, kids in sorted(by_district.items())
    ]


# -- generation (pure: no database) -------------------------------------------------------------------------


def _location(code: str, rng: random.Random) -> tuple[float, float, int]:
    """A point near the village: its place derived from its code (Tianjin spans ~38.6–40.2°N, 116.7–118.0°E)."""
    h = int(code[-7:]) * 2654435761  # stable across processes (unlike hash() of a str)
    lat = 38.65 + (h % 1000) / 1000 * 1.5 + (rng.random() - 0.5) * 0.004
    lon = 116.75 + (h // 1000 % 1000) / 1000 * 1.2 + (rng.random() - 0.5) * 0.004
    return round(lat, 6), round(lon, 6), integer(rng, 5, 60)


class VisitMaker:
    def __init__(self, unit: VisitUnit, rng: random.Random) -> None:
        self.unit = unit
        self.rng = rng
        self.rows = VisitRows()
        self.today = unit.today.toordinal()
        self.now = unit.now
        self.since = unit.since.toordinal()
        self.deadline_days = settings.PROBLEM_DEADLINE_DAYS

    # One child ----------------------------------------------------------------------------------------

    def child(self, kid: tuple) -> None:  # type: ignore[type-arg]
        child_id, code, birth, grade, disabled, cats, first = kid
        unit, rng = self.unit, self.rng
        due = compute_due(cats, None, unit.intervals)
        if due is None:
            return  # no open category with a visit rule: not scheduled
        if first is not None:
            self._older(kid, first.toordinal(), due.interval_days)
            return
        interval = due.interval_days
        opened = min(start for category, start in cats if unit.intervals.get(category)).toordinal()
        floor = max(opened, birth.toordinal())  # no visit before the category opened
        days = self._days(interval, max(self.since, floor))
        previous = None
        if days:
            # The visit before the window (not generated) set the first generated one's due date.
            before = days[0] - interval + integer(rng, 0, interval // 6)
            previous = dt.date.fromordinal(before) if before >= floor else None
        for day in days:
            visited = dt.date.fromordinal(day)
            due_then = compute_due(cats, previous, unit.intervals)
            self._visit(kid, visited, due_then.next_due_on if due_then else None)
            previous = visited
        last = previous if days else None
        now_due = compute_due(cats, last, unit.intervals)
        assert now_due is not None
        self.rows.schedules.append(
            (child_id, code, now_due.interval_days, now_due.category, last, now_due.next_due_on)
        )

    def _days(self, interval: int, earliest: int) -> list[int]:
        """Visit days (ordinals, oldest first) no earlier than `earliest`: ~3% of children never visited,
        ~5% overdue today, the others visited within their interval; ~20% of the gaps run late."""
        rng, today = self.rng, self.today
        r = rng.random()
        if r < 0.03:
            return []
        overdue = r < 0.08
        last = (
            today - interval - integer(rng, 1, min(interval, 40))
            if overdue
            else today - integer(rng, 0, interval - 1)
        )
        if last < earliest:
            if overdue or earliest > today:
                return []
            last = integer(rng, earliest, today)  # the category opened recently: visited since
        days = [last]
        while True:
            late = rng.random() < 0.2
            gap = interval + integer(rng, 1, 12) if late else interval - integer(rng, 0, interval // 6)
            if days[-1] - gap < earliest:
                break
            days.append(days[-1] - gap)
        days.reverse()
        return days

    def _older(self, kid: tuple, first: int, interval: int) -> None:  # type: ignore[type-arg]
        """extend_history: about `extra` visits before the child's first stored one, none before age one."""
        rng = self.rng
        extra = self.unit.extra
        n = int(extra) + (1 if rng.random() < extra % 1 else 0)
        floor = kid[2].toordinal() + 365
        days = []
        day = first
        for _ in range(n):
            late = rng.random() < 0.12
            day -= interval + integer(rng, 1, 12) if late else interval - integer(rng, 0, interval // 6)
            if day < floor:
                break
            days.append(day)
        days.reverse()
        for i, day in enumerate(days):
            due_on = dt.date.fromordinal(days[i - 1] + interval) if i else None
            self._visit(kid, dt.date.fromordinal(day), due_on, problems=False)

    # One visit ----------------------------------------------------------------------------------------

    def _visit(
        self,
        kid: tuple,  # type: ignore[type-arg]
        visited: dt.date,
        due_on: dt.date | None,
        *,
        problems: bool = True,
    ) -> None:
        child_id, code, birth, grade, disabled, _cats, _first = kid
        rng, staff = self.rng, self.unit.staff
        director = staff.directors.get(code)
        if director is None:
            return  # a village without a director account (never in the demo city)
        received = dt.datetime.combine(visited, dt.time(integer(rng, 8, 17), integer(rng, 0, 59)), dt.UTC)
        received -= TZ_OFFSET  # local daytime, stored in UTC
        if rng.random() < 0.1:  # recorded offline, sent when back in coverage
            received += dt.timedelta(days=integer(rng, 1, 3), hours=integer(rng, 0, 5))
        received = min(received, self.now)
        living = _LIVING(rng)
        age = (visited - birth).days // 365
        school_age = 6 <= age < 18
        attending = None
        enrolled = None
        dropout = False
        if school_age:
            enrolled = rng.random() >= 0.005
            attending = enrolled and rng.random() >= 0.02
            dropout = enrolled and (not attending or rng.random() < 0.01)
        guardian_met = rng.random() < 0.8
        safety = pick(rng, _SAFETY) if rng.random() < 0.01 else ""
        lat, lon, accuracy = _location(code, rng) if rng.random() < 0.75 else (None, None, None)
        review_state, reviewer, reviewed_at, comment = self._review(visited, received, code)
        self.rows.visits.append(
            (
                _uuid4_hex(rng),
                child_id,
                code,
                visited,
                director,
                received,
                f"{rng.getrandbits(256):064x}",  # generated: there was no device body to hash
                rng.random() < 0.97,
                guardian_met,
                pick(rng, _MET_OTHERS),
                living,
                pick(rng, _LIVING_NOTES[living]),
                (guardian_met or rng.random() < 0.5) if rng.random() < 0.9 else None,
                rng.random() < (0.95 if living in ("good", "adequate") else 0.6),
                pick(rng, _GUARDIANSHIP_CHANGES) if rng.random() < 0.01 else "",
                enrolled,
                attending,
                grade if school_age else "",
                dropout,
                pick(rng, _HEALTH_DISABLED) if disabled and rng.random() < 0.6 else pick(rng, _HEALTH),
                safety,
                pick(rng, _NEEDS),
                pick(rng, _NOTES),
                lat,
                lon,
                accuracy,
                due_on,
                due_on is None or visited <= due_on,
                review_state,
                reviewer,
                reviewed_at,
                comment,
            )
        )
        if not problems:
            return
        index = len(self.rows.visits) - 1
        if living == "unsafe":
            self._problem(child_id, code, index, received, director, "unsafe")
        elif safety and rng.random() < 0.25:
            self._problem(child_id, code, index, received, director, "safety")
        elif dropout and rng.random() < 0.15:
            self._problem(child_id, code, index, received, director, "schooling")
        elif rng.random() < (0.03 if living == "difficult" else 0.0005):
            kind = "living" if living == "difficult" and rng.random() < 0.4 else _PROBLEM_KINDS(rng)
            self._problem(child_id, code, index, received, director, kind)

    def _review(
        self, visited: dt.date, received: dt.datetime, code: str
    ) -> tuple[str, int | None, dt.datetime | None, str]:
        """Most recent visits still await review; older ones were checked by the street, a few sent back."""
        rng = self.rng
        age = self.today - visited.toordinal()
        pending = 0.85 if age <= 14 else 0.4 if age <= 30 else 0.06
        reviewer = self.unit.staff.supervisors.get(code[:9])
        if reviewer is None or rng.random() < pending:
            return "pending", None, None, ""
        at = received + dt.timedelta(days=integer(rng, 0, 9), hours=integer(rng, 1, 8))
        if at > self.now:
            return "pending", None, None, ""
        if rng.random() < 0.06:
            return "returned", reviewer, at, pick(rng, _RETURN_COMMENTS)
        return "checked", reviewer, at, ""

    # One problem --------------------------------------------------------------------------------------

    def _problem(
        self, child_id: int, code: str, visit: int, raised: dt.datetime, director: int, kind: str
    ) -> None:
        rng, staff, rows = self.rng, self.unit.staff, self.rows
        category, severity, description, owner_kind, department = pick(rng, _PROBLEMS[kind])
        local_day = (raised + TZ_OFFSET).date()
        deadline = local_day + dt.timedelta(days=self.deadline_days[severity])
        supervisor = staff.supervisors.get(code[:9]) or director
        index = len(rows.problems)
        actions = [("raise", director, "", "open", "", raised)]
        state, level = "open", 0
        escalated = resolved = closed = None
        at = raised
        overdue = deadline < self.unit.today  # the first deadline passed

        def step(kind: str, actor: int | None, to: str, text: str, days: int) -> None:
            nonlocal state, at
            at = min(self.now, at + dt.timedelta(days=days, hours=integer(rng, 1, 6)))
            actions.append((kind, actor, state, to, text, at))
            state = to

        # How far the problem got: older ones mostly closed; some overdue ones still open (and escalated).
        span = max(1, (self.unit.today - local_day).days)
        r = rng.random()
        if span > 3 and r < 0.75:
            step("start", supervisor, "in_progress", "", integer(rng, 0, 2))
        if overdue and r >= 0.55:
            # Not resolved in time: escalated a level (with a fresh deadline) each time a deadline passed,
            # as the escalation job does; some still wait for the job, so it has work.
            while level < 2 and deadline < self.unit.today and rng.random() < 0.6:
                day = deadline + dt.timedelta(days=1)
                level += 1
                at = max(at, min(self.now, dt.datetime.combine(day, dt.time(1), dt.UTC)))
                escalated = at
                deadline = day + dt.timedelta(days=self.deadline_days[severity])
                actions.append(("escalate", None, state, state, _ESCALATE_TEXT[level], at))
                self._notify(index, level, category, at)
        elif state == "in_progress" and rng.random() < 0.8:
            if rng.random() < 0.5:
                step("note", supervisor, "in_progress", pick(rng, _NOTE_TEXTS), integer(rng, 0, 3))
            days = integer(rng, 1, max(1, (deadline - local_day).days))
            if (raised + dt.timedelta(days=days)) < self.now:
                step("resolve", supervisor, "resolved", "已协调解决", days)
                resolved = at
                if span > days + 3 and rng.random() < 0.85:
                    step("verify", director, "verified", "回访确认问题已解决", integer(rng, 1, 4))
                    if rng.random() < 0.85:
                        step("close", supervisor, "closed", "", integer(rng, 0, 3))
                        closed = at
        if severity == "critical" and staff.specialist is not None:
            rows.notifications.append(
                (
                    staff.specialist,
                    index,
                    f"发现紧急问题（{_CATEGORY_NAMES[category]}），请立即处理。",
                    raised,
                    raised + dt.timedelta(hours=integer(rng, 1, 30)) if rng.random() < 0.7 else None,
                )
            )
        rows.problems.append(
            (
                child_id,
                visit,
                code,
                category,
                severity,
                description,
                owner_kind,
                department,
                state,
                level,
                deadline,
                director,
                raised,
                escalated,
                resolved,
                closed,
                at,
            )
        )
        rows.actions.extend((index, *action) for action in actions)

    def _notify(self, problem: int, level: int, category: str, at: dt.datetime) -> None:
        staff = self.unit.staff
        recipient = staff.specialist if level == 1 else staff.city
        if recipient is not None:
            self.rows.notifications.append(
                (
                    recipient,
                    problem,
                    f"问题（{_CATEGORY_NAMES[category]}）逾期未办结，已升级为{_LEVEL_NAMES[level]}督办。",
                    at,
                    None,
                )
            )


def generate_unit(unit: VisitUnit) -> VisitRows:
    """One district's rows. Runs in a worker process for big builds: touches no database."""
    rng = random.Random(unit.seed)
    maker = VisitMaker(unit, rng)
    for kid in unit.kids:
        maker.child(kid)
    return maker.rows


def _results(units: list[VisitUnit], workers: int) -> Iterator[VisitRows]:
    if workers < 2:
        yield from map(generate_unit, units)
        return
    # Fork, as population does: workers inherit the configured Django and never touch the connection.
    with multiprocessing.get_context("fork").Pool(min(workers, len(units))) as pool:
        yield from pool.imap(generate_unit, units)


# -- writing ------------------------------------------------------------------------------------------------


class _Writer:
    """Numbers the rows of each district and writes them; visit and problem ids follow the table's own."""

    def __init__(self, *, schedules: bool) -> None:
        self.visits = TableLoader(Visit, VISIT_COLUMNS)
        self.schedules = TableLoader(VisitSchedule, SCHEDULE_COLUMNS) if schedules else None
        self.problems = TableLoader(Problem, PROBLEM_COLUMNS)
        self.actions = TableLoader(ProblemAction, ACTION_COLUMNS)
        self.notifications = TableLoader(Notification, NOTIFICATION_COLUMNS)
        self.next_visit = next_pk(Visit)
        self.next_problem = next_pk(Problem)

    def write(self, rows: VisitRows) -> None:
        v, p = self.next_visit, self.next_problem
        self.visits.extend([(v + i, *row) for i, row in enumerate(rows.visits)])
        if self.schedules is not None:
            self.schedules.extend(rows.schedules)
        self.problems.extend([(p + i, row[0], v + row[1], *row[2:]) for i, row in enumerate(rows.problems)])
        self.actions.extend([(p + row[0], *row[1:]) for row in rows.actions])
        self.notifications.extend([(row[0], p + row[1], *row[2:]) for row in rows.notifications])
        self.next_visit += len(rows.visits)
        self.next_problem += len(rows.problems)

    def finish(self) -> VisitStats:
        loaders = [self.visits, self.schedules, self.problems, self.actions, self.notifications]
        for loader in loaders:
            if loader is not None:
                loader.flush()
        reset_sequences(Visit, Problem, ProblemAction, Notification)
        return VisitStats(
            self.visits.written,
            self.schedules.written if self.schedules else 0,
            self.problems.written,
            self.actions.written,
            self.notifications.written,
        )


def populate_visits(
    *,
    users: dict[str, int],
    seed: str,
    today: dt.date,
    log: Callable[[str], None] = lambda _msg: None,
    workers: int | None = None,
    history_days: int = HISTORY_DAYS,
) -> VisitStats:
    """The demo's visits, problems and schedules for every active child, into empty tables (within the
    caller's transaction). `users`: user id by demo username (village-…, street-…, district-…, city)."""
    started = time.monotonic()
    units = _units(users=users, seed=seed, today=today, since=today - dt.timedelta(days=history_days))
    total = sum(len(u.kids) for u in units)
    writer = _Writer(schedules=True)
    with indexes_after_load(Visit, VisitSchedule, Problem, ProblemAction, Notification):
        for rows in _results(units, worker_count(total, workers)):
            writer.write(rows)
        stats = writer.finish()
    tally.compact()  # the schedule's triggers appended a change per batch (PostgreSQL) or per child (SQLite)
    log(
        f"  visits {stats.visits:,}, schedules {stats.schedules:,}, problems {stats.problems:,} "
        f"({time.monotonic() - started:.1f} s)"
    )
    return stats


def history_units(*, users: dict[str, int], seed: str, today: dt.date, extra: float) -> list[VisitUnit]:
    """extend_history()'s work, one unit per district: children with visits and their first visit day."""
    from django.db.models import Min

    first = dict(
        Visit.objects.values("child_id").annotate(first=Min("visited_on")).values_list("child_id", "first")
    )
    return _units(users=users, seed=seed, today=today, since=today, first_visits=first, extra=extra)


def extend_history(units: list[VisitUnit], *, workers: int | None = None) -> VisitStats:
    """Older visits before each child's first one (about `unit.extra` per child), reviewed long ago and
    raising no new problems. Within the caller's transaction; the schedule is unchanged."""
    writer = _Writer(schedules=False)
    total = sum(len(u.kids) for u in units)
    for rows in _results(units, worker_count(total, workers)):
        writer.write(rows)
    return writer.finish()


def demo_users() -> dict[str, int]:
    """User id by username for the demo's place accounts (what populate_visits needs)."""
    from carenet.accounts.models import User

    return dict(User.objects.values_list("username", "pk"))
