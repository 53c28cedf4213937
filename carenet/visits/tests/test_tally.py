"""The visit tally stays equal to the schedule it counts, whoever writes the schedule, while visits are posted
and compactions run at the same time; readers count from it only what they may see."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from carenet.accounts.jurisdiction import scope
from carenet.accounts.services import token_issue
from carenet.registry import services as registry
from carenet.tests_support.factories import ChildFactory
from carenet.visits import selectors, services, tally
from carenet.visits.models import VisitRule, VisitSchedule, VisitTally, VisitTallyChange
from carenet.visits.schedule import refresh
from carenet.visits.selectors import Counts

TODAY = timezone.localdate


def _open(actor, child, category="left_behind", days_ago=100):
    return registry.category_open(
        actor=actor,
        child=child,
        category=category,
        start_date=TODAY() - dt.timedelta(days=days_ago),
        reason="r",
    )


def _visit(actor, child, day):
    payload = {"client_id": str(uuid.uuid4()), "child": child.pk, "visited_on": day.isoformat()}
    data = services.VisitInput(
        client_id=uuid.UUID(payload["client_id"]), child_id=child.pk, visited_on=day, fields={}
    )
    return services.record_visit(actor=actor, data=data, digest=services.body_hash(payload))


def _schedule_counts(prefix: str) -> Counts:
    """Counted straight from the schedule, without the tally."""
    today = TODAY()
    soon = today + dt.timedelta(days=7)
    counts = Counts()
    for row in VisitSchedule.objects.filter(division_code__startswith=prefix):
        counts += Counts(
            1,
            int(row.next_due_on < today),
            int(today <= row.next_due_on <= soon),
            int(row.last_visit_on is None),
        )
    return counts


def test_every_kind_of_schedule_write_keeps_the_tally_equal_to_the_schedule(city, personas, children):
    admin, director = personas.city_admin, personas.director_a
    assert tally.check() == []
    for kid in (children.own, children.sibling_village, children.other_street, children.other_district):
        _open(admin, kid)  # a schedule row appears: never visited, overdue
    assert VisitTallyChange.objects.count() == 4 and tally.check() == []
    _visit(director, children.own, TODAY() - dt.timedelta(days=2))  # the row moves to a new due date, visited
    assert tally.check() == []
    poor = _open(admin, children.own, "poor_family", days_ago=1)  # a looser rule: nothing moves
    registry.category_close(actor=admin, membership=poor, end_date=TODAY(), reason="r")
    registry.child_update(actor=admin, child=children.own, division=city.village_c)  # to another street
    assert tally.check() == []
    registry.child_archive(actor=admin, child=children.sibling_village, reason="other")  # the row goes
    assert tally.check() == []
    # A rule change reschedules a district in bulk (INSERT … ON CONFLICT DO UPDATE on PostgreSQL).
    services.rule_set(actor=admin, category="left_behind", interval_days=60, district_code="120112")
    assert tally.check() == []
    assert tally.compact() > 0
    assert VisitTallyChange.objects.count() == 0 and tally.check() == []
    # What the tally holds now: the district's two children under the second street, the other district's one.
    held = {(t.street_code, t.visited): t.children for t in VisitTally.objects.all()}
    assert held == {("120112002", True): 1, ("120112002", False): 1, ("120101001", False): 1}


def test_a_key_nobody_is_under_any_more_leaves_the_tally(city, personas, children):
    _open(personas.city_admin, children.own)
    tally.compact()
    assert VisitTally.objects.count() == 1
    registry.child_archive(actor=personas.city_admin, child=children.own, reason="other")
    assert tally.compact() == 1
    assert VisitTally.objects.count() == 0 and tally.check() == []


def test_counts_and_rollups_from_the_tally_equal_the_schedule_before_and_after_compaction(
    city, personas, children, settings
):
    settings.VISIT_TALLY_COMPACT_ROWS = 10**9  # readers leave the changes where they are
    admin = personas.city_admin
    for i, kid in enumerate(
        (children.own, children.sibling_village, children.other_street, children.other_district)
    ):
        _open(admin, kid, days_ago=10 * i + 25)  # due dates spread over overdue, due soon and later
    _visit(personas.director_b, children.sibling_village, TODAY())
    tally.compact()
    _visit(personas.director_a, children.own, TODAY() - dt.timedelta(days=1))  # left in the changes
    assert VisitTallyChange.objects.exists()
    for actor, division, prefix in (
        (admin, None, "12"),
        (personas.district_specialist, None, "120112"),
        (personas.street_supervisor, None, "120112001"),
        (admin, city.street, "120112001"),
    ):
        assert selectors.counts(actor, division=division) == _schedule_counts(prefix), actor.username
    rows, total = selectors.rollup(admin, city.city)
    assert total == _schedule_counts("12") and total.scheduled == 4
    assert {r.division.code: r.counts for r in rows} == {
        "120101": _schedule_counts("120101"),
        "120112": _schedule_counts("120112"),
    }
    rows, _ = selectors.rollup(personas.district_specialist, city.district)
    assert {r.division.code: r.counts.scheduled for r in rows} == {"120112001": 2, "120112002": 1}
    # A reader folds the changes in once enough have piled up, and the counts do not move.
    settings.VISIT_TALLY_COMPACT_ROWS = 1
    assert selectors.counts(admin) == _schedule_counts("12")
    assert not VisitTallyChange.objects.exists()


def test_the_tally_shows_each_reader_only_the_streets_they_see(city, personas, children):
    for kid in (children.own, children.other_street, children.other_district):
        _open(personas.city_admin, kid)
    tally.compact()
    _open(personas.city_admin, children.sibling_village)  # one change not yet folded in

    def streets(user, model):
        return sorted(set(scope(user, model.objects.all()).values_list("street_code", flat=True)))

    assert streets(personas.city_admin, VisitTally) == ["120101001", "120112001", "120112002"]
    assert streets(personas.district_specialist, VisitTally) == ["120112001", "120112002"]
    assert streets(personas.street_supervisor, VisitTally) == ["120112001"]
    assert streets(personas.street_supervisor, VisitTallyChange) == ["120112001"]
    for nobody in (personas.director_a, personas.social_worker, personas.charity):
        assert streets(nobody, VisitTally) == [] and streets(nobody, VisitTallyChange) == []
    # A director and a social worker are counted from the schedule they see, not from the tally.
    assert selectors.counts(personas.director_a).scheduled == 1  # children.own; B村 is another village
    assert selectors.counts(personas.social_worker).scheduled == 1  # their caseload: children.own
    # The district specialist looking at the city sees only their district (counted from the schedule).
    _rows, seen = selectors.rollup(personas.district_specialist, city.city)
    assert seen.scheduled == 3


def test_check_names_each_difference_and_rebuild_mends_it(city, personas, children):
    _open(personas.city_admin, children.own)
    _open(personas.city_admin, children.other_district)
    tally.compact()
    VisitTally.objects.filter(street_code="120112001").update(children=5)
    VisitTally.objects.filter(street_code="120101001").delete()
    differences = tally.check()
    assert [(d.street_code, d.tally, d.schedule) for d in differences] == [
        ("120101001", 0, 1),
        ("120112001", 5, 1),
    ]
    out = io.StringIO()
    with pytest.raises(SystemExit) as ended:
        call_command("visit_tally", "check", stdout=out)
    assert ended.value.code == 1
    assert "120112001" in out.getvalue() and "2 differences" in out.getvalue()
    call_command("visit_tally", "rebuild", stdout=io.StringIO())
    assert tally.check() == []
    out = io.StringIO()
    call_command("visit_tally", "check", stdout=out)
    assert "agrees" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_compactions_running_while_phones_post_visits_fold_every_change_once(city, personas):
    """Eight phones post five visits each (every visit moves a schedule row) while two compactions loop;
    each on its own connection. At the end the tally still equals the schedule."""
    phones, visits = 8, 5
    # A transactional test starts from a flushed database: without the rules migration 0002 wrote.
    VisitRule.objects.get_or_create(
        category="left_behind", district_code="", valid_to=None, defaults={"interval_days": 30}
    )
    kids = [ChildFactory(name=f"孩子{i}", division=city.village_a) for i in range(phones)]
    for kid in kids:
        _open(personas.city_admin, kid, days_ago=200)
    assert VisitSchedule.objects.filter(child__in=kids, last_visit_on=None).count() == phones
    tally.compact()  # from here on, whatever a compaction folds in was appended by a phone's visit
    token = token_issue(user=personas.director_a)
    start = threading.Barrier(phones + 2)
    midway = threading.Event()  # a compaction folded some of the phones' visits in while they post
    done = threading.Event()
    folded: list[int] = []

    def phone(number: int) -> list[int]:
        try:
            client = Client(headers={"Authorization": f"Bearer {token}"})
            start.wait(timeout=30)
            statuses = []
            for day in range(visits):
                if day == visits - 1:
                    assert midway.wait(timeout=60), "no compaction ran while the phones were posting"
                sent = {
                    "client_id": str(uuid.uuid4()),
                    "child": kids[number].pk,
                    "visited_on": (TODAY() - dt.timedelta(days=visits - day)).isoformat(),
                }
                response = client.post("/api/v1/visits/", json.dumps(sent), content_type="application/json")
                assert response.status_code == 201, (number, day, response.content)
                statuses.append(response.status_code)
            return statuses
        finally:
            connections.close_all()

    def compactor() -> None:
        try:
            start.wait(timeout=30)
            while not done.is_set():
                folded.append(tally.compact())
                if folded[-1]:
                    midway.set()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=phones + 2) as pool:
        compactions = [pool.submit(compactor) for _ in range(2)]
        try:
            posted = list(pool.map(phone, range(phones)))
        finally:
            done.set()  # a phone that failed must not leave the compactions looping
        for c in compactions:
            c.result()
    assert posted == [[201] * visits] * phones
    assert tally.check() == []
    tally.compact()
    assert not VisitTallyChange.objects.exists() and tally.check() == []
    assert selectors.counts(personas.city_admin) == _schedule_counts("12")
    assert selectors.counts(personas.city_admin).never_visited == 0


def test_after_a_flush_in_any_table_order_no_tally_is_left_without_a_schedule(city, personas, children):
    """`flush` empties the tables one by one in no fixed order. Tally tables first, then the schedule: the
    schedule's delete trigger appends changes for a tally already gone. The post_migrate that follows a
    flush clears them."""
    from django.core.management.sql import emit_post_migrate_signal

    _open(personas.city_admin, children.own)
    VisitTallyChange.objects.all().delete()
    VisitTally.objects.all().delete()
    VisitSchedule.objects.all().delete()
    assert list(VisitTallyChange.objects.values_list("children", flat=True)) == [-1]  # the stray change
    emit_post_migrate_signal(0, False, "default")
    assert not VisitTallyChange.objects.exists() and not VisitTally.objects.exists()
    assert tally.check() == []
    # With a schedule in place, the signal leaves the tally alone.
    refresh([children.own.pk])
    emit_post_migrate_signal(0, False, "default")
    assert VisitTallyChange.objects.count() == 1 and tally.check() == []
