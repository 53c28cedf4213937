"""Supervision of visits: a street supervisor (or the district, or the city) checks the visits of their villages,
sends a visit back with a comment, or draws a random sample to check; the village director answers a visit
sent back by marking it corrected (or by recording a new visit for the child).

Each function is one transaction that re-reads the visit through scope() with a row lock, so two reviewers
acting at once cannot both move the same visit, and every move writes one ChangeLog row (the review history
the visit page shows)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from carenet.accounts.jurisdiction import in_subtree, scope, under
from carenet.accounts.models import Division, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.visits.models import ReviewState, Visit

SAMPLE_DAYS = 30  # a sample is drawn from the visits of the last 30 days
MAX_SAMPLE = 50
COMMENT_MAX = 300  # Visit.review_comment

# The allowed moves: action -> (states it may start from, state it leads to).
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "check": (frozenset({ReviewState.PENDING}), ReviewState.CHECKED),
    # A visit already checked may still be sent back when a later look finds something wrong.
    "return": (frozenset({ReviewState.PENDING, ReviewState.CHECKED}), ReviewState.RETURNED),
    "correct": (frozenset({ReviewState.RETURNED}), ReviewState.PENDING),
}
WRONG_MOVE = {
    "check": gettext_lazy("Only a visit not yet reviewed can be marked checked."),
    "return": gettext_lazy("This visit has already been sent back."),
    "correct": gettext_lazy("Only a visit sent back can be marked corrected."),
}
MOVE_PERMS = {"check": Perm.VISIT_REVIEW, "return": Perm.VISIT_REVIEW, "correct": Perm.VISIT_RECORD}


def _locked(actor: User, visit: Visit | int) -> Visit:
    pk = visit.pk if isinstance(visit, Visit) else visit
    found = scope(actor, Visit.objects.select_for_update()).filter(pk=pk).first()
    if found is None:
        raise CarenetError(_("There is no visit with this id in your jurisdiction."), field="visit")
    return found


def _comment(text: str, *, required: bool, field: str) -> str:
    text = (text or "").strip()
    if required and not text:
        raise CarenetError(_("Write a comment saying what must be corrected."), field=field)
    if len(text) > COMMENT_MAX:
        raise CarenetError(
            _("The comment is too long (at most %(n)d characters).") % {"n": COMMENT_MAX}, field=field
        )
    return text


def _move(actor: User, visit: Visit | int, action: str, comment: str) -> Visit:
    if not has_perm(actor, MOVE_PERMS[action]):
        raise PermissionDeniedError(_("Your role may not do this."))
    current = _locked(actor, visit)
    sources, target = MOVES[action]
    if current.review_state not in sources:
        raise CarenetError(str(WRONG_MOVE[action]), field="review_state")
    before = current.review_state
    changes: dict[str, list[object]] = {"review_state": [before, target]}
    if action == "correct":
        # The reviewer's comment stays on the visit; the director's answer lives in the history.
        changes["note"] = [None, comment]
    else:
        changes["review_comment"] = [current.review_comment, comment]
        current.review_comment = comment
        current.reviewed_by = actor
        current.reviewed_at = timezone.now()
    current.review_state = target
    current.save(update_fields=["review_state", "review_comment", "reviewed_by", "reviewed_at"])
    events.change_recorded(
        actor=actor,
        entity="visit",
        entity_id=current.pk,
        child_id=current.child_id,
        division_code=current.division_code,
        action="review",
        changes=changes,
    )
    return current


@transaction.atomic
def review_check(*, actor: User, visit: Visit | int, comment: str = "") -> Visit:
    """Mark a visit as checked (an optional comment is kept with it)."""
    return _move(actor, visit, "check", _comment(comment, required=False, field="comment"))


@transaction.atomic
def review_return(*, actor: User, visit: Visit | int, comment: str) -> Visit:
    """Send a visit back to its village with a comment saying what is wrong (the comment is required)."""
    return _move(actor, visit, "return", _comment(comment, required=True, field="comment"))


@transaction.atomic
def review_correct(*, actor: User, visit: Visit | int, note: str) -> Visit:
    """The village answers a visit sent back: it is pending review again, the note in its history."""
    return _move(actor, visit, "correct", _comment(note, required=True, field="note"))


def _within(actor: User, division: Division | None) -> str:
    """The division code a sample is drawn under: the actor's own, or one of their subtree."""
    if division is None:
        return actor.division.code if actor.division_id else ""
    if not in_subtree(actor, division):
        raise CarenetError(_("This division is not in your jurisdiction."), field="division")
    return division.code


@transaction.atomic
def review_sample(
    *, actor: User, division: Division | None = None, n: int, today: dt.date | None = None
) -> list[Visit]:
    """Draw `n` visits at random among those not yet reviewed, of the last SAMPLE_DAYS days, under `division`
    (default: the actor's whole jurisdiction). The draw is recorded, so the sample can be shown to be random
    rather than chosen."""
    if not has_perm(actor, Perm.VISIT_REVIEW):
        raise PermissionDeniedError(_("Your role may not do this."))
    if not 1 <= n <= MAX_SAMPLE:
        raise CarenetError(_("Choose between 1 and %(max)d visits.") % {"max": MAX_SAMPLE}, field="n")
    code = _within(actor, division)
    since = (today or timezone.localdate()) - dt.timedelta(days=SAMPLE_DAYS)
    qs = scope(actor, Visit.objects.filter(review_state=ReviewState.PENDING, visited_on__gte=since))
    if code:
        qs = under(qs, code)
    picked = list(qs.select_related("child").order_by("?")[:n])
    events.changes_recorded(
        actor=actor,
        entity="visit",
        action="review",
        rows=[(v.pk, v.child_id, v.division_code, {"sampled": [None, code or "*"]}) for v in picked],
    )
    return picked


def returned_open(actor: User) -> QuerySet[Visit]:
    """Visits sent back and not yet answered: neither marked corrected nor followed by a newer visit of the
    same child (a new visit is the answer too)."""
    newer = Visit.objects.filter(child_id=OuterRef("child_id"), pk__gt=OuterRef("pk"))
    return (
        scope(actor, Visit.objects.filter(review_state=ReviewState.RETURNED))
        .exclude(Exists(newer))
        .select_related("child", "reviewed_by")
        .order_by("-reviewed_at", "-id")
    )
