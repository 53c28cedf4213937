from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from carenet.accounts.jurisdiction import get_scoped_or_404
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog, ChangeLog
from carenet.core.errors import CarenetError
from carenet.registry import selectors, services
from carenet.registry.models import Caseload, CategoryMembership, Child, ChildDocument, FamilyMember
from carenet.web import exports
from carenet.web.forms import (
    ArchiveForm,
    CaseloadForm,
    CategoryCloseForm,
    CategoryOpenForm,
    ChildForm,
    DocumentForm,
    MemberForm,
    NewChildForm,
    SearchForm,
    apply_error,
)
from carenet.web.views.common import paginate, require
from carenet.web.views.visits import child_visits


def _filters(form: SearchForm) -> selectors.ChildFilters:
    data = form.cleaned_data
    return selectors.ChildFilters(
        q=data.get("q") or "",
        category=data.get("category") or "",
        division_code=data.get("division") or "",
        status=data.get("status") or "",
        age_min=data.get("age_min"),
        age_max=data.get("age_max"),
    )


def _post_action(
    request: HttpRequest, form: Any, action: Callable[[dict[str, Any]], object], *, done: str, invalid: str
) -> None:
    """Run a service with a bound form's data and report the outcome as a flash message."""
    if not form.is_valid():
        messages.error(request, invalid)
        return
    try:
        action(form.cleaned_data)
    except CarenetError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)


@require(Perm.CHILD_VIEW)
def child_list(request: HttpRequest) -> HttpResponse:
    """Search is POSTed: names and ID numbers typed in the box never appear in a URL or an access log."""
    form = SearchForm(request.POST or {"status": "active"})
    page = None
    if form.is_valid():
        qs = selectors.child_list(actor=request.user, filters=_filters(form))
        page = paginate(qs.prefetch_related(_open_categories()), form.cleaned_data.get("page"), capped=True)
    template = "web/children/_results.html" if request.htmx else "web/children/list.html"
    return render(request, template, {"form": form, "page": page})


def _open_categories():  # type: ignore[no-untyped-def]
    from django.db.models import Prefetch

    return Prefetch(
        "categories",
        queryset=CategoryMembership.objects.filter(end_date__isnull=True),
        to_attr="open_categories",
    )


@require(Perm.CHILD_EXPORT)
@require_POST
def child_export(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The filter is not valid; nothing was exported."))
        return redirect("web:child_list")
    qs = selectors.child_list(actor=request.user, filters=_filters(form))
    try:
        return exports.children_xlsx(actor=request.user, queryset=qs)
    except CarenetError as exc:
        messages.error(request, exc.message)
        return redirect("web:child_list")


@require(Perm.CHILD_CREATE)
def child_create(request: HttpRequest) -> HttpResponse:
    form = NewChildForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            child = services.child_register(
                actor=request.user,
                division=form.cleaned_data["division"],
                id_number=form.cleaned_data["id_number"],
                photo=form.cleaned_data.get("photo") or None,
                guardian=form.guardian(),
                **form.child_fields(),
            )
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("%(name)s is registered.") % {"name": child.name})
            return redirect("web:child_detail", pk=child.pk)
    return render(request, "web/children/form.html", {"form": form, "title": _("Register a child")})


@require(Perm.CHILD_VIEW)
def child_detail(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    full_id = has_perm(request.user, Perm.CHILD_VIEW_FULL_ID)
    # The access record is written before anything is rendered: if it cannot be written, nothing is shown.
    events.access_recorded(
        actor=request.user, child_id=child.pk, division_code=child.division_code, kind=AccessLog.Kind.VIEW
    )
    if full_id and child.id_number_enc:
        events.access_recorded(
            actor=request.user,
            child_id=child.pk,
            division_code=child.division_code,
            kind=AccessLog.Kind.FULL_ID,
        )
    context = {
        "child": child,
        "id_shown": child.id_number if full_id else child.id_number_masked,
        "members": child.members.all(),
        "categories": child.categories.select_related("approved_by", "ended_by"),
        "documents": child.documents.select_related("uploaded_by"),
        "changes": ChangeLog.objects.filter(child_id=child.pk).select_related("actor")[:50],
        "can_edit": has_perm(request.user, Perm.CHILD_EDIT),
        "can_manage_categories": has_perm(request.user, Perm.CATEGORY_MANAGE),
        "can_upload": has_perm(request.user, Perm.DOCUMENT_UPLOAD),
        "can_archive": has_perm(request.user, Perm.CHILD_ARCHIVE),
        "category_form": CategoryOpenForm(),
        "archive_form": ArchiveForm(),
        "document_form": DocumentForm(),
        "caseworkers": child.caseworkers.filter(ended_at__isnull=True).select_related(
            "user", "user__organisation"
        ),
        "can_manage_caseload": has_perm(request.user, Perm.CASELOAD_MANAGE),
        "caseload_form": CaseloadForm(child=child) if has_perm(request.user, Perm.CASELOAD_MANAGE) else None,
        **child_visits(request.user, child.pk),
    }
    return render(request, "web/children/detail.html", context)


@require(Perm.CHILD_EDIT)
def child_edit(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    initial = {f: getattr(child, f) for f in services.CHILD_FIELDS}
    initial["division"] = child.division.code
    form = ChildForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    form.fields["id_number"].help_text = _("Leave empty to keep the recorded number (%(masked)s).") % {
        "masked": child.id_number_masked or "—"
    }
    if request.method == "POST" and form.is_valid():
        id_number = form.cleaned_data["id_number"] or None
        try:
            services.child_update(
                actor=request.user,
                child=child,
                division=form.cleaned_data["division"],
                id_number=id_number,
                photo=form.cleaned_data.get("photo") or None,
                **form.child_fields(),
            )
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("web:child_detail", pk=child.pk)
    return render(
        request,
        "web/children/form.html",
        {"form": form, "child": child, "title": _("Edit %(name)s") % {"name": child.name}},
    )


@require(Perm.CHILD_ARCHIVE)
@require_POST
def child_archive(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    _post_action(
        request,
        ArchiveForm(request.POST),
        lambda d: services.child_archive(actor=request.user, child=child, reason=d["reason"], note=d["note"]),
        done=_("The record is archived."),
        invalid=_("Choose why the record is archived."),
    )
    return redirect("web:child_detail", pk=child.pk)


@require(Perm.CHILD_ARCHIVE)
@require_POST
def child_restore(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    try:
        services.child_restore(actor=request.user, child=child)
        messages.success(request, _("The record is active again."))
    except CarenetError as exc:
        messages.error(request, exc.message)
    return redirect("web:child_detail", pk=child.pk)


@require(Perm.CHILD_VIEW)
def child_photo(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    if not child.photo:
        from django.http import Http404

        raise Http404
    events.access_recorded(
        actor=request.user, child_id=child.pk, division_code=child.division_code, kind=AccessLog.Kind.PHOTO
    )
    return FileResponse(child.photo.open("rb"), content_type="image/jpeg")


def _member_form_view(request: HttpRequest, child: Child, member: FamilyMember | None) -> HttpResponse:
    initial = {}
    if member is not None:
        initial = {f: getattr(member, f) for f in services.MEMBER_FIELDS}
    form = MemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        id_number = data.pop("id_number") or (None if member else "")
        try:
            if member is None:
                services.member_add(actor=request.user, child=child, id_number=id_number or "", **data)
            else:
                services.member_update(actor=request.user, member=member, id_number=id_number, **data)
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Family member saved."))
            return redirect("web:child_detail", pk=child.pk)
    title = _("Add a family member") if member is None else _("Edit %(name)s") % {"name": member.name}
    return render(
        request,
        "web/children/member_form.html",
        {"form": form, "child": child, "member": member, "title": title},
    )


@require(Perm.CHILD_EDIT)
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_form_view(request, selectors.child_get(actor=request.user, pk=pk), None)


@require(Perm.CHILD_EDIT)
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_scoped_or_404(request.user, FamilyMember.objects.select_related("child"), pk=pk)
    return _member_form_view(request, member.child, member)


@require(Perm.CATEGORY_MANAGE)
@require_POST
def category_open(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    _post_action(
        request,
        CategoryOpenForm(request.POST),
        lambda d: services.category_open(actor=request.user, child=child, **d),
        done=_("Category added."),
        invalid=_("Fill in the category, the start date and the reason."),
    )
    return redirect("web:child_detail", pk=child.pk)


@require(Perm.CATEGORY_MANAGE)
def category_close(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_scoped_or_404(request.user, CategoryMembership.objects.select_related("child"), pk=pk)
    form = CategoryCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.category_close(
                actor=request.user,
                membership=membership,
                end_date=form.cleaned_data["end_date"],
                reason=form.cleaned_data["reason"],
            )
        except CarenetError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Category ended."))
            return redirect("web:child_detail", pk=membership.child_id)
    return render(
        request,
        "web/children/category_close.html",
        {"form": form, "membership": membership, "child": membership.child},
    )


@require(Perm.DOCUMENT_UPLOAD)
@require_POST
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    _post_action(
        request,
        DocumentForm(request.POST, request.FILES),
        lambda d: services.document_add(
            actor=request.user, child=child, kind=d["kind"], title=d["title"], upload=d["file"]
        ),
        done=_("Document attached."),
        invalid=_("Choose a file to attach."),
    )
    return redirect("web:child_detail", pk=child.pk)


@require(Perm.CHILD_VIEW)
def document_download(request: HttpRequest, pk: int) -> HttpResponse:
    doc = get_scoped_or_404(request.user, ChildDocument.objects.select_related("child"), pk=pk)
    events.access_recorded(
        actor=request.user,
        child_id=doc.child_id,
        division_code=doc.child.division_code,
        kind=AccessLog.Kind.DOCUMENT,
        detail=f"document {doc.pk}",
    )
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(
        doc.content_type, "bin"
    )
    # The file name carries the record number only: no child's name in download folders or proxy logs.
    return FileResponse(
        doc.file.open("rb"),
        content_type=doc.content_type,
        as_attachment=True,
        filename=f"document-{doc.pk}.{ext}",
    )


@require(Perm.CASELOAD_MANAGE)
@require_POST
def caseload_assign(request: HttpRequest, pk: int) -> HttpResponse:
    child = selectors.child_get(actor=request.user, pk=pk)
    _post_action(
        request,
        CaseloadForm(request.POST, child=child),
        lambda d: services.caseload_assign(actor=request.user, child=child, worker=d["worker"]),
        done=_("Social worker assigned."),
        invalid=_("Choose a social worker whose area covers this child."),
    )
    return redirect("web:child_detail", pk=child.pk)


@require(Perm.CASELOAD_MANAGE)
@require_POST
def caseload_end(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_scoped_or_404(request.user, Caseload.objects.select_related("child", "user"), pk=pk)
    try:
        services.caseload_end(actor=request.user, case=case)
        messages.success(request, _("Assignment ended."))
    except CarenetError as exc:
        messages.error(request, exc.message)
    return redirect("web:child_detail", pk=case.child_id)
