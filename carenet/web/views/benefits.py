"""Benefits pages (待遇发放): payroll batches and their moves, the bank file and the bank's return file, the proof
of full payment, the ledger's totals, standards, and the benefits block of a child's file.

Views parse the request, call one service or selector and render. Batches are a district's business: scope()
shows a batch to its district and the city only, and the moves are the paying district's own (the services
refuse anyone else). Pages naming children write their access records before rendering."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.models import Division, DivisionLevel, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.benefits import enrolment as enrolment_services
from carenet.benefits import exports, months, payroll, proof, selectors
from carenet.benefits.bank import bank_account_set
from carenet.benefits.bankfiles import bank_file_write, bank_return_import
from carenet.benefits.insurance import insurance_confirm, insurance_list_write
from carenet.benefits.models import (
    PROGRAMMES,
    BatchStatus,
    EndReason,
    Enrolment,
    LineKind,
    LineStatus,
    Periodicity,
    Programme,
    Standard,
    Suspension,
)
from carenet.benefits.standards import standard_set, standards_in_force
from carenet.core.errors import CarenetError, RowErrors
from carenet.registry import selectors as registry_selectors
from carenet.registry.models import Category, Child
from carenet.web.exports import XLSX
from carenet.web.forms import apply_error
from carenet.web.templatetags.benefits_tags import yuan
from carenet.web.views.common import paginate, require

LINES_PER_PAGE = 50
STOPS_SHOWN = 200
PROOF_FINDINGS = 500
MAX_RETURN_FILE = 20 * 1024 * 1024  # a bank's return file for 100,000 payments is a few MB
MONTHLY = [p for p in Programme.values if PROGRAMMES[p].periodicity == Periodicity.MONTHLY]


def _any(choices: Any) -> list[tuple[str, Any]]:
    return [("", gettext_lazy("Any")), *choices]


def _seat(actor: User) -> str:
    """The district the actor works in (payroll is handled there), or "" above or below district level."""
    code = actor.division.code if actor.division_id else ""
    return code if len(code) == 6 else ""


def _below_district(actor: User) -> bool:
    return bool(actor.division_id) and len(actor.division.code) > 6


def _this_month() -> dt.date:
    return months.first(timezone.localdate())


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _record_shown(actor: User, children: set[tuple[int, str]], detail: str) -> None:
    """Access records for the children a page names, written before it is rendered."""
    if children:
        events.accesses_recorded(
            actor=actor, children=sorted(children), kind=AccessLog.Kind.VIEW, detail=detail
        )


# ---------------------------------------------------------------- forms


class MonthField(forms.CharField):
    """A month typed as YYYY-MM (the browser's month picker sends that), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-01", "maxlength": 10})

    def clean(self, value: Any) -> dt.date | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return months.parse(text)
        except CarenetError as exc:
            raise forms.ValidationError(exc.message) from exc


class BatchFilterForm(forms.Form):
    programme = forms.ChoiceField(
        label=gettext_lazy("Programme"), required=False, choices=_any(Programme.choices)
    )
    period = MonthField(label=gettext_lazy("Month"), required=False)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False, choices=_any(BatchStatus.choices)
    )
    district = forms.ChoiceField(label=gettext_lazy("District"), required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, districts: list[Division], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if len(districts) > 1:
            self.fields["district"].choices = _any((d.code, d.name) for d in districts)
        else:
            del self.fields["district"]

    def filters(self) -> selectors.BatchFilters:
        data = self.cleaned_data
        return selectors.BatchFilters(
            programme=data.get("programme") or "",
            period=data.get("period"),
            status=data.get("status") or "",
            district_code=data.get("district") or "",
        )


class GenerateForm(forms.Form):
    programme = forms.ChoiceField(
        label=gettext_lazy("Programme"), choices=Programme.choices, initial=Programme.BASIC_LIVING
    )
    month = MonthField(
        label=gettext_lazy("Month"),
        help_text=gettext_lazy("Yearly programmes are paid in one batch per year (give any month of it)."),
    )
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("For a campaign, e.g. 2027 Spring Festival condolence money."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "generate_%s")  # the filter form on the same page has a "programme" too
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        programme = data.get("programme")
        if programme and PROGRAMMES[programme].periodicity == Periodicity.CAMPAIGN and not data.get("title"):
            self.add_error("title", _("Give the campaign a title."))
        return data


class LineFilterForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=_any(LineStatus.choices))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False, choices=_any(LineKind.choices))
    division = forms.ChoiceField(label=gettext_lazy("Street or village"), required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, places: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = _any(places)

    def filters(self) -> selectors.LineFilters:
        data = self.cleaned_data
        return selectors.LineFilters(
            status=data.get("status") or "",
            kind=data.get("kind") or "",
            division_code=data.get("division") or "",
        )


class ReturnCommentForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Why the batch goes back"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReturnFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("The bank's return file (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RETURN_FILE:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


# ---------------------------------------------------------------- payroll batches


def _districts(actor: User) -> list[Division]:
    """The districts whose batches the actor may see: their own, or every district for the city."""
    return list(
        scope(actor, Division.objects.filter(level=DivisionLevel.DISTRICT))
        .filter(code__startswith=actor.division.code if actor.division_id else "-")
        .order_by("code")
    )


def _may_generate(actor: User) -> bool:
    return has_perm(actor, Perm.PAYROLL_PREPARE) and bool(_seat(actor))


@require(Perm.BENEFIT_VIEW)
def payroll_list(request: HttpRequest) -> HttpResponse:
    generate = (
        GenerateForm(initial={"month": months.label(_this_month())}) if _may_generate(request.user) else None
    )
    return _render_list(request, generate)


def _render_list(request: HttpRequest, generate: GenerateForm | None) -> HttpResponse:
    actor = request.user
    form = BatchFilterForm(request.GET, districts=_districts(actor))
    filters = form.filters() if form.is_valid() else selectors.BatchFilters()
    page_no = form.cleaned_data.get("page") if form.is_valid() else None
    page = paginate(selectors.batch_list(actor=actor, filters=filters), page_no)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "generate_form": generate,
        "district_names": selectors.division_names({b.district_code for b in page.object_list}),
        "below_district": _below_district(actor),
        "query": query.urlencode(),
    }
    return render(request, "web/benefits/payroll_list.html", context)


@require(Perm.PAYROLL_PREPARE)
@require_POST
def payroll_generate(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = GenerateForm(request.POST)
    if not _seat(actor):
        form.is_valid()
        form.add_error(None, _("Only a district's finance staff prepare its payroll."))
    elif form.is_valid():
        data = form.cleaned_data
        try:
            batch = payroll.payroll_generate(
                actor=actor,
                district_code=_seat(actor),
                month=data["month"],
                programme=data["programme"],
                title=data["title"],
            )
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request,
                _("Batch ready: %(n)s children, %(lines)s payments, %(total)s in all.")
                % {"n": batch.beneficiaries, "lines": batch.line_count, "total": yuan(batch.total)},
            )
            return redirect("web:payroll_detail", pk=batch.pk)
    return _render_list(request, form)


@require(Perm.BENEFIT_VIEW)
def payroll_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if _below_district(request.user):
        # Before any lookup, whatever the id: the answer says nothing about which batches exist.
        messages.info(
            request, _("Payroll batches are kept by the district; each child's payments are on their file.")
        )
        return redirect("web:payroll_list")
    batch = selectors.batch_get(actor=request.user, pk=pk)
    return _render_batch(request, batch)


def _places(actor: User, batch: Any) -> list[tuple[str, str]]:
    """The streets and villages the batch pays in, for the lines filter (villages indented under streets)."""
    villages = selectors.batch_villages(actor=actor, batch=batch)
    codes = villages | {code[:9] for code in villages}
    names = selectors.division_names(codes)
    return [(c, names.get(c, c) if len(c) == 9 else f"\u3000{names.get(c, c)}") for c in sorted(codes)]


def _allowed(actor: User, batch: Any) -> dict[str, bool]:
    """The moves the page offers; the services check them again (and refuse anyone outside the district)."""
    own = _seat(actor) == batch.district_code
    prepare = own and has_perm(actor, Perm.PAYROLL_PREPARE)
    approve = own and has_perm(actor, Perm.PAYROLL_APPROVE)
    sender = own and has_perm(actor, Perm.PAYROLL_EXPORT)
    export = sender and PROGRAMMES[batch.programme].needs_account
    insurance = sender and batch.programme == Programme.MEDICAL_PREMIUM
    status = batch.status
    return {
        "regenerate": prepare and status == BatchStatus.DRAFT,
        "review": prepare and status == BatchStatus.DRAFT and batch.line_count > 0,
        "return": approve and status == BatchStatus.REVIEWED,
        "approve": approve and status == BatchStatus.REVIEWED,
        "second_person": actor.pk not in (batch.reviewed_by_id, batch.generated_by_id),
        "bank_file": export and status in (BatchStatus.APPROVED, BatchStatus.EXPORTED),
        "bank_return": export and status == BatchStatus.EXPORTED,
        "insurance_list": insurance
        and status in (BatchStatus.APPROVED, BatchStatus.EXPORTED, BatchStatus.RECONCILED),
        "insurance_confirm": insurance and status == BatchStatus.EXPORTED,
    }


def _render_batch(request: HttpRequest, batch: Any, **extra: Any) -> HttpResponse:
    actor = request.user
    form = LineFilterForm(request.GET, places=_places(actor, batch))
    filters = form.filters() if form.is_valid() else selectors.LineFilters()
    page_no = form.cleaned_data.get("page") if form.is_valid() else None
    page = paginate(selectors.batch_lines(actor=actor, batch=batch, filters=filters), page_no, LINES_PER_PAGE)
    stops_qs = selectors.batch_stops(actor=actor, batch=batch)
    stops = list(stops_qs[:STOPS_SHOWN])
    allowed = _allowed(actor, batch)
    clashes = payroll.conflicts(batch) if batch.status == BatchStatus.REVIEWED else []
    shown = {(line.child_id, line.division_code) for line in page.object_list}
    shown |= {(s.child_id, s.division_code) for s in stops} | {(c.child_id, c.division_code) for c in clashes}
    _record_shown(actor, shown, f"payroll batch {batch.pk}")
    codes = {line.division_code for line in page.object_list} | {s.division_code for s in stops}
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "batch": batch,
        "summary": payroll.batch_summary(batch),
        "status_counts": selectors.line_status_counts(actor=actor, batch=batch),
        "line_statuses": LineStatus.choices,
        "district": Division.objects.filter(code=batch.district_code).first(),
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "stops": stops,
        "stop_count": stops_qs.count() if len(stops) >= STOPS_SHOWN else len(stops),
        "places": selectors.division_names(codes),
        "end_reasons": dict(EndReason.choices),
        "clashes": clashes,
        "allowed": allowed,
        "comment_form": extra.pop("comment_form", None) or ReturnCommentForm(),
        "return_form": extra.pop("return_form", None) or ReturnFileForm(),
        **extra,
    }
    return render(request, "web/benefits/payroll_detail.html", context)


def _batch(request: HttpRequest, pk: int) -> Any:
    return selectors.batch_get(actor=request.user, pk=pk)  # 404 outside the caller's jurisdiction


def _move(request: HttpRequest, pk: int, move: Any, done: str, **kwargs: Any) -> HttpResponse:
    batch = _batch(request, pk)
    try:
        move(actor=request.user, batch=batch, **kwargs)
    except CarenetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:payroll_detail", pk=batch.pk)


@require(Perm.PAYROLL_PREPARE)
@require_POST
def payroll_review(request: HttpRequest, pk: int) -> HttpResponse:
    return _move(request, pk, payroll.batch_review, _("Marked reviewed; the batch waits for approval."))


@require(Perm.PAYROLL_APPROVE)
@require_POST
def payroll_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _move(request, pk, payroll.batch_approve, _("Approved; finance can now send the bank file."))


@require(Perm.PAYROLL_APPROVE)
@require_POST
def payroll_return(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    form = ReturnCommentForm(request.POST)
    if form.is_valid():
        try:
            payroll.batch_return(actor=request.user, batch=batch, comment=form.cleaned_data["comment"])
        except CarenetError as exc:
            if exc.field != "comment":
                messages.error(request, exc.message)
                return redirect("web:payroll_detail", pk=batch.pk)
            apply_error(form, exc)
        else:
            messages.success(request, _("Sent back to draft with your comment."))
            return redirect("web:payroll_detail", pk=batch.pk)
    return _render_batch(request, batch, comment_form=form)


@require(Perm.PAYROLL_EXPORT)
@require_POST
def payroll_bank_file(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: the first download sends the batch (approved -> exported) and copies the accounts onto its lines."""
    batch = _batch(request, pk)
    try:
        name, data = bank_file_write(actor=request.user, batch=batch)
    except CarenetError as exc:
        messages.error(request, exc.message)
        return redirect("web:payroll_detail", pk=batch.pk)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response


@require(Perm.PAYROLL_EXPORT)
@require_POST
def payroll_insurance_list(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: the yearly list of orphans for the medical-insurance bureau (the first download sends the batch)."""
    batch = _batch(request, pk)
    try:
        name, data = insurance_list_write(actor=request.user, batch=batch)
    except CarenetError as exc:
        messages.error(request, exc.message)
        return redirect("web:payroll_detail", pk=batch.pk)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response


@require(Perm.PAYROLL_EXPORT)
@require_POST
def payroll_insurance_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    try:
        insurance_confirm(actor=request.user, batch=batch)
        messages.success(
            request, _("The medical-insurance bureau's confirmation is recorded; the batch is reconciled.")
        )
    except CarenetError as exc:
        messages.error(request, exc.message)
    return redirect("web:payroll_detail", pk=batch.pk)


@require(Perm.PAYROLL_EXPORT)
@require_POST
def payroll_bank_return(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    form = ReturnFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_batch(request, batch, return_form=form)
    try:
        report = bank_return_import(actor=request.user, batch=batch, data=form.cleaned_data["file"].read())
    except RowErrors as exc:
        # Nothing was recorded: the whole file is reported row by row, to be fixed in one go.
        return _render_batch(request, batch, return_form=form, row_errors=exc.errors, row_message=exc.message)
    except CarenetError as exc:
        form.add_error("file", exc.message)
        return _render_batch(request, batch, return_form=form)
    text = _(
        "Return file recorded: %(paid)s paid (%(paid_amount)s), %(failed)s failed (%(failed_amount)s)."
    ) % {
        "paid": report.paid_count,
        "paid_amount": yuan(report.paid_amount),
        "failed": report.failed_count,
        "failed_amount": yuan(report.failed_amount),
    }
    if report.pending_count:
        text += " " + _("%(n)s payments still wait for the bank's answer.") % {"n": report.pending_count}
    if report.failed_count:
        text += " " + _("Failed payments are reissued in the next batch.")
    messages.success(request, text)
    return redirect("web:payroll_detail", pk=batch.pk)


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
