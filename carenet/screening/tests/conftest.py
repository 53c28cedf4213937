"""Helpers for the screening tests: registry children and parents with real ID numbers, and department lists
written as the departments write them (Chinese headers, CSV text) and imported through imports.import_list."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from itertools import count

import pytest
from django.utils import timezone, translation

from carenet.core import idnumber
from carenet.registry.models import CategoryMembership, Child, FamilyMember, PersonStatus
from carenet.screening import imports, runs
from carenet.screening.models import DeptList, Finding, RunState, ScreeningRun
from carenet.tests_support.factories import ChildFactory

REGION = "120112"
TODAY = timezone.localdate()
LAST_MONTH = TODAY - dt.timedelta(days=30)
_sequence = count(101)


def years_ago(years: int, month: int = 5, day: int = 10) -> dt.date:
    return dt.date(TODAY.year - years, month, day)


def new_id(birth: dt.date, sex: str, region: str = REGION) -> str:
    """A valid 18-digit ID number no other person of the same test has (odd sequence: male)."""
    n = next(_sequence)
    sequence = (n * 2 + (1 if sex == "M" else 0)) % 1000
    return idnumber.make(region, birth, sequence)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """The original files go to a directory of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def make_child(village, name: str, *, age: int = 9, sex: str = "M", id_number: str | None = None) -> Child:
    birth = years_ago(age)
    number = new_id(birth, sex) if id_number is None else id_number
    return ChildFactory(name=name, sex=sex, birth_date=birth, division=village, id_number=number)


@dataclass
class Person:
    """Someone a list can name: their name, sex, birth date and ID number."""

    name: str
    sex: str
    birth: dt.date
    number: str

    @classmethod
    def new(cls, name: str, sex: str, age: int = 38, region: str = REGION) -> Person:
        birth = years_ago(age, 3, 7)
        return cls(name, sex, birth, new_id(birth, sex, region))

    def row(self, **extra: str) -> dict[str, str]:
        return {
            "姓名": self.name,
            "性别": "男" if self.sex == "M" else "女",
            "公民身份号码": self.number,
            "出生日期": self.birth.isoformat(),
            **extra,
        }


def add_member(
    child: Child,
    relationship: str,
    person: Person,
    *,
    status: str = PersonStatus.ALIVE,
    status_since: dt.date | None = None,
) -> FamilyMember:
    member = FamilyMember(
        child=child,
        name=person.name,
        relationship=relationship,
        is_guardian=relationship == "father",
        status=status,
        status_since=status_since,
    )
    member.set_id_number(person.number)
    member.save()
    return member


def child_person(child: Child) -> Person:
    return Person(child.name, child.sex, child.birth_date, child.id_number)


def open_membership(
    child: Child, category: str, approver, start: dt.date | None = None
) -> CategoryMembership:
    return CategoryMembership.objects.create(
        child=child,
        category=category,
        start_date=start or years_ago(2),
        reason="test",
        approved_by=approver,
    )


def csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    headers: list[str] = []
    for row in rows:
        headers += [h for h in row if h not in headers]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=headers, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


_names = count(1)


def import_rows(
    kind: str,
    rows: list[dict[str, str]],
    *,
    actor=None,
    list_date: dt.date = TODAY,
    encoding: str = "utf-8",
) -> DeptList:
    content = csv_bytes(rows, encoding)
    return imports.import_list(
        actor=actor, kind=kind, list_date=list_date, filename=f"{kind}-{next(_names)}.csv", content=content
    )


def run(actor=None, lists: list[DeptList] | None = None) -> ScreeningRun:
    return runs.enqueue(actor=actor, list_ids=None if lists is None else [d.pk for d in lists])


def findings(rule: str | None = None, **filters) -> list[Finding]:
    qs = Finding.objects.all() if rule is None else Finding.objects.filter(rule=rule)
    return list(qs.filter(**filters).order_by("id"))


def done(screening_run):
    assert screening_run.state == RunState.DONE, screening_run.error
    return screening_run


def family(village, child_name: str, father_name: str, mother_name: str, *, age: int = 9, **statuses):
    """A registered child with a father and a mother (statuses: father=…, mother=…, with *_since dates)."""
    kid = make_child(village, child_name, age=age)
    father, mother = Person.new(father_name, "M", 40), Person.new(mother_name, "F", 37)
    f = add_member(
        kid,
        "father",
        father,
        status=statuses.get("father", PersonStatus.ALIVE),
        status_since=statuses.get("father_since"),
    )
    m = add_member(
        kid,
        "mother",
        mother,
        status=statuses.get("mother", PersonStatus.ALIVE),
        status_since=statuses.get("mother_since"),
    )
    return kid, (father, f), (mother, m)


def died(person: Person, when: dt.date = LAST_MONTH, **extra: str) -> dict[str, str]:
    return person.row(死亡日期=when.isoformat(), **extra)
