"""Determination pages (精准认定): the caller's queue and the full list, filing an application from a child's
page, one application with its timeline, evidence and the moves the caller may take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.permissions import Perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.benefits import applications as services
from carenet.benefits import months
from carenet.benefits import selectors_applications as selectors
from carenet.benefits.models import ApplicationKind, ApplicationStatus, EndReason
from carenet.core.errors import CarenetError
from carenet.registry import selectors as registry_selectors
from carenet.registry import services as registry_services
from carenet.registry.models import Category, DocumentKind
from carenet.web.forms import DocumentForm, apply_error
from carenet.web.views.common import paginate, require

# ---------------------------------------------------------------- forms


class MonthField(forms.CharField):
    """A month typed as YYYY-MM (the browser's month picker sends that); cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-01", "maxlength": 10})

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        try:
            return months.parse(text, field="effective_month")
        except CarenetError as exc:
            raise forms.ValidationError(exc.message) from exc


class ApplicationFilterForm(forms.Form):
    list = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            (selectors.LIST_QUEUE, gettext_lazy("Waiting for my step")),
            (selectors.LIST_ALL, gettext_lazy("All applications in my area")),
        ],
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("", gettext_lazy("Any")),
            (selectors.STATUS_OPEN, gettext_lazy("Not yet decided")),
            *ApplicationStatus.choices,
        ],
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("Any")), *ApplicationKind.choices],
    )
    category = forms.ChoiceField(
        label=gettext_lazy("Category"), required=False, choices=[("", gettext_lazy("Any")), *Category.choices]
    )
    child = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filters(self) -> selectors.ApplicationFilters:
        data = self.cleaned_data
        return selectors.ApplicationFilters(
            status=data.get("status") or "",
            kind=data.get("kind") or "",
            category=data.get("category") or "",
            child_id=data.get("child"),
        )


class ApplicationForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Application for"), choices=ApplicationKind.choices, initial=ApplicationKind.OPEN
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=Category.choices)
    effective_month = MonthField(
        label=gettext_lazy("Effective month"),
        help_text=gettext_lazy(
            "Entering: the first month paid (an earlier month is paid as arrears). Ending: the last month "
            "paid. Next month at the latest."
        ),
    )
    end_reason = forms.ChoiceField(
        label=gettext_lazy("Why the support ends"),
        required=False,
        choices=[("", "—"), *EndReason.choices],
        help_text=gettext_lazy("Only for an ending."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Circumstances and grounds"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    documents = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Evidence from the child's file"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    doc_kind = forms.ChoiceField(
        label=gettext_lazy("Kind of the new document"), required=False, choices=DocumentKind.choices
    )
    doc_title = forms.CharField(
        label=gettext_lazy("Title of the new document"), max_length=200, required=False
    )
    doc_file = forms.FileField(
        label=gettext_lazy("Upload new evidence"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/*"}),
        help_text=gettext_lazy("PDF, JPEG, PNG or WebP; it is added to the child's file too."),
    )

    def __init__(self, *args: Any, documents: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].choices = [(d.pk, f"{d.title}（{d.get_kind_display()}）") for d in documents]


class ActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in services.USER_ACTIONS])
    comment = forms.CharField(required=False, max_length=services.MAX_TEXT)


class AttachForm(forms.Form):
    document = forms.IntegerField(required=False, min_value=1)


DONE = {
    services.Action.CHECK: gettext_lazy("Checked; the application goes to the street for review."),
    services.Action.REVIEW: gettext_lazy("Reviewed; the application goes to the district for approval."),
    services.Action.APPROVE: gettext_lazy("Approved; the category and its support are recorded."),
    services.Action.RETURN: gettext_lazy("Sent back to the village."),
    services.Action.REJECT: gettext_lazy("Rejected."),
    services.Action.RESUBMIT: gettext_lazy("Resubmitted; the village checks it again."),
}


A = services.Action
STEP_LABELS = {
    A.FILE: gettext_lazy("Filed"),
    A.CHECK: gettext_lazy("Village check (查验)"),
    A.REVIEW: gettext_lazy("Street review (审核)"),
    A.APPROVE: gettext_lazy("District approval (确认)"),
    A.RETURN: gettext_lazy("Sent back"),
    A.REJECT: gettext_lazy("Rejected"),
    A.RESUBMIT: gettext_lazy("Resubmitted"),
}
WAITING = {
    ApplicationStatus.FILED: gettext_lazy("Waiting for the village check"),
    ApplicationStatus.CHECKED: gettext_lazy("Waiting for the street review"),
    ApplicationStatus.REVIEWED: gettext_lazy("Waiting for the district approval"),
    ApplicationStatus.RETURNED: gettext_lazy("Waiting for the village to complete and resubmit it"),
}


@dataclass(frozen=True)
class ActionButton:
    name: str
    label: Any
    prompt: Any
    button: Any
    required: bool = False
    primary: bool = False


# In the order shown: the step forward first, then sending back, then rejecting.
ACTIONS = (
    ActionButton(
        A.CHECK,
        gettext_lazy("Village check (查验)"),
        gettext_lazy("What you found (optional)"),
        gettext_lazy("Checked: pass it to the street"),
        primary=True,
    ),
    ActionButton(
        A.REVIEW,
        gettext_lazy("Street review (审核)"),
        gettext_lazy("Review opinion (optional)"),
        gettext_lazy("Reviewed: pass it to the district"),
        primary=True,
    ),
    ActionButton(
        A.APPROVE,
        gettext_lazy("District approval (确认)"),
        gettext_lazy("Approval opinion (optional)"),
        gettext_lazy("Approve"),
        primary=True,
    ),
    ActionButton(
        A.RESUBMIT,
        gettext_lazy("Resubmit"),
        gettext_lazy("What was completed or corrected (optional)"),
        gettext_lazy("Resubmit"),
        primary=True,
    ),
    ActionButton(
        A.RETURN,
        gettext_lazy("Send back to the village"),
        gettext_lazy("What must be completed or corrected"),
        gettext_lazy("Send back"),
        required=True,
    ),
    ActionButton(
        A.REJECT,
        gettext_lazy("Reject"),
        gettext_lazy("Reason for the rejection"),
        gettext_lazy("Reject for good"),
        required=True,
    ),
)
STATUS_LABELS = dict(ApplicationStatus.choices)


# ---------------------------------------------------------------- list and detail


@require(Perm.BENEFIT_VIEW)
def application_list(request: HttpRequest) -> HttpResponse:
    """The queue of the caller's step (待办申请) and everything in scope. Filters hold codes and ids only."""
    user = request.user
    level = services.level_of(user)
    form = ApplicationFilterForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    which = data.get("list") or (selectors.LIST_QUEUE if level else selectors.LIST_ALL)
    if which == selectors.LIST_QUEUE:
        qs = selectors.application_queue(actor=user)
    else:
        qs = selectors.application_list(
            actor=user, filters=form.filters() if valid else selectors.ApplicationFilters()
        )
    page = paginate(qs, data.get("page"), capped=True)
    counts = selectors.application_counts(actor=user)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "which": which,
        "level": level,
        "queue_count": selectors.application_queue(actor=user).count() if level else 0,
        "counts": [(status, label, counts.get(status, 0)) for status, label in ApplicationStatus.choices],
        "query": query.urlencode(),
    }
    return render(request, "web/applications/list.html", context)


@require(Perm.BENEFIT_VIEW)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(actor=request.user, pk=pk)
    # Written before anything is rendered: if it cannot be written, nothing is shown.
    events.access_recorded(
        actor=request.user,
        child_id=application.child_id,
        division_code=application.child.division_code,
        kind=AccessLog.Kind.VIEW,
        detail=f"application {application.pk}",
    )
    can_attach = services.may_attach_evidence(request.user, application)
    steps = selectors.application_steps(application)
    for step in steps:
        step.label = STEP_LABELS.get(step.action, step.action)  # type: ignore[attr-defined]
        step.from_label = STATUS_LABELS.get(step.from_status, step.from_status)  # type: ignore[attr-defined]
        step.to_label = STATUS_LABELS.get(step.to_status, step.to_status)  # type: ignore[attr-defined]
    context = {
        "application": application,
        "child": application.child,
        "steps": steps,
        "waiting": WAITING.get(application.status),
        "actions": ACTIONS,
        "evidence": selectors.application_evidence(application),
        "allowed": set(services.allowed_actions(request.user, application)),
        "can_attach": can_attach,
        "attachable": selectors.documents_to_attach(actor=request.user, application=application)
        if can_attach
        else [],
        "document_form": DocumentForm(),
    }
    return render(request, "web/applications/detail.html", context)


# ---------------------------------------------------------------- filing


def _initial(request: HttpRequest) -> dict[str, Any]:
    """The child's page may link here with the kind and category chosen (codes only)."""
    initial: dict[str, Any] = {"effective_month": months.label(timezone.localdate())}
    if request.GET.get("kind") in ApplicationKind.values:
        initial["kind"] = request.GET["kind"]
    if request.GET.get("category") in Category.values:
        initial["category"] = request.GET["category"]
    return initial


@require(Perm.APPLICATION_FILE)
def application_create(request: HttpRequest, pk: int) -> HttpResponse:
    child = registry_selectors.child_get(actor=request.user, pk=pk)
    documents = selectors.child_documents(actor=request.user, child_id=child.pk)
    form = ApplicationForm(
        request.POST or None, request.FILES or None, documents=documents, initial=_initial(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = _file(request, child, form.cleaned_data)
        except ObjectDoesNotExist:  # left the caller's jurisdiction meanwhile
            raise Http404 from None
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Application filed; the village checks it next."))
            return redirect("web:application_detail", pk=application.pk)
    return render(request, "web/applications/form.html", {"form": form, "child": child})


@transaction.atomic
def _file(request: HttpRequest, child: Any, data: dict[str, Any]) -> Any:
    """A new upload and the application land together or not at all."""
    documents: list[Any] = list(data["documents"])
    if data.get("doc_file"):
        try:
            document = registry_services.document_add(
                actor=request.user,
                child=child,
                kind=data["doc_kind"] or DocumentKind.OTHER,
                title=data["doc_title"],
                upload=data["doc_file"],
            )
        except CarenetError as exc:
            raise CarenetError(exc.message, field="doc_file" if exc.field == "file" else exc.field) from exc
        documents.append(document)
    return services.application_file(
        actor=request.user,
        child=child,
        kind=data["kind"],
        category=data["category"],
        effective_month=data["effective_month"],
        reason=data["reason"],
        end_reason=data["end_reason"],
        documents=documents,
    )


# ---------------------------------------------------------------- moves and evidence


@require(Perm.APPLICATION_DECIDE)  # every role that files also decides at its level; the service checks which
@require_POST
def application_action(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(
        actor=request.user, pk=pk
    )  # 404 outside the caller's jurisdiction
    form = ActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The action could not be read; nothing was changed."))
        return redirect("web:application_detail", pk=application.pk)
    action = form.cleaned_data["action"]
    try:
        services.application_act(
            actor=request.user,
            application=application.pk,
            action=action,
            comment=form.cleaned_data["comment"],
        )
    except ObjectDoesNotExist:  # left the caller's jurisdiction meanwhile (e.g. the child moved)
        raise Http404 from None
    except CarenetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, DONE[action])
    return redirect("web:application_detail", pk=application.pk)


@require(Perm.APPLICATION_DECIDE)  # as above: filers and deciders alike may add evidence
@require_POST
def application_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach a document already in the child's file, or upload a new one into it and attach that."""
    application = selectors.application_get(actor=request.user, pk=pk)
    try:
        if request.FILES.get("file"):
            upload = DocumentForm(request.POST, request.FILES)
            if not upload.is_valid():
                raise CarenetError(_("Choose a file to attach."), field="file")
            services.evidence_upload(
                actor=request.user,
                application=application.pk,
                kind=upload.cleaned_data["kind"],
                title=upload.cleaned_data["title"],
                upload=upload.cleaned_data["file"],
            )
        else:
            pick = AttachForm(request.POST)
            if not pick.is_valid() or not pick.cleaned_data["document"]:
                raise CarenetError(_("Choose a document or a file to attach."), field="document")
            services.evidence_attach(
                actor=request.user, application=application.pk, document=pick.cleaned_data["document"]
            )
    except ObjectDoesNotExist:
        raise Http404 from None
    except CarenetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Evidence attached."))
    return redirect("web:application_detail", pk=application.pk)
