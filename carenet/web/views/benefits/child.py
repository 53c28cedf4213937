"""The benefits block of a child's file: enrolments, suspensions, payments and the bank account."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.jurisdiction import get_scoped_or_404
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.benefits import enrolment as enrolment_services
from carenet.benefits import months, selectors
from carenet.benefits.bank import bank_account_set
from carenet.benefits.models import (
    Enrolment,
    Suspension,
)
from carenet.core.errors import CarenetError
from carenet.registry import selectors as registry_selectors
from carenet.registry.models import Child
from carenet.web.forms import apply_error
from carenet.web.views.benefits.common import (
    MonthField,
    _below_district,
    _int,
    _this_month,
)
from carenet.web.views.common import require

# ---------------------------------------------------------------- a child's benefits


class NoEchoInput(forms.TextInput):
    """An account number is never written back into the page, not even into a form shown again with errors."""

    def format_value(self, value: Any) -> None:
        return None


class AccountForm(forms.Form):
    holder_name = forms.CharField(label=gettext_lazy("Account holder"), max_length=60)
    bank_name = forms.CharField(label=gettext_lazy("Bank"), max_length=100)
    number = forms.CharField(
        label=gettext_lazy("Account number"),
        max_length=60,
        widget=NoEchoInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        help_text=gettext_lazy("The full number is stored encrypted and shown masked."),
    )


class SuspendForm(forms.Form):
    enrolment = forms.IntegerField(widget=forms.HiddenInput)
    from_month = MonthField(label=gettext_lazy("Suspended from month"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)


@require(Perm.BENEFIT_VIEW)
def benefit_child(request: HttpRequest, pk: int) -> HttpResponse:
    child = registry_selectors.child_get(actor=request.user, pk=pk)
    return _render_child(request, child)


def _render_child(request: HttpRequest, child: Child, **forms_: Any) -> HttpResponse:
    actor = request.user
    events.access_recorded(
        actor=actor,
        child_id=child.pk,
        division_code=child.division_code,
        kind=AccessLog.Kind.VIEW,
        detail="benefits",
    )
    data = selectors.child_benefits(actor=actor, child=child)
    for e in data.enrolments:
        e.open_suspension = next((s for s in e.suspensions.all() if s.to_month is None), None)
    may_account = has_perm(actor, Perm.BANK_ACCOUNT_EDIT) and child.status == "active"
    context = {
        "child": child,
        "enrolments": data.enrolments,
        "account": data.account,
        "payments": data.payments,
        "account_form": forms_.get("account_form") or (_account_form(data.account) if may_account else None),
        "suspend_form": forms_.get("suspend_form"),
        "suspend_for": forms_.get("suspend_for"),
        "suspend_initial": months.label(_this_month()),
        "may_suspend": has_perm(actor, Perm.BENEFIT_SUSPEND),
        "batch_links": not _below_district(actor),
        "places": selectors.division_names({e.division_code for e in data.enrolments}),
    }
    template = "web/benefits/_child_benefits.html" if request.htmx else "web/benefits/child.html"
    return render(request, template, context)


def _account_form(account: Any) -> AccountForm:
    """Holder and bank prefilled from the account in force (a new account is usually at the same bank)."""
    if account is None:
        return AccountForm()
    return AccountForm(initial={"holder_name": account.holder_name, "bank_name": account.bank_name})


@require(Perm.BANK_ACCOUNT_EDIT)
@require_POST
def benefit_account(request: HttpRequest, pk: int) -> HttpResponse:
    child = registry_selectors.child_get(actor=request.user, pk=pk)
    form = AccountForm(request.POST)
    if form.is_valid():
        try:
            account = bank_account_set(actor=request.user, child=child, **form.cleaned_data)
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Bank account recorded: %(account)s.") % {"account": account.masked})
            return redirect("web:benefit_child", pk=child.pk)
    return _render_child(request, child, account_form=form)


@require(Perm.BENEFIT_SUSPEND)
@require_POST
def benefit_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    child = registry_selectors.child_get(actor=request.user, pk=pk)
    form = SuspendForm(request.POST)
    enrolment = get_scoped_or_404(
        request.user, Enrolment.objects.filter(child=child), pk=_int(request.POST.get("enrolment"))
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            enrolment_services.suspension_start(
                actor=request.user, enrolment=enrolment, from_month=data["from_month"], reason=data["reason"]
            )
        except CarenetError as exc:
            if exc.field is None:
                messages.error(request, exc.message)
                return redirect("web:benefit_child", pk=child.pk)
            apply_error(form, exc)
        else:
            messages.success(
                request, _("Payments suspended from %(month)s.") % {"month": months.label(data["from_month"])}
            )
            return redirect("web:benefit_child", pk=child.pk)
    return _render_child(request, child, suspend_form=form, suspend_for=enrolment.pk)


@require(Perm.BENEFIT_SUSPEND)
@require_POST
def benefit_resume(request: HttpRequest, pk: int) -> HttpResponse:
    child = registry_selectors.child_get(actor=request.user, pk=pk)
    suspension = get_scoped_or_404(
        request.user,
        Suspension.objects.filter(enrolment__child=child),
        pk=_int(request.POST.get("suspension")),
    )
    try:
        lifted = enrolment_services.suspension_lift(actor=request.user, suspension=suspension)
    except CarenetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Payments resume after %(month)s; months owed since are paid in the next batch.")
            % {"month": months.label(lifted.to_month)},
        )
    return redirect("web:benefit_child", pk=child.pk)
