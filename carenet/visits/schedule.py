"""When is each child next due for a visit.

The rule: every open category of the child that has a visit rule sets a deadline: its interval counted
from the later of the last visit and the day the category opened (a category opened after the last visit
starts its own clock; a child never visited is due one interval after the category opened). The earliest
deadline wins, so the strictest category decides. Rules are the city's defaults unless the child's district
has its own for that category.

`refresh()` recomputes VisitSchedule rows for some children; it runs inside the transaction that changed
them (a visit stored, a category opened or closed, a child moved, archived or restored, a rule changed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import islice
from typing import TYPE_CHECKING

from django.db.models import Max
from django.dispatch import receiver

from carenet.accounts.jurisdiction import under
from carenet.core import rawsql
from carenet.registry.models import CategoryMembership, Child, ChildStatus
from carenet.registry.signals import child_changed

if TYPE_CHECKING:
    from carenet.visits.models import VisitSchedule

CHUNK = 2000

# The city-wide defaults a new installation starts with (editable on the rules page).
DEFAULT_INTERVALS: dict[str, int] = {  # the same as migration 0002_default_rules
    "orphan_scattered": 30,
    "orphan_institutional": 90,
    "de_facto_unsupported": 30,
    "guardianship_lacking": 30,
    "left_behind": 30,
    "poor_family": 90,
    "disabled": 90,
    "migrant": 90,
}


@dataclass(frozen=True)
class Due:
    next_due_on: dt.date
    interval_days: int
    category: str


def compute_due(
    open_categories: Iterable[tuple[str, dt.date]], last_visit: dt.date | None, intervals: dict[str, int]
) -> Due | None:
    """The next due date for a child, or None when no open category of theirs has a visit rule."""
    best: Due | None = None
    for category, start in open_categories:
        days = intervals.get(category)
        if not days:
            continue
        base = max(last_visit, start) if last_visit else start
        due = Due(base + dt.timedelta(days=days), days, category)
        # Ties go to the stricter rule, then to the category code, so the recorded category never depends
        # on the order the memberships were read in.
        if best is None or (due.next_due_on, due.interval_days, due.category) < (
            best.next_due_on,
            best.interval_days,
            best.category,
        ):
            best = due
    return best


class Rules:
    """The rules in force, read once: city defaults overlaid with each district's overrides."""

    def __init__(self, rows: Iterable[tuple[str, str, int]] | None = None) -> None:
        """All rules in force, or those of `rows` (category, district code or "", interval days)."""
        from carenet.visits.models import VisitRule

        self.city: dict[str, int] = {}
        self.district: dict[str, dict[str, int]] = defaultdict(dict)
        if rows is None:
            rows = VisitRule.objects.filter(valid_to__isnull=True).values_list(
                "category", "district_code", "interval_days"
            )
        for category, district, days in rows:
            if district:
                self.district[district][category] = days
            else:
                self.city[category] = days

    def intervals(self, division_code: str) -> dict[str, int]:
        override = self.district.get(division_code[:6])
        return {**self.city, **override} if override else self.city


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    it = iter(ids)
    while chunk := list(islice(it, size)):
        yield chunk


def _row(child_id: int, division_code: str, due: Due, last_visit: dt.date | None) -> VisitSchedule:
    from carenet.visits.models import VisitSchedule

    return VisitSchedule(
        child_id=child_id,
        division_code=division_code,
        interval_days=due.interval_days,
        category=due.category,
        last_visit_on=last_visit,
        next_due_on=due.next_due_on,
    )


def refresh(child_ids: Iterable[int], *, rules: Rules | None = None) -> int:
    """Recompute the schedule rows of these children; returns how many are now scheduled."""
    from carenet.visits.models import Visit, VisitSchedule

    rules = rules or Rules()
    scheduled = 0
    for chunk in _chunks(child_ids, CHUNK):
        kids = dict(
            Child.objects.filter(pk__in=chunk, status=ChildStatus.ACTIVE).values_list("id", "division_code")
        )
        categories: dict[int, list[tuple[str, dt.date]]] = defaultdict(list)
        for child_id, category, start in CategoryMembership.objects.filter(
            child_id__in=kids, end_date__isnull=True
        ).values_list("child_id", "category", "start_date"):
            categories[child_id].append((category, start))
        last = dict(
            Visit.objects.filter(child_id__in=kids)
            .values("child_id")
            .annotate(m=Max("visited_on"))
            .values_list("child_id", "m")
        )
        rows = []
        for child_id, code in kids.items():
            due = compute_due(categories[child_id], last.get(child_id), rules.intervals(code))
            if due is not None:
                rows.append(_row(child_id, code, due, last.get(child_id)))
        keep = {row.child_id for row in rows}
        VisitSchedule.objects.filter(child_id__in=[c for c in chunk if c not in keep]).delete()
        if rows:
            VisitSchedule.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["child"],
                update_fields=["division_code", "interval_days", "category", "last_visit_on", "next_due_on"],
            )
        scheduled += len(rows)
    return scheduled


def after_visit(
    child: Child,
    last_visit_on: dt.date | None,
    scheduled: bool,
    visited_on: dt.date,
    categories: list[tuple[str, dt.date]],
    rules: Rules,
) -> rawsql.Statement | None:
    """The schedule change a visit just stored makes, as a statement for the visit's own write (the hot
    path: core.rawsql), from what the caller read with the child: the schedule's last visit (`scheduled`:
    the child has a row), the open categories and the rules in force. The last visit is the later of the
    stored one and this one. None when there is nothing to change.

    The caller read the schedule before this write, so another visit to the same child may have been
    stored in between: the statement never moves the last visit back. Whichever of two concurrent visits
    commits last, the later-dated one decides the schedule (an update of a row that already holds a later
    visit changes nothing; an insert that finds a row already there becomes that guarded update)."""
    from carenet.visits.models import VisitSchedule

    last = max(last_visit_on, visited_on) if last_visit_on else visited_on
    due = compute_due(categories, last, rules.intervals(child.division_code))
    if due is None:
        return rawsql.delete_statement(VisitSchedule, child.pk) if scheduled else None
    row = _row(child.pk, child.division_code, due, last)
    values = rawsql.values_of(row, add=not scheduled)  # every column but the primary key, the child
    if scheduled:
        update = rawsql.update_statement(VisitSchedule, child.pk, values)
        return rawsql.Statement(
            f"{update.sql} AND (last_visit_on IS NULL OR last_visit_on <= %s)",
            [*update.params, rawsql.param(VisitSchedule, "last_visit_on", last)],
        )
    insert = rawsql.insert_statement(VisitSchedule, {"child": child.pk, **values})
    return rawsql.Statement(insert.sql + _upsert_guard(tuple(values)), insert.params)


@cache
def _upsert_guard(names: tuple[str, ...]) -> str:
    """after_visit's INSERT, when it finds the child's row there: the guarded UPDATE of the same columns."""
    from carenet.visits.models import VisitSchedule

    table = rawsql.quote(VisitSchedule._meta.db_table)
    columns = [rawsql.quote(VisitSchedule._meta.get_field(name).column) for name in names]  # type: ignore[union-attr]
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    return (
        f" ON CONFLICT (child_id) DO UPDATE SET {sets} "
        f"WHERE {table}.last_visit_on IS NULL OR {table}.last_visit_on <= excluded.last_visit_on"
    )


def refresh_under(division_code: str) -> int:
    """Recompute every active child under a division (after a rule change there)."""
    qs = Child.objects.filter(status=ChildStatus.ACTIVE)
    if division_code:
        qs = under(qs, division_code)
    return refresh(qs.order_by("id").values_list("id", flat=True).iterator(chunk_size=CHUNK))


@receiver(child_changed)
def _on_child_changed(sender: object, child_ids: list[int], moved: bool = False, **kwargs: object) -> None:
    if moved:
        from carenet.problems.models import Problem
        from carenet.visits.models import Visit

        # A moved child's visits and problems follow it, so its new village's staff see its history.
        for child_id, code in Child.objects.filter(pk__in=child_ids).values_list("id", "division_code"):
            Visit.objects.filter(child_id=child_id).update(division_code=code)
            Problem.objects.filter(child_id=child_id).update(division_code=code)
    refresh(child_ids)
