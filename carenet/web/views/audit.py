from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carenet.accounts.jurisdiction import scope
from carenet.accounts.permissions import Perm
from carenet.audit.models import AccessLog, ChangeLog
from carenet.web.forms import AuditFilterForm
from carenet.web.views.common import paginate, require


@require(Perm.AUDIT_VIEW)
def changes(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    qs = scope(request.user, ChangeLog.objects.select_related("actor"))
    if form.is_valid() and form.cleaned_data.get("child"):
        qs = qs.filter(child_id=form.cleaned_data["child"])
    page = paginate(qs, form.cleaned_data.get("page") if form.is_bound and form.is_valid() else 1, size=50)
    return render(request, "web/audit/changes.html", {"form": form, "page": page})


@require(Perm.AUDIT_VIEW)
def access(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    qs = scope(request.user, AccessLog.objects.select_related("actor"))
    if form.is_valid() and form.cleaned_data.get("child"):
        qs = qs.filter(child_id=form.cleaned_data["child"])
    page = paginate(qs, form.cleaned_data.get("page") if form.is_bound and form.is_valid() else 1, size=50)
    return render(request, "web/audit/access.html", {"form": form, "page": page})
