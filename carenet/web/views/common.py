from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property

from carenet.accounts.permissions import Perm, has_perm

PAGE_SIZE = 20


def require(perm: Perm) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in and holding `perm`; a missing right is a 403 (jurisdiction misses are 404s elsewhere)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_perm(request.user, perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows: an exact COUNT(*) over a city's million children is a full scan
    (~0.3 s), and nobody pages that far; the page says "10,000+" and the search box narrows it."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return min(self.object_list[: COUNT_CAP + 1].count(), COUNT_CAP + 1)

    @property
    def count_exact(self) -> bool:
        return self.count <= COUNT_CAP


def paginate(queryset: Any, page: int | None, size: int = PAGE_SIZE, *, capped: bool = False) -> Page:
    paginator = (CappedPaginator if capped else Paginator)(queryset, size)
    return paginator.get_page(page or 1)
