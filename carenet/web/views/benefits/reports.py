"""The proof of full payment, the ledger's totals and the standards."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import Division, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.benefits import exports, months, proof, selectors
from carenet.benefits.models import (
    PROGRAMMES,
    Programme,
    Standard,
)
from carenet.benefits.standards import standard_set, standards_in_force
from carenet.core.errors import CarenetError
from carenet.registry.models import Category
from carenet.web.exports import XLSX
from carenet.web.forms import apply_error
from carenet.web.templatetags.benefits_tags import yuan
from carenet.web.views.benefits.common import (
    MONTHLY,
    PROOF_FINDINGS,
    MonthField,
    _districts,
    _record_shown,
    _this_month,
)
from carenet.web.views.common import require

# ---------------------------------------------------------------- proof of full payment and totals


def _report_divisions(actor: User, *, lengths: tuple[int, ...], below: bool) -> list[Division]:
    """The caller's own division (when a report can be made for it) and, with `below`, those one level down."""
    if not actor.division_id:
        return []
    own = actor.division
    found = [own] if len(own.code) in lengths else []
    if below:
        children = scope(actor, Division.objects.filter(parent=own)).order_by("code")
        found += [d for d in children if len(d.code) in lengths]
    return found


class PeriodForm(forms.Form):
    division = forms.ChoiceField(label=gettext_lazy("District or city"))
    first = MonthField(label=gettext_lazy("From month"))
    last = MonthField(label=gettext_lazy("To month"))

    def __init__(self, *args: Any, divisions: list[Division], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.divisions = {d.code: d for d in divisions}
        self.fields["division"].choices = [(d.code, d.full_name or d.name) for d in divisions]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("first") and data.get("last") and data["last"] < data["first"]:
            self.add_error("last", _("The period ends before it starts."))
        return data

    def chosen_division(self) -> Division:
        return self.divisions[self.cleaned_data["division"]]


class ProofForm(PeriodForm):
    programme = forms.ChoiceField(
        label=gettext_lazy("Programme"), choices=[(p, Programme(p).label) for p in MONTHLY]
    )


class TotalsForm(PeriodForm):
    division = forms.ChoiceField(label=gettext_lazy("Area"))
    programme = forms.ChoiceField(
        label=gettext_lazy("Programme"),
        required=False,
        choices=[("", gettext_lazy("All programmes")), *Programme.choices],
    )


def _period_defaults(divisions: list[Division]) -> dict[str, str]:
    this = _this_month()
    return {
        "division": divisions[0].code if divisions else "",
        "first": months.label(this.replace(month=1)),
        "last": months.label(this),
        "programme": Programme.BASIC_LIVING,
    }


PROOF_FIELDS = {"district": "division", "to": "last"}  # the service's field names -> the form's


@require(Perm.BENEFIT_VIEW)
def benefit_proof(request: HttpRequest) -> HttpResponse:
    """Run on demand (the button): over a city and a year the proof reads every enrolment and ledger line."""
    actor = request.user
    divisions = _report_divisions(actor, lengths=(2, 4, 6), below=True)
    bound = "division" in request.GET
    form = ProofForm(request.GET if bound else None, initial=_period_defaults(divisions), divisions=divisions)
    result, names, lines = None, {}, {}
    if bound and form.is_valid():
        data = form.cleaned_data
        try:
            result = proof.full_payment_proof(
                actor=actor,
                division_code=data["division"],
                first=data["first"],
                last=data["last"],
                programme=data["programme"],
                limit=PROOF_FINDINGS,
            )
        except CarenetError as exc:
            exc.field = PROOF_FIELDS.get(exc.field or "", exc.field)
            apply_error(form, exc)
        else:
            names = selectors.child_names(actor=actor, ids={f.child_id for f in result.findings})
            lines = proof.proof_lines(actor=actor, proof=result)
            _record_shown(actor, {(c.pk, c.division_code) for c in names.values()}, "payment proof")
    context = {
        "form": form,
        "proof": result,
        "names": names,
        "lines": lines,
        "has_divisions": bool(divisions),
    }
    return render(request, "web/benefits/proof.html", context)


def _totals_form(request: HttpRequest) -> TotalsForm:
    divisions = _report_divisions(request.user, lengths=(2, 4, 6, 9, 12), below=True)
    data = request.GET if "division" in request.GET else _period_defaults(divisions) | {"programme": ""}
    return TotalsForm(data, divisions=divisions)


@require(Perm.BENEFIT_VIEW)
def benefit_totals(request: HttpRequest) -> HttpResponse:
    form = _totals_form(request)
    report = None
    if form.is_valid():
        data = form.cleaned_data
        report = selectors.totals_report(
            actor=request.user,
            division=form.chosen_division(),
            first=data["first"],
            last=data["last"],
            programme=data["programme"],
        )
    context = {
        "form": form,
        "report": report,
        "query": request.GET.urlencode(),
        "district_names": selectors.division_names({r.district_code for r in report.rows}) if report else {},
        "categories": dict(Category.choices),
    }
    return render(request, "web/benefits/totals.html", context)


@require(Perm.BENEFIT_VIEW)
def benefit_totals_export(request: HttpRequest) -> HttpResponse:
    form = _totals_form(request)
    if not form.is_valid():
        return redirect(f"{reverse('web:benefit_totals')}?{request.GET.urlencode()}")
    data = form.cleaned_data
    report = selectors.totals_report(
        actor=request.user,
        division=form.chosen_division(),
        first=data["first"],
        last=data["last"],
        programme=data["programme"],
    )
    name, content = exports.totals_xlsx(report)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- standards


class StandardForm(forms.Form):
    programme = forms.ChoiceField(label=gettext_lazy("Programme"), choices=Programme.choices)
    category = forms.ChoiceField(
        label=gettext_lazy("Category"),
        required=False,
        choices=[
            ("", gettext_lazy("Every category (yearly and campaign programmes)")),
            *[
                (c, label)
                for c, label in Category.choices
                if c in PROGRAMMES[Programme.BASIC_LIVING].categories
            ],
        ],
        help_text=gettext_lazy("De-facto unsupported children are paid at the scattered-orphan standard."),
    )
    district_code = forms.ChoiceField(label=gettext_lazy("Applies in"), required=False)
    amount = forms.CharField(
        label=gettext_lazy("Amount (yuan)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "1200.00"}),
        help_text=gettext_lazy("Per month for monthly programmes, per payment for the others."),
    )
    valid_from = MonthField(label=gettext_lazy("From month"))
    note = forms.CharField(
        label=gettext_lazy("Note (e.g. the policy document)"), max_length=300, required=False
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = actor.division.code if actor.division_id else ""
        choices: list[tuple[str, Any]] = [("", gettext_lazy("City-wide"))] if 0 < len(own) <= 4 else []
        choices += [(d.code, d.name) for d in _districts(actor)]
        self.fields["district_code"].choices = choices


def _standard_key(standard: Standard) -> tuple[str, str, str]:
    return (standard.programme, standard.category, standard.district_code)


def _standards_history(actor: User) -> list[Standard]:
    """City-wide standards and those of the caller's districts (standards are policy, not personal data)."""
    own = actor.division.code if actor.division_id else "-"
    qs = Standard.objects.filter(Q(district_code="") | Q(district_code__startswith=own[:6]))
    return list(qs.select_related("set_by").order_by("programme", "category", "district_code", "-valid_from"))


@require(Perm.BENEFIT_VIEW)
def standard_list(request: HttpRequest) -> HttpResponse:
    actor = request.user
    may_set = has_perm(actor, Perm.STANDARD_MANAGE)
    form = StandardForm(initial={"valid_from": months.label(months.add(_this_month(), 1))}, actor=actor)
    if request.method == "POST":
        if not may_set:
            raise PermissionDenied
        form = StandardForm(request.POST, actor=actor)
        if form.is_valid():
            data = form.cleaned_data
            try:
                standard = standard_set(actor=actor, **data)
            except CarenetError as exc:
                apply_error(form, exc)
            else:
                messages.success(
                    request,
                    _("New standard of %(amount)s from %(month)s saved; earlier months keep their amounts.")
                    % {"amount": yuan(standard.amount), "month": months.label(standard.valid_from)},
                )
                return redirect("web:standard_list")
    own = actor.division.code if actor.division_id else "-"
    in_force = [s for s in standards_in_force() if not s.district_code or s.district_code.startswith(own[:6])]
    history = _standards_history(actor)
    codes = {s.district_code for s in history if s.district_code}
    context = {
        "in_force": in_force,
        # One list per programme, category and district, newest first (the ordering of _standards_history).
        "history": [list(rows) for _key, rows in groupby(history, key=_standard_key)],
        "district_names": selectors.division_names(codes),
        "form": form if may_set and form.fields["district_code"].choices else None,
        "this_month": _this_month(),
    }
    return render(request, "web/benefits/standards.html", context)
