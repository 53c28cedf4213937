"""When a child is next due: the pure rule, and the schedule rows kept current by every kind of change."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry import services as registry
from carenet.visits import services
from carenet.visits.models import Visit, VisitRule, VisitSchedule
from carenet.visits.schedule import DEFAULT_INTERVALS, compute_due, refresh

D = dt.date
RULES = {"left_behind": 30, "poor_family": 90, "disabled": 90}


# ---------------------------------------------------------------- the rule itself


def test_never_visited_child_is_due_one_interval_after_the_category_opened():
    due = compute_due([("poor_family", D(2026, 1, 10))], None, RULES)
    assert (due.next_due_on, due.interval_days, due.category) == (D(2026, 4, 10), 90, "poor_family")


def test_the_strictest_category_wins():
    due = compute_due([("poor_family", D(2026, 1, 1)), ("left_behind", D(2026, 1, 1))], D(2026, 3, 1), RULES)
    assert (due.next_due_on, due.category) == (D(2026, 3, 31), "left_behind")


def test_a_category_opened_after_the_last_visit_starts_its_own_clock():
    # Quarterly child visited 1 Jan; becomes left-behind on 10 Feb: due 30 days after 10 Feb, not after 1 Jan
    # (which would make it overdue the day it was classified) and not 1 April (the quarterly date).
    due = compute_due([("poor_family", D(2026, 1, 1)), ("left_behind", D(2026, 2, 10))], D(2026, 1, 1), RULES)
    assert (due.next_due_on, due.category) == (D(2026, 3, 12), "left_behind")


def test_the_last_visit_resets_every_clock():
    due = compute_due([("left_behind", D(2025, 1, 1))], D(2026, 5, 20), RULES)
    assert due.next_due_on == D(2026, 6, 19)


def test_no_rule_no_schedule():
    assert compute_due([("migrant", D(2026, 1, 1))], None, RULES) is None
    assert compute_due([], D(2026, 1, 1), RULES) is None


def test_the_installation_starts_with_the_default_rules(db):
    in_force = dict(VisitRule.objects.filter(valid_to__isnull=True).values_list("category", "interval_days"))
    assert in_force == DEFAULT_INTERVALS
    assert in_force["poor_family"] == 90 and in_force["de_facto_unsupported"] == 30


# ---------------------------------------------------------------- the schedule follows the registry


def _visit(actor, child, day, **fields):
    payload = {"client_id": str(uuid.uuid4()), "child": child.pk, "visited_on": day.isoformat(), **fields}
    data = services.VisitInput(
        client_id=uuid.UUID(payload["client_id"]), child_id=child.pk, visited_on=day, fields=fields
    )
    return services.record_visit(actor=actor, data=data, digest=services.body_hash(payload))


def _sched(child):
    return VisitSchedule.objects.filter(child=child).first()


def test_schedule_across_category_changes(city, personas, children):
    admin, child = personas.city_admin, children.own
    today = timezone.localdate()
    assert _sched(child) is None  # no category, nothing due
    registry.category_open(
        actor=admin,
        child=child,
        category="poor_family",
        start_date=today - dt.timedelta(days=100),
        reason="r",
    )
    assert _sched(child).next_due_on == today - dt.timedelta(days=10)  # never visited: overdue by 10 days
    visit, created = _visit(personas.director_a, child, today - dt.timedelta(days=5), living="good")
    assert created and not visit.on_time and visit.due_on == today - dt.timedelta(days=10)
    assert _sched(child).next_due_on == today + dt.timedelta(days=85)
    assert _sched(child).last_visit_on == today - dt.timedelta(days=5)
    # Left-behind from today: its own 30-day clock starts today and is stricter than the quarterly one.
    left = registry.category_open(
        actor=admin, child=child, category="left_behind", start_date=today, reason="r"
    )
    assert (_sched(child).next_due_on, _sched(child).category) == (
        today + dt.timedelta(days=30),
        "left_behind",
    )
    # Ending left-behind gives the quarterly date back.
    registry.category_close(actor=admin, membership=left, end_date=today, reason="parents back")
    assert (_sched(child).next_due_on, _sched(child).interval_days) == (today + dt.timedelta(days=85), 90)
    # Archiving removes the child from every work list; restoring brings it back with its history.
    registry.child_archive(actor=admin, child=child, reason="other")
    assert _sched(child) is None
    registry.child_restore(actor=admin, child=child)
    assert _sched(child).last_visit_on == today - dt.timedelta(days=5)


def test_a_moved_child_takes_its_visits_and_schedule_to_the_new_village(city, personas, children):
    admin, child = personas.city_admin, children.own
    today = timezone.localdate()
    registry.category_open(actor=admin, child=child, category="left_behind", start_date=today, reason="r")
    _visit(personas.director_a, child, today, living="good")
    registry.child_update(actor=admin, child=child, division=city.village_c)
    assert _sched(child).division_code == city.village_c.code
    assert set(Visit.objects.filter(child=child).values_list("division_code", flat=True)) == {
        city.village_c.code
    }


def test_a_district_override_reschedules_only_that_district(city, personas, children):
    admin = personas.city_admin
    start = timezone.localdate() - dt.timedelta(days=3)
    for kid in (children.own, children.other_district):
        registry.category_open(actor=admin, child=kid, category="poor_family", start_date=start, reason="r")
    services.rule_set(
        actor=personas.district_specialist, category="poor_family", interval_days=30, district_code="120112"
    )
    assert _sched(children.own).next_due_on == start + dt.timedelta(days=30)
    assert _sched(children.other_district).next_due_on == start + dt.timedelta(days=90)
    # History: the override is a new row; removing it closes that row and the city default applies again.
    services.rule_set(
        actor=personas.district_specialist, category="poor_family", interval_days=None, district_code="120112"
    )
    assert _sched(children.own).next_due_on == start + dt.timedelta(days=90)
    history = VisitRule.objects.filter(category="poor_family", district_code="120112")
    assert history.count() == 1 and history.get().valid_to is not None


def test_who_may_set_rules(city, personas):
    with pytest.raises(PermissionDeniedError):
        services.rule_set(actor=personas.district_specialist, category="poor_family", interval_days=30)
    with pytest.raises(PermissionDeniedError):
        services.rule_set(
            actor=personas.district_specialist,
            category="poor_family",
            interval_days=30,
            district_code="120101",
        )
    with pytest.raises(PermissionDeniedError):
        services.rule_set(actor=personas.street_supervisor, category="poor_family", interval_days=30)
    with pytest.raises(CarenetError) as err:
        services.rule_set(actor=personas.city_admin, category="poor_family", interval_days=31)
    assert err.value.field == "interval_days"
    rule = services.rule_set(actor=personas.city_admin, category="poor_family", interval_days=60, note="n")
    assert (
        rule.interval_days == 60
        and VisitRule.objects.filter(category="poor_family", district_code="").count() == 2
    )


def test_bulk_refresh_agrees_with_one_by_one(city, personas, children):
    admin = personas.city_admin
    start = timezone.localdate() - dt.timedelta(days=40)
    kids = [children.own, children.sibling_village, children.other_street, children.other_district]
    for i, kid in enumerate(kids):
        registry.category_open(
            actor=admin,
            child=kid,
            category=["poor_family", "left_behind"][i % 2],
            start_date=start,
            reason="r",
        )
    one_by_one = {row.child_id: row.next_due_on for row in VisitSchedule.objects.all()}
    VisitSchedule.objects.all().delete()
    assert refresh([k.pk for k in kids]) == 4
    assert {row.child_id: row.next_due_on for row in VisitSchedule.objects.all()} == one_by_one


def test_a_later_visit_stored_meanwhile_decides_the_schedule_whichever_commits_last(city, personas, children):
    """Two visits to one child at once: the earlier-dated one read the schedule before the later-dated one
    was stored, and writes after it. Its schedule change must not move the last visit back, whether it
    would update the row or (having read no row) insert one."""
    from carenet.core import rawsql
    from carenet.visits import schedule

    admin, director, child = personas.city_admin, personas.director_a, children.own
    today = timezone.localdate()
    registry.category_open(
        actor=admin,
        child=child,
        category="left_behind",
        start_date=today - dt.timedelta(days=100),
        reason="r",
    )
    stale = services._context(director, child.pk, uuid.uuid4())  # what the earlier-dated visit read
    _visit(director, child, today - dt.timedelta(days=1))  # the later-dated visit, stored in between
    decided = (_sched(child).last_visit_on, _sched(child).next_due_on)
    assert decided == (today - dt.timedelta(days=1), today + dt.timedelta(days=29))

    def write_stale(scheduled: bool) -> None:
        rawsql.execute(
            schedule.after_visit(
                stale.child,
                stale.last_visit_on,
                scheduled,
                today - dt.timedelta(days=5),
                stale.categories,
                stale.rules,
            )
        )

    write_stale(scheduled=True)  # an UPDATE of the row
    assert (_sched(child).last_visit_on, _sched(child).next_due_on) == decided
    write_stale(scheduled=False)  # an INSERT that finds the row there
    assert (_sched(child).last_visit_on, _sched(child).next_due_on) == decided
    assert VisitSchedule.objects.filter(child=child).count() == 1
    # In the usual order the earlier visit's change still applies.
    VisitSchedule.objects.filter(child=child).update(last_visit_on=None, next_due_on=today)
    write_stale(scheduled=True)
    assert _sched(child).last_visit_on == today - dt.timedelta(days=5)
