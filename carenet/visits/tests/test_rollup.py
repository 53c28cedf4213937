"""Rollup counts equal the sum of their rows at every level (city → district → street → village), and equal
what brute-force counting over every child with schedule.compute_due gives."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from carenet.accounts.models import Division
from carenet.registry.models import CategoryMembership, Child, ChildStatus
from carenet.tests_support.factories import ChildFactory
from carenet.visits import selectors
from carenet.visits.models import Visit, VisitRule
from carenet.visits.schedule import Rules, compute_due, refresh
from carenet.visits.selectors import Counts

CATEGORIES = ["left_behind", "poor_family", "disabled", "orphan_scattered", "migrant", "de_facto_unsupported"]


@pytest.fixture
def tree(city, personas):
    """About sixty children over the four villages, with random categories, visits and an archived few; one
    district overrides a rule so the brute force must use the district's intervals."""
    rng = random.Random(20260329)
    today = timezone.localdate()
    VisitRule.objects.create(category="poor_family", district_code=city.district.code, interval_days=30)
    villages = [city.village_a, city.village_b, city.village_c, city.village_d]
    ids = []
    for i in range(60):
        village = villages[i % 4]
        child = ChildFactory(name=f"孩子{i}", division=village)
        for category in rng.sample(CATEGORIES, rng.randint(0, 2)):
            CategoryMembership.objects.create(
                child=child,
                category=category,
                start_date=today - dt.timedelta(days=rng.randint(1, 400)),
                reason="test",
                approved_by=personas.city_admin,
            )
        for _ in range(rng.randint(0, 2)):
            Visit.objects.create(
                client_id=uuid.uuid4(),
                child=child,
                division_code=village.code,
                visited_on=today - dt.timedelta(days=rng.randint(0, 120)),
                recorded_by=personas.city_admin,
                body_hash="0" * 64,
            )
        if i % 13 == 0:
            Child.objects.filter(pk=child.pk).update(status=ChildStatus.ARCHIVED, archive_reason="other")
        ids.append(child.pk)
    refresh(ids)
    return city


def brute_force(prefix: str, today: dt.date) -> Counts:
    rules = Rules()
    soon = today + dt.timedelta(days=settings.VISIT_DUE_SOON_DAYS)
    counts = Counts()
    for child in Child.objects.filter(status=ChildStatus.ACTIVE, division_code__startswith=prefix):
        open_categories = [
            (m.category, m.start_date)
            for m in CategoryMembership.objects.filter(child=child, end_date__isnull=True)
        ]
        dates = [v.visited_on for v in Visit.objects.filter(child=child)]
        last = max(dates) if dates else None
        due = compute_due(open_categories, last, rules.intervals(child.division_code))
        if due is None:
            continue
        counts += Counts(
            1,
            int(due.next_due_on < today),
            int(today <= due.next_due_on <= soon),
            int(last is None),
        )
    return counts


def check_level(actor, division: Division, today: dt.date) -> int:
    """Check one level and every level below it; returns how many divisions were checked."""
    rows, total = selectors.rollup(actor, division, today=today)
    assert total == brute_force(division.code, today), division.code
    checked = 1
    if rows:
        assert sum((r.counts for r in rows), Counts()) == total, division.code
        for row in rows:
            checked += check_level(actor, row.division, today)
    return checked


def test_rollup_counts_equal_the_sum_of_their_rows_at_every_level(tree, personas):
    today = timezone.localdate()
    assert selectors.counts(personas.city_admin, today=today).scheduled > 20  # the tree is not trivial
    # city, 2 districts, 3 streets, 4 villages
    assert check_level(personas.city_admin, tree.city, today) == 10


def test_rollup_for_a_district_specialist_counts_only_their_district(tree, personas):
    today = timezone.localdate()
    rows, total = selectors.rollup(personas.district_specialist, tree.district, today=today)
    assert [r.division.code for r in rows] == ["120112001", "120112002"]
    assert total == brute_force("120112", today)
    assert check_level(personas.district_specialist, tree.district, today) == 6
    # The city seen by the district specialist is their district only.
    _rows, at_city = selectors.rollup(personas.district_specialist, tree.city, today=today)
    assert at_city == total


def test_on_time_rate_is_the_share_not_overdue():
    assert Counts(scheduled=8, overdue=2).on_time_rate == 0.75
    assert Counts().on_time_rate is None
