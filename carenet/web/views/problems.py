"""Problems pages (督办): the caller's supervision list, one problem with its thread and the actions the
caller may take, raising a problem outside a visit, and the caller's notifications."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.permissions import Perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.core.errors import CarenetError
from carenet.problems import selectors, services
from carenet.problems.models import (
    ActionKind,
    Level,
    OwnerKind,
    ProblemCategory,
    ProblemState,
    Severity,
)
from carenet.registry import selectors as registry_selectors
from carenet.web.forms import apply_error, with_any
from carenet.web.views.common import paginate, require

# ---------------------------------------------------------------- forms


class ProblemFilterForm(forms.Form):
    list = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            (selectors.LIST_SUPERVISION, gettext_lazy("My supervision list")),
            (selectors.LIST_ALL, gettext_lazy("All problems in my area")),
        ],
    )
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("Not closed")), *ProblemState.choices],
    )
    category = forms.ChoiceField(
        label=gettext_lazy("Category"), required=False, choices=with_any(ProblemCategory.choices)
    )
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"), required=False, choices=with_any(Severity.choices)
    )
    level = forms.TypedChoiceField(
        label=gettext_lazy("Supervised at"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=with_any(Level.choices),
    )
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)
    child = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def which(self) -> str:
        return self.cleaned_data.get("list") or selectors.LIST_SUPERVISION

    def filters(self) -> selectors.ProblemFilters:
        data = self.cleaned_data
        return selectors.ProblemFilters(
            state=data.get("state") or "",
            category=data.get("category") or "",
            severity=data.get("severity") or "",
            level=data.get("level"),
            overdue=bool(data.get("overdue")),
            child_id=data.get("child"),
        )


class ProblemForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Kind of problem"), choices=ProblemCategory.choices)
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"),
        choices=Severity.choices,
        help_text=gettext_lazy("Critical problems are sent to the district at once."),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    owner_kind = forms.ChoiceField(
        label=gettext_lazy("Who should resolve it"), choices=OwnerKind.choices, initial=OwnerKind.STREET
    )
    owner_department = forms.CharField(
        label=gettext_lazy("Department"),
        required=False,
        max_length=services.DEPARTMENT_MAX,
        help_text=gettext_lazy("Only when a department should resolve it (e.g. education, health, police)."),
    )


class ActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in services.USER_ACTIONS])
    text = forms.CharField(required=False, max_length=services.MAX_TEXT)
    owner_kind = forms.ChoiceField(required=False, choices=[("", "—"), *OwnerKind.choices])
    owner_department = forms.CharField(required=False, max_length=services.DEPARTMENT_MAX)


DONE = {
    ActionKind.NOTE: gettext_lazy("Note added."),
    ActionKind.START: gettext_lazy("Work on the problem has started."),
    ActionKind.RESOLVE: gettext_lazy("Marked resolved; the village director is asked to verify."),
    ActionKind.VERIFY: gettext_lazy("Verified."),
    ActionKind.CLOSE: gettext_lazy("Problem closed."),
    ActionKind.REOPEN: gettext_lazy("Problem reopened with a new deadline."),
    ActionKind.ASSIGN: gettext_lazy("Owner changed."),
}


# ---------------------------------------------------------------- list and detail


@require(Perm.CHILD_VIEW)
def problem_list(request: HttpRequest) -> HttpResponse:
    """Filters travel in the query string: they hold codes and numbers only, never a name."""
    form = ProblemFilterForm(request.GET)
    if form.is_valid():
        filters, which, page_no = form.filters(), form.which(), form.cleaned_data.get("page")
    else:
        filters, which, page_no = selectors.ProblemFilters(), selectors.LIST_SUPERVISION, None
    today = timezone.localdate()
    qs = selectors.problem_list(actor=request.user, filters=filters, which=which, today=today)
    page = paginate(qs, page_no, capped=True)
    rows = [(p, selectors.days_overdue(p, today)) for p in page.object_list]
    counts = selectors.problem_counts(actor=request.user, filters=filters, which=which, today=today)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("state", None)
    query.pop("overdue", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "counts": [(state, label, counts[state]) for state, label in ProblemState.choices],
        "overdue_count": counts["overdue"],
        "which": which,
        "base_query": query.urlencode(),
        "query": _without_page(request),
    }
    return render(request, "web/problems/list.html", context)


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require(Perm.CHILD_VIEW)
def problem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    problem = selectors.problem_get(actor=request.user, pk=pk)
    # The access record is written before anything is rendered: if it cannot be written, nothing is shown.
    events.access_recorded(
        actor=request.user,
        child_id=problem.child_id,
        division_code=problem.child.division_code,
        kind=AccessLog.Kind.VIEW,
        detail=f"problem {problem.pk}",
    )
    today = timezone.localdate()
    context = {
        "problem": problem,
        "child": problem.child,
        "visit": problem.visit,
        "thread": selectors.problem_thread(problem),
        "allowed": set(services.allowed_actions(request.user, problem)),
        "overdue_days": selectors.days_overdue(problem, today),
        "owner_kinds": OwnerKind.choices,
    }
    return render(request, "web/problems/detail.html", context)


@require(Perm.PROBLEM_HANDLE)
@require_POST
def problem_action(request: HttpRequest, pk: int) -> HttpResponse:
    problem = selectors.problem_get(actor=request.user, pk=pk)  # 404 outside the caller's jurisdiction
    form = ActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The action could not be read; nothing was changed."))
        return redirect("web:problem_detail", pk=problem.pk)
    data = services.ActionInput(**form.cleaned_data)
    try:
        services.problem_act(actor=request.user, problem_id=problem.pk, data=data)
    except ObjectDoesNotExist:  # left the caller's jurisdiction meanwhile (e.g. the child moved)
        raise Http404 from None
    except CarenetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, DONE[data.action])
    return redirect("web:problem_detail", pk=problem.pk)


# ---------------------------------------------------------------- raising a problem outside a visit


def _may_raise(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Whoever records visits or handles problems (services.may_raise); others get a 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not services.may_raise(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@_may_raise
def problem_create(request: HttpRequest, pk: int) -> HttpResponse:
    child = registry_selectors.child_get(actor=request.user, pk=pk)
    form = ProblemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            problem = services.problem_raise(actor=request.user, child=child, **form.cleaned_data)
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request, _("Problem recorded; its deadline is %(d)s.") % {"d": date_format(problem.deadline)}
            )
            return redirect("web:problem_detail", pk=problem.pk)
    return render(request, "web/problems/form.html", {"form": form, "child": child})


# ---------------------------------------------------------------- notifications


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = paginate(selectors.notification_list(actor=request.user), _page(request))
    # The unread count comes from the context processor (the menu's badge), counted once per page.
    return render(request, "web/problems/notifications.html", {"page": page})


def _page(request: HttpRequest) -> int | None:
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() else None


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_read(actor=request.user)
    return redirect("web:notification_list")
