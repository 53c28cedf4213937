"""The division tree (city > district > street > village) as far as the caller may see it."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.models import Division, DivisionLevel, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.api.v1.common import Page, PageParams, paginate
from carenet.api.v1.security import current_user
from carenet.core.errors import PermissionDeniedError

router = Router(tags=["divisions"])

LevelCode = Literal[tuple(["", *DivisionLevel.values])]  # type: ignore[valid-type]  # "" = any


class DivisionParams(PageParams):
    parent: str = Field("", max_length=12, description="only the direct sub-divisions of this code")
    level: LevelCode = ""
    q: str = Field("", max_length=100, description="part of the name, or the start of the code")


class DivisionOut(Schema):
    code: str
    name: str
    level: str
    level_display: str
    parent_code: str | None
    full_name: str
    children_count: int = Field(description="number of direct sub-divisions visible to you")


def _require_view(user: User) -> None:
    if not has_perm(user, Perm.DIVISION_VIEW):
        raise PermissionDeniedError(_("Your role may not browse the division tree."))


def _scoped(user: User) -> QuerySet[Division]:
    own = user.division.code if user.division_id else ""
    visible_children = Q(children__code__startswith=own) if own else Q(pk__in=[])
    return (
        scope(user, Division.objects.all())
        .select_related("parent")
        .annotate(children_count=Count("children", filter=visible_children))
        .order_by("code")
    )


def _out(d: Division) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "level": d.level,
        "level_display": d.get_level_display(),
        "parent_code": d.parent.code if d.parent_id else None,
        "full_name": d.full_name,
        "children_count": d.children_count,  # type: ignore[attr-defined]
    }


@router.get("/", response=Page[DivisionOut], url_name="division_list", summary="Browse the division tree")
def division_list(request: HttpRequest, params: Query[DivisionParams]) -> dict[str, Any]:
    user = current_user(request)
    _require_view(user)
    qs = _scoped(user)
    if params.parent:
        qs = qs.filter(parent__code=params.parent.strip())
    if params.level:
        qs = qs.filter(level=params.level)
    if params.q.strip():
        q = params.q.strip()
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q))
    paged = paginate(qs, params)
    return paged.envelope([_out(d) for d in paged.rows])


@router.get("/{code}", response=DivisionOut, url_name="division_get", summary="One division")
def division_get(request: HttpRequest, code: str) -> dict[str, Any]:
    user = current_user(request)
    division = get_scoped_or_404(user, _scoped(user), code=code)  # 404 outside jurisdiction
    _require_view(user)
    return _out(division)
