"""Reads for determination (精准认定). Every function takes the acting user and starts from scope().

The queue (待办申请) is what waits for the caller's own level:
  village director     filed applications to check, and returned ones to complete and resubmit
  street supervisor    applications checked by a village, to review
  district specialist  applications reviewed by a street, to approve
  anyone else          nothing (the city, finance and auditors follow the full list)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.models import User
from carenet.benefits.applications import HOLDER, OPEN_STATES, Level, level_of
from carenet.benefits.models import Application, ApplicationEvidence, ApplicationStep
from carenet.registry.models import ChildDocument

LIST_QUEUE = "queue"
LIST_ALL = "all"
STATUS_OPEN = "open"  # the status filter's "undecided" choice


@dataclass(frozen=True)
class ApplicationFilters:
    status: str = ""  # "": any; "open": any undecided state; else one ApplicationStatus
    kind: str = ""
    category: str = ""
    child_id: int | None = None


def _states_for(level: Level | None) -> list[str]:
    return [state for state, holder in HOLDER.items() if holder == level]


def _listed(qs: QuerySet[Application]) -> QuerySet[Application]:
    return qs.select_related("child", "child__division", "filed_by").order_by("-filed_at", "-id")


def application_queue(*, actor: User) -> QuerySet[Application]:
    """Applications waiting for a step of the caller's level, oldest first (they have waited longest)."""
    states = _states_for(level_of(actor))
    if not states:
        return Application.objects.none()
    qs = scope(actor, Application.objects.filter(status__in=states))
    return _listed(qs).order_by("filed_at", "id")


def application_list(*, actor: User, filters: ApplicationFilters) -> QuerySet[Application]:
    qs = scope(actor, Application.objects.all())
    if filters.status == STATUS_OPEN:
        qs = qs.filter(status__in=OPEN_STATES)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.child_id is not None:
        qs = qs.filter(child_id=filters.child_id)
    return _listed(qs)


def application_counts(*, actor: User) -> dict[str, int]:
    """Applications in scope per status (one grouped query), for the status filter's figures."""
    rows = scope(actor, Application.objects.all()).values("status").annotate(n=Count("id")).order_by()
    return {row["status"]: row["n"] for row in rows}


def application_get(*, actor: User, pk: int | str) -> Application:
    """One application the caller may see; anything else is a 404, like an id that does not exist."""
    return get_scoped_or_404(
        actor, Application.objects.select_related("child", "child__division", "filed_by"), pk=pk
    )


def application_steps(application: Application) -> list[ApplicationStep]:
    """The timeline: every move, oldest first, each with the evidence attached while it was current."""
    evidence = ApplicationEvidence.objects.select_related("document", "added_by").order_by("added_at", "id")
    return list(
        application.steps.select_related("actor")
        .prefetch_related(Prefetch("evidence", queryset=evidence))
        .order_by("at", "id")
    )


def application_evidence(application: Application) -> list[ApplicationEvidence]:
    return list(
        application.evidence.select_related("document", "document__uploaded_by", "added_by", "step").order_by(
            "added_at", "id"
        )
    )


def documents_to_attach(*, actor: User, application: Application) -> list[ChildDocument]:
    """The child's documents the caller may see that are not yet evidence of this application."""
    attached = application.evidence.values("document_id")
    qs = scope(actor, ChildDocument.objects.filter(child_id=application.child_id)).exclude(pk__in=attached)
    return list(qs.order_by("-uploaded_at", "-id"))


def child_documents(*, actor: User, child_id: int) -> list[ChildDocument]:
    """The documents of a child's file the caller may see (to pick evidence from when filing)."""
    return list(scope(actor, ChildDocument.objects.filter(child_id=child_id)).order_by("-uploaded_at", "-id"))
