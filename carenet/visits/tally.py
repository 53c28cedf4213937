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
from carenet.visits.models import VisitSchedule, VisitTally, VisitTallyChange

STREET = 9  # the tally's key is the first nine digits of a village code
_TALLY, _CHANGES, _SCHEDULE = (m._meta.db_table for m in (VisitTally, VisitTallyChange, VisitSchedule))
_ROW = "street_code, next_due_on, visited, children"  # the columns of both tally tables

# What the tally must hold for the schedule as it is (the same as migration 0006's fill).
_FROM_SCHEDULE = (
    "SELECT SUBSTR(division_code, 1, 9) AS street_code, next_due_on, last_visit_on IS NOT NULL AS visited, "
    f"COUNT(*) AS children FROM {_SCHEDULE} GROUP BY 1, 2, 3"
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
            f"SELECT {_ROW} FROM {model._meta.db_table} {alias} WHERE {where} AND street_code LIKE %s"
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
        cursor.execute(f"SELECT MAX(id) - MIN(id) + 1 FROM {_CHANGES}")
        (span,) = cursor.fetchone()
    return span or 0


def compact() -> int:
    """Fold the appended changes into the tally; returns how many changes were folded. Safe while visits
    are posted and while another compaction runs: each change is folded exactly once."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: the changes it deletes are exactly those it adds up. A concurrent compaction
            # waits for this one's deletions, then skips the rows already gone.
            cursor.execute(
                f"WITH gone AS (DELETE FROM {_CHANGES} RETURNING {_ROW}), "
                "summed AS (SELECT street_code, next_due_on, visited, SUM(children) AS children FROM gone "
                "GROUP BY 1, 2, 3), "
                f"upserted AS (INSERT INTO {_TALLY} ({_ROW}) SELECT {_ROW} FROM summed WHERE children <> 0 "
                f"ON CONFLICT ON CONSTRAINT tally_key DO UPDATE SET children = {_TALLY}.children + EXCLUDED.children "
                "RETURNING id, children) "
                "SELECT (SELECT COUNT(*) FROM gone), ARRAY(SELECT id FROM upserted WHERE children = 0)"
            )
            folded, emptied = cursor.fetchone()
        else:
            # SQLite: this transaction holds the database's one write lock from its start (IMMEDIATE), so
            # nothing is appended between these statements.
            cursor.execute(f"SELECT MAX(id), COUNT(*) FROM {_CHANGES}")
            last, folded = cursor.fetchone()
            if last is None:
                return 0
            cursor.execute(
                f"INSERT INTO {_TALLY} ({_ROW}) "
                f"SELECT street_code, next_due_on, visited, SUM(children) FROM {_CHANGES} WHERE id <= %s "
                "GROUP BY 1, 2, 3 HAVING SUM(children) <> 0 "
                "ON CONFLICT (street_code, next_due_on, visited) DO UPDATE SET children = children + excluded.children",
                [last],
            )
            cursor.execute(f"DELETE FROM {_CHANGES} WHERE id <= %s", [last])
            cursor.execute(f"SELECT id FROM {_TALLY} WHERE children = 0")
            emptied = [pk for (pk,) in cursor.fetchall()]
        if emptied:  # keys no child is under any more
            marks = ", ".join(["%s"] * len(emptied))
            cursor.execute(f"DELETE FROM {_TALLY} WHERE id IN ({marks}) AND children = 0", list(emptied))
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
    Reads all three in one statement."""
    sql = (
        "SELECT street_code, next_due_on, visited, SUM(tally), SUM(schedule) FROM ("
        f"SELECT street_code, next_due_on, visited, children AS tally, 0 AS schedule FROM {_TALLY} UNION ALL "
        f"SELECT street_code, next_due_on, visited, children, 0 FROM {_CHANGES} UNION ALL "
        f"SELECT street_code, next_due_on, visited, 0, children FROM ({_FROM_SCHEDULE}) AS s"
        ") AS all_rows GROUP BY 1, 2, 3 HAVING SUM(tally) <> SUM(schedule) ORDER BY 1, 2, 3"
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
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {_SCHEDULE} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {_CHANGES}")
        cursor.execute(f"DELETE FROM {_TALLY}")
        cursor.execute(f"INSERT INTO {_TALLY} ({_ROW}) SELECT {_ROW} FROM ({_FROM_SCHEDULE}) AS s")
        return cursor.rowcount


def _date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
