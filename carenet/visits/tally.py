"""The visit tally: how many children are scheduled per street, due date and visited-or-never, kept by the
database so that the counts of a street, a district or the city cost a few thousand tally rows instead of
a scan of every child's schedule (one row per child: a million for a city).

How it stays true:

- Triggers on VisitSchedule (migration 0006) append each change to VisitTallyChange: +1 for a schedule row
  that appears under a (street, due date, visited) key, -1 for one that leaves it. Every writer of the
  schedule is covered (a visit posted from a phone, `schedule.refresh`, the demo's COPY, a rule change),
  and appending never waits on a counter row that other writers hold.
- `compact()` folds the appended changes into VisitTally in one statement; readers fold them in when more
  than VISIT_TALLY_COMPACT_ROWS have piled up, and `carenet serve`'s timer does it in the background.
- A reader sums both tables in one statement (one snapshot), so a compaction running at the same moment
  never makes a change count twice or not at all.
- `check()` compares the tally with the schedule (`carenet visit_tally check`), `rebuild()` recomputes it.

Only for readers who see every child under the division read (scope() gives a territorial user the
whole subtree); a village director's own village and a social worker's caseload are counted from the
schedule itself, which is small for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from carenet.accounts.jurisdiction import scope_sql
from carenet.accounts.models import User
from carenet.visits.models import VisitTally, VisitTallyChange

STREET = 9  # the tally's key is the first nine digits of a village code

# What the tally must hold for the schedule as it is (the same as migration 0006's fill).
_FROM_SCHEDULE = (
    "SELECT SUBSTR(division_code, 1, 9) AS street_code, next_due_on, last_visit_on IS NOT NULL AS visited, "
    "COUNT(*) AS children FROM visits_visitschedule GROUP BY 1, 2, 3"
)


def serves(code: str) -> bool:
    """Can the tally count the children under a division with this code (a street or above)?"""
    return len(code) <= STREET


def sums(actor: User, code: str, width: int, today: dt.date, soon: dt.date) -> dict[str, tuple[int, ...]]:
    """Counts under division `code` grouped by the first `width` digits of the street code (width <= 9):
    (scheduled, overdue: due before `today`, due from `today` to `soon`, never visited). Only what the actor
    may see (scope_sql on both tables); the caller makes sure that is every child under `code`."""
    if pending() >= settings.VISIT_TALLY_COMPACT_ROWS:
        compact()
    sql, params = sums_sql(actor, code, width, today, soon)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {prefix: tuple(int(n) for n in rest) for prefix, *rest in cursor.fetchall()}


def sums_sql(actor: User, code: str, width: int, today: dt.date, soon: dt.date) -> tuple[str, list[object]]:
    """The one statement `sums` runs: both tables in one snapshot, so a compaction committing meanwhile
    is seen either entirely or not at all."""
    if not serves(code) or width > STREET:
        raise ValueError(f"the tally counts streets and above, not {code!r} by {width} digits")
    parts, params = [], []
    for model, alias in ((VisitTally, "t"), (VisitTallyChange, "c")):
        where, scope_params = scope_sql(actor, model, alias)
        parts.append(
            f"SELECT {alias}.street_code, {alias}.next_due_on, {alias}.visited, {alias}.children "
            f"FROM {model._meta.db_table} {alias} WHERE {where} AND {alias}.street_code LIKE %s"
        )
        params += [*scope_params, code + "%"]
    sql = (
        "SELECT SUBSTR(street_code, 1, %s), SUM(children), "
        "SUM(CASE WHEN next_due_on < %s THEN children ELSE 0 END), "
        "SUM(CASE WHEN next_due_on >= %s AND next_due_on <= %s THEN children ELSE 0 END), "
        "SUM(CASE WHEN visited THEN 0 ELSE children END) "
        f"FROM ({' UNION ALL '.join(parts)}) AS tally GROUP BY 1"
    )
    return sql, [width, today, today, soon, *params]


def pending() -> int:
    """About how many changes wait to be folded in (the span of their ids: cheap, from the index)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) - MIN(id) + 1 FROM {VisitTallyChange._meta.db_table}")
        (span,) = cursor.fetchone()
    return span or 0


def compact() -> int:
    """Fold the appended changes into the tally; returns how many changes were folded. Safe while visits
    are posted and while another compaction runs: each change is folded exactly once."""
    tally, changes = VisitTally._meta.db_table, VisitTallyChange._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: the changes it deletes are exactly those it adds up. A concurrent compaction
            # waits for this one's deletions, then skips the rows already gone.
            cursor.execute(
                f"WITH gone AS (DELETE FROM {changes} RETURNING street_code, next_due_on, visited, children), "
                "summed AS (SELECT street_code, next_due_on, visited, SUM(children) AS children FROM gone "
                "GROUP BY 1, 2, 3), "
                f"upserted AS (INSERT INTO {tally} (street_code, next_due_on, visited, children) "
                "SELECT street_code, next_due_on, visited, children FROM summed WHERE children <> 0 "
                f"ON CONFLICT ON CONSTRAINT tally_key DO UPDATE SET children = {tally}.children + EXCLUDED.children "
                "RETURNING id, children) "
                "SELECT (SELECT COUNT(*) FROM gone), ARRAY(SELECT id FROM upserted WHERE children = 0)"
            )
            folded, emptied = cursor.fetchone()
        else:
            # SQLite: this transaction holds the database's one write lock from its start (IMMEDIATE), so
            # nothing is appended between these statements.
            cursor.execute(f"SELECT MAX(id), COUNT(*) FROM {changes}")
            last, folded = cursor.fetchone()
            if last is None:
                return 0
            cursor.execute(
                f"INSERT INTO {tally} (street_code, next_due_on, visited, children) "
                f"SELECT street_code, next_due_on, visited, SUM(children) FROM {changes} WHERE id <= %s "
                "GROUP BY 1, 2, 3 HAVING SUM(children) <> 0 "
                "ON CONFLICT (street_code, next_due_on, visited) DO UPDATE SET children = children + excluded.children",
                [last],
            )
            cursor.execute(f"DELETE FROM {changes} WHERE id <= %s", [last])
            cursor.execute(f"SELECT id FROM {tally} WHERE children = 0")
            emptied = [pk for (pk,) in cursor.fetchall()]
        if emptied:  # keys no child is under any more
            marks = ", ".join(["%s"] * len(emptied))
            cursor.execute(f"DELETE FROM {tally} WHERE id IN ({marks}) AND children = 0", list(emptied))
    return int(folded)


@dataclass(frozen=True)
class Difference:
    street_code: str
    next_due_on: dt.date
    visited: bool
    tally: int
    schedule: int


def check() -> list[Difference]:
    """Every (street, due date, visited) key where the tally and the schedule disagree; [] when they agree.
    Reads both in one statement."""
    sql = (
        "WITH tally AS (SELECT street_code, next_due_on, visited, SUM(children) AS children FROM ("
        f"SELECT street_code, next_due_on, visited, children FROM {VisitTally._meta.db_table} UNION ALL "
        f"SELECT street_code, next_due_on, visited, children FROM {VisitTallyChange._meta.db_table}"
        ") AS both_tables GROUP BY 1, 2, 3), "
        f"schedule AS ({_FROM_SCHEDULE}) "
        "SELECT t.street_code, t.next_due_on, t.visited, t.children, COALESCE(s.children, 0) "
        "FROM tally t LEFT JOIN schedule s ON s.street_code = t.street_code AND s.next_due_on = t.next_due_on "
        "AND s.visited = t.visited WHERE t.children <> COALESCE(s.children, 0) "
        "UNION ALL "
        "SELECT s.street_code, s.next_due_on, s.visited, 0, s.children FROM schedule s "
        "WHERE NOT EXISTS (SELECT 1 FROM tally t WHERE t.street_code = s.street_code "
        "AND t.next_due_on = s.next_due_on AND t.visited = s.visited) "
        "ORDER BY 1, 2, 3"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [
            Difference(code, _date(due), bool(visited), int(tally), int(schedule))
            for code, due, visited, tally, schedule in cursor.fetchall()
        ]


def rebuild() -> int:
    """Recompute the tally from the schedule (after `check()` found a difference); returns its rows. Locks
    the schedule against writers for the moment it takes (about a second for a million children)."""
    tally, changes = VisitTally._meta.db_table, VisitTallyChange._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE visits_visitschedule IN SHARE MODE")
        cursor.execute(f"DELETE FROM {changes}")
        cursor.execute(f"DELETE FROM {tally}")
        cursor.execute(
            f"INSERT INTO {tally} (street_code, next_due_on, visited, children) "
            f"SELECT street_code, next_due_on, visited, children FROM ({_FROM_SCHEDULE}) AS s"
        )
        return cursor.rowcount


def _date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
