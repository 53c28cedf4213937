"""Supervision figures per street and per person for a period, on a dataset whose figures are known exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from carenet.accounts.models import Role
from carenet.problems.models import Problem
from carenet.registry.models import CategoryMembership
from carenet.tests_support.factories import DivisionFactory, UserFactory
from carenet.visits.models import Visit
from carenet.visits.schedule import refresh
from carenet.visits.stats import Period, visit_stats

SH = ZoneInfo("Asia/Shanghai")
MARCH = Period.month(2026, 3)


def at(month, day, hour=10, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


def visit(child, actor, day, on_time=True):
    return Visit.objects.create(
        client_id=uuid.uuid4(),
        child=child,
        division_code=child.division_code,
        visited_on=day,
        recorded_by=actor,
        body_hash="0" * 64,
        on_time=on_time,
    )


def problem(child, actor, raised, resolved=None):
    p = Problem.objects.create(
        child=child,
        division_code=child.division_code,
        category="schooling",
        severity="general",
        description="x",
        deadline=dt.date(2026, 4, 30),
        raised_by=actor,
    )
    # raised_at is stamped on insert; the dataset needs it in the past.
    Problem.objects.filter(pk=p.pk).update(raised_at=raised, resolved_at=resolved)
    return p


@pytest.fixture
def dataset(city, personas, children):
    a, b, c, d = children.own, children.sibling_village, children.other_street, children.other_district
    director_a, director_b = personas.director_a, personas.director_b
    street = personas.street_supervisor
    director_c = UserFactory(username="p-village-c", role=Role.VILLAGE_DIRECTOR, division=city.village_c)
    # Village C's child is due for visits (so its director, who visited nobody, is listed); the new village E
    # has no child to visit, so its director is only counted.
    CategoryMembership.objects.create(
        child=c,
        category="left_behind",
        start_date=dt.date(2026, 1, 1),
        reason="t",
        approved_by=personas.city_admin,
    )
    refresh([c.pk])
    village_e = DivisionFactory(code="120112002009", name="E村", parent=city.street2)
    UserFactory(username="p-village-e", role=Role.VILLAGE_DIRECTOR, division=village_e)
    director_d = UserFactory(username="p-village-d", role=Role.VILLAGE_DIRECTOR, division=city.village_d)
    # 双港镇: A three visits in March (one late) and one in February; B one on time.
    visit(a, director_a, dt.date(2026, 3, 1))
    visit(a, director_a, dt.date(2026, 3, 15))
    visit(a, director_a, dt.date(2026, 3, 31), on_time=False)
    visit(a, director_a, dt.date(2026, 2, 28))
    visit(b, director_b, dt.date(2026, 3, 20))
    # 辛庄镇: nobody from village C visited; the street supervisor made one late visit there.
    visit(c, street, dt.date(2026, 3, 5), on_time=False)
    # Another district: never counted.
    visit(d, director_d, dt.date(2026, 3, 5))
    problem(a, director_a, at(3, 2), at(3, 4))  # resolved in 2 days
    problem(a, director_a, at(3, 10))  # still open
    problem(b, director_b, at(2, 20), at(3, 5))  # raised in February, resolved in March after 13 days
    problem(c, street, at(3, 31, 23, 30))  # the last half hour of March, Shanghai time
    problem(c, street, at(4, 1, 0, 10))  # April
    problem(d, director_d, at(3, 3), at(3, 4))  # another district
    return director_c


def test_the_month_runs_from_its_first_to_its_last_day():
    assert (MARCH.start, MARCH.end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    dec = Period.month(2025, 12)
    assert (dec.start, dec.end) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    start, end = MARCH.bounds()
    assert start == dt.datetime(2026, 3, 1, tzinfo=SH) and end == dt.datetime(2026, 4, 1, tzinfo=SH)


def test_district_figures_per_street(dataset, personas, city):
    stats = visit_stats(actor=personas.district_specialist, division=city.district, period=MARCH)
    rows = {r.key: r.figures for r in stats.by_division}
    assert list(rows) == ["120112001", "120112002"]
    shuanggang, xinzhuang = rows["120112001"], rows["120112002"]
    assert (shuanggang.visits, shuanggang.on_time, shuanggang.on_time_rate) == (4, 3, 0.75)
    assert (shuanggang.raised, shuanggang.resolved) == (2, 2)
    assert shuanggang.resolution == dt.timedelta(days=7, hours=12)  # (2 + 13) / 2 days
    assert shuanggang.resolution_days == 7.5
    assert (xinzhuang.visits, xinzhuang.on_time_rate, xinzhuang.raised, xinzhuang.resolved) == (1, 0.0, 1, 0)
    assert (xinzhuang.scheduled, shuanggang.scheduled, stats.total.scheduled) == (1, 0, 1)
    assert xinzhuang.resolution is None
    total = stats.total
    assert (total.visits, total.on_time, total.raised, total.resolved) == (5, 3, 3, 2)
    assert total.resolution == dt.timedelta(days=7, hours=12)


def test_figures_per_person_include_directors_who_visited_nobody(dataset, personas, city):
    director_c = dataset
    stats = visit_stats(actor=personas.district_specialist, division=city.district, period=MARCH)
    people = {r.user.username: r for r in stats.by_person}
    assert set(people) == {"p-village-a", "p-village-b", "p-village-c", "p-street"}
    a, b = people["p-village-a"].figures, people["p-village-b"].figures
    assert (a.visits, a.on_time, a.raised, a.resolved, a.resolution) == (3, 2, 2, 1, dt.timedelta(days=2))
    assert (b.visits, b.on_time, b.raised, b.resolved, b.resolution) == (1, 1, 0, 1, dt.timedelta(days=13))
    c = people["p-village-c"]
    assert (c.figures.visits, c.figures.on_time_rate, c.division) == (0, None, director_c.division)
    assert (c.figures.scheduled, a.scheduled) == (1, 0)
    assert stats.people_hidden == 1  # the director of village E
    s = people["p-street"].figures
    assert (s.visits, s.on_time, s.raised, s.resolved) == (1, 0, 1, 0)


def test_a_street_sees_its_villages_and_the_city_its_districts(dataset, personas, city):
    stats = visit_stats(actor=personas.street_supervisor, division=city.street, period=MARCH)
    rows = {r.key: (r.figures.visits, r.figures.on_time) for r in stats.by_division}
    assert rows == {"120112001001": (3, 2), "120112001002": (1, 1)}
    assert {r.user.username for r in stats.by_person} == {"p-village-a", "p-village-b"}

    city_stats = visit_stats(actor=personas.city_admin, division=city.city, period=MARCH)
    by_district = {
        r.key: (r.figures.visits, r.figures.raised, r.figures.resolved) for r in city_stats.by_division
    }
    assert by_district == {"120101": (1, 1, 1), "120112": (5, 3, 2)}
    assert city_stats.total.visits == 6
    assert city_stats.by_person == []  # per person: district by district


def test_an_empty_month_has_no_rates(dataset, personas, city):
    stats = visit_stats(
        actor=personas.district_specialist, division=city.district, period=Period.month(2025, 1)
    )
    assert stats.total.visits == 0 and stats.total.on_time_rate is None and stats.total.resolution is None
    assert all(r.figures.visits == 0 for r in stats.by_division)
