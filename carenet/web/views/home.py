from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.db.models.functions import Substr
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import Division
from carenet.registry.models import Category, CategoryMembership, Child, ChildStatus

SUBLEVEL = {2: 6, 4: 6, 6: 9, 9: 12}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    children = scope(user, Child.objects.filter(status=ChildStatus.ACTIVE))
    memberships = scope(
        user, CategoryMembership.objects.filter(end_date__isnull=True, child__status=ChildStatus.ACTIVE)
    )
    by_category = dict(memberships.values_list("category").annotate(n=Count("id")).order_by())
    categories = [(label, by_category.get(value, 0), value) for value, label in Category.choices]
    subdivisions = _subdivision_counts(user, children)
    return render(
        request,
        "web/home.html",
        {
            "total": children.count(),
            "categories": categories,
            "subdivisions": subdivisions,
        },
    )


def _subdivision_counts(user, children):  # type: ignore[no-untyped-def]
    """Children per next-level division under the user's own (district -> streets, street -> villages)."""
    if not user.division_id or len(user.division.code) not in SUBLEVEL:
        return []
    width = SUBLEVEL[len(user.division.code)]
    counts = dict(
        children.annotate(prefix=Substr("division_code", 1, width))
        .values_list("prefix")
        .annotate(n=Count("id"))
        .order_by()
    )
    subs = scope(user, Division.objects.filter(parent=user.division)).order_by("code")
    return [(d, counts.get(d.code, 0)) for d in subs]
