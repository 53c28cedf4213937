"""Writes for problems (督办): raise, act on, notify. Each public function is one transaction.

The state machine (issue #3: "open → in progress → resolved → verified by the director → closed (or
reopened)") is the MOVES table below; one function per move, all going through `_act`, which re-reads the
problem through scope() under a row lock, checks the role and the state, and writes the ProblemAction
(the thread shown on the page) and the ChangeLog row (the audit trail). Nothing is ever deleted.
Automatic escalation of overdue problems lives in escalation.py.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope
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
    ProblemState,
    Severity,
)
from carenet.registry.models import Child, ChildStatus

logger = logging.getLogger(__name__)

MAX_TEXT = 2000  # a description, a note, what was done: a few paragraphs, not a document
NOTIFICATION_TEXT = Notification._meta.get_field("text").max_length or 300
DEPARTMENT_MAX = Problem._meta.get_field("owner_department").max_length or 100

# States whose owner still has to act: the deadline runs and, once past, the problem escalates.
ACTIVE_STATES = (ProblemState.OPEN, ProblemState.IN_PROGRESS)


def overdue_q(today: dt.date) -> Q:
    """The owner still has to act and the deadline has passed (resolved ones wait on the checker, not
    on the owner, so their deadline no longer counts)."""
    return Q(state__in=ACTIVE_STATES, deadline__lt=today)


# Roles above the village: they supervise (close, reassign) what the village and its owner do.
SUPERVISING_ROLES = {Role.STREET_SUPERVISOR, Role.DISTRICT_SPECIALIST, Role.CITY_ADMIN}


def deadline_for(severity: str, start: dt.date | None = None) -> dt.date:
    return (start or timezone.localdate()) + dt.timedelta(days=settings.PROBLEM_DEADLINE_DAYS[severity])


# ---------------------------------------------------------------- notifications


def notify(users: Iterable[User], text: str, problem: Problem | None = None) -> list[Notification]:
    """In-app notification to each user; an e-mail too where e-mail is configured and they have an address.

    The in-app text may name the child (it stays inside carenet, shown only to its recipient); the e-mail
    leaves the system, so it carries no name at all, only the problem's number and where to look.
    E-mails go out after the transaction commits: a rolled-back problem sends nothing."""
    users = list(users)
    rows = Notification.objects.bulk_create(
        [Notification(recipient=u, problem=problem, text=text[:NOTIFICATION_TEXT]) for u in users]
    )
    if settings.NOTIFY_EMAIL["host"]:
        addressed = [(row.pk, user.email) for row, user in zip(rows, users, strict=True) if user.email]
        if addressed:
            subject, body = _email_text(problem)
            # robust: a mail failure after the commit is logged, never turned into an error page
            transaction.on_commit(lambda: _send_emails(addressed, subject, body), robust=True)
    return rows


def _email_text(problem: Problem | None) -> tuple[str, str]:
    subject = _("%(site)s: a problem needs your attention") % {"site": settings.SITE_NAME}
    if problem is None:
        return subject, _("Sign in to carenet and open your notifications.")
    body = _(
        "Problem no. %(number)s (%(category)s, %(severity)s) needs your attention. "
        "Sign in to carenet and open your notifications or the supervision list."
    ) % {
        "number": problem.pk,
        "category": problem.get_category_display(),
        "severity": problem.get_severity_display(),
    }
    return subject, body


def _mail_backend() -> Any:
    """The configured backend, built from NOTIFY_EMAIL. Only the options its constructor names are
    passed (the SMTP backend takes them all). `alias` names it as Django 6.1's mailers would (5.2 ignores
    it); get_connection() is deprecated in 6.1."""
    mail = settings.NOTIFY_EMAIL
    backend = import_string(mail["backend"])
    accepted = inspect.signature(backend.__init__).parameters
    options = {
        "host": mail["host"],
        "port": mail["port"],
        "username": mail["username"],
        "password": mail["password"],
        "use_tls": mail["use_tls"],
        "timeout": 10,  # seconds: runs after the commit, in the request, so it must not hang
    }
    return backend(alias="carenet-notify", **{k: v for k, v in options.items() if k in accepted})


def _send_emails(addressed: list[tuple[int, str]], subject: str, body: str) -> None:
    sender = settings.NOTIFY_EMAIL["from"]
    connection = _mail_backend()
    sent = []
    try:
        connection.open()
        for pk, address in addressed:
            try:
                connection.send_messages([EmailMessage(subject, body, sender, [address])])
            except OSError:  # smtplib's errors are OSErrors; the in-app notification stands regardless
                logger.warning("notification e-mail failed (notification %s)", pk)
            else:
                sent.append(pk)
    except OSError:
        logger.warning("notification e-mail server unreachable (%d notifications)", len(addressed))
    finally:
        connection.close()
    if sent:
        Notification.objects.filter(pk__in=sent).update(emailed_at=timezone.now())


def district_staff(division_code: str) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, role=Role.DISTRICT_SPECIALIST, division__code=division_code[:6]
        ).order_by("id")
    )


def village_directors(division_code: str) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, role=Role.VILLAGE_DIRECTOR, division__code=division_code
        ).order_by("id")
    )


# ---------------------------------------------------------------- raising a problem


def may_raise(user: User) -> bool:
    """Whoever records visits or handles problems may raise one (a social worker on a visit, too)."""
    return has_perm(user, Perm.VISIT_RECORD) or has_perm(user, Perm.PROBLEM_HANDLE)


def _check_owner(owner_kind: str, owner_department: str) -> None:
    if owner_kind not in OwnerKind.values:
        raise CarenetError(_("Choose who should resolve the problem."), field="owner_kind")
    if owner_kind == OwnerKind.DEPARTMENT and not owner_department.strip():
        raise CarenetError(
            _("Name the department that should resolve the problem."), field="owner_department"
        )
    if len(owner_department.strip()) > DEPARTMENT_MAX:
        raise CarenetError(
            _("The department name is too long (at most %(n)d characters).") % {"n": DEPARTMENT_MAX},
            field="owner_department",
        )


def _check_text(text: str, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise CarenetError(message, field=field)
    if len(text) > MAX_TEXT:
        raise CarenetError(
            _("The text is too long (at most %(n)d characters).") % {"n": MAX_TEXT}, field=field
        )
    return text


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
    """A new problem for `child` (already read through the actor's scope), with a deadline set by severity.
    A critical problem is put in front of the district's specialists at once."""
    if not may_raise(actor):
        raise PermissionDeniedError(_("Your role may not do this."))
    if child.status != ChildStatus.ACTIVE:
        raise CarenetError(_("The child's record is archived: restore it first."), field="child")
    if category not in ProblemCategory.values:
        raise CarenetError(_("Choose the kind of problem."), field="category")
    if severity not in Severity.values:
        raise CarenetError(_("Choose how severe the problem is."), field="severity")
    description = _check_text(description, "description", _("Describe the problem."))
    _check_owner(owner_kind, owner_department)
    problem = Problem.objects.create(
        child=child,
        visit=visit,
        division_code=child.division_code,
        category=category,
        severity=severity,
        description=description,
        owner_kind=owner_kind,
        owner_department=owner_department.strip() if owner_kind == OwnerKind.DEPARTMENT else "",
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
        changes={
            "category": [None, category],
            "severity": [None, severity],
            "state": [None, problem.state],
            "owner_kind": [None, problem.owner_kind],
            "deadline": [None, problem.deadline.isoformat()],
        },
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


# ---------------------------------------------------------------- the state machine

S = ProblemState
# action -> (the states it may start from, the state it leads to); None: the state does not change.
MOVES: dict[str, tuple[frozenset[str], str | None]] = {
    ActionKind.START: (frozenset({S.OPEN}), S.IN_PROGRESS),
    ActionKind.RESOLVE: (frozenset({S.OPEN, S.IN_PROGRESS}), S.RESOLVED),
    ActionKind.VERIFY: (frozenset({S.RESOLVED}), S.VERIFIED),
    ActionKind.CLOSE: (frozenset({S.VERIFIED}), S.CLOSED),
    ActionKind.REOPEN: (frozenset({S.RESOLVED, S.VERIFIED, S.CLOSED}), S.OPEN),
    ActionKind.NOTE: (frozenset(S.values), None),
    ActionKind.ASSIGN: (frozenset({S.OPEN, S.IN_PROGRESS}), None),
}
# What a caller may name in a request (raise and escalate are not requests).
USER_ACTIONS = tuple(MOVES)


@dataclass(frozen=True)
class ActionInput:
    action: str
    text: str = ""
    owner_kind: str = ""
    owner_department: str = ""


def _has_director(problem: Problem) -> bool:
    return User.objects.filter(
        is_active=True, role=Role.VILLAGE_DIRECTOR, division__code=problem.division_code
    ).exists()


def _role_refusal(actor: User, problem: Problem, action: str, *, director_exists: bool | None = None) -> str:
    """Why `actor`'s role may not take `action` on `problem` ("" if it may). The state is checked apart."""
    if not has_perm(actor, Perm.PROBLEM_HANDLE):
        return _("Your role may not act on problems.")
    supervising = actor.role in SUPERVISING_ROLES
    if action == ActionKind.VERIFY:
        # "Verified by the director": the child director of the child's own village checks on the spot.
        # scope() already limits a director to their own village. Only where the village has no director
        # account may the levels above verify instead.
        if actor.role == Role.VILLAGE_DIRECTOR:
            return ""
        exists = _has_director(problem) if director_exists is None else director_exists
        if exists or not supervising:
            return _("Only the child director of the child's village may verify that a problem is resolved.")
        return ""
    if action in (ActionKind.CLOSE, ActionKind.ASSIGN) and not supervising:
        if action == ActionKind.CLOSE:
            return _("Only the street, the district or the city may close a problem.")
        return _("Only the street, the district or the city may change who resolves a problem.")
    return ""


def _state_refusal(problem: Problem, action: str) -> str:
    sources, _target = MOVES[action]
    if problem.state in sources:
        return ""
    messages = {
        ActionKind.START: _("Work can only start on an open problem."),
        ActionKind.RESOLVE: _("Only an open or in-progress problem can be marked resolved."),
        ActionKind.VERIFY: _("Only a problem marked resolved can be verified."),
        ActionKind.CLOSE: _("Only a problem verified by the director can be closed."),
        ActionKind.REOPEN: _("Only a resolved, verified or closed problem can be reopened."),
        ActionKind.ASSIGN: _("The owner can only change while the problem is open or in progress."),
    }
    return messages.get(action, _("This action is not possible in the problem's current state."))


def allowed_actions(actor: User, problem: Problem) -> list[str]:
    """The actions `actor` may take on `problem` now (for showing only the buttons that will work).
    `problem` must have been read through the actor's scope."""
    if not has_perm(actor, Perm.PROBLEM_HANDLE):
        return []
    director_exists = None
    if problem.state == S.RESOLVED and actor.role != Role.VILLAGE_DIRECTOR:
        director_exists = _has_director(problem)
    return [
        action
        for action in USER_ACTIONS
        if not _state_refusal(problem, action)
        and not _role_refusal(actor, problem, action, director_exists=director_exists)
    ]


def _locked(actor: User, problem_id: int) -> Problem:
    """The problem as it is now, locked, and only if the actor may still see it (else DoesNotExist)."""
    qs = scope(actor, Problem.objects.all()).select_for_update(of=("self",)).select_related("child")
    return qs.get(pk=problem_id)


def _act(
    actor: User,
    problem_id: int,
    action: str,
    text: str,
    change: Callable[[Problem], dict[str, list[Any]]] | None = None,
) -> Problem:
    """One move: check role and state, apply `change` (which returns the extra changed fields), then
    write the thread row and the audit row. Raises Problem.DoesNotExist outside the actor's scope."""
    if not has_perm(actor, Perm.PROBLEM_HANDLE):
        raise PermissionDeniedError(_("Your role may not act on problems."))
    problem = _locked(actor, problem_id)
    refusal = _role_refusal(actor, problem, action)
    if refusal:
        raise PermissionDeniedError(refusal)
    refusal = _state_refusal(problem, action)
    if refusal:
        raise CarenetError(refusal, field="action")
    before = problem.state
    target = MOVES[action][1]
    changes: dict[str, list[Any]] = {}
    if target is not None and target != before:
        problem.state = target
        changes["state"] = [before, target]
    if change is not None:
        changes.update(change(problem))
    if changes:
        problem.save()
    ProblemAction.objects.create(
        problem=problem,
        kind=action,
        actor=actor,
        from_state=before,
        to_state=problem.state,
        text=text,
    )
    changes["action"] = [None, action]
    if text:
        changes["text"] = [None, text]
    events.change_recorded(
        actor=actor,
        entity="problem",
        entity_id=problem.pk,
        child_id=problem.child_id,
        division_code=problem.division_code,
        action="update",
        changes=changes,
    )
    return problem


@transaction.atomic
def problem_note(*, actor: User, problem_id: int, text: str) -> Problem:
    text = _check_text(text, "text", _("Write the note."))
    return _act(actor, problem_id, ActionKind.NOTE, text)


@transaction.atomic
def problem_start(*, actor: User, problem_id: int, text: str = "") -> Problem:
    return _act(actor, problem_id, ActionKind.START, (text or "").strip()[:MAX_TEXT])


@transaction.atomic
def problem_resolve(*, actor: User, problem_id: int, text: str) -> Problem:
    text = _check_text(text, "text", _("Say what was done to resolve the problem."))

    def change(problem: Problem) -> dict[str, list[Any]]:
        problem.resolved_at = timezone.now()
        return {"resolved_at": [None, problem.resolved_at.isoformat()]}

    problem = _act(actor, problem_id, ActionKind.RESOLVE, text, change)
    # The director checks on the spot; where the village has no director, the street does.
    checkers = village_directors(problem.division_code) or _street_staff(problem.division_code)
    notify(
        [u for u in checkers if u.pk != actor.pk],
        _("Problem (%(category)s) of %(child)s is marked resolved: please verify it.")
        % {"category": problem.get_category_display(), "child": problem.child.name},
        problem,
    )
    return problem


def _street_staff(division_code: str) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, role=Role.STREET_SUPERVISOR, division__code=division_code[:9]
        ).order_by("id")
    )


@transaction.atomic
def problem_verify(*, actor: User, problem_id: int, text: str = "") -> Problem:
    return _act(actor, problem_id, ActionKind.VERIFY, (text or "").strip()[:MAX_TEXT])


@transaction.atomic
def problem_close(*, actor: User, problem_id: int, text: str = "") -> Problem:
    def change(problem: Problem) -> dict[str, list[Any]]:
        problem.closed_at = timezone.now()
        return {"closed_at": [None, problem.closed_at.isoformat()]}

    return _act(actor, problem_id, ActionKind.CLOSE, (text or "").strip()[:MAX_TEXT], change)


@transaction.atomic
def problem_reopen(*, actor: User, problem_id: int, text: str) -> Problem:
    """Back to open with a fresh deadline from its severity; the level it is supervised at stays."""
    text = _check_text(text, "text", _("Say why the problem is reopened."))

    def change(problem: Problem) -> dict[str, list[Any]]:
        old = problem.deadline
        problem.deadline = deadline_for(problem.severity)
        problem.resolved_at = None
        problem.closed_at = None
        return {"deadline": [old.isoformat(), problem.deadline.isoformat()]}

    return _act(actor, problem_id, ActionKind.REOPEN, text, change)


@transaction.atomic
def problem_assign(
    *, actor: User, problem_id: int, owner_kind: str, owner_department: str = "", text: str = ""
) -> Problem:
    _check_owner(owner_kind, owner_department)
    department = owner_department.strip() if owner_kind == OwnerKind.DEPARTMENT else ""

    def change(problem: Problem) -> dict[str, list[Any]]:
        changes: dict[str, list[Any]] = {}
        if problem.owner_kind != owner_kind:
            changes["owner_kind"] = [problem.owner_kind, owner_kind]
        if problem.owner_department != department:
            changes["owner_department"] = [problem.owner_department, department]
        if not changes:
            raise CarenetError(_("The problem already has this owner."), field="owner_kind")
        problem.owner_kind, problem.owner_department = owner_kind, department
        return changes

    return _act(actor, problem_id, ActionKind.ASSIGN, (text or "").strip()[:MAX_TEXT], change)


def problem_act(*, actor: User, problem_id: int, data: ActionInput) -> Problem:
    """Dispatch one requested action (what the web form and the API send) to its service."""
    if data.action == ActionKind.NOTE:
        return problem_note(actor=actor, problem_id=problem_id, text=data.text)
    if data.action == ActionKind.START:
        return problem_start(actor=actor, problem_id=problem_id, text=data.text)
    if data.action == ActionKind.RESOLVE:
        return problem_resolve(actor=actor, problem_id=problem_id, text=data.text)
    if data.action == ActionKind.VERIFY:
        return problem_verify(actor=actor, problem_id=problem_id, text=data.text)
    if data.action == ActionKind.CLOSE:
        return problem_close(actor=actor, problem_id=problem_id, text=data.text)
    if data.action == ActionKind.REOPEN:
        return problem_reopen(actor=actor, problem_id=problem_id, text=data.text)
    if data.action == ActionKind.ASSIGN:
        return problem_assign(
            actor=actor,
            problem_id=problem_id,
            owner_kind=data.owner_kind,
            owner_department=data.owner_department,
            text=data.text,
        )
    raise CarenetError(_("Choose an action."), field="action")


# ---------------------------------------------------------------- notifications read


def notifications_mark_read(*, actor: User) -> int:
    """Mark all of the actor's unread notifications read (a notification is personal: no audit row)."""
    return scope(actor, Notification.objects.filter(read_at__isnull=True)).update(read_at=timezone.now())
