"""Problems (督办) over HTTP: the caller's problems, one problem with its thread, one action on it.

Reads go through problems.selectors (which start from scope()), writes through problems.services; a
problem outside the caller's jurisdiction is a 404 like a missing one. A response carrying a problem's
thread writes an access record for the child first; if that write fails the caller gets a 503 and no data.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from carenet.accounts.models import User
from carenet.accounts.permissions import Perm, has_perm
from carenet.api.v1.common import CHILD_COUNT_CAP, Page, PageParams, fail_closed, paginate, person_name
from carenet.api.v1.security import current_user
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.core.errors import PermissionDeniedError
from carenet.problems import selectors, services
from carenet.problems.models import (
    OwnerKind,
    Problem,
    ProblemAction,
    ProblemCategory,
    ProblemState,
    Severity,
)

logger = logging.getLogger(__name__)
router = Router(tags=["problems"])

StateCode = Literal[tuple(["", *ProblemState.values])]  # type: ignore[valid-type]  # "": not closed
CategoryCode = Literal[tuple(["", *ProblemCategory.values])]  # type: ignore[valid-type]
SeverityCode = Literal[tuple(["", *Severity.values])]  # type: ignore[valid-type]
ActionCode = Literal[tuple(services.USER_ACTIONS)]  # type: ignore[valid-type]
OwnerCode = Literal[tuple(["", *OwnerKind.values])]  # type: ignore[valid-type]


def _person(user: User | None) -> str | None:
    return None if user is None else person_name(user)


def _require_view(user: User) -> None:
    if not has_perm(user, Perm.CHILD_VIEW):
        raise PermissionDeniedError(_("Your role may not see children's records."))


# ---------------------------------------------------------------- list


class ProblemListParams(PageParams):
    list: Literal["all", "supervision"] = Field(
        "all", description="all: every problem you can see; supervision: the ones your level must act on"
    )
    state: StateCode = Field("", description='one state; "" (default) = every state but closed')
    category: CategoryCode = ""
    severity: SeverityCode = ""
    level: int | None = Field(None, ge=0, le=2, description="0 street, 1 district, 2 city")
    overdue: bool = Field(False, description="only problems past their deadline whose owner has not acted")
    child: int | None = Field(None, ge=1, description="only this child's problems")


class ProblemOut(Schema):
    id: int
    child: int
    child_name: str
    division_code: str
    division_name: str
    visit: int | None
    category: str
    category_display: str
    severity: str
    severity_display: str
    description: str
    owner_kind: str
    owner_kind_display: str
    owner_department: str
    state: str
    state_display: str
    level: int
    level_display: str
    deadline: dt.date
    overdue: bool
    days_overdue: int
    raised_at: dt.datetime
    escalated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None


def _problem(p: Problem, today: dt.date) -> dict[str, Any]:
    late = selectors.days_overdue(p, today)
    return {
        "id": p.pk,
        "child": p.child_id,
        "child_name": p.child.name,
        "division_code": p.division_code,
        "division_name": p.child.division.name,
        "visit": p.visit_id,
        "category": p.category,
        "category_display": p.get_category_display(),
        "severity": p.severity,
        "severity_display": p.get_severity_display(),
        "description": p.description,
        "owner_kind": p.owner_kind,
        "owner_kind_display": p.get_owner_kind_display(),
        "owner_department": p.owner_department,
        "state": p.state,
        "state_display": p.get_state_display(),
        "level": p.level,
        "level_display": p.get_level_display(),
        "deadline": p.deadline,
        "overdue": late > 0,
        "days_overdue": late,
        "raised_at": p.raised_at,
        "escalated_at": p.escalated_at,
        "resolved_at": p.resolved_at,
        "closed_at": p.closed_at,
    }


def _filters(params: ProblemListParams) -> selectors.ProblemFilters:
    return selectors.ProblemFilters(
        state=params.state,
        category=params.category,
        severity=params.severity,
        level=params.level,
        overdue=params.overdue,
        child_id=params.child,
    )


@router.get("/", response=Page[ProblemOut], url_name="problem_list", summary="List problems")
def problem_list(request: HttpRequest, params: Query[ProblemListParams]) -> dict[str, Any]:
    user = current_user(request)
    _require_view(user)
    today = timezone.localdate()
    qs = selectors.problem_list(actor=user, filters=_filters(params), which=params.list, today=today)
    paged = paginate(qs, params, count_cap=CHILD_COUNT_CAP)
    return paged.envelope([_problem(p, today) for p in paged.rows])


class SummaryParams(Schema):
    list: Literal["all", "supervision"] = "supervision"


class SummaryOut(Schema):
    counts: dict[str, int] = Field(description="problems per state (closed included) and 'overdue'")


@router.get("/summary", response=SummaryOut, url_name="problem_summary", summary="Counts by state")
def problem_summary(request: HttpRequest, params: Query[SummaryParams]) -> dict[str, Any]:
    user = current_user(request)
    _require_view(user)
    counts = selectors.problem_counts(actor=user, filters=selectors.ProblemFilters(), which=params.list)
    return {"counts": counts}


# ---------------------------------------------------------------- one problem


class ActionOut(Schema):
    id: int
    kind: str
    kind_display: str
    actor: str | None = Field(description="null: the system (automatic escalation)")
    from_state: str
    to_state: str
    text: str
    at: dt.datetime


class ProblemDetail(ProblemOut):
    raised_by: str | None
    actions: list[ActionOut] = Field(description="the thread, oldest first")
    allowed_actions: list[str] = Field(description="what the caller may do now (POST …/actions)")


def _action(a: ProblemAction) -> dict[str, Any]:
    return {
        "id": a.pk,
        "kind": a.kind,
        "kind_display": a.get_kind_display(),
        "actor": _person(a.actor),
        "from_state": a.from_state,
        "to_state": a.to_state,
        "text": a.text,
        "at": a.at,
    }


def _detail(user: User, problem: Problem, *, access_detail: str) -> dict[str, Any]:
    """Serialise, then record the access; nothing is returned unless the record was written."""
    out = _problem(problem, timezone.localdate())
    out["raised_by"] = _person(problem.raised_by)
    out["actions"] = [_action(a) for a in selectors.problem_thread(problem)]
    out["allowed_actions"] = services.allowed_actions(user, problem)
    fail_closed(
        lambda: events.access_recorded(
            actor=user,
            child_id=problem.child_id,
            division_code=problem.division_code,
            kind=AccessLog.Kind.API_VIEW,
            detail=access_detail,
        )
    )
    return out


@router.get(
    "/{problem_id}", response=ProblemDetail, url_name="problem_get", summary="One problem and its thread"
)
def problem_get(request: HttpRequest, problem_id: int) -> dict[str, Any]:
    user = current_user(request)
    _require_view(user)
    problem = selectors.problem_get(actor=user, pk=problem_id)
    return _detail(user, problem, access_detail=f"api problem {problem.pk}")


class ActionIn(Schema):
    action: ActionCode = Field(description="note, start, resolve, verify, close, reopen or assign")
    text: str = Field(
        "",
        max_length=services.MAX_TEXT,
        description="required for note, resolve (what was done) and reopen (why)",
    )
    owner_kind: OwnerCode = Field("", description="assign: street, department or guardian")
    owner_department: str = Field(
        "", max_length=services.DEPARTMENT_MAX, description="assign to a department"
    )


@router.post(
    "/{problem_id}/actions",
    response=ProblemDetail,
    url_name="problem_act",
    summary="Act on a problem (one step of its state machine, or a note)",
)
def problem_act(request: HttpRequest, problem_id: int, payload: ActionIn) -> dict[str, Any]:
    user = current_user(request)
    problem = selectors.problem_get(actor=user, pk=problem_id)  # 404 outside jurisdiction, before any 403
    data = services.ActionInput(
        action=payload.action,
        text=payload.text,
        owner_kind=payload.owner_kind,
        owner_department=payload.owner_department,
    )
    with transaction.atomic():  # the change and the access record of the answer land together, or neither
        services.problem_act(actor=user, problem_id=problem.pk, data=data)
        problem = selectors.problem_get(actor=user, pk=problem.pk)
        return _detail(user, problem, access_detail=f"api problem {problem.pk} {payload.action}")
