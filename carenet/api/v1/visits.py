"""Home visits over HTTP: record one from a phone (exactly once per client id), read them, the work list.

A phone makes a `client_id` (UUID) before it first tries to send a visit and resends the same body until it
gets an answer: the first arrival is stored (201), every replay of the same body is answered with the stored
visit (200), and the same id with any other body, or from another account, is refused (409). The body hash is
taken over the JSON exactly as received (key order and whitespace aside), so a replay is recognised by an
indexed lookup made with the child's own query, before the photos are checked or anything is written.

Reads go through visits.selectors (which start from scope(), or scope_sql in the hand-written read-back of a
replay); every answer that carries a child's data writes an access record first, and if that write fails the
caller gets an error and no data (fail closed): a 503 for a read; a new visit is not stored at all, its access
record being part of the same statement, and the phone resends it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field, field_validator

from carenet.accounts.jurisdiction import get_scoped_or_404, subtree_division_or_404
from carenet.accounts.models import Division, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.api.v1.common import CHILD_COUNT_CAP, Page, PageParams, fail_closed, paginate, person_name
from carenet.api.v1.errors import AuditUnavailable, FieldError
from carenet.api.v1.security import current_user
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.problems.models import OwnerKind, Problem, ProblemCategory, Severity
from carenet.registry.models import Child
from carenet.visits import selectors, services
from carenet.visits.models import LivingSituation, ReviewState, Visit, VisitPhoto, VisitSchedule

logger = logging.getLogger(__name__)
router = Router(tags=["visits"])

MAX_ID = 2**63 - 1  # ids are bigints: a larger number is simply "no such record", never a database error
DIVISION_CODE_LENGTHS = {2, 4, 6, 9, 12}
LivingCode = Literal[tuple(["", *LivingSituation.values])]  # type: ignore[valid-type]  # "" = not stated
ProblemCategoryCode = Literal[tuple(ProblemCategory.values)]  # type: ignore[valid-type]
SeverityCode = Literal[tuple(Severity.values)]  # type: ignore[valid-type]
OwnerKindCode = Literal[tuple(OwnerKind.values)]  # type: ignore[valid-type]
ReviewCode = Literal[tuple(["", *ReviewState.values])]  # type: ignore[valid-type]


def _max(field: str) -> int:
    return int(Visit._meta.get_field(field).max_length)


PERSON_FIELDS = ("username", "first_name", "last_name")
VISIT_COLUMNS = tuple(f.name for f in Visit._meta.concrete_fields)


def _record_children(user: User, children: Iterable[tuple[int, str]], detail: str) -> None:
    unique = dict(children)  # child id -> division code, each child once
    if unique:
        fail_closed(
            lambda: events.accesses_recorded(
                actor=user, children=unique.items(), kind=AccessLog.Kind.API_VIEW, detail=detail
            )
        )


def _require(user: User, perm: Perm) -> None:
    if not has_perm(user, perm):
        if perm == Perm.VISIT_RECORD:
            raise PermissionDeniedError(_("Your role may not record visits."))
        raise PermissionDeniedError(_("Your role may not see children's records."))


def _division_code(value: str) -> str:
    value = value.strip()
    if value and (not value.isdigit() or len(value) not in DIVISION_CODE_LENGTHS):
        raise ValueError(_("A division code has 2, 4, 6, 9 or 12 digits."))
    return value


# ---------------------------------------------------------------- the visit as sent and as stored


class LocationIn(Schema):
    latitude: float = Field(..., ge=-90, le=90)
    longitude: float = Field(..., ge=-180, le=180)
    accuracy: float | None = Field(None, ge=0, le=1_000_000, description="metres (rounded to whole metres)")


class ProblemIn(Schema):
    category: ProblemCategoryCode
    severity: SeverityCode
    description: str = Field(..., max_length=2000)
    owner_kind: OwnerKindCode = OwnerKind.STREET.value
    owner_department: str = Field(
        "", max_length=100, validate_default=True, description="needed when owner_kind is department"
    )

    @field_validator("description")
    @classmethod
    def _described(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("Describe the problem."))
        return value

    @field_validator("owner_department")
    @classmethod
    def _department_named(cls, value: str, info: Any) -> str:
        if info.data.get("owner_kind") == OwnerKind.DEPARTMENT and not value.strip():
            raise ValueError(_("Name the department that should resolve the problem."))
        return value


class VisitIn(Schema):
    client_id: uuid.UUID = Field(
        description="made by the device before the first try; resend the same body with it until answered"
    )
    child: int = Field(..., ge=1, le=MAX_ID, description="the child's id")
    visited_on: dt.date = Field(description="the day of the visit (not in the future, at most 90 days ago)")
    living: LivingCode = Field("", description='the living situation; "" when not stated')
    met_child: bool = True
    met_guardian: bool = False
    met_others: str = Field("", max_length=_max("met_others"))
    living_note: str = Field("", max_length=_max("living_note"))
    guardian_present: bool | None = None
    guardian_capable: bool | None = None
    guardianship_change: str = Field("", max_length=_max("guardianship_change"))
    school_enrolled: bool | None = None
    school_attending: bool | None = None
    grade: str = Field("", max_length=_max("grade"))
    dropout_risk: bool = False
    health: str = Field("", max_length=_max("health"))
    safety_concern: str = Field("", max_length=_max("safety_concern"))
    needs: str = Field("", max_length=_max("needs"))
    notes: str = Field("", max_length=5000)
    location: LocationIn | None = None
    photos: list[str] = Field(
        default_factory=list,
        description="base64 (or a data: URL) of each JPEG, PNG or WebP photo; at most 4, each at most 600 KB",
    )
    problems: list[ProblemIn] = Field(default_factory=list, max_length=20)

    model_config = {"extra": "forbid"}  # a misspelt field is an error, not an answer silently dropped

    @field_validator("photos")
    @classmethod
    def _few_photos(cls, value: list[str]) -> list[str]:
        if len(value) > settings.MAX_VISIT_PHOTOS:
            raise ValueError(_("At most %(n)d photos per visit.") % {"n": settings.MAX_VISIT_PHOTOS})
        return value


class LocationOut(Schema):
    latitude: float
    longitude: float
    accuracy: int | None


class PhotoOut(Schema):
    id: int
    url: str


class ProblemOut(Schema):
    id: int
    category: str
    severity: str
    state: str
    deadline: dt.date


class VisitOut(Schema):
    id: int
    client_id: uuid.UUID
    child: int
    child_name: str
    division_code: str
    visited_on: dt.date
    recorded_by: str = Field(description="the name of the person who recorded the visit")
    received_at: dt.datetime
    met_child: bool
    met_guardian: bool
    met_others: str
    living: str
    living_note: str
    guardian_present: bool | None
    guardian_capable: bool | None
    guardianship_change: str
    school_enrolled: bool | None
    school_attending: bool | None
    grade: str
    dropout_risk: bool
    health: str
    safety_concern: str
    needs: str
    notes: str
    location: LocationOut | None
    due_on: dt.date | None = Field(description="the due date in force when the visit was recorded")
    on_time: bool
    review_state: str
    review_comment: str
    photos: list[PhotoOut]
    problems: list[ProblemOut]


ANSWER_FIELDS = tuple(
    f for f in services.VISIT_FIELDS if f not in {"latitude", "longitude", "location_accuracy"}
)


def _out(
    visit: Visit, child: Child, recorder: User, photos: list[VisitPhoto], problems: list[Problem]
) -> dict[str, Any]:
    location = None
    if visit.latitude is not None and visit.longitude is not None:
        location = {
            "latitude": float(visit.latitude),
            "longitude": float(visit.longitude),
            "accuracy": visit.location_accuracy,
        }
    return {
        "id": visit.pk,
        "client_id": visit.client_id,
        "child": child.pk,
        "child_name": child.name,
        "division_code": visit.division_code,
        "visited_on": visit.visited_on,
        "recorded_by": person_name(recorder),
        "received_at": visit.received_at,
        **{f: getattr(visit, f) for f in ANSWER_FIELDS},
        "location": location,
        "due_on": visit.due_on,
        "on_time": visit.on_time,
        "review_state": visit.review_state,
        "review_comment": visit.review_comment,
        "photos": [
            {"id": p.pk, "url": reverse("api-v1:visit_photo", kwargs={"photo_id": p.pk})} for p in photos
        ],
        "problems": [
            {
                "id": p.pk,
                "category": p.category,
                "severity": p.severity,
                "state": p.state,
                "deadline": p.deadline,
            }
            for p in problems
        ],
    }


def _answerable(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    """Visits with what their answer shows: the child's name (not its whole file), recorder, photos, problems."""
    return _with_related(
        qs.select_related("child", "recorded_by").only(
            *VISIT_COLUMNS, "child__name", *(f"recorded_by__{f}" for f in PERSON_FIELDS)
        )
    )


def _read_back(user: User, pk: int) -> dict[str, Any]:
    """A stored visit's answer, read back through the caller's jurisdiction like every read."""
    found = selectors.visit_read_back(user, pk)
    if found is None:  # stored by this account, but its child has left the caller's jurisdiction since
        raise services.VisitConflict(
            _("This visit is already stored, but its child is no longer in your jurisdiction."),
            field="client_id",
        )
    visit, photos, problems = found
    return _out(visit, visit.child, visit.recorded_by, photos, problems)


def _stored(visit: Visit) -> dict[str, Any]:
    """A visit read back whole (its child, recorder, photos and problems already fetched or fetched here)."""
    return _out(visit, visit.child, visit.recorded_by, list(visit.photos.all()), list(visit.problems.all()))


def _with_related(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    return qs.prefetch_related(
        Prefetch("photos", queryset=selectors.answer_photos(VisitPhoto.objects.all())),
        Prefetch("problems", queryset=selectors.answer_problems(Problem.objects.all())),
    )


# ---------------------------------------------------------------- record


def _loc(field: str) -> list[Any]:
    """A service's field name as an API location: "problems[1].owner_department" -> body/problems/1/owner_…"""
    loc: list[Any] = ["body"]
    for part in field.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", part)
        loc += [name] if name else []
        loc += [int(i) for i in indexes if i]
    return loc


def _photo_error(index: int, message: str) -> FieldError:
    error = FieldError("photos", message)
    error.loc = ["body", "photos", index]
    return error


def _photos(texts: list[str]) -> list[bytes]:
    out = []
    for index, text in enumerate(texts):
        encoded = text.split(",", 1)[1] if text.startswith("data:") else text  # a canvas's data: URL
        # The decoded size is about 3/4 of the text: refuse an oversized photo before decoding it.
        if len(encoded) > (settings.MAX_VISIT_PHOTO_BYTES + 2) // 3 * 4 + 4:
            limit = settings.MAX_VISIT_PHOTO_BYTES // 1024
            raise _photo_error(index, _("The photo is larger than %(limit)d KB.") % {"limit": limit})
        try:
            out.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            raise _photo_error(index, _("The photo is not valid base64.")) from None
    return out


def _visit_input(payload: VisitIn) -> services.VisitInput:
    fields = payload.dict(include=set(ANSWER_FIELDS))
    if payload.location is not None:
        place = payload.location
        fields["latitude"] = Decimal(f"{place.latitude:.6f}")  # the column keeps 6 decimals (~0.1 m)
        fields["longitude"] = Decimal(f"{place.longitude:.6f}")
        fields["location_accuracy"] = None if place.accuracy is None else round(place.accuracy)
    return services.VisitInput(
        client_id=payload.client_id,
        child_id=payload.child,
        visited_on=payload.visited_on,
        fields=fields,
        photos=_photos(payload.photos),
        problems=[services.ProblemInput(**p.dict()) for p in payload.problems],
    )


def _answer(request: HttpRequest, user: User, visit: Visit, created: bool) -> HttpResponse:
    if created:  # everything is at hand (record_visit's new_photos, new_problems)
        # Its access record was written with the visit (record_visit's read_back).
        return _respond(request, 201, _out(visit, visit.child, user, visit.new_photos, visit.new_problems))
    # A replay, or a concurrent retry stored it first: read it back whole.
    out = _read_back(user, visit.pk)
    _record_children(user, [(out["child"], out["division_code"])], "api visit replay")
    return _respond(request, 200, out)


def _respond(request: HttpRequest, status: int, out: dict[str, Any]) -> HttpResponse:
    """The answer to a posted visit, rendered as django-ninja renders a VisitOut, without its second
    validation pass over a dict _out() has just built field by field (0.3 ms of a 2.5 ms request; every
    phone's visit comes through here). test_visits_api checks each answer is exactly a VisitOut."""
    from carenet.api.v1.router import api  # the API that mounts this module (imported when first answering)

    return api.create_response(request, out, status=status)


@router.post(
    "/",
    response={200: VisitOut, 201: VisitOut},
    url_name="visit_create",
    summary="Record a home visit (exactly once per client_id)",
    description="201 with the stored visit the first time; 200 with the same stored visit for a replay of the "
    "same body; 409 when the client_id was used with another body or by another account; 422 naming the "
    "field for bad input (nothing is stored). A child outside your jurisdiction is a 422 on `child`.",
)
def visit_create(request: HttpRequest, payload: VisitIn) -> HttpResponse:
    user = current_user(request)
    _require(user, Perm.VISIT_RECORD)
    digest = services.body_hash(json.loads(request.body))  # as sent, not as pydantic normalised it
    data = _visit_input(payload)
    try:
        # A retry is recognised first (VisitConflict, 409, unless the same account and body); only a replay
        # reads the visit back whole.
        visit, created = services.record_visit(
            actor=user, data=data, digest=digest, read_back="api visit record"
        )
    except (services.VisitConflict, PermissionDeniedError):
        raise
    except CarenetError as exc:
        error = FieldError(exc.field or "", exc.message)
        error.loc = _loc(exc.field) if exc.field else ["body"]
        raise error from exc
    return _answer(request, user, visit, created)


# ---------------------------------------------------------------- read


class VisitListParams(PageParams):
    child: int | None = Field(None, ge=1, le=MAX_ID, description="only this child's visits")
    division: str = Field("", max_length=12, description="division code prefix (district, street or village)")
    review_state: ReviewCode = ""

    @field_validator("division")
    @classmethod
    def _division(cls, value: str) -> str:
        return _division_code(value)


@router.get(
    "/",
    response=Page[VisitOut],
    url_name="visit_list",
    summary="List visits (a child's, or all in your jurisdiction)",
    description="Newest first. With `child`, a child outside your jurisdiction is a 404.",
)
def visit_list(request: HttpRequest, params: Query[VisitListParams]) -> dict[str, Any]:
    user = current_user(request)
    _require(user, Perm.CHILD_VIEW)
    if params.child is not None:
        get_scoped_or_404(user, Child.objects.only("id"), pk=params.child)
    qs = selectors.visit_list(
        user, child_id=params.child, division_code=params.division, review_state=params.review_state
    )
    paged = paginate(_answerable(qs), params, count_cap=CHILD_COUNT_CAP)
    visits = list(paged.rows)
    results = [_stored(v) for v in visits]
    _record_children(user, [(v.child_id, v.division_code) for v in visits], "api visits")
    return paged.envelope(results)


@router.get("/{int:visit_id}", response=VisitOut, url_name="visit_get", summary="One visit")
def visit_get(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    user = current_user(request)
    _require(user, Perm.CHILD_VIEW)
    visit = selectors.visit_get(user, visit_id)  # 404 outside jurisdiction
    out = _out(
        visit,
        visit.child,
        visit.recorded_by,
        list(selectors.answer_photos(visit.photos.all())),
        list(selectors.answer_problems(visit.problems.all())),
    )
    _record_children(user, [(visit.child_id, visit.division_code)], "api visit")
    return out


@router.get(
    "/photos/{int:photo_id}",
    url_name="visit_photo",
    summary="A visit photo (the image bytes)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "the image",
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}}
                    for t in services.PHOTO_TYPES.values()
                },
            }
        }
    },
)
def visit_photo(request: HttpRequest, photo_id: int) -> FileResponse:
    user = current_user(request)
    _require(user, Perm.CHILD_VIEW)
    photo = get_scoped_or_404(user, VisitPhoto.objects.select_related("visit"), pk=photo_id)
    try:
        handle = photo.file.open("rb")
    except OSError:
        logger.warning("visit photo %s: file missing", photo.pk)
        raise Http404 from None
    try:
        fail_closed(
            lambda: events.access_recorded(
                actor=user,
                child_id=photo.visit.child_id,
                division_code=photo.visit.division_code,
                kind=AccessLog.Kind.PHOTO,
                detail="api visit photo",
            )
        )
    except AuditUnavailable:
        handle.close()
        raise
    response = FileResponse(handle, content_type=photo.content_type)
    response["Cache-Control"] = "no-store, private"
    return response


# ---------------------------------------------------------------- work list and rollup


def _division_param(user: User, code: str) -> Division | None:
    """A division the caller asked about: under their own (never an ancestor or elsewhere), or a 404."""
    return subtree_division_or_404(user, code) if code else None


class CountsOut(Schema):
    scheduled: int
    overdue: int
    due_soon: int
    never_visited: int
    on_time_rate: float | None = Field(description="share of scheduled children not overdue; null if none")


def _counts(c: selectors.Counts) -> dict[str, Any]:
    return {
        "scheduled": c.scheduled,
        "overdue": c.overdue,
        "due_soon": c.due_soon,
        "never_visited": c.never_visited,
        "on_time_rate": c.on_time_rate,
    }


class ChildDueOut(Schema):
    child: int
    name: str
    division_code: str
    division_name: str
    category: str = Field(description="the category whose visit rule sets the due date")
    interval_days: int
    last_visit_on: dt.date | None
    next_due_on: dt.date
    days_overdue: int = Field(
        description="days past the due date; 0 = due today, negative = due in that many days"
    )


class WorkListOut(Schema):
    today: dt.date
    counts: CountsOut
    overdue: list[ChildDueOut]
    due_soon: list[ChildDueOut]
    never_visited: list[ChildDueOut]


class DueParams(Schema):
    limit: int = Field(200, ge=1, le=500, description="at most this many children in each list")
    division: str = Field("", max_length=12, description="a division under your own (default: all of yours)")

    @field_validator("division")
    @classmethod
    def _division(cls, value: str) -> str:
        return _division_code(value)


def _due(row: VisitSchedule, today: dt.date) -> dict[str, Any]:
    return {
        "child": row.child_id,
        "name": row.child.name,
        "division_code": row.division_code,
        "division_name": row.child.division.name,
        "category": row.category,
        "interval_days": row.interval_days,
        "last_visit_on": row.last_visit_on,
        "next_due_on": row.next_due_on,
        "days_overdue": (today - row.next_due_on).days,
    }


@router.get(
    "/due/",
    response=WorkListOut,
    url_name="visit_due",
    summary="Your work list: overdue, due soon, never visited",
    description="Most overdue first. The counts are complete; each list holds at most `limit` children.",
)
def visit_due(request: HttpRequest, params: Query[DueParams]) -> dict[str, Any]:
    user = current_user(request)
    _require(user, Perm.CHILD_VIEW)
    work = selectors.worklist(user, division=_division_param(user, params.division), limit=params.limit)
    lists = {name: getattr(work, name) for name in ("overdue", "due_soon", "never_visited")}
    out = {
        "today": work.today,
        "counts": _counts(work.counts),
        **{name: [_due(r, work.today) for r in rows] for name, rows in lists.items()},
    }
    shown = [(r.child_id, r.division_code) for rows in lists.values() for r in rows]
    _record_children(user, shown, "api visits due")
    return out


class DivisionRef(Schema):
    code: str
    name: str


class RollupRowOut(CountsOut):
    code: str
    name: str


class RollupOut(Schema):
    division: DivisionRef
    total: CountsOut
    rows: list[RollupRowOut] = Field(description="one per direct sub-division you may see")


class RollupParams(Schema):
    division: str = Field("", max_length=12, description="a division under your own (default: your own)")

    @field_validator("division")
    @classmethod
    def _division(cls, value: str) -> str:
        return _division_code(value)


@router.get(
    "/rollup/",
    response=RollupOut,
    url_name="visit_rollup",
    summary="Visit counts per sub-division",
    description="Scheduled, overdue, due soon and never visited children, per direct sub-division and in total.",
)
def visit_rollup(request: HttpRequest, params: Query[RollupParams]) -> dict[str, Any]:
    user = current_user(request)
    _require(user, Perm.CHILD_VIEW)
    parent = _division_param(user, params.division) or user.division
    if parent is None:
        raise Http404
    rows, total = selectors.rollup(user, parent)
    return {
        "division": {"code": parent.code, "name": parent.name},
        "total": _counts(total),
        "rows": [{"code": r.division.code, "name": r.division.name, **_counts(r.counts)} for r in rows],
    }
