"""Determination (精准认定): filing an application for a category and its support (or for ending them), and
moving it step by step. Each public function is one transaction.

The state machine (issue #5: "application → village check (查验) → street review (审核) → district approval
(确认), or sent back / rejected with a reason") is the MOVES table below. Whoever holds the application's
current state takes every move out of it (HOLDER): the village checks a filed application, the street
reviews a checked one, the district approves a reviewed one; at each of these steps the same level may send
it back to the filer or reject it, and a returned one is resubmitted by the village. "Only the right role at
the right level can take it": the actor's own division must be exactly that level (a 12-digit village code,
a 9-digit street code, a 6-digit district code) and contain the child, so neither the city nor a level above
or below may stand in. Every move writes an ApplicationStep (the timeline on the page) and a ChangeLog row
(the audit trail); nothing is deleted.

Approval of an application to enter a category opens the category membership (if the child is not already
in it) and the enrolments the category entitles to from the effective month; approval of an ending closes
the membership and ends the enrolments after the effective month (enrolment.py).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.benefits import months
from carenet.benefits.enrolment import enrolments_end_for, enrolments_open_for, programmes_for
from carenet.benefits.models import (
    Application,
    ApplicationEvidence,
    ApplicationKind,
    ApplicationStatus,
    ApplicationStep,
    EndReason,
    Enrolment,
)
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry import services as registry_services
from carenet.registry.models import Category, CategoryMembership, Child, ChildDocument, ChildStatus
from carenet.registry.signals import child_changed

MAX_TEXT = 2000  # circumstances or a comment: a few paragraphs, not a document
MEMBERSHIP_TEXT = CategoryMembership._meta.get_field("reason").max_length or 300

S = ApplicationStatus
# States in which someone still has to act; an application in one of them blocks a second one for the same
# child and category.
OPEN_STATES = frozenset({S.FILED, S.CHECKED, S.REVIEWED, S.RETURNED})


class Action(StrEnum):
    FILE = "file"
    CHECK = "check"
    REVIEW = "review"
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    RESUBMIT = "resubmit"
    EVIDENCE = "evidence"  # evidence attached: recorded in the audit trail, not a move


class Level(StrEnum):
    VILLAGE = "village"
    STREET = "street"
    DISTRICT = "district"


# The length of the division code of each level (national statistical division codes).
LEVEL_CODE_LENGTH = {Level.VILLAGE: 12, Level.STREET: 9, Level.DISTRICT: 6}

# Who holds an application in each open state: that level takes every move out of it.
HOLDER: dict[str, Level] = {
    S.FILED: Level.VILLAGE,
    S.CHECKED: Level.STREET,
    S.REVIEWED: Level.DISTRICT,
    S.RETURNED: Level.VILLAGE,
}

# action -> (the states it may start from, the state it leads to)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    Action.CHECK: (frozenset({S.FILED}), S.CHECKED),
    Action.REVIEW: (frozenset({S.CHECKED}), S.REVIEWED),
    Action.APPROVE: (frozenset({S.REVIEWED}), S.APPROVED),
    Action.RETURN: (frozenset({S.FILED, S.CHECKED, S.REVIEWED}), S.RETURNED),
    # A returned application the village gives up on is rejected too, so it stops blocking a new one.
    Action.REJECT: (frozenset(OPEN_STATES), S.REJECTED),
    Action.RESUBMIT: (frozenset({S.RETURNED}), S.FILED),
}
# Moves that take the application a step closer to approval: each needs evidence on file.
ADVANCING = frozenset({Action.CHECK, Action.REVIEW, Action.APPROVE})
# The right each move needs besides the level; resubmitting is the filer's side, the rest are decisions.
MOVE_PERM = {action: Perm.APPLICATION_DECIDE for action in MOVES} | {Action.RESUBMIT: Perm.APPLICATION_FILE}
# What a caller may name in a request (the web form).
USER_ACTIONS = tuple(MOVES)


# ---------------------------------------------------------------- who may act


def level_of(user: User) -> Level | None:
    """The level whose steps `user` takes, or None (the city, finance, auditors, social workers...)."""
    if not has_perm(user, Perm.APPLICATION_DECIDE) or not user.division_id:
        return None
    length = len(user.division.code)
    return next((level for level, n in LEVEL_CODE_LENGTH.items() if n == length), None)


def _level_message(level: Level) -> str:
    return {
        Level.VILLAGE: _(
            "At this stage the application is with the village: only the child director of the child's "
            "village may act on it."
        ),
        Level.STREET: _(
            "At this stage the application is with the street: only a child supervisor of the child's "
            "street (town) may act on it."
        ),
        Level.DISTRICT: _(
            "At this stage the application is with the district: only a child-work specialist of the "
            "child's district may act on it."
        ),
    }[level]


def _perm_message(action: str) -> str:
    if action == Action.RESUBMIT:
        return _("Only the child director of the child's village may resubmit an application.")
    return _("Your role may not decide on applications.")


def _role_refusal(actor: User, application: Application, action: str) -> str:
    """Why `actor` may not take `action` on `application` in its current state ("" if they may)."""
    if not has_perm(actor, MOVE_PERM[action]):
        return _perm_message(action)
    level = HOLDER.get(application.status)
    if level is None:
        return ""  # a closed application: the state refusal says why
    code = actor.division.code if actor.division_id else ""
    if len(code) != LEVEL_CODE_LENGTH[level] or not application.division_code.startswith(code):
        return _level_message(level)
    return ""


def _state_refusal(application: Application, action: str) -> str:
    sources, _target = MOVES[action]
    if application.status in sources:
        return ""
    if application.status in (S.APPROVED, S.REJECTED):
        return _("This application has been decided; nothing more can be done with it.")
    messages = {
        Action.CHECK: _("Only a newly filed application can be checked by the village."),
        Action.REVIEW: _("Only an application checked by the village can be reviewed by the street."),
        Action.APPROVE: _("Only an application reviewed by the street can be approved by the district."),
        Action.RETURN: _("A returned application is already with the village."),
        Action.RESUBMIT: _("Only an application sent back can be resubmitted."),
    }
    return messages.get(action, _("This action is not possible in the application's current state."))


def allowed_actions(actor: User, application: Application) -> list[str]:
    """The moves `actor` may take on `application` now (to show only the buttons that will work).
    `application` must have been read through the actor's scope."""
    return [
        action
        for action in USER_ACTIONS
        if not _state_refusal(application, action) and not _role_refusal(actor, application, action)
    ]


def may_attach_evidence(actor: User, application: Application) -> bool:
    """Anyone taking part in the determination (filing or deciding) who can see an undecided application."""
    takes_part = has_perm(actor, Perm.APPLICATION_FILE) or has_perm(actor, Perm.APPLICATION_DECIDE)
    return takes_part and application.status in OPEN_STATES


# ---------------------------------------------------------------- small checks


def _text(text: str, field: str, message: str, *, required: bool = True) -> str:
    text = (text or "").strip()
    if required and not text:
        raise CarenetError(message, field=field)
    if len(text) > MAX_TEXT:
        raise CarenetError(
            _("The text is too long (at most %(n)d characters).") % {"n": MAX_TEXT}, field=field
        )
    return text


def _latest_month() -> dt.date:
    """An application may take effect from next month at the latest (earlier months are paid as arrears)."""
    return months.add(months.first(timezone.localdate()), 1)


def _check_month(child: Child, effective_month: dt.date) -> dt.date:
    if not isinstance(effective_month, dt.date):
        raise CarenetError(_("Give the effective month."), field="effective_month")
    month = months.first(effective_month)
    if month > _latest_month():
        raise CarenetError(
            _("The effective month can be next month (%(month)s) at the latest.")
            % {"month": months.label(_latest_month())},
            field="effective_month",
        )
    if month < months.first(child.birth_date):
        raise CarenetError(_("The effective month is before the child's birth."), field="effective_month")
    return month


def _open_membership(child: Child, category: str) -> CategoryMembership | None:
    return (
        CategoryMembership.objects.select_for_update()
        .filter(child=child, category=category, end_date__isnull=True)
        .first()
    )


def _check_open(child: Child, category: str) -> None:
    if Enrolment.objects.filter(child=child, category=category, end_month__isnull=True).exists():
        raise CarenetError(
            _(
                "The child already receives the support of this category; file an ending first if it must change."
            ),
            field="category",
        )
    if not programmes_for(category) and _open_membership(child, category) is not None:
        raise CarenetError(_("The child is already in this category."), field="category")


def _check_end(child: Child, category: str, month: dt.date, end_reason: str) -> None:
    if end_reason not in EndReason.values:
        raise CarenetError(_("Choose why the support ends."), field="end_reason")
    membership = _open_membership(child, category)
    if membership is None:
        raise CarenetError(_("The child is not in this category: there is nothing to end."), field="category")
    if month < months.first(membership.start_date):
        raise CarenetError(
            _("The last month paid is before the child entered the category (%(month)s).")
            % {"month": months.label(months.first(membership.start_date))},
            field="effective_month",
        )


def _document_of(actor: User, child: Child, document: ChildDocument | int) -> ChildDocument:
    pk = document.pk if isinstance(document, ChildDocument) else document
    found = scope(actor, ChildDocument.objects.filter(pk=pk, child=child)).first()
    if found is None:
        raise CarenetError(_("Choose a document of this child's file."), field="documents")
    return found


def _log(
    actor: User,
    application: Application,
    action: str,
    changes: dict[str, list[Any]],
    *,
    created: bool = False,
) -> None:
    events.change_recorded(
        actor=actor,
        entity="application",
        entity_id=application.pk,
        child_id=application.child_id,
        division_code=application.division_code,
        action="create" if created else "update",
        changes=changes | {"action": [None, action]},
    )


def _attach(
    actor: User, application: Application, document: ChildDocument, step: ApplicationStep | None
) -> ApplicationEvidence:
    if ApplicationEvidence.objects.filter(application=application, document=document).exists():
        raise CarenetError(_("This document is already attached to the application."), field="document")
    return ApplicationEvidence.objects.create(
        application=application, document=document, step=step, added_by=actor
    )


# ---------------------------------------------------------------- filing


@transaction.atomic
def application_file(
    *,
    actor: User,
    child: Child,
    kind: str,
    category: str,
    effective_month: dt.date,
    reason: str,
    end_reason: str = "",
    documents: Iterable[ChildDocument | int] = (),
    source: str = "",
    authorized_by: Perm = Perm.APPLICATION_FILE,
) -> Application:
    """A new application for `child` (read through the actor's scope; outside it: Child.DoesNotExist).

    OPEN: `effective_month` is the first month paid; END: the last month paid. `documents` (of the child's
    file) are attached as evidence at once; more can follow with evidence_attach.
    `authorized_by`: the permission that lets the actor file. The village's right to file any application,
    unless a workflow files as part of a move it authorizes: screening's confirm (Perm.SCREENING_REVIEW: the
    district files for the child a confirmed finding concerns; the village's check, the street's review and
    the district's approval follow as for any application)."""
    if not has_perm(actor, authorized_by):
        raise PermissionDeniedError(_("Your role may not file applications."))
    child = scope(actor, Child.objects.select_for_update()).get(pk=child.pk)
    if kind not in ApplicationKind.values:
        raise CarenetError(_("Choose whether the support starts or ends."), field="kind")
    if category not in Category.values:
        raise CarenetError(_("Unknown category."), field="category")
    if kind == ApplicationKind.OPEN and child.status != ChildStatus.ACTIVE:
        raise CarenetError(_("The child's record is archived: restore it first."), field="child")
    reason = _text(
        reason, "reason", _("Describe the child's circumstances and the grounds for the application.")
    )
    month = _check_month(child, effective_month)
    if kind == ApplicationKind.OPEN:
        _check_open(child, category)
        end_reason = ""
    else:
        _check_end(child, category, month, end_reason)
    if Application.objects.filter(child=child, category=category, status__in=OPEN_STATES).exists():
        raise CarenetError(
            _("An application for this child and category is already under way; finish it first."),
            field="category",
        )
    evidence = [_document_of(actor, child, d) for d in documents]
    application = Application.objects.create(
        child=child,
        kind=kind,
        category=category,
        effective_month=month,
        end_reason=end_reason,
        reason=reason,
        division_code=child.division_code,
        source=source[:30],
        filed_by=actor,
    )
    step = ApplicationStep.objects.create(
        application=application, action=Action.FILE, from_status="", to_status=application.status, actor=actor
    )
    for document in {d.pk: d for d in evidence}.values():
        _attach(actor, application, document, step)
    _log(
        actor,
        application,
        Action.FILE,
        {
            "kind": [None, kind],
            "category": [None, category],
            "effective_month": [None, months.label(month)],
            "end_reason": [None, end_reason or None],
            "status": [None, application.status],
            "evidence": [None, [d.pk for d in evidence] or None],
        },
        created=True,
    )
    return application


# ---------------------------------------------------------------- evidence


def _require_attach(actor: User, application: Application) -> None:
    if application.status not in OPEN_STATES:
        raise CarenetError(_("This application has been decided; nothing more can be done with it."))
    if not may_attach_evidence(actor, application):
        raise PermissionDeniedError(_("Your role may not attach evidence to applications."))


@transaction.atomic
def evidence_attach(
    *, actor: User, application: Application | int, document: ChildDocument | int
) -> ApplicationEvidence:
    """Attach a document of the child's file to an undecided application, at its current step.
    Raises Application.DoesNotExist outside the actor's scope."""
    application = _locked(actor, application)
    _require_attach(actor, application)
    document = _document_of(actor, application.child, document)
    step = application.steps.order_by("-at", "-id").first()
    evidence = _attach(actor, application, document, step)
    _log(actor, application, Action.EVIDENCE, {"evidence": [None, document.pk]})
    return evidence


@transaction.atomic
def evidence_upload(
    *, actor: User, application: Application | int, kind: str, title: str, upload: UploadedFile
) -> ApplicationEvidence:
    """Put a new document in the child's file (registry.services.document_add) and attach it."""
    application = _locked(actor, application)
    _require_attach(actor, application)
    document = registry_services.document_add(
        actor=actor, child=application.child, kind=kind, title=title, upload=upload
    )
    return evidence_attach(actor=actor, application=application, document=document)


# ---------------------------------------------------------------- the moves


def _locked(actor: User, application: Application | int) -> Application:
    """The application as it is now, locked, and only if the actor may still see it (else DoesNotExist)."""
    pk = application.pk if isinstance(application, Application) else application
    qs = scope(actor, Application.objects.all()).select_for_update(of=("self",)).select_related("child")
    return qs.get(pk=pk)


def _move(
    actor: User, application: Application | int, action: Action, comment: str
) -> tuple[Application, ApplicationStep, dict[str, list[Any]]]:
    """Check right, level, state and evidence; change the state and write the step (the caller writes the
    audit row once its side effects are known). Raises Application.DoesNotExist outside the actor's scope."""
    if not has_perm(actor, MOVE_PERM[action]):
        raise PermissionDeniedError(_perm_message(action))
    application = _locked(actor, application)
    refusal = _state_refusal(application, action)
    if refusal:
        raise CarenetError(refusal, field="action")
    refusal = _role_refusal(actor, application, action)
    if refusal:
        raise PermissionDeniedError(refusal)
    if action in ADVANCING and not application.evidence.exists():
        raise CarenetError(
            _(
                "Attach at least one piece of evidence (e.g. a death certificate or household register page) before the application can advance."
            ),
            field="evidence",
        )
    before = application.status
    application.status = MOVES[action][1]
    fields = ["status"]
    if application.status in (S.APPROVED, S.REJECTED):
        application.decided_at = timezone.now()
        fields.append("decided_at")
    application.save(update_fields=fields)
    step = ApplicationStep.objects.create(
        application=application,
        action=action,
        from_status=before,
        to_status=application.status,
        actor=actor,
        comment=comment,
    )
    changes: dict[str, list[Any]] = {"status": [before, application.status]}
    if comment:
        changes["comment"] = [None, comment]
    return application, step, changes


def _simple_move(actor: User, application: Application | int, action: Action, comment: str) -> Application:
    application, _step, changes = _move(actor, application, action, comment)
    _log(actor, application, action, changes)
    return application


@transaction.atomic
def application_check(*, actor: User, application: Application | int, comment: str = "") -> Application:
    """Village check (查验): the child director confirms the circumstances on the spot."""
    comment = _text(comment, "comment", "", required=False)
    return _simple_move(actor, application, Action.CHECK, comment)


@transaction.atomic
def application_review(*, actor: User, application: Application | int, comment: str = "") -> Application:
    """Street review (审核)."""
    comment = _text(comment, "comment", "", required=False)
    return _simple_move(actor, application, Action.REVIEW, comment)


@transaction.atomic
def application_return(*, actor: User, application: Application | int, comment: str) -> Application:
    """Send back to the filer (the village) to complete or correct; the reason is required."""
    comment = _text(comment, "comment", _("Say what must be completed or corrected."))
    return _simple_move(actor, application, Action.RETURN, comment)


@transaction.atomic
def application_reject(*, actor: User, application: Application | int, comment: str) -> Application:
    """Refuse for good (terminal); the reason is required and stays on the record."""
    comment = _text(comment, "comment", _("Give the reason for the rejection."))
    return _simple_move(actor, application, Action.REJECT, comment)


@transaction.atomic
def application_resubmit(*, actor: User, application: Application | int, comment: str = "") -> Application:
    """A returned application, completed by the village, goes back to the start (filed)."""
    comment = _text(comment, "comment", "", required=False)
    return _simple_move(actor, application, Action.RESUBMIT, comment)


@transaction.atomic
def application_approve(*, actor: User, application: Application | int, comment: str = "") -> Application:
    """District approval (确认): the category membership and the enrolments follow at once."""
    comment = _text(comment, "comment", "", required=False)
    application, _step, changes = _move(actor, application, Action.APPROVE, comment)
    child = application.child
    if application.kind == ApplicationKind.OPEN:
        changes |= _approve_open(actor, application, child)
    else:
        changes |= _approve_end(actor, application, child)
    _log(actor, application, Action.APPROVE, changes)
    return application


def _approve_open(actor: User, application: Application, child: Child) -> dict[str, list[Any]]:
    if child.status != ChildStatus.ACTIVE:
        raise CarenetError(_("The child's record is archived: restore it first."), field="child")
    month = application.effective_month
    if month > _latest_month():
        raise CarenetError(
            _("The effective month can be next month (%(month)s) at the latest.")
            % {"month": months.label(_latest_month())},
            field="effective_month",
        )
    changes: dict[str, list[Any]] = {}
    if _open_membership(child, application.category) is None:
        # The membership cannot start in the future or before birth; payment starts at the effective month.
        start = max(child.birth_date, min(month, timezone.localdate()))
        membership = _membership_open(actor, application, child, start)
        changes["membership"] = [None, membership.pk]
    opened = enrolments_open_for(
        actor=actor, child=child, category=application.category, start_month=month, application=application
    )
    changes["enrolments"] = [None, [e.programme for e in opened]]
    return changes


def _membership_open(
    actor: User, application: Application, child: Child, start: dt.date
) -> CategoryMembership:
    note = _("Application no. %(number)s approved: %(reason)s") % {
        "number": application.pk,
        "reason": application.reason,
    }
    try:
        return registry_services.category_open(
            actor=actor,
            child=child,
            category=application.category,
            start_date=start,
            reason=note[:MEMBERSHIP_TEXT],
        )
    except CarenetError as exc:  # e.g. it overlaps an earlier membership: the month is what to change
        field = "effective_month" if exc.field == "start_date" else exc.field
        raise CarenetError(exc.message, field=field) from exc


def _approve_end(actor: User, application: Application, child: Child) -> dict[str, list[Any]]:
    month = application.effective_month
    changes: dict[str, list[Any]] = {}
    membership = _open_membership(child, application.category)
    if (
        membership is not None
    ):  # may have been ended on the child's page meanwhile: then only the support ends
        last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        end = max(membership.start_date, min(last_day, timezone.localdate()))
        note = f"{application.get_end_reason_display()}: {application.reason}"
        registry_services.category_close(
            actor=actor, membership=membership, end_date=end, reason=note[:MEMBERSHIP_TEXT]
        )
        changes["membership"] = [membership.pk, None]
    ended = enrolments_end_for(
        actor=actor,
        child=child,
        category=application.category,
        last_month=month,
        reason=application.end_reason,
        note=application.reason,
    )
    changes["enrolments_ended"] = [None, [e.programme for e in ended]]
    return changes


# ---------------------------------------------------------------- one entry point for the web form


def application_act(
    *, actor: User, application: Application | int, action: str, comment: str = ""
) -> Application:
    """Dispatch one requested move (what the web form sends) to its service."""
    services = {
        Action.CHECK: application_check,
        Action.REVIEW: application_review,
        Action.APPROVE: application_approve,
        Action.RETURN: application_return,
        Action.REJECT: application_reject,
        Action.RESUBMIT: application_resubmit,
    }
    if action not in services:
        raise CarenetError(_("Choose an action."), field="action")
    return services[Action(action)](actor=actor, application=application, comment=comment)


# ---------------------------------------------------------------- a child who moves


@receiver(child_changed)
def _follow_move(sender: object, child_ids: list[int], moved: bool = False, **kwargs: object) -> None:
    """An undecided application follows a child who moves: the new village checks it, and so on up.
    Decided ones stay filed where they were decided (their audit trail is that place's)."""
    if not moved:
        return
    for application in (
        Application.objects.select_for_update()
        .select_related("child")
        .filter(child_id__in=child_ids, status__in=OPEN_STATES)
    ):
        new_code = application.child.division_code
        if new_code == application.division_code:
            continue
        old, application.division_code = application.division_code, new_code
        application.save(update_fields=["division_code"])
        events.change_recorded(
            actor=None,
            entity="application",
            entity_id=application.pk,
            child_id=application.child_id,
            division_code=new_code,
            action="update",
            changes={"division_code": [old, new_code]},
        )
