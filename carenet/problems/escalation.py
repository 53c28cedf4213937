"""Automatic escalation (督办): a problem whose owner let the deadline pass goes one level up.

street (0) -> district (1) -> city (2). Each step gives the new level a fresh deadline from the severity
and puts the problem in front of that level's staff (in-app notification). Run by
`carenet escalate_problems` (cron) and by the gunicorn master's timer thread (carenet/gunicorn_conf.py);
both may run at once: every chunk re-reads its rows under a lock, so nothing escalates twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from carenet.accounts.models import Role, User
from carenet.audit import events
from carenet.audit.models import ChangeLog
from carenet.problems.models import ActionKind, Level, Notification, Problem, ProblemAction
from carenet.problems.services import NOTIFICATION_TEXT, deadline_for, overdue_q

logger = logging.getLogger(__name__)

CHUNK = 500  # problems per transaction: short locks, bounded memory, progress kept if a later chunk fails
DIGEST_AFTER = 10  # more escalations than this for one person in one chunk: one summary, not a flood


def overdue(today: dt.date) -> QuerySet[Problem]:
    """Problems whose owner still has to act, past their deadline, not yet at the top level."""
    return Problem.objects.filter(overdue_q(today), level__lt=Level.CITY)


def escalate_overdue(today: dt.date | None = None, *, chunk: int = CHUNK) -> int:
    """Move every overdue problem one level up; returns how many moved. Running it again the same day
    moves nothing more: an escalated problem's new deadline lies in the future."""
    today = today or timezone.localdate()
    ids = list(overdue(today).order_by("id").values_list("id", flat=True))
    if not ids:
        return 0
    staff = _Staff.load()
    done = 0
    with translation.override(settings.LANGUAGE_CODE):  # stored texts in the site's language
        for start in range(0, len(ids), chunk):
            done += _escalate_chunk(ids[start : start + chunk], today, staff)
    logger.info("escalated %d overdue problems", done)
    return done


@transaction.atomic
def _escalate_chunk(ids: list[int], today: dt.date, staff: _Staff) -> int:
    # Re-checked under the lock: a problem resolved (or escalated by a concurrent run) meanwhile is skipped.
    problems = list(
        overdue(today)
        .filter(pk__in=ids)
        .select_for_update(of=("self",))
        .select_related("child")
        .only(
            "id",
            "child_id",
            "child__name",
            "division_code",
            "category",
            "severity",
            "state",
            "level",
            "deadline",
        )
        .order_by("id")
    )
    if not problems:
        return 0
    now = timezone.now()
    actions, logs = [], []
    for problem in problems:
        old_level, old_deadline = problem.level, problem.deadline
        problem.level = old_level + 1
        problem.escalated_at = now
        problem.deadline = deadline_for(problem.severity, today)
        problem.updated_at = now
        actions.append(
            ProblemAction(
                problem=problem,
                kind=ActionKind.ESCALATE,
                actor=None,
                from_state=problem.state,
                to_state=problem.state,
                text=_(
                    "Not resolved by %(deadline)s: escalated to the %(level)s level, new deadline %(new)s."
                )
                % {
                    "deadline": old_deadline.isoformat(),
                    "level": Level(problem.level).label,
                    "new": problem.deadline.isoformat(),
                },
            )
        )
        logs.append(
            (
                problem.pk,
                problem.child_id,
                problem.division_code,
                {
                    "level": [old_level, problem.level],
                    "deadline": [old_deadline.isoformat(), problem.deadline.isoformat()],
                    "action": [None, ActionKind.ESCALATE.value],
                },
            )
        )
    Problem.objects.bulk_update(problems, ["level", "escalated_at", "deadline", "updated_at"])
    ProblemAction.objects.bulk_create(actions)
    events.changes_recorded(actor=None, entity="problem", action=ChangeLog.Action.UPDATE, rows=logs)
    Notification.objects.bulk_create(_notifications(problems, staff))
    return len(problems)


@dataclass
class _Staff:
    """Who supervises at each level, read once per run (a few hundred accounts at most)."""

    district: dict[str, list[User]] = field(default_factory=dict)  # district code -> specialists
    city: list[User] = field(default_factory=list)  # city admins (their division: a 2- or 4-digit code)

    @classmethod
    def load(cls) -> _Staff:
        staff = cls()
        by_district: dict[str, list[User]] = defaultdict(list)
        users = User.objects.filter(
            is_active=True, role__in=[Role.DISTRICT_SPECIALIST, Role.CITY_ADMIN], division__isnull=False
        ).select_related("division")
        for user in users.order_by("id"):
            if user.role == Role.DISTRICT_SPECIALIST:
                by_district[user.division.code].append(user)
            else:
                staff.city.append(user)
        staff.district = dict(by_district)
        return staff

    def for_level(self, problem: Problem) -> list[User]:
        if problem.level == Level.DISTRICT:
            return self.district.get(problem.division_code[:6], [])
        return [u for u in self.city if problem.division_code.startswith(u.division.code)]


def _notifications(problems: Iterable[Problem], staff: _Staff) -> list[Notification]:
    per_user: dict[int, tuple[User, list[Problem]]] = {}
    for problem in problems:
        for user in staff.for_level(problem):
            per_user.setdefault(user.pk, (user, []))[1].append(problem)
    rows = []
    for user, items in per_user.values():
        if len(items) > DIGEST_AFTER:
            text = _("%(n)d overdue problems were escalated to your supervision list.") % {"n": len(items)}
            rows.append(Notification(recipient=user, problem=None, text=text[:NOTIFICATION_TEXT]))
            continue
        for problem in items:
            text = _(
                "Problem (%(category)s) of %(child)s is overdue: now supervised at the %(level)s level."
            ) % {
                "category": problem.get_category_display(),
                "child": problem.child.name,
                "level": Level(problem.level).label,
            }
            rows.append(Notification(recipient=user, problem=problem, text=text[:NOTIFICATION_TEXT]))
    return rows
