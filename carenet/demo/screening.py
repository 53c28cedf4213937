"""Department lists for the demo city, written as the departments send them, with cases planted in them.

Read from the demo registry: parents who died, went to prison, came out or were certified severely disabled;
a registered child who died; children dropping out; a registered orphan's "dead" parent alive on the insurance
roll; minimum-allowance families with children nobody registered; and whole households, found only through the
household-register extract, whose parents now make their children orphans or de-facto unsupported. Around them,
people who are in no registry and near-misses (a level-3 disability, a parent cancelled for moving away). The
records are copied as departments copy them: typos in ID numbers, 15-digit IDs, homophone names, other date forms.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import polars as pl

from carenet.demo import names
from carenet.demo.idgen import compose
from carenet.linkage.normalise import split_name
from carenet.linkage.synth import HOMOPHONES
from carenet.linkage.synth.damage import homophone_of
from carenet.registry.models import Child, ChildStatus, FamilyMember, PersonStatus, Relationship

DEPARTMENTS = {
    "death": "市公安局（死亡人员）",
    "hukou_cancel": "市公安局（户籍注销）",
    "prison_in": "市司法局（收监）",
    "prison_out": "市司法局（刑满释放）",
    "disability": "市残联",
    "dibao": "市民政局社会救助处",
    "school": "市教育局",
    "insurance": "市医保局",
    "household": "市公安局（户籍）",
}


def _fmt_date(rng: random.Random, day: dt.date) -> str:
    return rng.choice(
        [
            day.isoformat(),
            f"{day.year}/{day.month}/{day.day}",
            day.strftime("%Y%m%d"),
            f"{day.year}年{day.month}月{day.day}日",
        ]
    )


def _damage_name(rng: random.Random, name: str) -> str:
    """Three names in ten copied with a homophone (张伟 → 张玮), as linkage's synthetic lists damage them."""
    if rng.random() < 0.3 and any(c in HOMOPHONES for c in name):
        surname, _given = split_name(name)
        # Uyghur names (阿依古丽·买买提) have no surname in front: every character is the given name's.
        return homophone_of(name, 0 if surname is None or "·" in name else len(surname), rng)
    return name


def _damage_id(rng: random.Random, number: str) -> str:
    roll = rng.random()
    if not number or roll < 0.6:
        return number
    if roll < 0.75:
        i = rng.randrange(6, 17)
        return number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
    if roll < 0.9 and number.startswith(("19",), 6):
        return number[:6] + number[8:17]  # the old 15-digit form
    return ""


def _adult(rng: random.Random, region: str, today: dt.date, seq: int) -> tuple[str, str, str, dt.date]:
    sex = rng.choice("MF")
    birth = today.replace(year=today.year - rng.randint(25, 70)) - dt.timedelta(days=rng.randint(0, 300))
    given = names.adult_given(rng, sex, elder=False)
    return names.surname(rng) + given, sex, compose(region, birth, seq + (sex == "M")), birth


def department_lists(directory: Path, today: dt.date, seed: int = 11) -> list[tuple[str, Path, str]]:
    """Write the demo's lists into `directory`: (kind, path, department) in import order."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    month_ago = today - dt.timedelta(days=30)
    active = Child.objects.filter(
        status=ChildStatus.ACTIVE, birth_date__gt=today.replace(year=today.year - 17)
    )
    parents = list(
        FamilyMember.objects.filter(
            child__in=active,
            relationship__in=[Relationship.FATHER, Relationship.MOTHER],
            status=PersonStatus.ALIVE,
            id_number_hash__isnull=False,
        )
        .select_related("child")
        .order_by("id")[:4000]
    )
    rng.shuffle(parents)
    used: set[int] = set()

    def take(n: int) -> list[FamilyMember]:
        out = []
        for m in parents:
            if len(out) == n:
                break
            if m.child_id in used:
                continue
            used.add(m.child_id)
            out.append(m)
        return out

    def person_row(m: FamilyMember, **extra: str) -> dict:
        number = m.id_number
        damaged = _damage_id(rng, number)
        return {
            "姓名": _damage_name(rng, m.name),
            "性别": "男" if m.relationship == Relationship.FATHER else "女",
            "公民身份号码": damaged,
            # A list without the ID number gives the birth date (the departments' rule for such rows).
            "出生日期": "" if damaged else f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
            "住址": m.child.address,
            **extra,
        }

    region = parents[0].child.division_code[:6] if parents else "120112"
    seq = iter(range(700, 998, 2))

    def stranger(**extra: str) -> dict:
        name, sex, number, _birth = _adult(rng, region, today, next(seq))
        return {
            "姓名": name,
            "性别": "男" if sex == "M" else "女",
            "公民身份号码": number,
            "住址": "",
            **extra,
        }

    written: list[tuple[str, Path, str]] = []

    def write(kind: str, rows: list[dict], fmt: str = "csv") -> None:
        rng.shuffle(rows)
        path = directory / f"{kind}-{today:%Y%m}.{fmt}"
        frame = pl.DataFrame(rows, infer_schema_length=None).fill_null("")
        if fmt == "xlsx":
            book = openpyxl.Workbook()
            sheet = book.active
            sheet.append(frame.columns)
            for values in frame.iter_rows():
                sheet.append(list(values))
            book.save(path)
        else:
            path.write_bytes(frame.write_csv().encode("gb18030" if kind == "death" else "utf-8"))
        written.append((kind, path, DEPARTMENTS[kind]))

    # Deaths: six parents of registered children, one registered child, strangers.
    died = take(6)
    rows = [person_row(m, 死亡日期=_fmt_date(rng, month_ago)) for m in died]
    child = active.exclude(pk__in=used).exclude(id_number_hash__isnull=True).order_by("id").first()
    if child is not None:
        used.add(child.pk)
        rows.append(
            {
                "姓名": child.name,
                "性别": "男" if child.sex == "M" else "女",
                "公民身份号码": child.id_number,
                "住址": child.address,
                "死亡日期": _fmt_date(rng, month_ago),
            }
        )
    # Policy finds the person: two households nobody registered, found through the household extract.
    households: list[dict] = []
    prison_rows = [
        person_row(
            m, 入监日期=_fmt_date(rng, month_ago), 刑满日期=(today + dt.timedelta(days=900)).isoformat()
        )
        for m in take(4)
    ]
    for h in range(2):
        fam_rng = random.Random(f"{seed}:household:{h}")
        number = f"1201{fam_rng.randint(10**8, 10**9 - 1)}"
        surname = names.surname(fam_rng)
        head_birth = dt.date(today.year - 38, 3, 1 + h)
        head = (
            surname + names.adult_given(fam_rng, "M", elder=False),
            compose(region, head_birth, 801 + h * 2),
        )
        wife = (
            names.surname(fam_rng) + names.adult_given(fam_rng, "F", elder=False),
            compose(region, dt.date(today.year - 36, 7, 9 + h), 802 + h * 2),
        )
        kid_birth = dt.date(today.year - 9 - h, 5, 12)
        kid = (surname + names.child_given(fam_rng, "F"), compose(region, kid_birth, 822 + h * 2))
        addr = f"天津市津南区双港镇{h + 1}号"
        households.append(
            {
                "户号": number,
                "与户主关系": "配偶",
                "姓名": wife[0],
                "性别": "女",
                "公民身份号码": wife[1],
                "住址": addr,
            }
        )
        households.append(
            {
                "户号": number,
                "与户主关系": "长女",
                "姓名": kid[0],
                "性别": "女",
                "公民身份号码": kid[1],
                "住址": addr,
            }
        )
        # The father died (cancelled from the extract); the mother: h=0 died too (orphan), h=1 went to prison.
        rows.append(
            {
                "姓名": head[0],
                "性别": "男",
                "公民身份号码": head[1],
                "住址": addr,
                "死亡日期": _fmt_date(rng, month_ago),
                "户号": number,
                "与户主关系": "户主",
            }
        )
        if h == 0:
            rows.append(
                {
                    "姓名": wife[0],
                    "性别": "女",
                    "公民身份号码": wife[1],
                    "住址": addr,
                    "死亡日期": _fmt_date(rng, month_ago),
                }
            )
        else:
            prison_rows.append(
                {
                    "姓名": wife[0],
                    "性别": "女",
                    "公民身份号码": wife[1],
                    "住址": addr,
                    "入监日期": _fmt_date(rng, month_ago),
                    "刑满日期": (today + dt.timedelta(days=700)).isoformat(),
                }
            )
    # An ordinary household: the extract's near-miss (both parents alive).
    fam_rng = random.Random(f"{seed}:household:ordinary")
    number = f"1201{fam_rng.randint(10**8, 10**9 - 1)}"
    for relation, sex, years, s in (("户主", "M", 40, 851), ("配偶", "F", 38, 852), ("子", "M", 12, 853)):
        birth = dt.date(today.year - years, 2, 2)
        households.append(
            {
                "户号": number,
                "与户主关系": relation,
                "姓名": names.surname(fam_rng) + names.adult_given(fam_rng, sex, elder=False),
                "性别": "男" if sex == "M" else "女",
                "公民身份号码": compose(region, birth, s + (sex == "M")),
                "住址": "天津市津南区八里台镇",
            }
        )
    rows += [stranger(死亡日期=_fmt_date(rng, month_ago)) for _ in range(25)]
    write("death", rows)
    write("household", households, "xlsx")
    write("prison_in", prison_rows + [stranger(入监日期=_fmt_date(rng, month_ago)) for _ in range(10)])
    # Releases: de-facto unsupported children's imprisoned parents who came out.
    jailed = list(
        FamilyMember.objects.filter(
            child__in=active,
            status=PersonStatus.IMPRISONED,
            relationship__in=[Relationship.FATHER, Relationship.MOTHER],
            id_number_hash__isnull=False,
        )
        .exclude(child_id__in=used)
        .select_related("child")
        .order_by("id")[:3]
    )
    used.update(m.child_id for m in jailed)
    write(
        "prison_out",
        [person_row(m, 释放日期=_fmt_date(rng, month_ago)) for m in jailed]
        + [stranger(释放日期=_fmt_date(rng, month_ago)) for _ in range(8)],
    )
    severe, mild = take(3), take(2)
    write(
        "disability",
        [person_row(m, 残疾等级=rng.choice(["一级", "二级"]), 残疾类别="肢体") for m in severe]
        + [person_row(m, 残疾等级="三级", 残疾类别="视力") for m in mild]
        + [stranger(残疾等级="四级", 残疾类别="听力") for _ in range(8)],
        "xlsx",
    )
    # The minimum-allowance roll: two families with a child nobody registered, and registered children.
    dibao = []
    for h in range(2):
        fam_rng = random.Random(f"{seed}:dibao:{h}")
        number = f"DB{fam_rng.randint(10**6, 10**7 - 1)}"
        surname = names.surname(fam_rng)
        dibao.append(
            {
                "户号": number,
                "与户主关系": "户主",
                "姓名": surname + names.adult_given(fam_rng, "M", elder=False),
                "性别": "男",
                "公民身份号码": compose(region, dt.date(today.year - 41, 1, 3 + h), 861 + h * 4),
                "住址": "天津市津南区小站镇",
            }
        )
        dibao.append(
            {
                "户号": number,
                "与户主关系": "子",
                "姓名": surname + names.child_given(fam_rng, "M"),
                "性别": "男",
                "公民身份号码": compose(region, dt.date(today.year - 7 - h, 6, 1), 863 + h * 4),
                "住址": "天津市津南区小站镇",
            }
        )
    for c in active.exclude(pk__in=used).exclude(id_number_hash__isnull=True).order_by("-id")[:4]:
        dibao.append(
            {
                "户号": f"DB{c.pk}",
                "与户主关系": "子",
                "姓名": c.name,
                "性别": "男" if c.sex == "M" else "女",
                "公民身份号码": c.id_number,
                "住址": c.address,
            }
        )
    write("dibao", dibao)
    # School dropouts among registered children (and pupils still at school).
    pupils = list(
        active.exclude(pk__in=used)
        .exclude(id_number_hash__isnull=True)
        .filter(birth_date__lt=today.replace(year=today.year - 8))
        .order_by("id")[10:16]
    )
    used.update(c.pk for c in pupils)
    write(
        "school",
        [
            {
                "姓名": c.name,
                "性别": "男" if c.sex == "M" else "女",
                "公民身份号码": c.id_number,
                "学籍状态": "辍学" if i < 2 else "在读",
                "学校": "津南区第一中学",
                "日期": _fmt_date(rng, month_ago),
            }
            for i, c in enumerate(pupils)
        ],
    )
    # The insurance roll: two registered orphans' "dead" parents, alive and insured this year.
    dead = list(
        FamilyMember.objects.filter(
            child__in=active,
            status=PersonStatus.DECEASED,
            id_number_hash__isnull=False,
            relationship__in=[Relationship.FATHER, Relationship.MOTHER],
        )
        .exclude(child_id__in=used)
        .select_related("child")
        .order_by("id")[:2]
    )
    write(
        "insurance",
        [person_row(m, 参保日期=_fmt_date(rng, month_ago)) for m in dead]
        + [stranger(参保日期=_fmt_date(rng, month_ago)) for _ in range(10)],
    )
    return written


def demo_screening(*, log: Callable[[str], None] = lambda _msg: None) -> str:
    """Write the demo's department lists, import them as the city and run a screening of them all."""
    from django.utils import timezone

    from carenet.screening import imports, runs

    today = timezone.localdate()
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path, department in department_lists(Path(tmp), today):
            imports.import_list(
                actor=None,
                kind=kind,
                list_date=today - dt.timedelta(days=3),
                filename=path.name,
                content=path.read_bytes(),
                department=department,
            )
    run = runs.enqueue(actor=None, runner="inline")
    log(f"  screening: run {run.pk} {run.state}, {run.created} findings")
    return f"{run.created} findings"
