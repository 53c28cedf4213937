"""Pieces shared by the domain modules: paging and small parsing helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Schema
from pydantic import Field

from carenet.api.v1.errors import AuditUnavailable

if TYPE_CHECKING:
    from carenet.accounts.models import User

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_PAGE_SIZE = 100
CHILD_COUNT_CAP = 10_000


class PageParams(Schema):
    page: int = Field(1, ge=1, description="1-based page number")
    page_size: int = Field(20, ge=1, description=f"rows per page; values above {MAX_PAGE_SIZE} are capped")


class Page(Schema, Generic[T]):
    count: int = Field(description="matching rows; when count_exact is false, at least this many")
    count_exact: bool = True
    page: int
    page_size: int
    results: list[T]


@dataclass(frozen=True)
class Paged:
    count: int
    count_exact: bool
    page: int
    page_size: int
    rows: QuerySet[Any]

    def envelope(self, results: list[Any]) -> dict[str, Any]:
        return {
            "count": self.count,
            "count_exact": self.count_exact,
            "page": self.page,
            "page_size": self.page_size,
            "results": results,
        }


def paginate(qs: QuerySet[Any], params: PageParams, *, count_cap: int | None = None) -> Paged:
    """Count once, then slice.

    With `count_cap`, counting stops after that many rows: an exact COUNT(*) over a whole city's million
    children is a full scan (~0.3 s on PostgreSQL), while nobody pages past the first few thousand rows;
    the client then shows "10000+" (count_exact false) and the search box narrows the list."""
    size = min(params.page_size, MAX_PAGE_SIZE)
    if count_cap is None:
        count, exact = qs.count(), True
    else:
        count = qs[: count_cap + 1].count()
        count, exact = min(count, count_cap), count <= count_cap
    start = (params.page - 1) * size
    return Paged(count, exact, params.page, size, qs[start : start + size])


def person_name(user: User | None) -> str:
    """How the API names a member of staff (family name first for Chinese names), "" for nobody."""
    return "" if user is None else (user.get_full_name() or user.username)


def fail_closed(write: Callable[[], Any]) -> None:
    """Run an audit write; any failure turns into a 503 with no data (the caller has not returned yet)."""
    try:
        write()
    except Exception as exc:  # fail closed whatever went wrong, and say so in the log
        logger.exception("access record not written; response withheld")
        raise AuditUnavailable from exc
