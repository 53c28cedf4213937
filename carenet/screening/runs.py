"""Screening runs: queued, claimed by one runner, executed with progress, saved all at once.

    enqueue → (a runner claims it) → execute: registry → each list → households → registry checks → save

Where runs execute is `CARENET_SCREENING_RUNNER`, or the `runner` a caller of `enqueue` names: `thread` (the
default) starts a background thread in the process that queued the run, so the embedded SQLite setup needs
nothing else; `worker` leaves runs to `carenet screen worker` (a separate process, e.g. a systemd unit beside
gunicorn); `inline` runs at once in the caller (tests, the command line, the demo). A claim is a conditional
UPDATE, so two runners never take the same run; a run whose runner died (no heartbeat for STALE) is taken
again. Findings are saved in one transaction at the end: a run that fails leaves the findings as they were.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.screening import linking, rules
from carenet.screening.imports import acting_division
from carenet.screening.models import (
    DeptList,
    Finding,
    FindingState,
    ListKind,
    ListRecord,
    RunState,
    ScreeningRun,
)
from carenet.screening.rules import Draft

log = logging.getLogger(__name__)
STALE = dt.timedelta(minutes=5)
_thread_lock = threading.Lock()
_thread: threading.Thread | None = None


def enqueue(
    *, actor: User | None, list_ids: Iterable[int] | None = None, runner: str | None = None
) -> ScreeningRun:
    """Queue a screening of the given lists (None: every list the actor's division holds) for the actor's
    division (actor None: the command line's operator, for the whole city). `runner` (inline, thread, worker)
    decides where it executes; None: settings.SCREENING_RUNNER."""
    runner = runner or settings.SCREENING_RUNNER
    if actor is not None and not has_perm(actor, Perm.SCREENING_IMPORT):
        raise PermissionDeniedError(_("Your role may not run screening."))
    lists = DeptList.objects.all() if actor is None else scope(actor, DeptList.objects.all())
    if list_ids is not None:
        wanted = {int(i) for i in list_ids}
        lists = lists.filter(pk__in=wanted)
        if len(lists) != len(wanted):
            raise CarenetError(_("Choose lists of your own division."), field="lists")
    division_code = acting_division(actor)
    with transaction.atomic():
        run = ScreeningRun.objects.create(division_code=division_code, requested_by=actor)
        chosen = list(lists)
        run.lists.set(chosen)
        events.change_recorded(
            actor=actor,
            entity="screening_run",
            entity_id=run.pk,
            child_id=None,
            division_code=division_code,
            action="create",
            changes={"lists": [None, sorted(d.pk for d in chosen)]},
        )
        if runner == "thread":
            transaction.on_commit(kick)  # the thread must see the committed run
    if runner == "inline":
        run = execute(claim(run.pk) or run)
    return run  # with `worker`, `carenet screen worker` finds the run by itself


def kick() -> None:
    """After a run is queued for the `thread` runner: make sure the background thread is running."""
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_thread_main, name="carenet-screening", daemon=True)
            _thread.start()


def _thread_main() -> None:
    try:
        run_pending()
    finally:
        close_old_connections()


def claim(pk: int | None = None) -> ScreeningRun | None:
    """Take the oldest queued run (or one whose runner died), or run `pk` itself; None when there is none."""
    now = timezone.now()
    candidates = ScreeningRun.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING])
    if pk is not None:
        candidates = candidates.filter(pk=pk)
    for run in candidates.order_by("id")[:20]:
        if run.state == RunState.RUNNING and run.heartbeat_at and run.heartbeat_at > now - STALE:
            continue
        taken = ScreeningRun.objects.filter(pk=run.pk, state=run.state, heartbeat_at=run.heartbeat_at).update(
            state=RunState.RUNNING, started_at=now, heartbeat_at=now, stage="start", done_steps=0
        )
        if taken:
            run.refresh_from_db()
            return run
    return None


def run_pending() -> int:
    done = 0
    while (run := claim()) is not None:
        execute(run)
        done += 1
    return done


def worker(*, poll: float = 2.0, once: bool = False) -> None:
    """The loop of `carenet screen worker`."""
    while True:
        close_old_connections()
        run_pending()
        if once:
            return
        time.sleep(poll)


class Progress:
    def __init__(self, run: ScreeningRun, total: int) -> None:
        self.run, self.done = run, 0
        run.total_steps = total
        ScreeningRun.objects.filter(pk=run.pk).update(total_steps=total)

    def step(self, stage: str) -> None:
        """Starting `stage`; the steps before it are done."""
        self.run.stage = stage
        ScreeningRun.objects.filter(pk=self.run.pk).update(
            stage=stage, done_steps=self.done, heartbeat_at=timezone.now()
        )
        self.done += 1


def execute(run: ScreeningRun) -> ScreeningRun:
    try:
        drafts = _drafts(run)
        with transaction.atomic():
            counts = save(run, drafts)
        ScreeningRun.objects.filter(pk=run.pk).update(
            state=RunState.DONE,
            stage="done",
            done_steps=run.total_steps,
            finished_at=timezone.now(),
            **counts,
        )
    except Exception as exc:  # the run is marked failed; the findings stay as they were
        log.exception("screening run %s failed", run.pk)
        ScreeningRun.objects.filter(pk=run.pk).update(
            state=RunState.FAILED,
            finished_at=timezone.now(),
            error=f"{exc.__class__.__name__}: {str(exc)[:500]}",
        )
    run.refresh_from_db()
    return run


def _records(dept_list: DeptList) -> list[ListRecord]:
    records = list(dept_list.records.all())
    for r in records:
        r.dept_list = dept_list
    return records


def _drafts(run: ScreeningRun) -> list[Draft]:
    today = timezone.localdate()
    lists = list(run.lists.order_by("list_date", "id"))
    households = [d for d in lists if d.kind == ListKind.HOUSEHOLD]
    progress = Progress(run, total=len(lists) + 4)
    progress.step("registry")
    model = linking.model()
    reg = linking.registry(run.division_code)
    districts = rules.district_codes()
    drafts: list[Draft] = []
    household_records: list[ListRecord] = []
    registry_links: dict[int, linking.Link] = {}
    events_all: list[ListRecord] = []
    linked: list[tuple[DeptList, list[ListRecord], dict[int, linking.Link]]] = []
    for dept_list in lists:
        progress.step(f"list:{dept_list.pk}")
        records = _records(dept_list)
        linked.append((dept_list, records, linking.link(records, reg.reference, model)))
    # What this run's lists say of each registered parent, the latest first: both parents on this month's
    # lists make the child an orphan even before either status is recorded.
    pending = rules.pending_statuses(linked, reg, today)
    for dept_list, records, links in linked:
        drafts += rules.registered(records, links, reg, today, pending)
        if dept_list.kind == ListKind.HOUSEHOLD:
            household_records += records
            registry_links.update(links)
        if dept_list.kind == ListKind.DIBAO:
            drafts += rules.dibao_children(records, links, run.division_code, today, districts)
        if dept_list.kind in rules.EVENT_KINDS:
            events_all += records
    progress.step("households")
    if households and events_all and household_records:
        extract = linking.household_reference(household_records)
        event_links = linking.link(events_all, extract, model)
        drafts += rules.new_candidates(
            household_records, events_all, event_links, registry_links, run.division_code, today, districts
        )
    progress.step("registry_checks")
    drafts += rules.aged_out(reg, today)
    drafts += rules.duplicate_children(linking.duplicates(reg, model), reg)
    drafts += rules.paid_twice(run.division_code)
    progress.step("saving")
    return drafts


FIELDS = (
    "rule",
    "division_code",
    "child",
    "member",
    "record",
    "other_record",
    "other_child",
    "proposal",
    "category",
    "probability",
    "reason",
    "evidence",
)


def save(run: ScreeningRun, drafts: list[Draft]) -> dict[str, int]:
    """Findings from drafts: new keys created, known keys with the same evidence left as they are, changed
    evidence updated — and a dismissed or confirmed finding whose evidence changed is open again."""
    unique: dict[str, Draft] = {}
    for d in drafts:
        unique[d.key] = d  # lists go oldest first: the newest list's view of a finding wins
    keys = list(unique)
    existing: dict[str, Finding] = {}
    for i in range(0, len(keys), 500):
        for f in Finding.objects.select_for_update().filter(key__in=keys[i : i + 500]):
            existing[f.key] = f
    created: list[Finding] = []
    seen: list[Finding] = []
    changed: list[Finding] = []
    reopened: list[tuple[Finding, str]] = []
    for key, d in unique.items():
        f = existing.get(key)
        values = {name: getattr(d, name) for name in FIELDS}
        values["reason"] = (values["reason"] or "")[:300]
        if f is None:
            created.append(
                Finding(key=key, evidence_hash=d.evidence_hash, first_run=run, last_run=run, **values)
            )
            continue
        f.last_run = run
        if f.evidence_hash == d.evidence_hash:
            seen.append(f)
            continue
        for name, value in values.items():
            setattr(f, name, value)
        f.evidence_hash = d.evidence_hash
        if f.state != FindingState.OPEN:
            reopened.append((f, f.state))
            f.state = FindingState.OPEN
        changed.append(f)
    Finding.objects.bulk_create(created, batch_size=1000)
    Finding.objects.bulk_update(seen, ["last_run"], batch_size=1000)
    Finding.objects.bulk_update(
        changed, ["last_run", "evidence_hash", "state", *[f for f in FIELDS if f != "rule"]], batch_size=500
    )
    events.changes_recorded(
        actor=run.requested_by,
        entity="finding",
        action="create",
        rows=[
            (
                f.pk,
                f.child_id,
                f.division_code,
                {"rule": [None, f.rule], "state": [None, f.state], "run": [None, run.pk]},
            )
            for f in created
        ],
    )
    events.changes_recorded(
        actor=run.requested_by,
        entity="finding",
        action="reopen",
        rows=[
            (f.pk, f.child_id, f.division_code, {"state": [was, f.state], "run": [None, run.pk]})
            for f, was in reopened
        ],
    )
    return {
        "created": len(created),
        "reopened": len(reopened),
        "unchanged": len(seen) + len(changed) - len(reopened),
    }
