from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carenet.accounts.jurisdiction import scope
from carenet.registry import selectors
from carenet.registry.models import Category, CategoryMembership, Child, ChildStatus


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    children = scope(user, Child.objects.filter(status=ChildStatus.ACTIVE))
    memberships = scope(
        user, CategoryMembership.objects.filter(end_date__isnull=True, child__status=ChildStatus.ACTIVE)
    )
    by_category = dict(memberships.values_list("category").annotate(n=Count("id")).order_by())
    categories = [(label, by_category.get(value, 0), value) for value, label in Category.choices]
    subdivisions = (
        selectors.active_counts_by_subdivision(actor=user, parent=user.division) if user.division_id else []
    )
    return render(
        request,
        "web/home.html",
        {
            "total": children.count(),
            "categories": categories,
            "subdivisions": subdivisions,
        },
    )
