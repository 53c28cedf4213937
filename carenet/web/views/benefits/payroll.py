"""Payroll batches and their moves, the bank file, the bank's return file and the insurance list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.models import Division, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.benefits import months, payroll, selectors
from carenet.benefits.bankfiles import bank_file_write, bank_return_import
from carenet.benefits.insurance import insurance_confirm, insurance_list_write
from carenet.benefits.models import (
    PROGRAMMES,
    BatchStatus,
    EndReason,
    LineKind,
    LineStatus,
    Periodicity,
    Programme,
)
from carenet.core.errors import CarenetError, RowErrors
from carenet.web.exports import XLSX
from carenet.web.forms import apply_error, with_any
from carenet.web.templatetags.benefits_tags import yuan
from carenet.web.views.benefits.common import (
    LINES_PER_PAGE,
    MAX_RETURN_FILE,
    STOPS_SHOWN,
    MonthField,
    _below_district,
    _districts,
    _record_shown,
    _seat,
    _this_month,
)
from carenet.web.views.common import paginate, require


class BatchFilterForm(forms.Form):
    programme = forms.ChoiceField(
        label=gettext_lazy("Programme"), required=False, choices=with_any(Programme.choices)
    )
    period = MonthField(label=gettext_lazy("Month"), required=False)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False, choices=with_any(BatchStatus.choices)
    )
    district = forms.ChoiceField(label=gettext_lazy("District"), required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, districts: list[Division], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if len(districts) > 1:
            self.fields["district"].choices = with_any((d.code, d.name) for d in districts)
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
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False, choices=with_any(LineStatus.choices)
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False, choices=with_any(LineKind.choices))
    division = forms.ChoiceField(label=gettext_lazy("Street or village"), required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, places: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = with_any(places)

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


def _sent_file(request: HttpRequest, pk: int, writer: Any) -> HttpResponse:
    """A file the district sends out (bank file, insurance list): the service writes it (the first download
    moves the batch to exported); a refusal comes back as a message on the batch page."""
    batch = _batch(request, pk)
    try:
        name, data = writer(actor=request.user, batch=batch)
    except CarenetError as exc:
        messages.error(request, exc.message)
        return redirect("web:payroll_detail", pk=batch.pk)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response


@require(Perm.PAYROLL_EXPORT)
@require_POST
def payroll_bank_file(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: the first download sends the batch (approved -> exported) and copies the accounts onto its lines."""
    return _sent_file(request, pk, bank_file_write)


@require(Perm.PAYROLL_EXPORT)
@require_POST
def payroll_insurance_list(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: the yearly list of orphans for the medical-insurance bureau (the first download sends the batch)."""
    return _sent_file(request, pk, insurance_list_write)


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
