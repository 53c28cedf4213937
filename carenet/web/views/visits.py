"""Visits pages: the work list with its rollup, one visit, the review queue, supervision figures, visit rules.

Views are thin: they parse the request, call one selector or service and render. Every read starts from
scope(); a page that shows children's names writes their access records before rendering."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from carenet.accounts.jurisdiction import get_scoped_or_404, scope, subtree_division_or_404
from carenet.accounts.models import Division, DivisionLevel, Role, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog, ChangeLog
from carenet.core.errors import CarenetError
from carenet.problems.models import Problem
from carenet.registry.models import Category
from carenet.visits import review, selectors, services, stats
from carenet.visits.models import Interval, ReviewState, Visit, VisitPhoto, VisitRule, VisitSchedule
from carenet.web.views.common import paginate, require

TABS = {
    "overdue": gettext_lazy("Overdue"),
    "soon": gettext_lazy("Due within a week"),
    "never": gettext_lazy("Never visited"),
    "all": gettext_lazy("All scheduled"),
}
MAX_DIVISION_OPTIONS = 400  # above this a dropdown is unusable on a phone: type the code instead
LIST_LIMIT = 200  # children per work-list tab; the counts above are always complete


def _record_shown(actor: User, children: list[tuple[int, str]], detail: str) -> None:
    """Access records for the children whose names a list shows, written before it is rendered."""
    if children:
        events.accesses_recorded(actor=actor, children=children, kind=AccessLog.Kind.VIEW, detail=detail)


def _division_param(actor: User, code: str | None) -> Division | None:
    """A division of the actor's own subtree named by ?division=, their own by default; else 404."""
    if not code:
        return actor.division if actor.division_id else None
    return subtree_division_or_404(actor, code)


def _trail(actor: User, division: Division | None) -> list[Division]:
    """The divisions from the actor's own down to (excluding) `division`, for the breadcrumb."""
    if division is None or not actor.division_id:
        return []
    own = actor.division.code
    codes = [division.code[:n] for n in (2, 4, 6, 9) if len(own) <= n < len(division.code)]
    return list(scope(actor, Division.objects.filter(code__in=codes)).order_by("code"))


# ---------------------------------------------------------------- the work list


@require(Perm.CHILD_VIEW)
def visit_worklist(request: HttpRequest) -> HttpResponse:
    actor = request.user
    division = _division_param(actor, request.GET.get("division"))
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "overdue"
    today = timezone.localdate()
    if division is not None:
        rows, total = selectors.rollup(actor, division, today=today)
    else:
        rows, total = [], selectors.counts(actor, today=today)
    page = None
    # Only the tab on screen is read; the counts above come from the rollup (or one count for a village).
    listed = selectors.due(actor, tab, division=division, today=today)
    if tab == "all":
        page = paginate(listed, _int(request.GET.get("page")), 50, capped=True)
        shown: list[VisitSchedule] = list(page.object_list)
    else:
        shown = list(listed[:LIST_LIMIT])
    _record_shown(actor, [(s.child_id, s.division_code) for s in shown], "worklist")
    tab_counts = {
        "overdue": total.overdue,
        "soon": total.due_soon,
        "never": total.never_visited,
        "all": total.scheduled,
    }
    return render(
        request,
        "web/visits/worklist.html",
        {
            "division": division,
            "trail": _trail(actor, division),
            "rows": rows,
            "total": total,
            "tab": tab,
            "tabs": [(key, label, tab_counts[key]) for key, label in TABS.items()],
            "shown": shown,
            "page": page,
            "truncated": tab != "all" and len(shown) >= LIST_LIMIT and tab_counts[tab] > len(shown),
            "today": today,
        },
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# ---------------------------------------------------------------- one visit


@require(Perm.CHILD_VIEW)
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    visit = selectors.visit_get(actor, pk)
    events.access_recorded(
        actor=actor,
        child_id=visit.child_id,
        division_code=visit.division_code,
        kind=AccessLog.Kind.VIEW,
        detail=f"visit {visit.pk}",
    )
    history = (
        ChangeLog.objects.filter(entity="visit", entity_id=visit.pk)
        .select_related("actor")
        .order_by("at", "id")
    )
    return render(
        request,
        "web/visits/detail.html",
        {
            "visit": visit,
            "child": visit.child,
            "photos": list(visit.photos.all()),
            "problems": list(scope(actor, Problem.objects.filter(visit=visit)).order_by("id")),
            "history": [_history_row(c) for c in history],
            "can_review": has_perm(actor, Perm.VISIT_REVIEW),
            "can_correct": has_perm(actor, Perm.VISIT_RECORD) and visit.review_state == ReviewState.RETURNED,
            "states": ReviewState,
        },
    )


HISTORY_LABELS = {
    ("create", ""): gettext_lazy("Recorded"),
    ("review", ReviewState.CHECKED): gettext_lazy("Marked checked"),
    ("review", ReviewState.RETURNED): gettext_lazy("Sent back"),
    ("review", ReviewState.PENDING): gettext_lazy("Marked corrected"),
    ("review", "sampled"): gettext_lazy("Drawn in a sample for checking"),
}


def _history_row(change: ChangeLog) -> dict[str, Any]:
    changes = change.changes or {}
    if "sampled" in changes:
        key = "sampled"
    elif "review_state" in changes:
        key = changes["review_state"][1]
    else:
        key = ""
    text = (changes.get("review_comment") or changes.get("note") or [None, ""])[1] or ""
    return {
        "at": change.at,
        "actor": change.actor,
        "what": HISTORY_LABELS.get((change.action, key), change.get_action_display()),
        "text": text,
    }


@require(Perm.CHILD_VIEW)
def visit_photo(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_scoped_or_404(request.user, VisitPhoto.objects.select_related("visit"), pk=pk)
    events.access_recorded(
        actor=request.user,
        child_id=photo.visit.child_id,
        division_code=photo.visit.division_code,
        kind=AccessLog.Kind.PHOTO,
        detail=f"visit photo {photo.pk}",
    )
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "no-store, private"
    return response


# ---------------------------------------------------------------- review


class ReviewFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=gettext_lazy("Review"),
        required=False,
        choices=[
            ("pending", ReviewState.PENDING.label),
            ("returned", ReviewState.RETURNED.label),
            ("checked", ReviewState.CHECKED.label),
            ("all", gettext_lazy("All")),
        ],
    )
    division = forms.CharField(label=gettext_lazy("Street or village"), required=False, max_length=12)
    date_from = forms.DateField(
        label=gettext_lazy("Visited from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("Visited until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].widget = division_widget(actor)

    def clean_division(self) -> str:
        code = self.cleaned_data["division"].strip()
        if code and not code.isdigit():
            raise forms.ValidationError(_("A division code is made of digits."))
        return code


def division_widget(actor: User) -> forms.Widget:
    """A dropdown of the streets and villages under the actor, or a code box where they are too many."""
    own = actor.division.code if actor.division_id else ""
    below = scope(actor, Division.objects.filter(code__startswith=own).exclude(code=own)) if own else None
    if below is None or below.count() > MAX_DIVISION_OPTIONS:
        return forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 12, "placeholder": "120112001001"})
    choices = [("", _("All"))] + [
        (d.code, d.name if d.level != DivisionLevel.VILLAGE else f"\u3000{d.name}")
        for d in below.filter(level__in=[DivisionLevel.STREET, DivisionLevel.VILLAGE]).order_by("code")
    ]
    return forms.Select(choices=choices)


def _review_queryset(actor: User, form: ReviewFilterForm, sample: list[int]) -> QuerySet[Visit]:
    if sample:
        return selectors.visit_list(actor).filter(pk__in=sample)
    data = form.cleaned_data if form.is_valid() else {}
    state = data.get("state") or "pending"
    qs = selectors.visit_list(
        actor, division_code=data.get("division") or "", review_state="" if state == "all" else state
    )
    if data.get("date_from"):
        qs = qs.filter(visited_on__gte=data["date_from"])
    if data.get("date_to"):
        qs = qs.filter(visited_on__lte=data["date_to"])
    return qs


@require(Perm.VISIT_REVIEW)
def visit_review(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = ReviewFilterForm(request.GET or {"state": "pending"}, actor=actor)
    sample = [n for n in (_int(x) for x in request.GET.get("sample", "").split(",")) if n][
        : review.MAX_SAMPLE
    ]
    qs = _review_queryset(actor, form, sample).select_related("child__division")
    page = paginate(qs, _int(request.GET.get("page")), capped=True)
    # Problem counts for the page only: a join over the whole queue would make every page count it all.
    counts = dict(
        scope(actor, Problem.objects.filter(visit__in=[v.pk for v in page.object_list]))
        .values_list("visit")
        .annotate(n=Count("id"))
        .order_by()
    )
    for v in page.object_list:
        v.n_problems = counts.get(v.pk, 0)
    _record_shown(actor, [(v.child_id, v.division_code) for v in page.object_list], "visit review")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/visits/review.html",
        {
            "form": form,
            "page": page,
            "sample": sample,
            "query": query.urlencode(),
            "states": ReviewState,
            "max_sample": review.MAX_SAMPLE,
        },
    )


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(default)


@require(Perm.VISIT_REVIEW)
@require_POST
def visit_review_action(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_get(request.user, pk)
    action = request.POST.get("action")
    comment = request.POST.get("comment", "")
    try:
        if action == "check":
            review.review_check(actor=request.user, visit=visit, comment=comment)
            messages.success(request, _("The visit is marked checked."))
        elif action == "return":
            review.review_return(actor=request.user, visit=visit, comment=comment)
            messages.success(request, _("The visit is sent back to the village with your comment."))
        else:
            messages.error(request, _("Choose whether to mark the visit checked or send it back."))
    except CarenetError as exc:
        messages.error(request, exc.message)
    return _back(request, reverse("web:visit_detail", args=[visit.pk]))


@require(Perm.VISIT_RECORD)
@require_POST
def visit_correct(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_get(request.user, pk)
    try:
        review.review_correct(actor=request.user, visit=visit, note=request.POST.get("note", ""))
        messages.success(request, _("The visit is marked corrected; it will be reviewed again."))
    except CarenetError as exc:
        messages.error(request, exc.message)
    return _back(request, reverse("web:visit_detail", args=[visit.pk]))


@require(Perm.VISIT_REVIEW)
@require_POST
def visit_sample(request: HttpRequest) -> HttpResponse:
    actor = request.user
    code = (request.POST.get("division") or "").strip()
    division = _division_param(actor, code) if code else None
    try:
        picked = review.review_sample(actor=actor, division=division, n=_int(request.POST.get("n")) or 0)
    except CarenetError as exc:
        messages.error(request, exc.message)
        return redirect("web:visit_review")
    if not picked:
        messages.info(request, _("No visit of the last 30 days is waiting for review."))
        return redirect("web:visit_review")
    return redirect(f"{reverse('web:visit_review')}?sample={','.join(str(v.pk) for v in picked)}")


# ---------------------------------------------------------------- supervision figures


def _month(value: str | None) -> stats.Period:
    today = timezone.localdate()
    try:
        year, month = (int(x) for x in (value or "").split("-"))
        return stats.Period.month(year, month)
    except ValueError:
        return stats.Period.month(today.year, today.month)


@require(Perm.VISIT_REVIEW)
def visit_stats(request: HttpRequest) -> HttpResponse:
    actor = request.user
    division = _division_param(actor, request.GET.get("division"))
    if division is None:
        raise Http404
    period = _month(request.GET.get("month"))
    figures = stats.visit_stats(actor=actor, division=division, period=period)
    return render(
        request,
        "web/visits/stats.html",
        {
            "stats": figures,
            "division": division,
            "trail": _trail(actor, division),
            "month": period.start.strftime("%Y-%m"),
            "sub_level": figures.by_division[0].division.get_level_display() if figures.by_division else "",
        },
    )


# ---------------------------------------------------------------- visit rules


class RuleForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=Category.choices)
    interval_days = forms.TypedChoiceField(
        label=gettext_lazy("Visit frequency"),
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", gettext_lazy("No override (use the city default)"))] + list(Interval.choices),
    )
    district = forms.CharField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=gettext_lazy("Reason for the change"), max_length=300, required=False)


def _rules_district(actor: User, code: str | None) -> Division | None:
    """The district whose rules the page shows: the actor's own district, or any for the city."""
    own = actor.division.code[:6] if actor.division_id and len(actor.division.code) >= 6 else ""
    if own:
        return scope(actor, Division.objects.filter(code=own)).first()
    if code and actor.role == Role.CITY_ADMIN:
        return get_scoped_or_404(actor, Division.objects.filter(level=DivisionLevel.DISTRICT), code=code)
    return None


@require(Perm.CHILD_VIEW)
def visit_rules(request: HttpRequest) -> HttpResponse:
    actor = request.user
    can_set = has_perm(actor, Perm.VISIT_RULES)
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied
        return _rule_post(request)
    district = _rules_district(actor, request.GET.get("district"))
    in_force = VisitRule.objects.filter(valid_to__isnull=True)
    city = {r.category: r for r in in_force.filter(district_code="")}
    local = {r.category: r for r in in_force.filter(district_code=district.code)} if district else {}
    table = [
        {
            "category": value,
            "label": label,
            "city": city.get(value),
            "district": local.get(value),
            "effective": local.get(value) or city.get(value),
        }
        for value, label in Category.choices
    ]
    history = VisitRule.objects.select_related("set_by").order_by("-valid_from", "-id")
    if district is not None:
        history = history.filter(Q(district_code="") | Q(district_code=district.code))
    districts = (
        scope(actor, Division.objects.filter(level=DivisionLevel.DISTRICT)).order_by("code")
        if actor.role == Role.CITY_ADMIN
        else []
    )
    return render(
        request,
        "web/visits/rules.html",
        {
            "district": district,
            "districts": districts,
            "table": table,
            "history": history[:300],
            "can_set_city": can_set and actor.role == Role.CITY_ADMIN,
            "can_set_district": can_set
            and district is not None
            and (actor.role == Role.CITY_ADMIN or actor.division.code == district.code),
            "intervals": Interval.choices,
            "categories": Category.choices,
        },
    )


def _rule_post(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = RuleForm(request.POST)
    back = reverse("web:visit_rules")
    if not form.is_valid():
        messages.error(request, _("Choose a category and a frequency."))
        return redirect(back)
    data = form.cleaned_data
    district = data["district"] or ""
    if actor.role != Role.CITY_ADMIN:
        district = actor.division.code if actor.division_id else ""  # a district sets its own overrides only
    if (
        district
        and not scope(actor, Division.objects.filter(code=district, level=DivisionLevel.DISTRICT)).exists()
    ):
        messages.error(request, _("There is no such district in your jurisdiction."))
        return redirect(back)
    if not district and data["interval_days"] is None:
        messages.error(request, _("Choose a frequency for the city default."))
        return redirect(back)
    try:
        services.rule_set(
            actor=actor,
            category=data["category"],
            interval_days=data["interval_days"],
            district_code=district,
            note=data["note"],
        )
    except CarenetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The visit rule is saved; the children concerned are rescheduled."))
    return redirect(f"{back}?district={district}" if district else back)


def child_visits(actor: User, child_id: int) -> dict[str, Any]:
    """The visits section of a child's file: the last visits and the next due date (through scope())."""
    return {
        "visits": list(selectors.visit_list(actor, child_id=child_id).order_by("-visited_on", "-id")[:10]),
        "visit_schedule": scope(actor, VisitSchedule.objects.filter(child_id=child_id)).first(),
        "visit_today": timezone.localdate(),
    }
