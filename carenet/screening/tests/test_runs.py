"""Screening runs: idempotent re-runs, dismissed findings that stay dismissed until their data changes, progress,
failure that changes nothing, and who may run what."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from carenet.audit.models import ChangeLog
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.screening import decide, rules, runs
from carenet.screening.models import Finding, FindingState, ListKind, Rule, RunState, ScreeningRun
from carenet.screening.tests.conftest import (
    LAST_MONTH,
    Person,
    add_member,
    child_person,
    findings,
    import_rows,
    make_child,
    run,
)


@pytest.fixture
def planted(city):
    """Three things to find: a father's death, a child's death, a dropout."""
    kid = make_child(city.village_a, "张小明")
    father = Person.new("张建国", "M", 40)
    member = add_member(kid, "father", father)
    dead_child = make_child(city.village_b, "李小龙")
    dropout = make_child(city.village_c, "王小芳", sex="F", age=14)
    deaths = import_rows(
        ListKind.DEATH,
        [
            father.row(死亡日期=LAST_MONTH.isoformat()),
            child_person(dead_child).row(死亡日期=LAST_MONTH.isoformat()),
        ],
        list_date=LAST_MONTH,
    )
    school = import_rows(ListKind.SCHOOL, [child_person(dropout).row(学籍状态="辍学")])
    return {"kid": kid, "father": father, "member": member, "deaths": deaths, "school": school}


def state_of() -> dict[str, tuple[str, str, int | None]]:
    return {f.key: (f.state, f.evidence_hash, f.last_run_id) for f in Finding.objects.all()}


def test_a_rerun_of_the_same_lists_finds_the_same_findings_again(planted):
    first = run()
    assert (first.state, first.created, first.reopened, first.unchanged) == (RunState.DONE, 3, 0, 0)
    assert {f.rule for f in findings()} == {Rule.PARENT_DIED, Rule.CHILD_DIED, Rule.SCHOOL_DROPOUT}
    before = {f.key: (f.pk, f.evidence_hash) for f in findings()}

    second = run()

    assert (second.state, second.created, second.reopened, second.unchanged) == (RunState.DONE, 0, 0, 3)
    assert Finding.objects.count() == 3
    assert {f.key: (f.pk, f.evidence_hash) for f in findings()} == before
    assert all(f.first_run == first and f.last_run == second for f in findings())
    assert ChangeLog.objects.filter(entity="finding", action="create").count() == 3


def test_a_dismissed_finding_stays_dismissed_when_nothing_changed(planted, personas):
    run()
    finding = Finding.objects.get(rule=Rule.PARENT_DIED)
    decide.dismiss(actor=personas.district_specialist, finding=finding, note="同名同姓，不是本人")

    again = run()

    finding.refresh_from_db()
    assert finding.state == FindingState.DISMISSED
    assert finding.decision_note == "同名同姓，不是本人"
    assert (again.created, again.reopened, again.unchanged) == (0, 0, 3)


def dismiss_then_new_death_date(planted, personas) -> Finding:
    run()
    finding = Finding.objects.get(rule=Rule.PARENT_DIED)
    decide.dismiss(actor=personas.district_specialist, finding=finding, note="同名同姓")
    other_date = LAST_MONTH - dt.timedelta(days=12)
    planted["corrected"] = import_rows(
        ListKind.DEATH, [planted["father"].row(死亡日期=other_date.isoformat(), 备注="更正")]
    )
    return finding


def test_a_dismissed_finding_is_open_again_when_a_new_list_changes_its_data(planted, personas):
    finding = dismiss_then_new_death_date(planted, personas)

    again = run(lists=[planted["corrected"]])

    finding.refresh_from_db()
    assert finding.state == FindingState.OPEN
    assert finding.record.dept_list == planted["corrected"]
    assert finding.evidence["date"] == (LAST_MONTH - dt.timedelta(days=12)).isoformat()
    assert finding.last_run == again
    assert (again.created, again.reopened) == (0, 1)
    log = ChangeLog.objects.get(entity="finding", entity_id=finding.pk, action="reopen")
    assert log.changes["state"] == [FindingState.DISMISSED, FindingState.OPEN]


def test_a_run_of_all_lists_also_brings_back_a_finding_whose_data_changed(planted, personas):
    """enqueue(list_ids=None), the default, screens every list: the new death list's other date is new data."""
    finding = dismiss_then_new_death_date(planted, personas)

    again = run()

    finding.refresh_from_db()
    assert (finding.state, again.reopened) == (FindingState.OPEN, 1)
    assert finding.record.dept_list == planted["corrected"]


def test_the_same_death_in_next_months_list_does_not_bring_back_a_dismissed_finding(planted, personas):
    """Departments send cumulative lists: the same person with the same death date is no new data."""
    run()
    finding = Finding.objects.get(rule=Rule.PARENT_DIED)
    decide.dismiss(actor=personas.district_specialist, finding=finding, note="同名同姓")
    next_month = import_rows(ListKind.DEATH, [planted["father"].row(死亡日期=LAST_MONTH.isoformat())])

    again = run(lists=[next_month])

    finding.refresh_from_db()
    assert (finding.state, again.reopened) == (FindingState.DISMISSED, 0)


def test_a_runs_progress_ends_done_with_every_step_counted(planted):
    done = run()
    assert done.state == RunState.DONE
    assert done.stage == "done"
    assert done.total_steps == 2 + 4  # two lists, then registry, households, checks, saving
    assert done.done_steps == done.total_steps
    assert done.percent == 100
    assert done.error == ""
    assert done.started_at and done.finished_at and done.started_at <= done.finished_at
    assert set(done.lists.all()) == {planted["deaths"], planted["school"]}
    stored = ScreeningRun.objects.get(pk=done.pk)
    assert (stored.state, stored.done_steps, stored.total_steps) == (RunState.DONE, 6, 6)
    assert ChangeLog.objects.filter(entity="screening_run", entity_id=done.pk, action="create").exists()


def test_a_failing_run_is_marked_failed_and_changes_no_finding(planted, personas, monkeypatch):
    run()
    decide.dismiss(
        actor=personas.district_specialist, finding=Finding.objects.get(rule=Rule.CHILD_DIED), note="错"
    )
    # A new list that would create a finding and change another's data.
    newcomer = make_child(planted["kid"].division, "赵小虎")
    import_rows(ListKind.SCHOOL, [child_person(newcomer).row(学籍状态="辍学")])
    import_rows(ListKind.DEATH, [planted["father"].row(死亡日期="2024-02-02")])
    before = state_of()
    logs = ChangeLog.objects.filter(entity="finding").count()

    def broken(*args, **kwargs):
        raise RuntimeError("the rule broke")

    monkeypatch.setattr(rules, "aged_out", broken)
    failed = run()

    assert failed.state == RunState.FAILED
    assert "RuntimeError" in failed.error and "the rule broke" in failed.error
    assert failed.finished_at is not None
    assert (failed.created, failed.reopened, failed.unchanged) == (0, 0, 0)
    assert state_of() == before
    assert ChangeLog.objects.filter(entity="finding").count() == logs


def test_a_failure_while_saving_rolls_back_every_finding(planted, monkeypatch):
    """The findings are saved in one transaction: a failure after some are written leaves none."""

    def fail_after_findings(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs.events, "changes_recorded", fail_after_findings)
    failed = run()
    assert failed.state == RunState.FAILED and "disk full" in failed.error
    assert Finding.objects.count() == 0


def test_a_run_of_chosen_lists_screens_only_those(planted):
    only_school = run(lists=[planted["school"]])
    assert list(only_school.lists.all()) == [planted["school"]]
    assert {f.rule for f in findings()} == {Rule.SCHOOL_DROPOUT}


def test_lists_of_another_division_cannot_be_chosen(planted, personas):
    with pytest.raises(CarenetError) as caught:
        runs.enqueue(actor=personas.district_specialist, list_ids=[planted["deaths"].pk])
    assert caught.value.field == "lists"
    assert ScreeningRun.objects.count() == 0


@pytest.mark.parametrize("who", ["street_supervisor", "director_a", "auditor", "district_finance"])
def test_only_importers_may_run_screening(planted, personas, who):
    with pytest.raises(PermissionDeniedError):
        runs.enqueue(actor=getattr(personas, who))
    assert ScreeningRun.objects.count() == 0


def test_a_stale_run_is_claimed_again_and_a_live_one_is_not(city):
    now = timezone.now()
    live = ScreeningRun.objects.create(division_code="12", state=RunState.RUNNING, heartbeat_at=now)
    stale = ScreeningRun.objects.create(
        division_code="12", state=RunState.RUNNING, heartbeat_at=now - runs.STALE - dt.timedelta(seconds=5)
    )
    claimed = runs.claim()
    assert claimed == stale
    assert claimed.state == RunState.RUNNING and claimed.heartbeat_at > stale.heartbeat_at
    assert runs.claim() is None
    live.refresh_from_db()
    assert live.heartbeat_at == now


def test_the_worker_executes_queued_runs(city, settings):
    settings.SCREENING_RUNNER = "worker"
    queued = runs.enqueue(actor=None)
    assert queued.state == RunState.QUEUED
    assert runs.run_pending() == 1
    queued.refresh_from_db()
    assert queued.state == RunState.DONE
    assert runs.run_pending() == 0


def test_an_inline_run_executes_the_run_it_queued(city):
    """A run queued earlier (by the web, for a worker) must not take the place of the caller's own run."""
    earlier = ScreeningRun.objects.create(division_code="12")
    mine = runs.enqueue(actor=None)
    assert mine.pk != earlier.pk
    assert ScreeningRun.objects.get(pk=mine.pk).state == RunState.DONE


def test_the_command_line_runs_inline_without_changing_the_runner_setting(city, settings):
    settings.SCREENING_RUNNER = "worker"
    out = io.StringIO()
    call_command("screen", "run", stdout=out)
    assert json.loads(out.getvalue())["state"] == RunState.DONE
    assert settings.SCREENING_RUNNER == "worker"
    assert runs.run_pending() == 0  # nothing was left queued for the worker
