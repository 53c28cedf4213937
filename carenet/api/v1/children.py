"""The child registry over HTTP: list/search, read one file, register, update.

Jurisdiction is never decided here: reads go through registry.selectors (which start from scope()),
writes through registry.services. An id outside the caller's jurisdiction is a 404 like a missing one.
Every response that carries a child's file writes an access record first; if that write fails the
caller gets a 503 and no data (fail closed).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal

from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field, field_validator

from carenet.accounts.models import Division, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.api.v1.common import CHILD_COUNT_CAP, Page, PageParams, fail_closed, paginate, person_name
from carenet.api.v1.errors import FieldError
from carenet.api.v1.security import current_user
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.core import idnumber
from carenet.core.errors import PermissionDeniedError
from carenet.registry import selectors, services
from carenet.registry.models import (
    Category,
    CategoryMembership,
    Child,
    DisabilityLevel,
    FamilyMember,
    PersonStatus,
    Relationship,
)

logger = logging.getLogger(__name__)
router = Router(tags=["children"])


def _max(model: type, field: str) -> int:
    return int(model._meta.get_field(field).max_length)


CategoryCode = Literal[tuple(["", *Category.values])]  # type: ignore[valid-type]  # "" = any
SexCode = Literal["M", "F"]
DisabilityCode = Literal[tuple(DisabilityLevel.values)]  # type: ignore[valid-type]
RelationshipCode = Literal[tuple(Relationship.values)]  # type: ignore[valid-type]
PersonStatusCode = Literal[tuple(PersonStatus.values)]  # type: ignore[valid-type]
DIVISION_CODE_LENGTHS = {2, 4, 6, 9, 12}


# ---------------------------------------------------------------- list


class ChildListParams(PageParams):
    q: str = Field(
        "", max_length=60, description="name (汉字), pinyin (zhangwei), initials (zw) or an ID number"
    )
    category: CategoryCode = Field("", description="only children with this category open")
    division: str = Field("", max_length=12, description="division code prefix (district, street or village)")
    status: Literal["active", "archived", "all"] = "active"
    age_min: int | None = Field(None, ge=0, le=120)
    age_max: int | None = Field(None, ge=0, le=120)

    @field_validator("division")
    @classmethod
    def _division_code(cls, value: str) -> str:
        value = value.strip()
        if value and (not value.isdigit() or len(value) not in DIVISION_CODE_LENGTHS):
            raise ValueError(_("A division code has 2, 4, 6, 9 or 12 digits."))
        return value

    @field_validator("age_max")
    @classmethod
    def _age_range(cls, value: int | None, info: Any) -> int | None:
        low = info.data.get("age_min")
        if value is not None and low is not None and value < low:
            raise ValueError(_("The maximum age is below the minimum age."))
        return value


class ChildListItem(Schema):
    id: int
    name: str
    sex: str
    birth_date: dt.date
    age: int
    division_code: str
    division_name: str
    id_number: str = Field(description="masked (120112********1234) unless the role may see full ID numbers")
    categories: list[str] = Field(description="codes of the categories open today")
    status: str


def _shown_id(number: str, full: bool) -> str:
    return number if full else idnumber.mask(number)


@router.get("/", response=Page[ChildListItem], url_name="child_list", summary="List and search children")
def child_list(request: HttpRequest, params: Query[ChildListParams]) -> dict[str, Any]:
    user = current_user(request)
    if not has_perm(user, Perm.CHILD_VIEW):
        raise PermissionDeniedError(_("Your role may not see children's records."))
    filters = selectors.ChildFilters(
        q=params.q,
        category=params.category,
        division_code=params.division,
        status="" if params.status == "all" else params.status,
        age_min=params.age_min,
        age_max=params.age_max,
    )
    qs = (
        selectors.child_list(actor=user, filters=filters)
        .only("id", "name", "sex", "birth_date", "division_code", "id_number_enc", "status", "division__name")
        .prefetch_related(  # the open categories of this page only: one query, not one per row
            Prefetch(
                "categories",
                queryset=CategoryMembership.objects.filter(end_date__isnull=True)
                .only("id", "child_id", "category")
                .order_by("category"),
                to_attr="open_memberships",
            )
        )
    )
    paged = paginate(qs, params, count_cap=CHILD_COUNT_CAP)
    full = has_perm(user, Perm.CHILD_VIEW_FULL_ID)
    today = timezone.localdate()
    results = [
        {
            "id": c.pk,
            "name": c.name,
            "sex": c.sex,
            "birth_date": c.birth_date,
            "age": c.age_on(today),
            "division_code": c.division_code,
            "division_name": c.division.name,
            "id_number": _shown_id(c.id_number, full),
            "categories": [m.category for m in c.open_memberships],
            "status": c.status,
        }
        for c in paged.rows
    ]
    if full:
        fail_closed(
            lambda: events.accesses_recorded(
                actor=user,
                children=[(r["id"], r["division_code"]) for r in results if r["id_number"]],
                kind=AccessLog.Kind.FULL_ID,
                detail="api list",
            )
        )
    return paged.envelope(results)


# ---------------------------------------------------------------- detail


class HouseholdOut(Schema):
    id: int
    address: str
    hukou_number: str
    phone: str
    low_income: bool


class MemberOut(Schema):
    id: int
    name: str
    relationship: str
    relationship_display: str
    is_guardian: bool
    id_number: str
    phone: str
    status: str
    status_display: str
    status_since: dt.date | None
    status_until: dt.date | None
    evidence_note: str


class CategoryOut(Schema):
    id: int
    category: str
    category_display: str
    start_date: dt.date
    end_date: dt.date | None
    is_open: bool
    reason: str
    end_reason: str
    approved_by: str
    ended_by: str | None


class DocumentOut(Schema):
    id: int
    kind: str
    title: str
    content_type: str
    size: int
    uploaded_at: dt.datetime


class ChildDetail(Schema):
    id: int
    name: str
    name_pinyin: str
    sex: str
    sex_display: str
    birth_date: dt.date
    age: int
    ethnicity: str
    id_number: str
    id_number_full: bool = Field(description="true when id_number (and members' numbers) are shown unmasked")
    division_code: str
    division_name: str
    division_full_name: str
    address: str
    school: str
    grade: str
    health: str
    disability_kind: str
    disability_level: str
    disability_level_display: str
    notes: str
    status: str
    status_display: str
    archive_reason: str
    archive_note: str
    has_photo: bool
    household: HouseholdOut | None
    members: list[MemberOut]
    categories: list[CategoryOut] = Field(
        description="the full history, newest first; open ones have end_date null"
    )
    open_categories: list[str]
    documents: list[DocumentOut]
    created_at: dt.datetime
    updated_at: dt.datetime


def _member(m: FamilyMember, full: bool) -> dict[str, Any]:
    return {
        "id": m.pk,
        "name": m.name,
        "relationship": m.relationship,
        "relationship_display": m.get_relationship_display(),
        "is_guardian": m.is_guardian,
        "id_number": _shown_id(m.id_number, full),
        "phone": m.phone,
        "status": m.status,
        "status_display": m.get_status_display(),
        "status_since": m.status_since,
        "status_until": m.status_until,
        "evidence_note": m.evidence_note,
    }


def _category(m: CategoryMembership) -> dict[str, Any]:
    return {
        "id": m.pk,
        "category": m.category,
        "category_display": m.get_category_display(),
        "start_date": m.start_date,
        "end_date": m.end_date,
        "is_open": m.is_open,
        "reason": m.reason,
        "end_reason": m.end_reason,
        "approved_by": person_name(m.approved_by),
        "ended_by": person_name(m.ended_by) if m.ended_by_id else None,
    }


def _detail(user: User, child: Child, *, access_detail: str) -> dict[str, Any]:
    """Serialise the file, then record the access; nothing is returned unless the record was written."""
    full = has_perm(user, Perm.CHILD_VIEW_FULL_ID)
    members = list(child.members.all())
    memberships = list(child.categories.select_related("approved_by", "ended_by"))
    h = child.household
    out = {
        "id": child.pk,
        "name": child.name,
        "name_pinyin": child.name_pinyin,
        "sex": child.sex,
        "sex_display": child.get_sex_display(),
        "birth_date": child.birth_date,
        "age": child.age_on(timezone.localdate()),
        "ethnicity": child.ethnicity,
        "id_number": _shown_id(child.id_number, full),
        "id_number_full": full,
        "division_code": child.division_code,
        "division_name": child.division.name,
        "division_full_name": child.division.full_name,
        "address": child.address,
        "school": child.school,
        "grade": child.grade,
        "health": child.health,
        "disability_kind": child.disability_kind,
        "disability_level": child.disability_level,
        "disability_level_display": child.get_disability_level_display(),
        "notes": child.notes,
        "status": child.status,
        "status_display": child.get_status_display(),
        "archive_reason": child.archive_reason,
        "archive_note": child.archive_note,
        "has_photo": bool(child.photo),
        "household": None
        if h is None
        else {
            "id": h.pk,
            "address": h.address,
            "hukou_number": h.hukou_number,
            "phone": h.phone,
            "low_income": h.low_income,
        },
        "members": [_member(m, full) for m in members],
        "categories": [_category(m) for m in memberships],
        "open_categories": sorted(m.category for m in memberships if m.is_open),
        "documents": [
            {
                "id": d.pk,
                "kind": d.kind,
                "title": d.title,
                "content_type": d.content_type,
                "size": d.size,
                "uploaded_at": d.uploaded_at,
            }
            for d in child.documents.all()
        ],
        "created_at": child.created_at,
        "updated_at": child.updated_at,
    }
    shows_full_id = full and (bool(out["id_number"]) or any(m["id_number"] for m in out["members"]))

    def write() -> None:
        events.access_recorded(
            actor=user,
            child_id=child.pk,
            division_code=child.division_code,
            kind=AccessLog.Kind.API_VIEW,
            detail=access_detail,
        )
        if shows_full_id:
            events.access_recorded(
                actor=user,
                child_id=child.pk,
                division_code=child.division_code,
                kind=AccessLog.Kind.FULL_ID,
                detail=access_detail,
            )

    fail_closed(write)
    return out


@router.get("/{child_id}", response=ChildDetail, url_name="child_get", summary="One child's file")
def child_get(request: HttpRequest, child_id: int) -> dict[str, Any]:
    user = current_user(request)
    child = selectors.child_get(actor=user, pk=child_id)  # 404 outside jurisdiction
    if not has_perm(user, Perm.CHILD_VIEW):
        raise PermissionDeniedError(_("Your role may not see children's records."))
    return _detail(user, child, access_detail="api get")


# ---------------------------------------------------------------- writes


class GuardianIn(Schema):
    name: str = Field(..., min_length=1, max_length=_max(FamilyMember, "name"))
    relationship: RelationshipCode
    is_guardian: bool = True
    id_number: str = Field("", max_length=30)
    phone: str = Field("", max_length=_max(FamilyMember, "phone"))
    status: PersonStatusCode = PersonStatus.ALIVE.value
    status_since: dt.date | None = None
    status_until: dt.date | None = None
    evidence_note: str = Field("", max_length=_max(FamilyMember, "evidence_note"))

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        # Checked here so the error names guardian.id_number, not the child's id_number.
        if value.strip():
            try:
                return idnumber.parse(value).number
            except idnumber.IdNumberError as exc:
                raise ValueError(str(exc)) from exc
        return ""


class _ChildFieldsIn(Schema):
    """Every field optional here: on create a null means "not given", on PATCH only the fields sent change."""

    name: str | None = Field(None, max_length=_max(Child, "name"))
    sex: SexCode | None = Field(None, description="M or F; taken from the ID number when one is given")
    birth_date: dt.date | None = Field(None, description="taken from the ID number when one is given")
    ethnicity: str | None = Field(None, max_length=_max(Child, "ethnicity"))
    address: str | None = Field(None, max_length=_max(Child, "address"))
    school: str | None = Field(None, max_length=_max(Child, "school"))
    grade: str | None = Field(None, max_length=_max(Child, "grade"))
    health: str | None = Field(None, max_length=_max(Child, "health"))
    disability_kind: str | None = Field(None, max_length=_max(Child, "disability_kind"))
    disability_level: DisabilityCode | None = None
    notes: str | None = Field(None, max_length=5000)
    id_number: str | None = Field(
        None, max_length=30, description='18 digits (or a legacy 15-digit number); "" removes it'
    )


class ChildCreateIn(_ChildFieldsIn):
    division_code: str = Field(
        ..., max_length=12, description="12-digit code of a village in your jurisdiction"
    )
    name: str = Field(..., min_length=1, max_length=_max(Child, "name"))
    household_address: str = Field("", max_length=300)
    household_phone: str = Field("", max_length=20)
    guardian: GuardianIn | None = None


class ChildUpdateIn(_ChildFieldsIn):
    division_code: str | None = Field(
        None, max_length=12, description="move the child to another village in your jurisdiction"
    )


def _division(code: str) -> Division:
    # Division codes are public statistical codes, so "unknown" may be told apart from "outside your area";
    # whether the caller may file under it is the service's decision.
    division = Division.objects.filter(code=code.strip()).first()
    if division is None:
        raise FieldError("division_code", _("There is no division with code %(code)s.") % {"code": code})
    return division


def _child_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in data.items() if k in services.CHILD_FIELDS}
    for key, value in fields.items():
        if value is None:  # sent explicitly as null: these columns are never empty-able to null
            raise FieldError(key, _("This field may not be null."))
    return fields


@router.post("/", response={201: ChildDetail}, url_name="child_create", summary="Register a child")
def child_create(request: HttpRequest, payload: ChildCreateIn) -> Status[dict[str, Any]]:
    user = current_user(request)
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    with transaction.atomic():  # the record and the access record of the answer land together, or neither
        child = services.child_register(
            actor=user,
            division=_division(payload.division_code),
            id_number=(payload.id_number or "").strip(),
            household_address=payload.household_address,
            household_phone=payload.household_phone,
            guardian=payload.guardian.dict() if payload.guardian else None,
            **_child_fields(data),
        )
        child = selectors.child_get(actor=user, pk=child.pk)
        return Status(201, _detail(user, child, access_detail="api create"))


@router.patch("/{child_id}", response=ChildDetail, url_name="child_update", summary="Change a child's record")
def child_update(request: HttpRequest, child_id: int, payload: ChildUpdateIn) -> dict[str, Any]:
    user = current_user(request)
    child = selectors.child_get(actor=user, pk=child_id)  # 404 outside jurisdiction, before any 403
    data = payload.dict(exclude_unset=True)
    if "id_number" in data and data["id_number"] is None:
        raise FieldError(
            "id_number", _("This field may not be null; send an empty string to remove the number.")
        )
    code = data.get("division_code")
    if "division_code" in data and code is None:
        raise FieldError("division_code", _("This field may not be null."))
    with transaction.atomic():  # the change and the access record of the answer land together, or neither
        services.child_update(
            actor=user,
            child=child,
            division=_division(code) if code else None,
            id_number=data["id_number"].strip() if "id_number" in data else None,
            **_child_fields(data),
        )
        child = selectors.child_get(actor=user, pk=child_id)
        return _detail(user, child, access_detail="api update")
