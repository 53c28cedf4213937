"""Enrolments: opening and ending a child's entitlement, suspensions, and following a child who moves."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.benefits import months
from carenet.benefits.models import PROGRAMMES, Application, EndReason, Enrolment, Suspension
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry.models import Child
from carenet.registry.signals import child_changed


def _log(actor: User | None, enrolment: Enrolment, action: str, changes: dict) -> None:
    events.change_recorded(
        actor=actor,
        entity="enrolment",
        entity_id=enrolment.pk,
        child_id=enrolment.child_id,
        division_code=enrolment.division_code,
        action=action,
        changes=changes,
    )


def programmes_for(category: str) -> list[str]:
    """The enrolment-based programmes a category entitles to (campaigns follow the basic allowance)."""
    return [code for code, spec in PROGRAMMES.items() if spec.via is None and category in spec.categories]


def enrolments_open_for(
    *, actor: User | None, child: Child, category: str, start_month: dt.date, application: Application | None
) -> list[Enrolment]:
    """Open every programme the category entitles to from `start_month` (earlier months become arrears in the
    next payroll). A programme the child already draws is left as it is."""
    opened = []
    start_month = months.first(start_month)
    for programme in programmes_for(category):
        current = (
            Enrolment.objects.select_for_update()
            .filter(child=child, programme=programme, end_month__isnull=True)
            .first()
        )
        if current is not None and current.category == category:
            continue
        if current is not None:
            # A switch (e.g. a poor-family child found to be an orphan): the old category is paid up to the
            # month before, the new one from its effective month, at its own standard.
            enrolment_end(
                actor=actor,
                enrolment=current,
                last_month=months.add(start_month, -1),
                reason=EndReason.OTHER,
                note=category,
            )
        enrolment = Enrolment.objects.create(
            child=child,
            programme=programme,
            category=category,
            division_code=child.division_code,
            start_month=months.first(start_month),
            application=application,
            created_by=actor,
        )
        _log(
            actor,
            enrolment,
            "create",
            {
                "programme": [None, programme],
                "category": [None, category],
                "start_month": [None, months.label(enrolment.start_month)],
            },
        )
        opened.append(enrolment)
    return opened


def enrolment_end(
    *, actor: User | None, enrolment: Enrolment, last_month: dt.date, reason: str, note: str = ""
) -> Enrolment:
    """Pay through `last_month` and no further. Refused if payments already reach past it."""
    from carenet.benefits.models import LIVE_STATUSES, PaymentLine

    last_month = months.first(last_month)
    if last_month < enrolment.start_month:
        last_month = enrolment.start_month  # never paid: the range must stay valid; nothing is owed past it
    paid_later = PaymentLine.objects.filter(
        child_id=enrolment.child_id,
        programme=enrolment.programme,
        district_code=enrolment.district_code,
        month__gt=last_month,
        status__in=LIVE_STATUSES,
    ).exists()
    if paid_later:
        raise CarenetError(
            _(
                "Payments for months after %(month)s have already been approved; the enrolment cannot end earlier."
            )
            % {"month": months.label(last_month)},
            field="effective_month",
        )
    before = enrolment.end_month
    enrolment.end_month, enrolment.end_reason, enrolment.end_note = last_month, reason, note[:300]
    enrolment.save(update_fields=["end_month", "end_reason", "end_note"])
    _log(
        actor,
        enrolment,
        "update",
        {
            "end_month": [before and months.label(before), months.label(last_month)],
            "end_reason": ["", reason],
        },
    )
    return enrolment


def enrolments_end_for(
    *, actor: User | None, child: Child, category: str, last_month: dt.date, reason: str, note: str = ""
) -> list[Enrolment]:
    """End the child's open enrolments drawn through `category`."""
    ended = []
    for enrolment in Enrolment.objects.select_for_update().filter(
        child=child, category=category, end_month__isnull=True
    ):
        ended.append(
            enrolment_end(actor=actor, enrolment=enrolment, last_month=last_month, reason=reason, note=note)
        )
    return ended


def _require_district(actor: User, enrolment: Enrolment) -> None:
    if not has_perm(actor, Perm.BENEFIT_SUSPEND):
        raise PermissionDeniedError(_("Your role may not do this."))
    if not (
        actor.division_id
        and len(actor.division.code) == 6
        and enrolment.division_code.startswith(actor.division.code)
    ):
        raise PermissionDeniedError(_("Only the paying district decides on a suspension."))


@transaction.atomic
def suspension_start(*, actor: User, enrolment: Enrolment, from_month: dt.date, reason: str) -> Suspension:
    enrolment = scope(actor, Enrolment.objects.select_for_update()).get(pk=enrolment.pk)
    _require_district(actor, enrolment)
    if not reason.strip():
        raise CarenetError(_("Give the reason for the suspension."), field="reason")
    if enrolment.end_month is not None:
        raise CarenetError(_("This enrolment has ended."))
    if enrolment.suspensions.filter(to_month__isnull=True).exists():
        raise CarenetError(_("The payments are already suspended."))
    suspension = Suspension.objects.create(
        enrolment=enrolment, from_month=months.first(from_month), reason=reason.strip(), decided_by=actor
    )
    _log(
        actor,
        enrolment,
        "update",
        {"suspended_from": [None, months.label(suspension.from_month)], "reason": [None, reason]},
    )
    return suspension


@transaction.atomic
def suspension_lift(*, actor: User, suspension: Suspension, last_month: dt.date | None = None) -> Suspension:
    """Resume payment after `last_month` (default: last month, so this month is paid again)."""
    suspension = scope(actor, Suspension.objects.select_for_update()).get(pk=suspension.pk)
    _require_district(actor, suspension.enrolment)
    if suspension.to_month is not None:
        raise CarenetError(_("This suspension has already been lifted."))
    last = months.first(last_month) if last_month else months.add(months.first(timezone.localdate()), -1)
    if last < suspension.from_month:
        last = suspension.from_month
    suspension.to_month, suspension.lifted_by = last, actor
    suspension.save(update_fields=["to_month", "lifted_by"])
    _log(actor, suspension.enrolment, "update", {"suspended_to": [None, months.label(last)]})
    return suspension


def _last_paid(enrolment: Enrolment) -> dt.date | None:
    from carenet.benefits.models import LIVE_STATUSES, PaymentLine

    line = (
        PaymentLine.objects.filter(
            child_id=enrolment.child_id,
            programme=enrolment.programme,
            district_code=enrolment.district_code,
            status__in=LIVE_STATUSES,
        )
        .order_by("-month")
        .first()
    )
    return line.month if line else None


@receiver(child_changed)
def _follow_move(sender: object, child_ids: list[int], moved: bool = False, **kwargs: object) -> None:
    """A child who moves within the district takes their enrolments along; one who moves to another district
    is paid by the old district through the move month and by the new one from the next month."""
    if not moved:
        return
    this_month = months.first(timezone.localdate())
    for enrolment in (
        Enrolment.objects.select_for_update()
        .select_related("child")
        .filter(child_id__in=child_ids, end_month__isnull=True)
    ):
        new_code = enrolment.child.division_code
        if new_code == enrolment.division_code:
            continue
        if new_code[:6] == enrolment.division_code[:6] or enrolment.start_month > this_month:
            old = enrolment.division_code
            enrolment.division_code = new_code
            enrolment.save(update_fields=["division_code"])
            _log(None, enrolment, "update", {"division_code": [old, new_code]})
            continue
        # Months the old district has already approved stay its own; the new district takes over after them.
        last = max(this_month, _last_paid(enrolment) or this_month)
        enrolment_end(
            actor=None, enrolment=enrolment, last_month=last, reason=EndReason.MOVED, note=new_code[:6]
        )
        successor = Enrolment.objects.create(
            child=enrolment.child,
            programme=enrolment.programme,
            category=enrolment.category,
            division_code=new_code,
            start_month=months.add(last, 1),
            application=enrolment.application,
        )
        _log(
            None,
            successor,
            "create",
            {
                "programme": [None, successor.programme],
                "start_month": [None, months.label(successor.start_month)],
            },
        )
