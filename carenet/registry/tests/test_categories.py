import datetime as dt

import pytest

from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry import services
from carenet.registry.models import CategoryMembership


def test_category_history_keeps_every_range_with_its_approver(personas, children):
    actor = personas.district_specialist
    first = services.category_open(
        actor=actor,
        child=children.own,
        category="left_behind",
        start_date=dt.date(2020, 1, 1),
        reason="父母外出务工",
    )
    services.category_close(actor=actor, membership=first, end_date=dt.date(2022, 6, 30), reason="母亲返乡")
    services.category_open(
        actor=actor,
        child=children.own,
        category="left_behind",
        start_date=dt.date(2023, 3, 1),
        reason="母亲再次外出",
    )
    rows = list(CategoryMembership.objects.filter(child=children.own).order_by("start_date"))
    assert [(r.start_date, r.end_date) for r in rows] == [
        (dt.date(2020, 1, 1), dt.date(2022, 6, 30)),
        (dt.date(2023, 3, 1), None),
    ]
    assert all(r.approved_by == actor for r in rows)
    assert rows[0].ended_by == actor and rows[0].end_reason == "母亲返乡"


def test_a_child_can_be_in_several_categories_at_once(personas, children):
    for cat in ("poor_family", "disabled"):
        services.category_open(
            actor=personas.district_specialist,
            child=children.own,
            category=cat,
            start_date=dt.date(2024, 1, 1),
            reason="证明",
        )
    assert CategoryMembership.objects.filter(child=children.own, end_date__isnull=True).count() == 2


def test_overlapping_or_duplicate_memberships_are_refused(personas, children):
    actor = personas.district_specialist
    m = services.category_open(
        actor=actor, child=children.own, category="poor_family", start_date=dt.date(2020, 1, 1), reason="低保"
    )
    with pytest.raises(CarenetError):
        services.category_open(
            actor=actor,
            child=children.own,
            category="poor_family",
            start_date=dt.date(2021, 1, 1),
            reason="低保",
        )
    services.category_close(actor=actor, membership=m, end_date=dt.date(2022, 1, 1), reason="退出低保")
    with pytest.raises(CarenetError) as err:
        services.category_open(
            actor=actor,
            child=children.own,
            category="poor_family",
            start_date=dt.date(2021, 6, 1),
            reason="低保",
        )
    assert err.value.field == "start_date"


def test_only_approvers_open_categories(personas, children):
    with pytest.raises(PermissionDeniedError):
        services.category_open(
            actor=personas.director_a,
            child=children.own,
            category="poor_family",
            start_date=dt.date(2024, 1, 1),
            reason="x",
        )


def test_district_cannot_touch_another_districts_child(personas, children):
    with pytest.raises(CategoryMembership.child.field.related_model.DoesNotExist):
        services.category_open(
            actor=personas.other_district_specialist,
            child=children.own,
            category="poor_family",
            start_date=dt.date(2024, 1, 1),
            reason="x",
        )


def test_reason_and_sane_dates_are_required(personas, children):
    actor = personas.district_specialist
    with pytest.raises(CarenetError) as err:
        services.category_open(
            actor=actor,
            child=children.own,
            category="poor_family",
            start_date=dt.date(2024, 1, 1),
            reason=" ",
        )
    assert err.value.field == "reason"
    with pytest.raises(CarenetError) as err:
        services.category_open(
            actor=actor,
            child=children.own,
            category="poor_family",
            start_date=dt.date(2000, 1, 1),
            reason="x",
        )
    assert err.value.field == "start_date"
