from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from carenet.accounts import services
from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.models import Division
from carenet.accounts.permissions import Perm
from carenet.core.errors import RowErrors
from carenet.registry import selectors
from carenet.web.forms import DivisionImportForm
from carenet.web.views.common import require


@require(Perm.DIVISION_VIEW)
def division_home(request: HttpRequest) -> HttpResponse:
    return redirect("web:division_detail", code=request.user.division.code)


@require(Perm.DIVISION_VIEW)
def division_detail(request: HttpRequest, code: str) -> HttpResponse:
    division = get_scoped_or_404(request.user, Division.objects.all(), code=code)
    rows = selectors.active_counts_by_subdivision(actor=request.user, parent=division)
    ancestors = list(
        scope(
            request.user,
            Division.objects.filter(
                code__in=[division.code[:n] for n in (2, 4, 6, 9) if n < len(division.code)]
            ),
        )
    )
    return render(
        request,
        "web/divisions/detail.html",
        {
            "division": division,
            "rows": rows,
            "ancestors": ancestors,
            "in_scope": division.code.startswith(request.user.division.code),
        },
    )


@require(Perm.DIVISION_IMPORT)
def division_import(request: HttpRequest) -> HttpResponse:
    form = DivisionImportForm(request.POST or None, request.FILES or None)
    row_errors: list[tuple[int, str]] = []
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["file"].read()
        try:
            text = _decode(raw)
            result = services.divisions_import(rows=services.divisions_parse(text))
        except RowErrors as exc:
            form.add_error(None, exc.message)
            row_errors = exc.errors
        except UnicodeDecodeError:
            form.add_error("file", _("The file is neither UTF-8 nor GBK text; save it as CSV (UTF-8)."))
        else:
            messages.success(
                request,
                _("Divisions imported: %(c)d new, %(u)d changed, %(n)d unchanged.")
                % {"c": result.created, "u": result.updated, "n": result.unchanged},
            )
            return redirect("web:division_import")
    return render(request, "web/divisions/import.html", {"form": form, "row_errors": row_errors})


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gbk")
