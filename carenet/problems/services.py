"""Writes for problems (督办): raise, act on, escalate. Each function is one transaction."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.models import Role, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.problems.models import (
    ActionKind,
    Notification,
    OwnerKind,
    Problem,
    ProblemAction,
    ProblemCategory,
    Severity,
)
from carenet.registry.models import Child

logger = logging.getLogger(__name__)


def deadline_for(severity: str, start: dt.date | None = None) -> dt.date:
    return (start or timezone.localdate()) + dt.timedelta(days=settings.PROBLEM_DEADLINE_DAYS[severity])


def notify(users: list[User], text: str, problem: Problem | None = None) -> list[Notification]:
    """In-app notification to each user; an e-mail too where e-mail is configured and they have an address.
    The text must hold no ID number or other identifier beyond a child's name."""
    rows = Notification.objects.bulk_create(
        [Notification(recipient=u, problem=problem, text=text) for u in users]
    )
    mail = settings.NOTIFY_EMAIL
    if mail["host"]:
        connection = get_connection(
            mail["backend"],
            host=mail["host"],
            port=mail["port"],
            username=mail["username"],
            password=mail["password"],
            use_tls=mail["use_tls"],
        )
        for row, user in zip(rows, users, strict=True):
            if user.email:
                try:
                    send_mail(
                        str(settings.SITE_NAME), text, mail["from"], [user.email], connection=connection
                    )
                except OSError:
                    logger.warning("notification e-mail failed (notification %s)", row.pk)
                    continue
                Notification.objects.filter(pk=row.pk).update(emailed_at=timezone.now())
    return rows


def district_staff(division_code: str) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, role=Role.DISTRICT_SPECIALIST, division__code=division_code[:6]
        ).order_by("id")
    )


@transaction.atomic
def problem_raise(
    *,
    actor: User,
    child: Child,
    category: str,
    severity: str,
    description: str,
    visit: object | None = None,
    owner_kind: str = OwnerKind.STREET,
    owner_department: str = "",
) -> Problem:
    if not has_perm(actor, Perm.VISIT_RECORD) and not has_perm(actor, Perm.PROBLEM_HANDLE):
        raise PermissionDeniedError(_("Your role may not do this."))
    if category not in ProblemCategory.values:
        raise CarenetError(_("Choose the kind of problem."), field="category")
    if severity not in Severity.values:
        raise CarenetError(_("Choose how severe the problem is."), field="severity")
    if not description.strip():
        raise CarenetError(_("Describe the problem."), field="description")
    if owner_kind not in OwnerKind.values:
        raise CarenetError(_("Choose who should resolve the problem."), field="owner_kind")
    if owner_kind == OwnerKind.DEPARTMENT and not owner_department.strip():
        raise CarenetError(
            _("Name the department that should resolve the problem."), field="owner_department"
        )
    problem = Problem.objects.create(
        child=child,
        visit=visit,
        division_code=child.division_code,
        category=category,
        severity=severity,
        description=description.strip(),
        owner_kind=owner_kind,
        owner_department=owner_department.strip(),
        deadline=deadline_for(severity),
        raised_by=actor,
    )
    ProblemAction.objects.create(problem=problem, kind=ActionKind.RAISE, actor=actor, to_state=problem.state)
    events.change_recorded(
        actor=actor,
        entity="problem",
        entity_id=problem.pk,
        child_id=child.pk,
        division_code=child.division_code,
        action="create",
        changes={"category": [None, category], "severity": [None, severity], "state": [None, problem.state]},
    )
    if severity == Severity.CRITICAL:
        # A critical problem goes to the district at once, whatever its kind (a safety danger above all).
        notify(
            district_staff(child.division_code),
            _("Critical problem (%(category)s) raised for %(child)s: act now.")
            % {"category": problem.get_category_display(), "child": child.name},
            problem,
        )
    return problem
