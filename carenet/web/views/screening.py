"""Screening pages (政策找人): import department lists, run screening with its progress, and review findings —
each shows the department's record and the registry's side by side, with why they were linked."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.jurisdiction import get_scoped_or_404, scope
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import ChangeLog
from carenet.core import idnumber
from carenet.core.errors import CarenetError, RowErrors
from carenet.registry.models import CategoryMembership, FamilyMember, PersonStatus
from carenet.screening import decide, imports, runs, selectors
from carenet.screening.models import (
    DeptList,
    Finding,
    FindingState,
    ListKind,
    ListRecord,
    Rule,
    RunState,
    ScreeningRun,
)
from carenet.screening.rules import Proposal
from carenet.web.forms import VillageField, apply_error
from carenet.web.views.common import paginate, require

PROPOSALS = {
    Proposal.OPEN_CATEGORY: gettext_lazy(
        "Record the parent's status and file an application for the category"
    ),
    Proposal.END_CATEGORY: gettext_lazy(
        "Record the parent's status and file an application to end the category"
    ),
    Proposal.RECORD_STATUS: gettext_lazy("Record the parent's new status (the category stays)"),
    Proposal.END_SUPPORT: gettext_lazy("Archive the record: support ends"),
    Proposal.REGISTER: gettext_lazy("Register the child and file an application"),
    Proposal.ARCHIVE_DUPLICATE: gettext_lazy("Archive the newer record as a duplicate"),
    Proposal.RAISE_PROBLEM: gettext_lazy("Raise a problem for the district and the director to resolve"),
}
STATUSES = dict(PersonStatus.choices)


def stage_label(run: ScreeningRun) -> str:
    stage = run.stage or ""
    if run.state == RunState.QUEUED:
        return _("Waiting for its turn")
    if stage.startswith("list:"):
        return _("Linking list %(id)s to the registry") % {"id": stage[5:]}
    return {
        "start": _("Starting"),
        "registry": _("Reading the registry"),
        "households": _("Finding children through the household extracts"),
        "registry_checks": _("Checking the registry: ages, duplicates, double payments"),
        "saving": _("Saving the findings"),
        "done": _("Done"),
    }.get(stage, stage)


# ---------------------------------------------------------------- overview


@require(Perm.SCREENING_VIEW)
def screening_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    findings = scope(user, Finding.objects.all())
    by_rule = dict(
        findings.filter(state=FindingState.OPEN)
        .values_list("rule")
        .annotate(n=Count("id"))
        .values_list("rule", "n")
    )
    context: dict[str, Any] = {
        "rules": [(code, label, by_rule.get(code, 0)) for code, label in Rule.choices],
        "open_total": sum(by_rule.values()),
        "can_import": has_perm(user, Perm.SCREENING_IMPORT),
    }
    if context["can_import"]:
        context["lists"] = scope(user, DeptList.objects.select_related("imported_by"))[:30]
        context["runs"] = scope(user, ScreeningRun.objects.select_related("requested_by"))[:10]
    return render(request, "web/screening/home.html", context)


# ---------------------------------------------------------------- lists


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of list"), choices=ListKind.choices)
    list_date = forms.DateField(
        label=gettext_lazy("Date of the list"), widget=forms.DateInput(attrs={"type": "date"})
    )
    department = forms.CharField(label=gettext_lazy("Department"), max_length=100, required=False)
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK), XLSX or Parquet, with the department's usual headers (姓名, 性别, 公民身份号码, "
            "出生日期, 住址 and the list's own: 死亡日期, 入监日期, 残疾等级, 户号, 与户主关系 …)."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.parquet"}),
    )


@require(Perm.SCREENING_IMPORT)
def list_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    row_errors: list[tuple[int, str]] = []
    total_errors = 0
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            dept_list = imports.import_list(
                actor=request.user,
                kind=form.cleaned_data["kind"],
                list_date=form.cleaned_data["list_date"],
                department=form.cleaned_data["department"],
                filename=upload.name,
                content=upload.read(),
            )
        except RowErrors as exc:
            form.add_error(None, exc.message)
            row_errors = exc.errors
            total_errors = len(exc.errors)
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request,
                _("List imported: %(n)d rows. Run screening to find what it means for the children.")
                % {"n": dept_list.row_count},
            )
            return redirect("web:screening_list_detail", pk=dept_list.pk)
    return render(
        request,
        "web/screening/import.html",
        {
            "form": form,
            "row_errors": row_errors,
            "total_errors": total_errors,
            "max_reported": imports.MAX_REPORTED,
        },
    )


def _list_or_404(request: HttpRequest, pk: int) -> DeptList:
    return get_scoped_or_404(request.user, DeptList.objects.select_related("imported_by"), pk=pk)


@require(Perm.SCREENING_IMPORT)
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dept_list = _list_or_404(request, pk)
    page = paginate(
        scope(request.user, ListRecord.objects.filter(dept_list=dept_list)),
        request.GET.get("page") if str(request.GET.get("page", "")).isdigit() else 1,
        size=50,
    )
    rows = [(r, idnumber.mask(r.id_number)) for r in page]
    findings = Finding.objects.filter(record__dept_list=dept_list)
    counts = dict(
        scope(request.user, findings).values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    return render(
        request,
        "web/screening/list_detail.html",
        {
            "dept_list": dept_list,
            "page": page,
            "rows": rows,
            "counts": [(s, label, counts.get(s, 0)) for s, label in FindingState.choices],
        },
    )


@require(Perm.SCREENING_IMPORT)
def list_original(request: HttpRequest, pk: int) -> HttpResponse:
    """The file as the department sent it (it holds full ID numbers: the download is audited)."""
    dept_list = _list_or_404(request, pk)
    events.change_recorded(
        actor=request.user,
        entity="dept_list",
        entity_id=dept_list.pk,
        child_id=None,
        division_code=dept_list.division_code,
        action="download",
        changes={"file": [None, dept_list.original_name]},
    )
    response = HttpResponse(imports.original(dept_list), content_type="application/octet-stream")
    suffix = dept_list.original_name.rsplit(".", 1)[-1] if "." in dept_list.original_name else "csv"
    response["Content-Disposition"] = f'attachment; filename="list-{dept_list.pk}.{suffix}"'
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- runs


@require_POST
@require(Perm.SCREENING_IMPORT)
def run_start(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("lists")
    try:
        chosen = [int(i) for i in ids] if ids else None
        run = runs.enqueue(actor=request.user, list_ids=chosen)
    except ValueError:
        messages.error(request, _("Choose lists of your own division."))
        return redirect("web:screening_home")
    except CarenetError as exc:
        messages.error(request, exc.message)
        return redirect("web:screening_home")
    return redirect("web:screening_run_detail", pk=run.pk)


@require(Perm.SCREENING_IMPORT)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_scoped_or_404(request.user, ScreeningRun.objects.select_related("requested_by"), pk=pk)
    context = {
        "run": run,
        "stage": stage_label(run),
        "active": run.state in (RunState.QUEUED, RunState.RUNNING),
        "lists": scope(request.user, run.lists.all()),
    }
    if request.headers.get("HX-Request"):
        return render(request, "web/screening/_run_progress.html", context)
    return render(request, "web/screening/run_detail.html", context)


# ---------------------------------------------------------------- findings


class FindingFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("Any")), *FindingState.choices],
    )
    rule = forms.ChoiceField(
        label=gettext_lazy("Rule"), required=False, choices=[("", gettext_lazy("Any")), *Rule.choices]
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


@require(Perm.SCREENING_VIEW)
def finding_list(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if "state" not in data:
        data["state"] = FindingState.OPEN
    form = FindingFilterForm(data)
    qs = scope(request.user, Finding.objects.all())
    if form.is_valid():
        if form.cleaned_data["state"]:
            qs = qs.filter(state=form.cleaned_data["state"])
        if form.cleaned_data["rule"]:
            qs = qs.filter(rule=form.cleaned_data["rule"])
    page = paginate(qs.order_by("-found_at", "-id"), form.cleaned_data.get("page") if form.is_valid() else 1)
    query = data.copy()
    query.pop("page", None)
    records = selectors.finding_records(user=request.user, findings=page.object_list)
    children = selectors.finding_children(user=request.user, findings=page.object_list)
    rows = [(f, children.get(f.child_id), records.get(f.record_id)) for f in page.object_list]
    return render(
        request,
        "web/screening/findings.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode(), "proposals": PROPOSALS},
    )


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("confirm", "confirm"), ("dismiss", "dismiss")])
    note = forms.CharField(label=gettext_lazy("Reason"), max_length=decide.MAX_NOTE, required=False)
    id_number = forms.CharField(
        label=gettext_lazy("ID number (if the list's is wrong)"), max_length=24, required=False
    )

    def __init__(self, *args: Any, user: Any, needs_village: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if needs_village:
            self.fields["village"] = VillageField(
                user=user, label=gettext_lazy("Village the child lives in"), required=False
            )


def _record_side(record: ListRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "record": record,
        "list": record.dept_list,
        "id_masked": idnumber.mask(record.id_number),
    }


def _finding_or_404(request: HttpRequest, pk: int) -> Finding:
    return get_scoped_or_404(
        request.user,
        Finding.objects.select_related("decided_by", "application", "problem"),
        pk=pk,
    )


def _detail_context(request: HttpRequest, finding: Finding, form: DecideForm | None = None) -> dict[str, Any]:
    # What the finding refers to, through the reader's jurisdiction: what lies outside stays out of sight.
    try:
        member = selectors.finding_member(user=request.user, finding=finding)
    except FamilyMember.DoesNotExist:
        member = None
    children = selectors.finding_children(user=request.user, findings=[finding])
    child = children.get(finding.child_id)  # type: ignore[arg-type]
    other_child = children.get(finding.other_child_id)  # type: ignore[arg-type]
    categories = (
        list(scope(request.user, CategoryMembership.objects.filter(child=child, end_date__isnull=True)))
        if child is not None
        else []
    )
    needs_village = finding.rule in (Rule.DIBAO_CHILD, Rule.NEW_CANDIDATE)
    if form is None:
        form = DecideForm(user=request.user, needs_village=needs_village)
    history = (
        scope(request.user, ChangeLog.objects.filter(entity="finding", entity_id=finding.pk))
        .select_related("actor")
        .order_by("at", "id")
    )
    evidence = dict(finding.evidence)
    records = selectors.finding_records(user=request.user, findings=[finding])
    return {
        "finding": finding,
        "child": child,
        "member": member,
        "member_id_masked": idnumber.mask(member.id_number) if member else "",
        "child_id_masked": child.id_number_masked if child else "",
        "other_child": other_child,
        "other_child_id_masked": other_child.id_number_masked if other_child else "",
        "categories": categories,
        "left": _record_side(records.get(finding.record_id)),
        "trigger": _record_side(records.get(finding.other_record_id)),
        "evidence": evidence,
        "evidence_parents": [
            {**p, "status_label": STATUSES.get(p.get("status"), p.get("status"))}
            for p in evidence.get("parents", [])
        ],
        "status_label": STATUSES.get(evidence.get("status", ""), ""),
        "was_label": STATUSES.get(evidence.get("was", ""), ""),
        "other_label": STATUSES.get(evidence.get("other", ""), ""),
        "proposal": PROPOSALS.get(finding.proposal, finding.proposal),
        "can_decide": finding.state == FindingState.OPEN and has_perm(request.user, Perm.SCREENING_REVIEW),
        "form": form,
        "needs_village": needs_village,
        "history": history,
        "sure": (finding.probability or 0) >= 0.99,
    }


@require(Perm.SCREENING_VIEW)
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding_or_404(request, pk)
    context = _detail_context(request, finding)
    if context["child"] is not None:  # recorded before the page is sent
        events.access_recorded(
            actor=request.user,
            child_id=context["child"].pk,
            division_code=context["child"].division_code,
            kind="view",
            detail=f"finding {finding.pk}",
        )
    return render(request, "web/screening/finding_detail.html", context)


@require_POST
@require(Perm.SCREENING_REVIEW)
def finding_decide(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding_or_404(request, pk)
    needs_village = finding.rule in (Rule.DIBAO_CHILD, Rule.NEW_CANDIDATE)
    form = DecideForm(request.POST, user=request.user, needs_village=needs_village)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "dismiss":
                decide.dismiss(actor=request.user, finding=finding, note=data["note"])
                messages.success(
                    request, _("Dismissed. It will not come back unless the data behind it changes.")
                )
            else:
                done = decide.confirm(
                    actor=request.user,
                    finding=finding,
                    note=data["note"],
                    village=data.get("village"),
                    id_number=data["id_number"],
                )
                messages.success(request, _("Confirmed: %(outcome)s.") % {"outcome": done.outcome})
            return redirect("web:screening_finding_detail", pk=finding.pk)
        except ObjectDoesNotExist as exc:
            raise Http404 from exc
        except CarenetError as exc:
            apply_error(form, exc)
    finding.refresh_from_db()
    return render(
        request, "web/screening/finding_detail.html", _detail_context(request, finding, form), status=200
    )
